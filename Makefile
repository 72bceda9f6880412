# SPDX-License-Identifier: Apache-2.0
#
# A thin front to CMake presets and the scripts in scripts/. Every target
# that builds first makes sure the Debian packages are there (scripts/bootstrap).

PRESET ?= debug
BUILD  := build/$(PRESET)
BIN    := $(BUILD)/assetbridge
FUZZ_SECONDS ?= 60
FUZZ_SEED ?= 0
DEMO_LISTEN ?= 127.0.0.1:8440

.PHONY: all deps build test fuzz-smoke demo demo-check bench reliability soak lint format fuzz clean

all: build

deps:
	@scripts/bootstrap

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET)

# every test: unit, integration, the fast crash, fault and security suites,
# then the fuzz smoke (each libFuzzer target 10 s with a fixed seed)
test: build
	@ctest --preset $(PRESET)
	@$(MAKE) --no-print-directory fuzz-smoke

fuzz-smoke: deps
	@cmake --preset fuzz >/dev/null
	@cmake -DAB_FUZZ_SECONDS=10 -DAB_FUZZ_SEED=1 build/fuzz >/dev/null
	@cmake --build --preset fuzz
	@ctest --preset fuzz -L fuzz

demo: build
	@scripts/demo --bin $(BIN) --listen $(DEMO_LISTEN)

demo-check: build
	@scripts/demo --bin $(BIN) --check

bench: deps
	@scripts/bootstrap --bench
	@scripts/bench

# the full crash suite, fault matrix and security suite, with their tables
# (docs/reliability.md); `make test` runs their fast subsets
reliability: build
	@scripts/reliability --bin $(BIN)

# mixed load for SOAK_MINUTES (default 30): RSS and descriptors must stay flat
soak: build
	@scripts/soak --bin $(BIN) --minutes $(or $(SOAK_MINUTES),30)

lint: build
	@scripts/lint

format:
	@git ls-files -co --exclude-standard -- 'src/*.c' 'src/*.h' 'tests/*.c' 'fuzz/*.c' 'bench/*.c' \
	  | xargs clang-format -i

fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz
	@cmake -DAB_FUZZ_SECONDS=$(FUZZ_SECONDS) -DAB_FUZZ_SEED=$(FUZZ_SEED) build/fuzz >/dev/null
	@ctest --preset fuzz -L fuzz

clean:
	rm -rf build
