#!/bin/sh
# Two builds of avrr side by side on PostgreSQL (issue 6): in-process checks
# (check_bench, one thread) alternating A, B, A, B, ... on fresh copies
# (CREATE DATABASE ... TEMPLATE) of one imported registry, so that the
# machine's load swings hit both alike; per run the PostgreSQL server's CPU
# (all its processes: lib.sh pg_cpu) and, with STATS=1, the statements' own times
# (pg_stat_statements). With RT=1 first the round trips per check, counted
# as check_bench's sendto calls (strace: libpq sends once per round trip),
# (600 - 200 checks) / 400, so that the index load and the warm-up cancel.
#
# usage: bench/backends/pg_ab.sh A_TREE B_TREE [SIZE]
#   A_TREE, B_TREE: source trees built in their build/ (cmake, RelWithDebInfo)
#   SIZE: 100k (default) or 1m: the cached data of bench/check_latency/run.sh
# environment (defaults): ROUNDS=5 CHECKS=3000 STATS=0 RT=0
#   CACHE=/tmp/avrr-bench/check_latency WORK=/tmp/avrr-bench/pg_ab
# Needs psql, bc, the PostgreSQL server packages (scripts/pg-test-cluster.sh),
# strace for RT=1, postgresql-contrib's pg_stat_statements for STATS=1.
set -eu
[ $# -ge 2 ] || { sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROUNDS=${ROUNDS:-5}
CHECKS=${CHECKS:-3000}
WORK=${WORK:-/tmp/avrr-bench/pg_ab}
# shellcheck source=bench/backends/lib.sh
. "$HERE/lib.sh"
size_of pg_ab.sh "${3:-100k}"
mkdir -p "$WORK"
build_check_bench "$A" "$WORK/check_bench_A"
build_check_bench "$B" "$WORK/check_bench_B"
trap pg_stop EXIT
trap 'exit 130' INT TERM HUP
pg_start
registry_import "$A/build/avrr" "$PG_URI"
if [ "${STATS:-0}" = 1 ]; then
    psql "$PG_ADMIN" -qc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
    owner=$(stat -c %U "$PGDIR/data")
    bin=$(dirname "$(find /usr/lib/postgresql -name pg_ctl -type f | sort -V | tail -n 1)")
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$owner" -- "$bin/pg_ctl" -D "$PGDIR/data" -w restart >/dev/null
    else
        "$bin/pg_ctl" -D "$PGDIR/data" -w restart >/dev/null
    fi
    psql "$PG_URI" -qc "CREATE EXTENSION pg_stat_statements" >/dev/null
fi
bench() { # VARIANT N WARMUP -> check_bench's output
    "$WORK/check_bench_$1" --db "$(fresh_pg ab)" --known "$DATA/probes_known.csv" \
        --new "$DATA/probes_new.csv" --checks "$2" --warmup "$3" --threads 1
}
if [ "${RT:-0}" = 1 ]; then
    for v in A B; do
        for n in 200 600; do
            db=$(fresh_pg ab)
            strace -f -e trace=sendto -o "$WORK/strace_${v}_$n" "$WORK/check_bench_$v" --db "$db" \
                --known "$DATA/probes_known.csv" --new "$DATA/probes_new.csv" --checks $n \
                --warmup 0 --threads 1 >/dev/null
            eval "s$n=$(grep -c 'sendto(' "$WORK/strace_${v}_$n")"
        done
        # shellcheck disable=SC2154 # s200, s600 set by eval
        echo "round_trips $v per_check=$(echo "scale=3; ($s600 - $s200) / 400" | bc)"
    done
fi
for r in $(seq 1 "$ROUNDS"); do
    for v in A B; do
        [ "${STATS:-0}" = 1 ] && psql "$PG_URI" -qAtc "SELECT pg_stat_statements_reset()" >/dev/null
        load=$(cut -d' ' -f1 /proc/loadavg)
        c0=$(pg_cpu)
        bench $v "$CHECKS" 1000 >"$WORK/run_${v}_$r.txt"
        sleep 0.5 # the backend's exit
        c1=$(pg_cpu)
        echo "$(date -u +%T) round=$r $v load=$load server_cpu_s=$(echo "$c1 - $c0" | bc)" \
            "$(check_figures "$WORK/run_${v}_$r.txt")"
        if [ "${STATS:-0}" = 1 ]; then
            psql "$(pg_db ab)" -qAtc "SELECT calls, round(total_exec_time::numeric, 1),
                left(regexp_replace(query, '\s+', ' ', 'g'), 60) FROM pg_stat_statements s
                JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'ab'
                ORDER BY total_exec_time DESC LIMIT 8" >"$WORK/stats_${v}_$r.txt"
        fi
    done
done
