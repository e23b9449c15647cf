#!/bin/sh
# Real Debian programs under LD_PRELOAD=libward.so give the same output as
# without it: python3 on a dict- and string-heavy script, sort of a large
# generated file (also with --parallel=2), and xz -T2 compressing and
# decompressing it.  Also checks that ward really served the programs.
#
# Usage: preload_programs.sh LIBWARD WORKDIR
# Exit status 77 (skip) when a program is missing and cannot be installed.
set -eu

libward=$1
work=$2
skip=77

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Finds a program, installing its Debian package when possible.
need() {
    program=$1
    package=$2
    if [ ! -x "$program" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "installing $package for $program"
            apt-get install -y "$package" >/dev/null 2>&1 || true
        fi
    fi
    if [ ! -x "$program" ]; then
        echo "SKIP: $program is not installed and could not be installed (package $package)"
        exit $skip
    fi
}

need /usr/bin/python3 python3
need /usr/bin/sort coreutils
need /usr/bin/xz xz-utils

rm -rf "$work"
mkdir -p "$work"
cd "$work"

# Runs a command twice, without and with ward, and compares stdout.
# Usage: same_output NAME INPUT-FILE COMMAND...
same_output() {
    name=$1
    input=$2
    shift 2
    "$@" <"$input" >"$name.plain" || fail "$name without ward failed"
    LD_PRELOAD=$libward "$@" <"$input" >"$name.ward" 2>"$name.ward.err" ||
        fail "$name under ward failed: $(cat "$name.ward.err")"
    cmp -s "$name.plain" "$name.ward" || fail "$name: output under ward differs"
    echo "$name: same output ($(wc -c <"$name.plain") bytes)"
}

# ---- ward is really in use ----
LD_PRELOAD=$libward /usr/bin/python3 -c '
import sys
maps = open("/proc/self/maps").read()
sys.exit(0 if "libward" in maps else 1)' || fail "libward is not mapped into python3 under LD_PRELOAD"
# (not with coreutils: they close stderr before ward's exit report)
LD_PRELOAD=$libward WARD_STATS=1 /usr/bin/python3 -c 'print(len({str(i): i for i in range(1000)}))' \
    >/dev/null 2>stats.err || fail "python3 with WARD_STATS=1 failed"
mallocs=$(sed -n 's/^ *malloc_count *\([0-9][0-9]*\).*/\1/p' stats.err)
[ "${mallocs:-0}" -gt 1000 ] || fail "ward did not serve python3's allocations: $(cat stats.err)"

# ---- python3: dicts, strings, a little of everything that allocates ----
cat >heavy.py <<'PY'
import collections, hashlib, json

words = {}
text = []
for i in range(120000):
    key = "k%d-%s" % (i % 45000, "x" * (i % 37))
    words[key] = words.get(key, 0) + i
    if i % 7 == 0:
        text.append(key.upper() * (1 + i % 5))
counter = collections.Counter(w[:4] for w in words)
blob = " ".join(text)
nested = {str(i): {"v": [i, str(i) * 3, {"d": i % 11}]} for i in range(30000)}
encoded = json.dumps(nested, sort_keys=True)
assert json.loads(encoded) == nested
big = []
for size in (10, 1000, 100000, 3000000):
    big.append(bytearray(size))
    big[-1][size - 1] = 7
for i in range(200):
    s = "".join(chr(65 + (j * i) % 26) for j in range(i * 50))
    words[s[:30]] = len(s)
del nested
print(len(words), sum(words.values()) % 1000003)
print(sorted(counter.items())[:10])
print(hashlib.sha256(blob.encode()).hexdigest())
print(hashlib.sha256(encoded.encode()).hexdigest())
print(sum(len(b) for b in big))
PY
PYTHONHASHSEED=0 same_output python3 /dev/null /usr/bin/python3 heavy.py

# ---- a large generated file ----
awk 'BEGIN {
    x = 12345
    for (i = 0; i < 400000; i++) {
        x = (x * 1103515245 + 12345) % 2147483648
        printf "%08x %s line %d\n", x, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, x % 13 + 1), i
    }
}' >input.txt

LC_ALL=C same_output sort input.txt /usr/bin/sort
LC_ALL=C same_output sort_parallel input.txt /usr/bin/sort --parallel=2 -S 4M -T "$work"
LC_ALL=C same_output sort_numeric_reverse input.txt /usr/bin/sort -k3,3n -r --parallel=2

# ---- xz with two threads: same compressed bytes, and it decompresses back ----
same_output xz_compress input.txt /usr/bin/xz -T2 --block-size=1MiB -1 -c
same_output xz_decompress xz_compress.plain /usr/bin/xz -T2 -d -c
cmp -s xz_decompress.ward input.txt || fail "xz round trip under ward lost data"

echo "all programs gave the same output under ward"
