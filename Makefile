# The README's commands. `make run` and `make test` install what is missing
# (scripts/deps.sh), build, and then serve or test.
BUILD      ?= build
ASAN_BUILD ?= build-asan
MAKEFLAGS += --no-print-directory
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
LISTEN     ?= 127.0.0.1:8080
DEMO_DB    ?= var/demo.db
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_LONG_SECONDS ?= 600
VG_BUILD   ?= build-vg

.PHONY: all deps build build-asan test test-fast run demo clean soak soak-asan fuzz fuzz-long valgrind

all: build

deps:
	@./scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DAVRR_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# Every test, twice: a normal build and an ASan+UBSan build; then the unit
# and API suites under valgrind memcheck (SQLite), then a short run of every
# fuzzer. The store, API and CLI tests run on both backends: the recipe
# starts a throw-away
# PostgreSQL cluster (scripts/pg-test-cluster.sh: a temporary folder, a free
# port, an unprivileged user) for the *.pg tests and stops it on the way
# out, pass, fail or Ctrl-C, so that no postgres is left running.
test: build build-asan
	@pgdir=$$(mktemp -d /tmp/avrr-pg-XXXXXX) || exit 1; \
	trap './scripts/pg-test-cluster.sh stop "$$pgdir"' EXIT; \
	trap 'exit 130' INT TERM HUP; \
	uri=$$(./scripts/pg-test-cluster.sh start "$$pgdir") || exit 1; \
	echo "avrr: PostgreSQL test cluster at $$uri"; \
	export AVRR_TEST_PG_URI="$$uri"; \
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) && \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)
	@$(MAKE) valgrind
	@$(MAKE) fuzz

# The normal build only, for a quick loop while editing; SQLite only (the
# *.pg tests skip) unless AVRR_TEST_PG_URI names a cluster.
test-fast: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# A fresh demo registry, then the server in the foreground.
run: build
	@mkdir -p var
	@rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	@./$(BUILD)/avrr demo --db $(DEMO_DB)
	@./$(BUILD)/avrr serve --db $(DEMO_DB) --listen $(LISTEN) --web-root web

# The soak test (not part of `make test`): 64 connections for 60 s over reads,
# writes and checks against `avrr demo --persons 2000`; prints a Markdown summary.
soak: build
	@./bench/soak/run.sh $(BUILD)
# The same against the ASan+UBSan server (LeakSanitizer checks it at exit).
soak-asan: build-asan
	@./bench/soak/run.sh $(ASAN_BUILD)

# Every libFuzzer target for FUZZ_SECONDS (clang, ASan+UBSan, in build-fuzz);
# `make test` ends with this short run.
fuzz: deps
	@AVRR_FUZZ_BUILD=$(abspath $(FUZZ_BUILD)) tests/fuzz/run.sh $(FUZZ_SECONDS)

# Long runs: 10 min per target (about 1 h on 2 CPUs); FUZZ_LONG_SECONDS=3600
# for an hour each. Crashes land in build-fuzz/fuzz-artifacts/.
fuzz-long: deps
	@AVRR_FUZZ_BUILD=$(abspath $(FUZZ_BUILD)) tests/fuzz/run.sh $(FUZZ_LONG_SECONDS)

# Unit and API tests under valgrind memcheck, on a build without sanitizers.
valgrind: deps
	@cmake -S . -B $(VG_BUILD) -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(VG_BUILD) -j $(JOBS)
	@tests/valgrind.sh $(VG_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(VG_BUILD)
