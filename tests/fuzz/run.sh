#!/bin/sh
# tests/fuzz/run.sh [SECONDS]: builds the libFuzzer targets (clang, ASan +
# UBSan, in build-fuzz) and runs each for SECONDS (default 30) over its
# corpus in tests/fuzz/corpus/<target>/. Fails when any target reports a
# crash, a leak, a timeout or a sanitizer error; the input that did it is
# kept as build-fuzz/fuzz-artifacts/<target>-crash-* and the log beside it.
#
# New inputs the fuzzer finds go to build-fuzz/fuzz-corpus/<target>/, not into
# the repository; to keep good ones, minimise them into the repository corpus:
#   build-fuzz/tests/fuzz/<target> -merge=1 tests/fuzz/corpus/<target> \
#       build-fuzz/fuzz-corpus/<target>
#
# Environment: AVRR_FUZZ_BUILD (build folder, default build-fuzz),
# AVRR_FUZZ_JOBS (targets run at once, default the number of CPUs),
# AVRR_FUZZ_TARGETS (a space-separated subset to run).
set -eu

secs=${1:-30}
case $secs in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${AVRR_FUZZ_BUILD:-$root/build-fuzz}
jobs=${AVRR_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang is missing (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
fi
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
    -DAVRR_FUZZ=ON >/dev/null
cmake --build "$build" --target avrr_fuzz -j "$jobs" >/dev/null

targets=${AVRR_FUZZ_TARGETS:-$(tr ';' ' ' <"$build/tests/fuzz/targets.txt")}
mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"

# Runs one target; prints one line; exit status 0 when clean.
run_one() {
    t=$1
    work=$build/fuzz-corpus/$t
    log=$build/fuzz-logs/$t.log
    mkdir -p "$work"
    set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-"
    case $t in
        fuzz_body_*|fuzz_jsonl) set -- "$@" -dict="$root/tests/fuzz/json.dict" ;;
    esac
    if ASAN_OPTIONS=detect_leaks=1 \
       UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "$build/tests/fuzz/$t" "$@" "$work" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz: $t: ok, ${runs:-?} runs in ${secs}s"
    else
        echo "fuzz: $t: FAILED (log: $log)"
        grep -E '^(==[0-9]+==|SUMMARY|.*invariant broken)' "$log" | head -5 | sed 's/^/    /'
        ls "$build/fuzz-artifacts/$t-"* 2>/dev/null | sed 's/^/    reproducer: /'
        return 1
    fi
}

# Targets run $jobs at a time; each writes its verdict to a file.
status=0
set -- $targets
while [ $# -gt 0 ]; do
    pids=""
    i=0
    while [ $# -gt 0 ] && [ $i -lt "$jobs" ]; do
        ( run_one "$1" >"$build/fuzz-logs/$1.verdict" 2>&1 ) &
        pids="$pids $!:$1"
        shift
        i=$((i + 1))
    done
    for p in $pids; do
        if ! wait "${p%%:*}"; then
            status=1
        fi
        cat "$build/fuzz-logs/${p#*:}.verdict"
    done
done
exit $status
