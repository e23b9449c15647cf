#!/bin/sh
# The cache server example under `ward run --limit 64M` with 192 MiB of
# distinct data: it serves every request, evicts through its reclaim
# callback, and its peak RSS (VmHWM) stays within the limit + 5 %.
#
# Usage: cache_server.sh WARD-TOOL CACHE-SERVER WORKDIR
case "${WARD_DEBUG:-0}${WARD_GUARD_SAMPLE:-0}${WARD_LEAKS:-0}" in
    000) ;;
    *) echo "SKIP: budgets are measured on the core's blocks, not under the diagnostics"; exit 77 ;;
esac
set -eu
ward=$1
server=$2
work=$3
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
mkdir -p "$work"
"$ward" run --limit 64M -- "$server" --data-mib 192 --requests 200000 >"$work/out.txt" 2>"$work/err.txt" ||
    fail "cache_server failed: $(cat "$work/out.txt" "$work/err.txt")"
cat "$work/out.txt"
value() { awk -v k="$1" '$1 == k { print $2 }' "$work/out.txt"; }
[ "$(value requests)" = 200000 ] || fail "served $(value requests) of 200000 requests"
[ "$(value evictions)" -gt 0 ] || fail "no evictions: the limit was never reached"
hwm=$(value vm_hwm_kib)
bound=$((64 * 1024 * 105 / 100))
[ "$hwm" -le "$bound" ] || fail "peak RSS $hwm KiB above $bound KiB (64 MiB + 5 %)"
[ "$(value committed_peak_kib)" -le $((64 * 1024)) ] || fail "committed peak $(value committed_peak_kib) KiB"
grep -q "ward:   limit  *64.0 MiB" "$work/err.txt" || fail "no limit in ward's report: $(cat "$work/err.txt")"
grep -q "ward:   refused (ENOMEM) *0" "$work/err.txt" || fail "refusals in ward's report: $(cat "$work/err.txt")"
echo "cache_server: peak RSS $hwm KiB within $bound KiB"
