#!/usr/bin/env bash
# bench/hardening/run.sh - the detection table of docs/hardening.md,
# measured: each heap bug class of cases.c run under ward (default,
# WARD_DEBUG=1, WARD_GUARD_SAMPLE=1) and under glibc, jemalloc, mimalloc and
# tcmalloc (Debian's libraries, preloaded; installed when missing), each
# outcome classified as
#   detected  the allocator stopped the program with a message on stderr
#   SIGSEGV   the program crashed (SIGSEGV/SIGBUS) without a message naming the bug
#   abort     the program aborted without a message
#   silent    the program ran to its end: the bug went unnoticed
#   n/a       the allocator has no such function (free_sized)
#   pending   ward: ward_free_sized is not in this build yet
# Not a test: it prints a Markdown table, and the first line of each
# message, on stdout.
#
# Usage: bench/hardening/run.sh [--build-dir DIR] [--no-install]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build_dir="$root/build-bench-hardening"
may_install=1
while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) build_dir="${2:?}"; shift ;;
        --no-install) may_install=0 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
libdir=/usr/lib/x86_64-linux-gnu
note() { echo "run.sh: $*" >&2; }

cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DWARD_BUILD_TESTS=OFF -DWARD_BUILD_TOOLS=OFF \
    >"$build_dir.log" 2>&1 && cmake --build "$build_dir" -j2 --target ward >>"$build_dir.log" 2>&1 ||
    { note "ward did not build (see $build_dir.log)"; exit 1; }
ward="$build_dir/src/libward.so"
cases="$build_dir/hardening-cases"
# -O1 and no builtins: the compiler must leave every bug in place
cc -O1 -g -D_GNU_SOURCE -fno-builtin -pthread -o "$cases" "$here/cases.c" -ldl

declare -A library=([jemalloc]=libjemalloc.so.2 [mimalloc]=libmimalloc.so.2 [tcmalloc]=libtcmalloc_minimal.so.4)
declare -A package=([jemalloc]=libjemalloc2 [mimalloc]=libmimalloc2.0 [tcmalloc]=libtcmalloc-minimal4)
columns=("ward" "ward WARD_DEBUG=1" "ward WARD_GUARD_SAMPLE=1" glibc)
for peer in jemalloc mimalloc tcmalloc; do
    if [ ! -e "$libdir/${library[$peer]}" ] && [ "$may_install" = 1 ] && [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${package[$peer]}" >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${package[$peer]}" \
                >/dev/null 2>&1; } || true
    fi
    if [ -e "$libdir/${library[$peer]}" ]; then columns+=("$peer"); else note "$peer left out (${package[$peer]} missing)"; fi
done

messages="$(mktemp)"
trap 'rm -f "$messages"' EXIT

# run_case COLUMN CASE: prints the outcome; adds the message to $messages
run_case() {
    local column="$1" case="$2" err rc=0 outcome
    local -a envs=()
    case "$column" in
        ward*) envs=(LD_PRELOAD="$ward" HARDENING_FREE_SIZED=ward_free_sized)
               [ "$column" = ward ] || envs+=("${column#ward }") ;;
        glibc) envs=() ;;
        *) envs=(LD_PRELOAD="$libdir/${library[$column]}") ;;
    esac
    err="$(cd /tmp && ulimit -c 0 && timeout 60 env -u LD_PRELOAD "${envs[@]}" "$cases" "$case" 2>&1 >/dev/null)" || rc=$?
    local first
    first="$(printf '%s\n' "$err" | grep -v '^\s*$' | head -n 1 | cut -c1-110)"
    if [ "$rc" = 0 ]; then
        outcome=silent
    elif [ "$rc" = 3 ]; then
        case "$column" in ward*) outcome=pending ;; *) outcome=n/a ;; esac
    elif [ "$rc" = 124 ]; then
        outcome=hang
    elif [ "$rc" -gt 128 ] && [ -n "$first" ]; then
        outcome=detected
    elif [ "$rc" = $((128 + 11)) ] || [ "$rc" = $((128 + 7)) ]; then
        outcome=SIGSEGV
    elif [ "$rc" = $((128 + 6)) ]; then
        outcome=abort
    else
        outcome="exit $rc"
    fi
    [ "$outcome" = detected ] && printf '%s | %s | %s\n' "$case" "$column" "$first" >>"$messages"
    printf '%s' "$outcome"
}

header="| bug class |"
rule="|---|"
for c in "${columns[@]}"; do header+=" $c |"; rule+="---|"; done
echo "$header"
echo "$rule"
while read -r case; do
    line="| $case |"
    for c in "${columns[@]}"; do line+=" $(run_case "$c" "$case") |"; done
    echo "$line"
done < <("$cases" --list)
echo
echo "machine: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(uname -sr); ward $(git -C "$root" rev-parse --short HEAD)"
for c in jemalloc mimalloc tcmalloc; do
    v="$(dpkg-query -W -f='${Version}' "${package[$c]}" 2>/dev/null || true)"
    [ -n "$v" ] && echo "$c: ${package[$c]} $v"
done
echo "glibc: $(ldd --version | awk 'NR == 1 {print $NF}')"
echo
echo "First line of each message:"
echo
sed 's/^/    /' "$messages"
