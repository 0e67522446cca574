#!/bin/sh
# The accuracy table of docs/BENCHMARKS.md ("Identity matching", "Accuracy"):
# every public data set of ../shared/data and the returnee generator, with the
# shipped default model and, for the returnees, a model trained on the data
# itself; each row from a pairs file written with --threshold 0 and read by
# bench/evaluate.py, then bench/ceiling.py on the returnee link run.
#
# usage: sh bench/acc_battery.sh [WORK_DIR]     (default /tmp/avrr-bench/acc)
# Needs python3; builds the bench programs with bench/build.sh.
set -eu
S=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-/tmp/avrr-bench/acc}
mkdir -p "$W"
sh "$S/bench/build.sh" "$W/bin" >/dev/null
M=$W/bin/avrr-match
E="python3 $S/bench/evaluate.py"
G="python3 $S/bench/gen_returnees.py"
[ -f "$W/febrl4a.csv" ] || python3 "$S/bench/convert.py" "$S/../shared/data" "$W" >/dev/null
cd "$W"
$M link --left febrl4a.csv --right febrl4b.csv --out f4.pairs --threshold 0 --skip-bad --quiet 2>/dev/null
$E --pairs f4.pairs --truth febrl4a.csv --truth febrl4b.csv --name "FEBRL4 link"
$M dedup --in febrl3.csv --out f3.pairs --threshold 0 --skip-bad --quiet 2>/dev/null
$E --pairs f3.pairs --truth febrl3.csv --name "FEBRL3 dedup"
for d in historical_50k ncvr_ocp20 ncvr_ocp40; do
    $M dedup --in $d.csv --out $d.pairs --threshold 0 --skip-bad --quiet 2>/dev/null
    $E --pairs $d.pairs --truth $d.csv --name "$d dedup"
done
$G dedup 20000 ret_dedup.csv
$G link 10000 ret_l.csv ret_r.csv --seed 2
$M dedup --in ret_dedup.csv --out rd.pairs --threshold 0 --quiet
$E --pairs rd.pairs --truth ret_dedup.csv --name "returnees dedup"
$M train --in ret_dedup.csv --out rd.model.json --quiet
$M dedup --in ret_dedup.csv --out rdt.pairs --threshold 0 --quiet --model rd.model.json
$E --pairs rdt.pairs --truth ret_dedup.csv --name "returnees dedup, trained"
$M link --left ret_l.csv --right ret_r.csv --out rl.pairs --threshold 0 --quiet
$E --pairs rl.pairs --truth ret_l.csv --truth ret_r.csv --name "returnees link"
$M train --left ret_l.csv --right ret_r.csv --out rl.model.json --quiet
$M link --left ret_l.csv --right ret_r.csv --out rlt.pairs --threshold 0 --quiet --model rl.model.json
$E --pairs rlt.pairs --truth ret_l.csv --truth ret_r.csv --name "returnees link, trained"
echo
echo "returnee link, what the levels allow:"
python3 "$S/bench/ceiling.py" --pairs rl.pairs --truth ret_l.csv --truth ret_r.csv
echo
echo "returnee dedup, what the levels allow:"
python3 "$S/bench/ceiling.py" --pairs rd.pairs --truth ret_dedup.csv
