#!/bin/sh
# The installed package: `cmake --install` into a temporary prefix, then a
# small consumer built once with find_package(ward) and once with
# `pkg-config --cflags --libs ward`, and run.
#
# Usage: package.sh BUILD-DIR C-COMPILER WORKDIR
# Exit status 77 (skip) when pkg-config is missing and cannot be installed.
set -eu

build=$1
cc=$2
work=$3

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

rm -rf "$work"
mkdir -p "$work/src"
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
    fail "cmake --install failed: $(cat "$work/install.log")"
[ -f "$prefix/include/ward.h" ] || fail "ward.h is not installed"
libdir=$(dirname "$(find "$prefix" -name 'libward.so' | head -n 1)")
[ -f "$libdir/libward.so" ] || fail "libward.so is not installed"
[ -f "$libdir/libward.a" ] || fail "libward.a is not installed"

cat >"$work/src/consumer.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <ward.h>

int main(void)
{
    char *p = ward_malloc(100);
    if (p == NULL || ward_usable_size(p) < 100)
        return 1;
    strcpy(p, "consumer");
    ward_heap_t *heap = ward_heap_new();
    if (heap == NULL || ward_heap_malloc(heap, 1000) == NULL)
        return 2;
    ward_heap_destroy(heap);
    ward_stats_t stats;
    if (ward_stats_get(&stats) != 0 || stats.malloc_count < 2)
        return 3;
    printf("%s %s\n", p, ward_version());
    ward_free(p);
    return 0;
}
EOF
cat >"$work/src/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.18)
project(ward_consumer C)
find_package(ward REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE ward::ward)
add_executable(consumer_static consumer.c)
target_link_libraries(consumer_static PRIVATE ward::ward_static)
EOF

expected="consumer ward $(sed -n 's/^project(ward VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../../CMakeLists.txt")"

# ---- find_package(ward) ----
cmake -S "$work/src" -B "$work/cmake-build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" \
    >"$work/consumer-configure.log" 2>&1 ||
    fail "find_package(ward) consumer does not configure: $(cat "$work/consumer-configure.log")"
cmake --build "$work/cmake-build" >"$work/consumer-build.log" 2>&1 ||
    fail "find_package(ward) consumer does not build: $(cat "$work/consumer-build.log")"
for program in consumer consumer_static; do
    out=$("$work/cmake-build/$program") || fail "$program (find_package) failed"
    [ "$out" = "$expected" ] || fail "$program printed \"$out\", expected \"$expected\""
done
echo "find_package(ward): shared and static consumers run"

# ---- pkg-config ward ----
if ! command -v pkg-config >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get install -y pkg-config >/dev/null 2>&1 || true
    fi
fi
if ! command -v pkg-config >/dev/null 2>&1; then
    echo "SKIP: pkg-config is not installed and could not be installed (find_package part passed)"
    exit 77
fi
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
[ -f "$PKG_CONFIG_PATH/ward.pc" ] || fail "ward.pc is not installed in $PKG_CONFIG_PATH"
flags=$(pkg-config --cflags --libs ward) || fail "pkg-config --cflags --libs ward failed"
# shellcheck disable=SC2086 # the flags are words
"$cc" -o "$work/pkg-consumer" "$work/src/consumer.c" $flags || fail "pkg-config consumer does not build"
out=$(LD_LIBRARY_PATH=$libdir "$work/pkg-consumer") || fail "pkg-config consumer failed"
[ "$out" = "$expected" ] || fail "pkg-config consumer printed \"$out\""
echo "pkg-config ward: the consumer runs"
