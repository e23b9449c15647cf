#!/bin/sh
# The cache server with data three times its memory budget, twice:
#   1. under ward with a limit (`ward run --limit`): the reclaim callback
#      evicts least recently used items and the program serves every request;
#   2. under the system's malloc with the same budget as `ulimit -v`: nothing
#      tells the cache to shed items, and it stops at its first refused
#      allocation (or is killed).
# Prints each run's figures.
#
# Usage: examples/cache_server_demo.sh [BUILD-DIR] [LIMIT-MIB] [DATA-MIB]
#        (defaults: build, 64, 3 x LIMIT-MIB)
set -u

build=${1:-build}
limit_mib=${2:-64}
data_mib=${3:-$((3 * limit_mib))}
ward=$build/tools/ward
server=$build/examples/cache_server
[ -x "$ward" ] && [ -x "$server" ] || { echo "build first: make build (looked in $build)" >&2; exit 2; }

echo "== ward, limit ${limit_mib} MiB, ${data_mib} MiB of distinct data"
"$ward" run --limit "${limit_mib}M" -- "$server" --data-mib "$data_mib"
echo "exit status $?"
echo
echo "== system malloc, ulimit -v $((limit_mib * 1024)) KiB, ${data_mib} MiB of distinct data"
(ulimit -v $((limit_mib * 1024)) && exec "$server" --data-mib "$data_mib")
echo "exit status $?"
