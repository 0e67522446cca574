#!/bin/sh
# Builds and runs the JSON library benchmark (json_bench.c: json-c vs jansson
# vs cJSON on avrr's request/response shapes; see docs/BENCHMARKS.md).
# Usage: bench/json/run.sh [parse_iters [build_iters]]
# jansson and cJSON are needed only here, not to build or test avrr; when
# they are missing this says how to install them and exits 0.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)

missing=""
for pc in json-c:libjson-c-dev jansson:libjansson-dev libcjson:libcjson-dev; do
    if ! pkg-config --exists "${pc%%:*}" 2>/dev/null; then
        missing="$missing ${pc#*:}"
    fi
done
if [ -n "$missing" ]; then
    echo "bench/json: skipped, missing Debian package(s):$missing"
    echo "  install them (only needed for this benchmark) with:"
    echo "  apt-get install -y$missing"
    exit 0
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
# One module per library (see the header of json_bench.c for why), then the
# driver that loads them side by side.
CF="-O2 -std=c17 -Wall -Wextra"
# $CF and pkg-config output are flag lists: word splitting is meant.
# shellcheck disable=SC2046,SC2086
build_module() { # NAME LIBNUM PKG
    cc $CF -fPIC -shared -fvisibility=hidden -DJSON_BENCH_LIB="$2" \
        $(pkg-config --cflags "$3") -o "$TMP/json_bench_$1.so" "$HERE/json_bench.c" \
        $(pkg-config --libs "$3")
}
build_module jsonc 1 json-c
build_module jansson 2 jansson
build_module cjson 3 libcjson
# shellcheck disable=SC2086
cc $CF -o "$TMP/json_bench" "$HERE/json_bench.c" -ldl

echo "date:    $(date -u +%F)"
echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1), nproc $(nproc)"
echo "cc:      $(cc --version | head -n 1), -O2"
echo "pkg-config versions: json-c $(pkg-config --modversion json-c)," \
    "jansson $(pkg-config --modversion jansson), cJSON $(pkg-config --modversion libcjson)"
"$TMP/json_bench" "$TMP" "$@"
