#!/bin/sh
# How fast can PostgreSQL's part of a check be? (issue 6: check latency on
# PostgreSQL within 1.5x of SQLite). Beside avrr's own checks on both
# backends (check_bench, in-process, one thread, with --phases), pgbench
# replays the statements of one check (the facts of 4 hit persons, the
# check's row with a real 3 KB answer, 4 hits, a link, the audit table's
# lock and the chain's head, the audit event, COMMIT) on a fresh copy of the
# same registry, alternating every part each round:
#   per_statement.sql       one round trip per statement
#   one_trip.sql            all of it in one pipeline: one round trip, the
#                           least any protocol could need
#   two_trips.sql           two pipelines: the facts with the audit lock and
#                           head, then the writes with COMMIT; the least a
#                           check can need, whose writes wait for the facts
#                           (the stored answer shows them) and the facts for
#                           the match
#   one_trip_writes.sql     the same without the facts read
#   one_trip_row_audit.sql  only the check's row and its audit event
# Then the budget: 1.5 x SQLite's check p50, less the part of a check that
# is not the store's (SQLite's check p50 less its store phases' p50: lock,
# views, row, links, audit, commit). A PostgreSQL check meets the target
# only if its store part, at least two_trips', fits in that budget.
#
# usage: bench/backends/floor.sh TREE [SIZE]
#   TREE: a source tree built in TREE/build (cmake, RelWithDebInfo)
#   SIZE: 1m (default) or 100k: the cached data of bench/check_latency/run.sh
# environment (defaults): ROUNDS=3 CHECKS=3000 TX=3000 SPIN=0 (1: each part
#   also with both processors kept awake by two nice -n 19 busy loops)
#   CACHE=/tmp/avrr-bench/check_latency WORK=/tmp/avrr-bench/floor
# Needs psql, pgbench, bc and the PostgreSQL server packages
# (scripts/pg-test-cluster.sh: fsync and synchronous_commit off).
set -eu
[ $# -ge 1 ] || { sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
TREE=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-/tmp/avrr-bench/floor}
# shellcheck source=bench/backends/lib.sh
. "$HERE/lib.sh"
size_of floor.sh "${2:-1m}"
[ -f "$DATA/registry.db" ] || { echo "floor.sh: no registry.db in $DATA" >&2; exit 1; }
ROUNDS=${ROUNDS:-3}
CHECKS=${CHECKS:-3000}
TX=${TX:-3000}
for tool in psql pgbench bc; do
    command -v $tool >/dev/null || { echo "floor.sh: $tool missing" >&2; exit 1; }
done
mkdir -p "$WORK"
build_check_bench "$TREE" "$WORK/check_bench"
trap 'spin_stop; pg_stop' EXIT
trap 'exit 130' INT TERM HUP
pg_start
registry_import "$TREE/build/avrr" "$PG_URI"
phase_p50() { grep "^phase .* name=$1 " "$2" | field wall_p50_us; }
SCRIPTS="per_statement two_trips one_trip one_trip_writes one_trip_row_audit"
MODES=idle
[ "${SPIN:-0}" = 1 ] && MODES="idle spinning"
# Two spinning shells at the lowest priority keep both processors awake: they
# take only time nobody else wants, so a round trip no longer waits for an
# idle processor to wake up (SPIN=1: each part once without, once with).
SPINNERS=
spin_start() {
    for _ in 1 2; do
        nice -n 19 sh -c 'while :; do :; done' &
        SPINNERS="$SPINNERS $!"
    done
    sleep 1
}
spin_stop() {
    # shellcheck disable=SC2086 # a list of pids
    kill $SPINNERS 2>/dev/null || true
    SPINNERS=
}
checks() { # BACKEND OUT: check_bench on a fresh registry
    if [ "$1" = sqlite ]; then
        rm -f "$WORK/s.db" "$WORK/s.db-wal" "$WORK/s.db-shm"
        cp "$DATA/registry.db" "$WORK/s.db"
        db=$WORK/s.db
    else
        db=$(fresh_pg ck)
    fi
    "$WORK/check_bench" --db "$db" --known "$DATA/probes_known.csv" --new "$DATA/probes_new.csv" \
        --checks "$CHECKS" --warmup 1000 --threads 1 --phases >"$2"
}
for r in $(seq 1 "$ROUNDS"); do
    for mode in $MODES; do
        tag=
        [ "$mode" = spinning ] && tag=' spinning'
        [ "$mode" = spinning ] && spin_start
        load=$(cut -d' ' -f1 /proc/loadavg)
        checks sqlite "$WORK/sqlite_$r.txt"
        s50=$(grep '^checks' "$WORK/sqlite_$r.txt" | field p50_ms)
        store=0
        for p in lock views row links audit commit; do
            store=$(echo "$store + $(phase_p50 $p "$WORK/sqlite_$r.txt") / 1000" | bc -l)
        done
        budget=$(echo "1.5 * $s50 - ($s50 - $store)" | bc -l)
        printf '%s round=%s load=%s%s sqlite_p50_ms=%s sqlite_store_p50_ms=%.3f pg_budget_ms=%.3f\n' \
            "$(date -u +%T)" "$r" "$load" "$tag" "$s50" "$store" "$budget"
        load=$(cut -d' ' -f1 /proc/loadavg)
        c0=$(pg_cpu)
        checks pg "$WORK/pg_$r.txt"
        sleep 0.5 # the backend's exit
        c1=$(pg_cpu)
        [ "$mode" = spinning ] && spin_stop
        p50=$(grep '^checks' "$WORK/pg_$r.txt" | field p50_ms)
        cpu=$(grep '^checks' "$WORK/pg_$r.txt" | field cpu_p50_ms)
        printf '%s round=%s load=%s%s avrr_pg_p50_ms=%s avrr_cpu_p50_ms=%s server_cpu_s=%s ratio=%.2f\n' \
            "$(date -u +%T)" "$r" "$load" "$tag" "$p50" "$cpu" "$(echo "$c1 - $c0" | bc)" \
            "$(echo "$p50 / $s50" | bc -l)"
    done
    for s in $SCRIPTS; do
        for mode in $MODES; do
            tag=
            [ "$mode" = spinning ] && tag=' spinning' && spin_start
            db=$(fresh_pg pb)
            psql "$db" -qf "$HERE/floor/answer.sql"
            load=$(cut -d' ' -f1 /proc/loadavg)
            c0=$(pg_cpu)
            rm -f "$WORK"/tx.*
            (cd "$WORK" && pgbench -n -M prepared -c 1 -t "$TX" -D persons="$N" -l --log-prefix=tx \
                -f "$HERE/floor/$s.sql" "$db" >"$WORK/pgbench_$s.txt" 2>&1) ||
                { cat "$WORK/pgbench_$s.txt" >&2; exit 1; }
            sleep 0.3
            c1=$(pg_cpu)
            lat=$(awk '{print $3}' "$WORK"/tx.* | sort -n |
                awk '{a[NR] = $1} END {printf "p50_ms=%.3f p99_ms=%.3f", a[int(NR * 0.5)] / 1000, a[int(NR * 0.99)] / 1000}')
            [ "$mode" = spinning ] && spin_stop
            printf '%s round=%s load=%s %s %s%s server_cpu_us_per_check=%s\n' "$(date -u +%T)" "$r" \
                "$load" "$s" "$lat" "$tag" \
                "$(echo "($c1 - $c0) * 1000000 / $TX" | bc)"
        done
    done
done
