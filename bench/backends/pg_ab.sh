#!/bin/sh
# Two builds of avrr side by side on PostgreSQL (issue 6): in-process checks
# (check_bench, one thread) alternating A, B, A, B, ... on fresh copies
# (CREATE DATABASE ... TEMPLATE) of one imported registry, so that the
# machine's load swings hit both alike; per run the PostgreSQL server's CPU
# (its exited backends') and, with STATS=1, the statements' own times
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
case ${3:-100k} in
1m | 1M) N=1000000 ;;
100k | 100K) N=100000 ;;
*) echo "pg_ab.sh: SIZE is 100k or 1m" >&2; exit 2 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROUNDS=${ROUNDS:-5}
CHECKS=${CHECKS:-3000}
CACHE=${CACHE:-/tmp/avrr-bench/check_latency}
WORK=${WORK:-/tmp/avrr-bench/pg_ab}
DATA=$CACHE/$N
TENANTS="NL BE DE FR"
[ -f "$DATA/probes_known.csv" ] || { echo "pg_ab.sh: no data in $DATA (run bench/check_latency/run.sh first)" >&2; exit 1; }
mkdir -p "$WORK"
libs=$(pkg-config --libs sqlite3 libpq libmicrohttpd json-c libsodium icu-uc icu-i18n)
for v in A B; do
    eval "tree=\$$v"
    # shellcheck disable=SC2086,SC2154 # a flag list; tree set by eval
    cc -O2 -g -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I "$tree/include" -I "$tree/src" \
        -o "$WORK/check_bench_$v" "$tree/bench/check_latency/check_bench.c" "$tree/build/libavrr.a" \
        $libs -lpthread -lm
done
PGDIR=$WORK/pg
cleanup() { "$ROOT/scripts/pg-test-cluster.sh" stop "$PGDIR" 2>/dev/null; true; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
"$ROOT/scripts/pg-test-cluster.sh" stop "$PGDIR" 2>/dev/null || true
PG_URI=$("$ROOT/scripts/pg-test-cluster.sh" start "$PGDIR")
pg_db() { printf '%s\n' "$PG_URI" | sed "s|/avrr?|/$1?|"; }
PG_ADMIN=$(pg_db postgres)
AVRR=$A/build/avrr
"$AVRR" init --db "$PG_URI" >/dev/null
for t in $TENANTS; do "$AVRR" tenant add --db "$PG_URI" --code "$t" --name "Member state $t" >/dev/null; done
for t in $TENANTS; do "$AVRR" import --db "$PG_URI" --tenant "$t" --quiet "$DATA/$t.csv" >/dev/null; done
# The loaded tables only, as autovacuum would (see bench/backends/run.sh):
# a whole-database VACUUM ANALYZE records the empty check tables as empty.
psql "$PG_URI" -qc 'VACUUM ANALYZE persons, identities, documents, audit_events'
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
fresh() {
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS ab" >/dev/null 2>&1
    tries=0
    until psql "$PG_ADMIN" -qc "CREATE DATABASE ab TEMPLATE avrr" >/dev/null 2>&1; do
        tries=$((tries + 1)); [ $tries -lt 30 ] || { echo "pg_ab.sh: CREATE DATABASE failed" >&2; exit 1; }
        sleep 1
    done
    pg_db ab
}
pg_cpu() { awk '{printf "%.2f\n", ($16 + $17) / 100}' "/proc/$(head -n 1 "$PGDIR/data/postmaster.pid")/stat"; }
bench() { # VARIANT N WARMUP -> check_bench's output
    "$WORK/check_bench_$1" --db "$(fresh)" --known "$DATA/probes_known.csv" \
        --new "$DATA/probes_new.csv" --checks "$2" --warmup "$3" --threads 1
}
if [ "${RT:-0}" = 1 ]; then
    for v in A B; do
        for n in 200 600; do
            db=$(fresh)
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
            "$(grep '^checks' "$WORK/run_${v}_$r.txt" | tr ' ' '\n' |
                grep -E '^(checks_per_s|p50_ms|p90_ms|p99_ms|cpu_p50_ms)=' | tr '\n' ' ')"
        [ "${STATS:-0}" = 1 ] && psql "$(pg_db ab)" -qAtc "SELECT calls, round(total_exec_time::numeric, 1),
            left(regexp_replace(query, '\s+', ' ', 'g'), 60) FROM pg_stat_statements s
            JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'ab'
            ORDER BY total_exec_time DESC LIMIT 8" >"$WORK/stats_${v}_$r.txt"
    done
done
