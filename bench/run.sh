#!/usr/bin/env bash
# bench/run.sh - the benchmark suite: ward against glibc, jemalloc, mimalloc
# and tcmalloc, in one run, interleaved.
#
# Builds ward (Release, its own build directory) and the workloads, installs
# the peer allocators from Debian when they are missing, runs every workload
# under every allocator in turn for several rounds (A B C D E, then B C D E A,
# ...: each round starts one allocator further along), and prints Markdown
# tables of medians and ratios.  Everything it
# produces goes to bench/results/<date>-<mode>/ (git-ignored);
# bench/results/latest points at the newest.  See docs/benchmarks.md.
#
# Needs only bash, coreutils, awk, cmake and a C compiler; gnuplot for the
# chart (installed when missing, skipped if that fails).

# The whole script is one block, so bash reads all of it before running any
# of it: the file can then be edited (or checked out anew) during a long run
# without the running copy picking up half-changed lines.
{
set -euo pipefail

readonly BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly ROOT="$(cd "$BENCH_DIR/.." && pwd)"
readonly LIBDIR=/usr/lib/x86_64-linux-gnu
readonly ALL_ALLOCATORS="ward glibc jemalloc mimalloc tcmalloc"
readonly RUN_TIMEOUT_S=600

usage() {
    cat <<EOF
usage: bench/run.sh [--quick | --full] [--only NAME,...] [--rounds N] [--threads N]
                    [--allocators NAME,...] [--ward-env NAME=VALUE]... [--ward-build OPTION=VALUE]...
                    [--build-dir DIR] [--no-build] [--no-install] [--list]

  --quick          3 rounds, suite workloads at half size, idle-release once (default; < 5 min)
  --full           7 rounds at full size (< 30 min)
  --only LIST      workloads or groups (core, suite) to run, comma-separated
  --rounds N       rounds instead of the mode's default
  --threads N      threads for the multi-threaded workloads (default: $(nproc) = online cores)
  --allocators L   subset of: ${ALL_ALLOCATORS// /,}
  --ward-env N=V   one more column: ward with the environment variable N=V (e.g. WARD_DEBUG=1),
                   named ward_<n><v> (ward_debug1); may be given several times
  --ward-build O=V one more column: ward built with the CMake option O=V (e.g. WARD_HARDEN=OFF),
                   named ward_<o><v> (ward_hardenoff), built in DIR-<o><v>; may be given several times
  --build-dir DIR  where ward and the workloads are built (default: build-bench-malloc/ in the repository)
  --no-build       reuse the last build of ward instead of rebuilding it
  --no-install     do not apt-get install missing peers or gnuplot
  --list           print the workloads and exit
EOF
}

mode=quick
rounds=""
threads="$(nproc)"
only=""
allocators_wanted="$ALL_ALLOCATORS"
# Not build-bench/: bench/region/run builds there with the override off.
build_dir="$ROOT/build-bench-malloc"
build_ward=1
may_install=1
list_only=0
declare -a ward_envs=()
declare -a ward_builds=()

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) mode=quick ;;
        --full) mode=full ;;
        --only) only="${2:?--only needs a list}"; shift ;;
        --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
        --threads) threads="${2:?--threads needs a number}"; shift ;;
        --allocators) allocators_wanted="${2//,/ }"; shift ;;
        --ward-env)
            [[ "${2:-}" =~ ^WARD_[A-Z_]+=[0-9A-Za-z]+$ ]] ||
                { echo "run.sh: --ward-env needs WARD_NAME=VALUE, not '${2:-}'" >&2; exit 2; }
            ward_envs+=("$2"); shift ;;
        --ward-build)
            [[ "${2:-}" =~ ^WARD_[A-Z_]+=[0-9A-Za-z]+$ ]] ||
                { echo "run.sh: --ward-build needs WARD_OPTION=VALUE, not '${2:-}'" >&2; exit 2; }
            ward_builds+=("$2"); shift ;;
        --build-dir) build_dir="${2:?--build-dir needs a directory}"; shift ;;
        --no-build) build_ward=0 ;;
        --no-install) may_install=0 ;;
        --list) list_only=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

is_count() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }
if [ -z "$rounds" ]; then
    if [ "$mode" = quick ]; then rounds=3; else rounds=7; fi
fi
is_count "$rounds" || { echo "run.sh: --rounds must be a positive number" >&2; exit 2; }
is_count "$threads" || { echo "run.sh: --threads must be a positive number" >&2; exit 2; }
for a in $allocators_wanted; do
    case " $ALL_ALLOCATORS " in *" $a "*) ;; *) echo "run.sh: unknown allocator: $a" >&2; exit 2 ;; esac
done

# ---- the workload table ----------------------------------------------------
declare -a names=()
declare -A group=() model=() quick_rule=() command=()
while read -r name grp mdl quick program args; do
    case "$name" in ''|'#'*) continue ;; esac
    names+=("$name")
    group[$name]=$grp; model[$name]=$mdl; quick_rule[$name]=$quick
    command[$name]="$program${args:+ $args}"
done <"$BENCH_DIR/workloads.list"

if [ "$list_only" = 1 ]; then
    printf '%-14s %-6s %-14s %s\n' NAME GROUP "MODELLED ON" COMMAND
    for n in "${names[@]}"; do printf '%-14s %-6s %-14s %s\n' "$n" "${group[$n]}" "${model[$n]}" "${command[$n]}"; done
    exit 0
fi

declare -a selected=()
if [ -z "$only" ]; then
    selected=("${names[@]}")
else
    declare -A wanted=()
    for item in ${only//,/ }; do
        found=0
        for n in "${names[@]}"; do
            if [ "$n" = "$item" ] || [ "${group[$n]}" = "$item" ]; then wanted[$n]=1; found=1; fi
        done
        [ "$found" = 1 ] || { echo "run.sh: no workload or group named '$item' (see --list)" >&2; exit 2; }
    done
    for n in "${names[@]}"; do [ -n "${wanted[$n]:-}" ] && selected+=("$n"); done
fi

# ---- where results go ------------------------------------------------------
stamp="$(date +%Y%m%d-%H%M%S)"
results="$BENCH_DIR/results/$stamp-$mode"
mkdir -p "$results/failed-runs"
ln -sfn "$stamp-$mode" "$BENCH_DIR/results/latest"
note() { echo "run.sh: $*" >&2; }

# ---- installing from Debian ------------------------------------------------
apt_updated=0
apt_install() { # apt_install PACKAGE...: installs, refreshing the lists once if needed
    [ "$may_install" = 1 ] || return 1
    command -v apt-get >/dev/null || return 1
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >>"$results/install.log" 2>&1; then
        [ "$apt_updated" = 0 ] || return 1
        apt_updated=1
        apt-get update >>"$results/install.log" 2>&1 || return 1
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >>"$results/install.log" 2>&1 || return 1
    fi
}

declare -A preload=()
declare -A extra_env=()   # extra environment of a ward_<n><v> column
declare -A served_by=()   # the allocator= name a column's workloads report
declare -A built_with=()  # the CMake option a ward_<o><v> column was built with
peer_library() {
    case "$1" in
        jemalloc) echo "$LIBDIR/libjemalloc.so.2 libjemalloc2" ;;
        mimalloc) echo "$LIBDIR/libmimalloc.so.2 libmimalloc2.0" ;;
        tcmalloc) echo "$LIBDIR/libtcmalloc_minimal.so.4 libtcmalloc-minimal4" ;;
    esac
}

declare -a allocators=()
for a in $ALL_ALLOCATORS; do
    case " $allocators_wanted " in *" $a "*) ;; *) continue ;; esac
    case "$a" in
        glibc) allocators+=(glibc); preload[glibc]="" ;;
        ward) allocators+=(ward) ;; # decided after the build below
        *)
            read -r library package <<<"$(peer_library "$a")"
            if [ ! -e "$library" ]; then
                note "$a is missing: apt-get install -y $package"
                apt_install "$package" || true
            fi
            if [ -e "$library" ]; then
                allocators+=("$a"); preload[$a]="$library"
            else
                note "$a left out: $library not found and $package could not be installed (see $results/install.log)"
            fi
            ;;
    esac
done

# ---- building ward ---------------------------------------------------------
drop_allocator() {
    local keep=() x
    for x in "${allocators[@]}"; do [ "$x" = "$1" ] || keep+=("$x"); done
    allocators=("${keep[@]}")
}

if [[ " ${allocators[*]} " == *" ward "* ]]; then
    if [ "$build_ward" = 1 ]; then
        note "building ward (Release) in $build_dir ..."
        if cmake -S "$ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DWARD_OVERRIDE=ON \
                 -DWARD_BUILD_TESTS=OFF -DWARD_BUILD_TOOLS=OFF >"$results/build.log" 2>&1 &&
           cmake --build "$build_dir" -j2 --target ward >>"$results/build.log" 2>&1; then
            :
        else
            note "ward did not build (log: $results/build.log); its column is left out"
            tail -n 15 "$results/build.log" | sed 's/^/    /' >&2
            rm -f "$build_dir/src/libward.so"* 2>/dev/null || true
        fi
    fi
    ward_library="$(find "$build_dir" -name 'libward.so' 2>/dev/null | head -n 1 || true)"
    if [ -z "$ward_library" ]; then
        [ "$build_ward" = 1 ] || note "no libward.so under $build_dir (run without --no-build)"
        drop_allocator ward
    else
        preload[ward]="$ward_library"
        # ward with an environment setting or built with another CMake
        # option: a column of its own, right after ward's
        with_variants=()
        for a in "${allocators[@]}"; do
            with_variants+=("$a")
            [ "$a" = ward ] || continue
            for setting in "${ward_envs[@]}"; do
                name="${setting%%=*}"; value="${setting#*=}"
                label="ward_$(echo "${name#WARD_}" | tr 'A-Z' 'a-z')$value"
                with_variants+=("$label")
                preload[$label]="$ward_library"; extra_env[$label]="$setting"; served_by[$label]=ward
            done
            for option in "${ward_builds[@]}"; do
                name="${option%%=*}"; value="${option#*=}"
                suffix="$(echo "${name#WARD_}$value" | tr 'A-Z' 'a-z')"
                label="ward_$suffix"
                variant_dir="$build_dir-$suffix"
                if [ "$build_ward" = 1 ]; then
                    note "building ward with -D$option in $variant_dir ..."
                    cmake -S "$ROOT" -B "$variant_dir" -DCMAKE_BUILD_TYPE=Release -DWARD_OVERRIDE=ON \
                          -DWARD_BUILD_TESTS=OFF -DWARD_BUILD_TOOLS=OFF "-D$option" >>"$results/build.log" 2>&1 &&
                        cmake --build "$variant_dir" -j2 --target ward >>"$results/build.log" 2>&1 ||
                        note "ward with -D$option did not build (log: $results/build.log)"
                fi
                variant_library="$(find "$variant_dir" -name 'libward.so' 2>/dev/null | head -n 1 || true)"
                if [ -n "$variant_library" ]; then
                    with_variants+=("$label")
                    preload[$label]="$variant_library"; built_with[$label]="-D$option"; served_by[$label]=ward
                else
                    note "no ward built with -D$option: its column is left out"
                fi
            done
        done
        allocators=("${with_variants[@]}")
    fi
fi

# ---- building the workloads ------------------------------------------------
# -fno-builtin-malloc and friends: the compiler must not drop a malloc/free
# pair whose block it can prove unused; every call reaches the allocator.
bin_dir="$build_dir/bench-workloads"
mkdir -p "$bin_dir"
CC="${CC:-cc}"
cflags=(-std=c11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -pthread
        -fno-builtin-malloc -fno-builtin-free -fno-builtin-realloc -fno-builtin-calloc)
declare -A built=()
build_list=(pairs) # pairs also serves as the probe of a preload below
for n in "${selected[@]}"; do build_list+=("${command[$n]%% *}"); done
for program in "${build_list[@]}"; do
    [ -n "${built[$program]:-}" ] && continue
    source="$BENCH_DIR/workloads/$program.c"
    binary="$bin_dir/$program"
    if [ ! -x "$binary" ] || [ "$source" -nt "$binary" ] || [ "$BENCH_DIR/workloads/common.c" -nt "$binary" ] ||
       [ "$BENCH_DIR/workloads/common.h" -nt "$binary" ]; then
        "$CC" "${cflags[@]}" -o "$binary" "$source" "$BENCH_DIR/workloads/common.c" -lm ||
            { note "workload $program does not compile"; exit 1; }
    fi
    built[$program]=1
done

# A preload that crashes at once or does not take (the workload reports
# which allocator served it) would make every figure of that column wrong.
if [ -n "${preload[ward]:-}" ]; then
    probe="$(timeout 60 env LD_PRELOAD="${preload[ward]}" "$bin_dir/pairs" --ops 100000 \
             2>"$results/ward-probe.err" | tail -n 1 || true)"
    if [[ "$probe" != *"allocator=ward "* ]]; then
        note "ward built but a probe run under it failed (${probe:-no output}; see $results/ward-probe.err); its column is left out"
        drop_allocator ward
    fi
fi
[ "${#allocators[@]}" -gt 0 ] || { note "no allocator left to run"; exit 1; }

# ---- the machine -----------------------------------------------------------
cpu_model="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)"
[ -n "$cpu_model" ] || cpu_model="$(uname -m)"
memory_gib="$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
version_of() {
    case "$1" in
        ward_*) echo "$(version_of ward), ${extra_env[$1]:+with ${extra_env[$1]}}${built_with[$1]:+built with ${built_with[$1]}}" ;;
        ward) # the commit, and whether the library's sources differ from it
            local commit changed
            commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")"
            changed="$(git -C "$ROOT" status --porcelain -- src include CMakeLists.txt 2>/dev/null | head -n 1)"
            echo "$commit${changed:+ with uncommitted changes to src/ or include/}" ;;
        glibc) ldd --version 2>/dev/null | awk 'NR == 1 {print $NF}' ;;
        *) read -r _ package <<<"$(peer_library "$1")"; dpkg-query -W -f='${Version}' "$package" 2>/dev/null || echo "?" ;;
    esac
}
{
    echo "date:       $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine:    $cpu_model, $(nproc) cores online, ${memory_gib} GiB"
    echo "kernel:     $(uname -sr)"
    echo "compiler:   $("$CC" --version | head -n 1)"
    echo "mode:       $mode, $rounds rounds, --threads $threads"
    echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
    for a in "${allocators[@]}"; do
        printf 'allocator:  %-9s %s%s\n' "$a" "$(version_of "$a")" "${preload[$a]:+ ($(basename "${preload[$a]}"))}"
    done
} >"$results/machine.txt"

# ---- running ---------------------------------------------------------------
raw="$results/raw.txt"
: >"$raw"
total_runs=0
for ((round = 1; round <= rounds; round++)); do
    for n in "${selected[@]}"; do
        [ "$mode" = quick ] && [ "${quick_rule[$n]}" = once ] && [ "$round" -gt 1 ] && continue
        total_runs=$((total_runs + ${#allocators[@]}))
    done
done
note "$mode mode: ${#selected[@]} workloads x ${#allocators[@]} allocators (${allocators[*]}), $rounds rounds, $total_runs runs; results in $results"

run_once() { # run_once ROUND NAME ALLOCATOR: appends one line to raw.txt, prints a short figure
    local round="$1" n="$2" a="$3" program args out rc line
    program="${command[$n]%% *}"
    args="${command[$n]#"$program"}"
    args+=" --threads $threads"
    if [ "$mode" = quick ] && [[ "${quick_rule[$n]}" == scale=* ]]; then args+=" --scale ${quick_rule[$n]#scale=}"; fi
    out="$results/failed-runs/$n.$a.$round"
    rc=0
    # shellcheck disable=SC2086 # args is a list of words by design
    if [ -n "${extra_env[$a]:-}" ]; then
        timeout "$RUN_TIMEOUT_S" env LD_PRELOAD="${preload[$a]}" "${extra_env[$a]}" "$bin_dir/$program" $args \
            >"$out.out" 2>"$out.err" || rc=$?
    elif [ -n "${preload[$a]}" ]; then
        timeout "$RUN_TIMEOUT_S" env LD_PRELOAD="${preload[$a]}" "$bin_dir/$program" $args >"$out.out" 2>"$out.err" || rc=$?
    else
        timeout "$RUN_TIMEOUT_S" env -u LD_PRELOAD "$bin_dir/$program" $args >"$out.out" 2>"$out.err" || rc=$?
    fi
    line="$(grep '^workload=' "$out.out" | tail -n 1 || true)"
    if [ "$rc" = 0 ] && [[ "$line" == *"allocator=${served_by[$a]:-$a} "* ]]; then
        echo "round=$round name=$n alloc=$a status=ok $line" >>"$raw"
        rm -f "$out.out" "$out.err"
        awk -v l="$line" 'BEGIN { if (match(l, /time_ns=[0-9]+/)) printf "%.0fms", substr(l, RSTART + 8, RLENGTH - 8) / 1e6 }'
    else
        local reason="exit-$rc"
        [ "$rc" = 124 ] && reason="timeout"
        [ "$rc" = 0 ] && reason="wrong-allocator"
        echo "round=$round name=$n alloc=$a status=fail rc=$rc reason=$reason" >>"$raw"
        printf 'FAIL(%s)' "$reason"
    fi
}

started=$SECONDS
for ((round = 1; round <= rounds; round++)); do
    for n in "${selected[@]}"; do
        [ "$mode" = quick ] && [ "${quick_rule[$n]}" = once ] && [ "$round" -gt 1 ] && continue
        printf '[%d/%d %4ds] %-14s' "$round" "$rounds" $((SECONDS - started)) "$n" >&2
        # Each round starts one allocator further along (A B C D E, then
        # B C D E A, ...), so that every allocator takes every place in the
        # order equally often.  The first run of a round follows the previous
        # round's last and largest process (1 GiB freed as it exits); with a
        # fixed order ward always ran there, and its pair-32 median came out
        # at 371 ms against 280-290 ms in interleaved runs of its own.
        for ((slot = 0; slot < ${#allocators[@]}; slot++)); do
            a="${allocators[$(((slot + round - 1) % ${#allocators[@]}))]}"
            printf ' %s %s' "$a" "$(run_once "$round" "$n" "$a")" >&2
        done
        printf '\n' >&2
    done
done
echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at end; runs took $((SECONDS - started)) s" >>"$results/machine.txt"
rmdir "$results/failed-runs" 2>/dev/null || true
[ -s "$results/ward-probe.err" ] || rm -f "$results/ward-probe.err"

# ---- the report ------------------------------------------------------------
reference=glibc
[[ " ${allocators[*]} " == *" ward "* ]] && reference=ward
core_names="" churn_names="" model_pairs=""
for n in "${names[@]}"; do
    [ "${group[$n]}" = core ] && core_names+="$n "
    [[ "${group[$n]}" = core && "$n" == churn-* ]] && churn_names+="$n "
    model_pairs+="$n=${model[$n]} "
done

report="$results/results.md"
{
    echo "## ward benchmark results ($mode)"
    echo ""
    echo '```'
    cat "$results/machine.txt"
    echo '```'
    echo ""
    if [[ " ${allocators[*]} " != *" ward "* ]]; then
        echo "**ward is not in this run** (it did not build, or was not asked for): ratios are to glibc."
        echo ""
    fi
    awk -v names="${selected[*]}" -v allocators="${allocators[*]}" -v reference="$reference" \
        -v core="$core_names" -v churn="$churn_names" -v models="$model_pairs" \
        -v time_dat="$results/time-ratios.dat" -v rss_dat="$results/rss-ratios.dat" \
        -f "$BENCH_DIR/report.awk" "$raw"
} >"$report"

# ---- the chart -------------------------------------------------------------
peers=()
for a in "${allocators[@]}"; do [ "$a" = "$reference" ] || peers+=("$a"); done
if [ "${#peers[@]}" -gt 0 ]; then
    if ! command -v gnuplot >/dev/null; then
        note "gnuplot is missing: apt-get install -y gnuplot-nox"
        apt_install gnuplot-nox || true
    fi
    if command -v gnuplot >/dev/null; then
        chart_ok=1
        for metric in time rss; do
            gnuplot -e "data='$results/$metric-ratios.dat'; output='$results/$metric-ratios'" \
                    -e "peers='${peers[*]}'; reference='$reference'; metric='$metric'" \
                    "$BENCH_DIR/ratios.gp" >>"$results/chart.log" 2>&1 || chart_ok=0
        done
        if [ "$chart_ok" = 1 ]; then
            printf 'Charts: `time-ratios.svg` and `rss-ratios.svg` (and .png) beside this file (bars: peer / %s, log scale).\n\n' \
                "$reference" >>"$report"
        else
            note "gnuplot failed, no chart (see $results/chart.log)"
        fi
    else
        note "no chart: gnuplot is not installed and could not be installed (apt-get install gnuplot-nox)"
        echo "No chart: gnuplot was not available." >>"$report"
    fi
fi

cat "$report"
note "results, raw data and charts: $results"
exit 0
}
