#!/bin/sh
# `ward run` turns the diagnostics on: --leaks reports the leaks of a
# program on its stderr, --debug and --guard-sample N leave a correct
# program's output alone, and a bad --guard-sample value is refused.
#
# Usage: ward_run.sh WARD-TOOL DIAG_LEAKY
set -eu
ward=$1
leaky=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

"$ward" run --leaks -- "$leaky" >"$work/out" 2>"$work/err" || fail "ward run --leaks failed: $(cat "$work/err")"
grep -q '^ward: leak: 3802 bytes in 4 blocks' "$work/err" || fail "no leak report: $(cat "$work/err")"
grep -q 'in diag_leaky_function+0x' "$work/err" || fail "the report does not name the function"
grep -q '^ward: report for' "$work/err" || fail "no ward run report"
echo "--leaks: leak report and ward run's report"

seq 1 20000 | awk '{ print ($1 * 7919) % 20011 }' >"$work/input"
LC_ALL=C sort -n "$work/input" >"$work/plain"
LC_ALL=C "$ward" run --debug --guard-sample 3 -- sort -n "$work/input" >"$work/diag" 2>"$work/err" ||
    fail "ward run --debug --guard-sample 3 -- sort failed: $(cat "$work/err")"
cmp -s "$work/plain" "$work/diag" || fail "sort's output differs under --debug --guard-sample 3"
echo "--debug --guard-sample 3: same output"

for bad in x -1 ""; do
    set +e
    "$ward" run --guard-sample "$bad" -- true 2>"$work/err"
    status=$?
    set -e
    [ "$status" = 2 ] || fail "--guard-sample '$bad' exited $status"
    grep -q "guard-sample" "$work/err" || fail "--guard-sample '$bad' was not explained"
done
echo "bad --guard-sample values refused"
