SHELL := /bin/bash
# Convenience front end to the CMake build.  The two quick-start commands:
#   make demo   build ward and run a real program under `ward run`, with its report
#   make test   build ward and run the whole test suite under CTest
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all build demo test bench install clean

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# sort (coreutils, on every Debian system) over a million shuffled lines,
# with libward preloaded; ward prints its report when sort exits.
demo: build
	@seq 1 1000000 | shuf --random-source=<(yes) > $(BUILD)/demo-input.txt
	$(BUILD)/tools/ward run -- sort -n --parallel=2 -S 32M $(BUILD)/demo-input.txt -o $(BUILD)/demo-sorted.txt
	@cmp -s $(BUILD)/demo-sorted.txt <(seq 1 1000000) && echo "demo: sort under ward produced the right output"

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench:
	bench/run.sh

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
