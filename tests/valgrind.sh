#!/bin/sh
# tests/valgrind.sh BUILD_DIR: runs the unit tests and the API tests of a
# build without sanitizers (valgrind and ASan do not mix) under valgrind
# memcheck, the API tests with the server they start under valgrind too
# (AVRR_SERVER_WRAPPER, read by tests/api/harness.c). Fails on the first
# memory error or definite leak. Slow: a few minutes.
#
#   cmake -S . -B build-vg -DCMAKE_BUILD_TYPE=Debug && cmake --build build-vg
#   tests/valgrind.sh build-vg
#
# AVRR_VALGRIND_TESTS="test_core test_hostile" runs only those programs.
set -eu

build=${1:?usage: tests/valgrind.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind: not installed (Debian: apt-get install valgrind)" >&2
    exit 1
fi
if grep -q 'AVRR_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    echo "valgrind: $build is a sanitizer build; use a plain one" >&2
    exit 1
fi

# Definite and indirect leaks fail; "possibly lost" and "still reachable"
# are ICU's and libsodium's one-time caches.
vg="valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --track-origins=yes --quiet"
logs=$build/valgrind-logs
mkdir -p "$logs"
export AVRR_TEST_DATA="$root/tests/data" AVRR_SHARED_DATA="$root/../shared/data"
export AVRR_BIN="$build/avrr" AVRR_SOURCE_DIR="$root"

failed=""
run() {
    name=$1
    shift
    if "$@" >"$logs/$name.log" 2>&1; then
        echo "valgrind: $name: clean"
    else
        echo "valgrind: $name: FAILED (log: $logs/$name.log)"
        grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|[0-9,]+ bytes in)' \
            "$logs/$name.log" | head -5 | sed 's/^/    /'
        failed="$failed $name"
    fi
}

for t in "$build"/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    case " ${AVRR_VALGRIND_TESTS:-$name} " in
        *" $name "*) ;;
        *) continue ;;
    esac
    if [ -f "$root/tests/api/$name.c" ]; then
        # The test program, and every server it starts, under valgrind.
        AVRR_SERVER_WRAPPER="$vg --log-file=$logs/$name.server.%p.log" run "$name" $vg "$t"
        # The server's own verdict is its exit status (harness_stop checks
        # it); its log names the error.
        for s in "$logs/$name".server.*.log; do
            [ -s "$s" ] && echo "    server log: $s"
        done
    else
        run "$name" $vg "$t"
    fi
done

if [ -n "$failed" ]; then
    echo "valgrind: failed:$failed" >&2
    exit 1
fi
echo "valgrind: all clean"
