#!/bin/sh
# Builds the library for aarch64 with Debian's cross compiler: the core must
# keep architecture-specific code in the OS layer, so this has to compile
# warning-free.  Installs gcc-aarch64-linux-gnu when missing (as root), or
# skips (exit 77) with a message when it cannot.
set -eu
source_dir=$1
work=$2
if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing gcc-aarch64-linux-gnu"
        (apt-get install -y -qq gcc-aarch64-linux-gnu >/dev/null 2>&1 ||
         { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq gcc-aarch64-linux-gnu >/dev/null 2>&1; }) || true
    fi
fi
if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    echo "SKIP: aarch64-linux-gnu-gcc is not available and could not be installed"
    exit 77
fi
rm -rf "$work"
cmake -S "$source_dir" -B "$work" -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
      -DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc -DWARD_BUILD_TESTS=OFF -DCMAKE_C_FLAGS=-Werror >/dev/null
cmake --build "$work" -j 2
file "$work/src/libward.so.0" 2>/dev/null || true
echo "aarch64 build: ok"
