#!/bin/sh
# The leak report names the leaking function and the bytes: runs a program
# that leaks 3 x 1234 bytes from diag_leaky_function (built with -rdynamic,
# so dladdr finds the name) and 100 bytes from main, with WARD_LEAKS=1.
#
# Usage: leaks.sh DIAG_LEAKY
set -eu
program=$1
fail() {
    echo "FAIL: $*" >&2
    echo "--- report:" >&2
    cat "$report" >&2
    exit 1
}
report=$(mktemp)
trap 'rm -f "$report"' EXIT

WARD_LEAKS=1 "$program" >/dev/null 2>"$report" || fail "the program failed under WARD_LEAKS=1"
grep -q '^ward: leak: [0-9]* bytes in [0-9]* blocks still allocated at exit' "$report" ||
    fail "no leak summary line"
# the biggest stack first: 3702 bytes from diag_leaky_function
first=$(grep -m1 '^  leak:' "$report")
case $first in
*"3702 bytes in 3 blocks"*) ;;
*) fail "the first stack is not the 3702 bytes in 3 blocks: $first" ;;
esac
sed -n '/3702 bytes in 3 blocks/,/^  leak:/p' "$report" | grep -q 'in diag_leaky_function+0x' ||
    fail "the stack of the 3702 bytes does not name diag_leaky_function"
grep -q '^  leak: 100 bytes in 1 block' "$report" || fail "the 100 bytes from main are not reported"
sed -n '/100 bytes in 1 block/,/^  leak:/p' "$report" | grep -q 'in main+0x' ||
    fail "the stack of the 100 bytes does not name main"
echo "leak report: ok"
sed -n '1,6p' "$report"

# Without WARD_LEAKS no report.
"$program" >/dev/null 2>"$report" || fail "the program failed"
[ ! -s "$report" ] || fail "a report without WARD_LEAKS"

# Bad values are reported and ignored (the program runs without the
# diagnostic).
for bad in WARD_LEAKS=2 WARD_LEAKS=yes WARD_GUARD_SAMPLE=-1 WARD_GUARD_SAMPLE=abc WARD_GUARD_SAMPLE=2g; do
    env "$bad" "$program" >/dev/null 2>"$report" || fail "the program failed with $bad"
    grep -q "ward: malformed or out-of-range option: $bad (ignored)" "$report" || fail "$bad was not reported"
    if grep -q 'leak:' "$report"; then fail "$bad turned the leak report on"; fi
done
echo "bad values: reported and ignored"
