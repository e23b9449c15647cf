#!/bin/sh
# A sanitizer build of ward and its tests, in a build tree of its own, then
# the tests of one label there.  WARD_OVERRIDE is off: the sanitizers bring
# their own malloc.  The nested tree has WARD_SANITIZE set, so it registers
# no sanitizer tests of its own (and the label filter excludes them too).
#
# Usage: sanitize.sh address|thread SOURCE-DIR BUILD-DIR C-COMPILER LABEL
# Exit status 77 (skip) when the sanitizer cannot run on this machine.
set -eu

kind=$1
source=$2
build=$3
cc=$4
label=$5

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

mkdir -p "$build"

# Can a program built with this sanitizer run here?  TSan cannot when the
# kernel randomises mmap too widely (it stops with "unexpected memory
# mapping"); `setarch -R` turns randomisation off for it and its children.
probe=$build/sanitizer-probe
cat >"$probe.c" <<'EOF'
#include <pthread.h>
static int shared;
static void *touch(void *arg) { (void)arg; __atomic_fetch_add(&shared, 1, __ATOMIC_RELAXED); return 0; }
int main(void) { pthread_t t; pthread_create(&t, 0, touch, 0); pthread_join(t, 0); return shared - 1; }
EOF
flag=address,undefined
[ "$kind" = thread ] && flag=thread
"$cc" -fsanitize=$flag -pthread -o "$probe" "$probe.c" >"$probe.log" 2>&1 ||
    { echo "SKIP: $cc cannot build with -fsanitize=$flag: $(cat "$probe.log")"; exit 77; }
runner=""
if ! "$probe" >"$probe.log" 2>&1; then
    if command -v setarch >/dev/null 2>&1 && setarch "$(uname -m)" -R "$probe" >/dev/null 2>&1; then
        runner="setarch $(uname -m) -R"
        echo "the $kind sanitizer needs address randomisation off here: running under $runner"
    else
        echo "SKIP: programs built with -fsanitize=$flag do not run here: $(cat "$probe.log")"
        exit 77
    fi
fi

cmake -S "$source" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWARD_SANITIZE="$kind" -DWARD_OVERRIDE=OFF -DWARD_BUILD_TOOLS=OFF >"$build/configure.log" 2>&1 ||
    fail "configure failed: $(tail -n 30 "$build/configure.log")"
cmake --build "$build" -j2 >"$build/build.log" 2>&1 || fail "build failed: $(grep -m 20 -A 5 'error' "$build/build.log")"

# halt_on_error: a report fails the test instead of scrolling past.  Leak
# detection is off: ward's blocks are invisible to it, and the tests' own
# few libc allocations that live until exit are not what this build checks.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:halt_on_error=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
export ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS

cd "$build"
$runner ctest -L "^$label\$" -LE '^(sanitize|package|preload)$' -j2 --output-on-failure \
    --no-tests=error --timeout 600
