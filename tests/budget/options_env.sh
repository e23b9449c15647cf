#!/bin/sh
# WARD_OVERCOMMIT takes its words, WARD_LIMIT a size with a suffix; a bad
# word, or a suffix with no number, is reported and the default kept.
#
# Usage: options_env.sh PROGRAM (budget_env_probe: prints limit and mode)
case "${WARD_DEBUG:-0}${WARD_GUARD_SAMPLE:-0}${WARD_LEAKS:-0}" in
    000) ;;
    *) echo "SKIP: budgets are measured on the core's blocks, not under the diagnostics"; exit 77 ;;
esac
set -eu
probe=$1
unset WARD_LIMIT WARD_OVERCOMMIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
out=$(WARD_LIMIT=512M WARD_OVERCOMMIT=never "$probe" 2>err.txt) || fail "probe failed: $(cat err.txt)"
[ "$out" = "limit=536870912 overcommit=2" ] || fail "got '$out'"
[ ! -s err.txt ] || fail "unexpected report: $(cat err.txt)"
out=$(WARD_OVERCOMMIT=always "$probe" 2>err.txt)
[ "$out" = "limit=0 overcommit=0" ] || fail "got '$out'"
out=$(WARD_OVERCOMMIT=sometimes "$probe" 2>err.txt)
[ "$out" = "limit=0 overcommit=1" ] || fail "got '$out'"
grep -q "malformed or out-of-range option: WARD_OVERCOMMIT=sometimes" err.txt || fail "no report: $(cat err.txt)"
# A suffix needs a number: "k" alone is malformed, not a limit of 0.
out=$(WARD_LIMIT=k "$probe" 2>err.txt)
[ "$out" = "limit=0 overcommit=1" ] || fail "got '$out'"
grep -q "malformed or out-of-range option: WARD_LIMIT=k" err.txt || fail "WARD_LIMIT=k not reported: $(cat err.txt)"
rm -f err.txt
echo "budget options: ok"
