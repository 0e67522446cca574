#!/bin/sh
# dedup_speed.sh: the speed benchmark of batch dedup (issue 3, docs/BENCHMARKS.md
# "Speed of dedup"). Builds avrr-match with bench/build.sh, generates 100k and
# 1M returnee records (seeds 5 and 6) and times `dedup` at the default
# threshold with the default block cap (500) and with --block-cap 100.
# Usage: bench/dedup_speed.sh [WORK_DIR]   (default build-speed)
# Prints per run the program's summary line and /usr/bin/time's CPU seconds,
# wall seconds and peak memory, with the load average before and after:
# on a shared machine the wall time is inflated by the load; CPU seconds are
# the figure to compare.
set -eu
S=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-build-speed}
mkdir -p "$W"
sh "$S/bench/build.sh" "$W/bin"
M=$W/bin/avrr-match
[ -f "$W/speed100k.csv" ] || python3 "$S/bench/gen_returnees.py" speed 100000 "$W/speed100k.csv" --seed 5
[ -f "$W/speed1m.csv" ] || python3 "$S/bench/gen_returnees.py" speed 1000000 "$W/speed1m.csv" --seed 6
echo "date: $(date -u)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for run in speed100k:500 speed100k:100 speed1m:100 speed1m:500; do
  f=${run%:*}; cap=${run#*:}
  {
    echo "== $f --block-cap $cap; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -f "wall %e s user %U s sys %S s peak %M KB" \
      "$M" dedup --in "$W/$f.csv" --out "$W/pairs_${f}_$cap.csv" --block-cap $cap 2>&1 |
      grep -v '%$\|records read$'
    echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg); pairs written: $(($(wc -l <"$W/pairs_${f}_$cap.csv") - 1))"
    rm -f "$W/pairs_${f}_$cap.csv"
  }
done
