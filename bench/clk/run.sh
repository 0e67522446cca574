#!/bin/sh
# bench/clk/run.sh [BUILD_DIR]: builds libavrr (CMake, RelWithDebInfo), then
# the CLK speed benchmark and the accuracy evaluation, and runs both:
#   speed: 2,000,000 encodings (256 MB), one core, median of 5 runs;
#   accuracy: FEBRL4 (bench/convert.py) and the returnee generator (link,
#   5,000 persons, seed 7), all pairs, CLK mode.
set -eu
S=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$S/build-clk}
cmake -S "$S" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j2 --target avrr_lib >/dev/null
LIBS="$(pkg-config --libs sqlite3 libmicrohttpd json-c libsodium icu-uc icu-i18n) -lpthread -lm"
CF="-O2 -g -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -I$S/include -I$S/src"
mkdir -p "$B/bench-clk"
cc $CF -o "$B/bench-clk/clk_bench" "$S/bench/clk/clk_bench.c" "$B/libavrr.a" $LIBS
cc $CF -o "$B/bench-clk/clk_eval" "$S/bench/clk/clk_eval.c" "$B/libavrr.a" $LIBS
date -u; grep -m1 'model name' /proc/cpuinfo
echo "== speed"
taskset -c 0 "$B/bench-clk/clk_bench" 2000000 16
D="$B/bench-clk/data"
if [ ! -f "$D/febrl4a.csv" ]; then
  python3 "$S/bench/convert.py" "$S/../shared/data" "$D" >/dev/null
fi
[ -f "$D/retL.csv" ] || python3 "$S/bench/gen_returnees.py" link 5000 "$D/retL.csv" "$D/retR.csv" --seed 7
echo "== FEBRL4 (threshold 0.65)"
"$B/bench-clk/clk_eval" --threshold 0.65 "$D/febrl4a.csv" "$D/febrl4b.csv" 2>/dev/null
echo "== returnees link 5000 (threshold 0.65)"
"$B/bench-clk/clk_eval" --threshold 0.65 "$D/retL.csv" "$D/retR.csv" 2>/dev/null
