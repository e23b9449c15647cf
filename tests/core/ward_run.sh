#!/bin/sh
# `ward run -- PROGRAM`: PROGRAM's stdout is unchanged, its exit status is
# ward's, and when it exits ward reports on stderr (lines starting "ward:")
# peak allocated, peak committed, peak RSS, allocations and committed unused
# at peak, with a nonzero allocation count for a program that allocates.
# A malformed or out-of-range --limit, --decay or --guard-sample is refused
# (status 2, a message naming the option) before the program runs, and what
# the tool passes on the library takes; --help prints the usage.
#
# Usage: ward_run.sh WARD-TOOL WORKDIR
set -eu

ward=$1
work=$2

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

[ -x "$ward" ] || fail "no ward tool at $ward"
rm -rf "$work"
mkdir -p "$work"
cd "$work"

awk 'BEGIN { x = 7; for (i = 0; i < 100000; i++) { x = (x * 69069 + 1) % 4294967296; print x, i } }' >input.txt

# ---- stdout unchanged, report present ----
LC_ALL=C sort input.txt >plain.out
LC_ALL=C "$ward" run -- sort input.txt >ward.out 2>ward.err || fail "ward run -- sort failed: $(cat ward.err)"
cmp -s plain.out ward.out || fail "sort's output under ward run differs"

for figure in "peak allocated" "peak committed" "peak RSS" "allocations" "committed unused at peak"; do
    grep "^ward:" ward.err | grep -q "$figure" || fail "the report has no \"$figure\" line:
$(cat ward.err)"
done
# the allocation count: the first number on its line
allocations=$(grep "^ward:" ward.err | grep "allocations" | grep -v "peak" | head -n 1 |
    sed 's/^ward:[^0-9]*\([0-9][0-9,]*\).*/\1/' | tr -d ,)
case "$allocations" in
'' | *[!0-9]*) fail "cannot read the allocation count from: $(grep allocations ward.err)" ;;
esac
[ "$allocations" -gt 0 ] || fail "ward run -- sort reports $allocations allocations"
echo "sort: same output; report with $allocations allocations"

# ---- the report is on stderr only, the program's own stderr passes through ----
"$ward" run -- sh -c 'echo to-stdout; echo to-stderr >&2' >mixed.out 2>mixed.err ||
    fail "ward run -- sh failed"
[ "$(cat mixed.out)" = "to-stdout" ] || fail "stdout of the program changed: $(cat mixed.out)"
grep -q "^to-stderr$" mixed.err || fail "the program's stderr was lost"

# ---- exit status passed through ----
for status in 0 1 7 42; do
    set +e
    "$ward" run -- sh -c "exit $status" >/dev/null 2>status.err
    got=$?
    set -e
    [ "$got" = "$status" ] || fail "program exited $status, ward run exited $got: $(cat status.err)"
done
set +e
"$ward" run -- false >/dev/null 2>&1
got=$?
"$ward" run -- /nonexistent/program >/dev/null 2>missing.err
missing=$?
set -e
[ "$got" = 1 ] || fail "ward run -- false exited $got"
[ "$missing" != 0 ] || fail "ward run of a missing program exited 0"
echo "exit statuses passed through"

# ---- bad option values refused before the program runs ----
for bad in "--limit abc" "--limit -5" "--limit 10x" "--limit ''" "--limit k" "--limit 2000000000G" \
           "--decay 60001" "--decay 61k" "--decay x" "--guard-sample 1073741825" "--guard-sample 2G"; do
    option=${bad%% *}
    value=$(eval "printf '%s' ${bad#* }")
    rm -f ran.txt
    set +e
    "$ward" run "$option" "$value" -- sh -c ': >ran.txt' >/dev/null 2>bad.err
    got=$?
    set -e
    [ "$got" = 2 ] || fail "ward run $bad exited $got"
    grep -q -- "^ward run: $option takes" bad.err || fail "ward run $bad did not say why: $(cat bad.err)"
    [ ! -e ran.txt ] || fail "ward run $bad ran the program"
done
for good in "--limit 512M" "--limit 0" "--decay 60000" "--decay 1k" "--guard-sample 1G"; do
    rm -f ran.txt
    "$ward" run ${good% *} ${good#* } -- sh -c ': >ran.txt' >/dev/null 2>good.err ||
        fail "ward run $good failed: $(cat good.err)"
    [ -e ran.txt ] || fail "ward run $good did not run the program"
    ! grep -q "malformed" good.err || fail "the library refused what ward run $good accepted: $(cat good.err)"
done
"$ward" run --help >help.out 2>&1 || fail "ward run --help failed"
grep -q "^usage: ward run" help.out || fail "ward run --help printed no usage: $(cat help.out)"
echo "bad option values refused, good ones passed on, --help answered"
