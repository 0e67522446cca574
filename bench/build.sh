#!/bin/sh
# Builds the bench programs from src/core and src/match alone (plus
# cmd_match.c), without the project's CMake, so that measurements do not
# depend on the rest of the tree: bench/build.sh OUT_DIR
# The same programs are targets of bench/CMakeLists.txt for add_subdirectory.
set -eu
B=${1:-build-match/bench}
S=$(cd "$(dirname "$0")/.." && pwd)
LIBS="$(pkg-config --libs icu-uc icu-i18n json-c libsodium) -lpthread -lm"
CF="-O2 -g -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -I$S/include -I$S/src"
mkdir -p "$B"
CORE="$S/src/core/*.c $S/src/match/*.c"
cc $CF -o "$B/avrr-match" "$S/bench/match_main.c" "$S/src/cli/cmd_match.c" "$S/bench/cli_shim.c" $CORE $LIBS
for p in bench_kernels bench_keys; do
  [ -f "$S/bench/$p.c" ] && cc $CF -o "$B/$p" "$S/bench/$p.c" $CORE $LIBS
done
true
