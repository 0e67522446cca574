#!/bin/sh
# Storage backends side by side (issue 6, item 4): imports the same
# generated identities (four tenants, as bench/check_latency) into a fresh
# SQLite registry and a fresh PostgreSQL database with `avrr import`, then
# measures checks on both, in-process (check_bench) and over HTTP (wrk, 1
# and 32 connections), with the same probes, and prints a Markdown section
# for docs/BENCHMARKS.md with the PostgreSQL/SQLite ratios and the targets.
#
# usage: bench/backends/run.sh [SIZE]      SIZE: 1m (default), 100k or N
# environment (defaults):
#   CHECKS=5000        in-process checks per backend (one thread)
#   PROBES=10000       distinct probes (80 % known persons, 20 % new)
#   SERVE_THREADS=4    avrr serve --threads
#   DUR_CHECK1=20s DUR_CHECK32=30s   wrk durations
#   PORT=18490         loopback port of the server
#   CACHE=/tmp/avrr-bench/check_latency   generated data (shared with
#                      bench/check_latency/run.sh)
#   WORK=/tmp/avrr-bench/backends         registries, cluster, results
# Needs wrk, python3, psql and the PostgreSQL server packages (as `make
# test`). The PostgreSQL cluster is scripts/pg-test-cluster.sh's (fsync,
# full_page_writes and synchronous_commit off: compare with SQLite's WAL +
# synchronous=NORMAL, which does not sync on commit either); it is stopped
# on exit, whatever happens. Every check writes (its record, hits, links),
# so each part runs on a fresh copy of the imported registry (a file copy;
# CREATE DATABASE ... TEMPLATE).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZE=${1:-1m}
case $SIZE in
1m | 1M) N=1000000 ;;
100k | 100K) N=100000 ;;
*[!0-9]* | '') echo "run.sh: SIZE is 1m, 100k or a number" >&2; exit 2 ;;
*) N=$SIZE ;;
esac
CHECKS=${CHECKS:-5000}
PROBES=${PROBES:-10000}
SERVE_THREADS=${SERVE_THREADS:-4}
DUR_CHECK1=${DUR_CHECK1:-20s}
DUR_CHECK32=${DUR_CHECK32:-30s}
PORT=${PORT:-18490}
CACHE=${CACHE:-/tmp/avrr-bench/check_latency}
WORK=${WORK:-/tmp/avrr-bench/backends}
TENANTS="NL BE DE FR"
BUILD=$ROOT/build-bench
DATA=$CACHE/$N
LAT=$ROOT/bench/check_latency
for tool in wrk psql python3 bc curl; do
    command -v $tool >/dev/null || { echo "run.sh: $tool missing" >&2; exit 1; }
done

PGDIR=$WORK/pg
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
    "$ROOT/scripts/pg-test-cluster.sh" stop "$PGDIR" 2>/dev/null
    true
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

now() { date +%s.%N; }
val() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "run.sh: building" >&2
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 >/dev/null
# shellcheck disable=SC2046 # pkg-config output is a flag list
cc -O2 -g -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -I "$ROOT/include" -I "$ROOT/src" \
    -o "$BUILD/check_bench" "$LAT/check_bench.c" "$BUILD/libavrr.a" \
    $(pkg-config --libs sqlite3 libpq libmicrohttpd json-c libsodium icu-uc icu-i18n) -lpthread -lm
AVRR=$BUILD/avrr

# ---- data: the same generation and cache as bench/check_latency ----------------
mkdir -p "$DATA" "$WORK"
if [ ! -f "$DATA/probes.jsonl" ]; then
    echo "run.sh: generating $N identities into $DATA" >&2
    python3 "$ROOT/bench/gen_returnees.py" speed $((N + N / 16 + 2 * PROBES)) "$DATA/gen.csv" --seed 1
    python3 "$LAT/split.py" "$DATA/gen.csv" "$DATA" "$N" "$PROBES" "$(echo $TENANTS | tr ' ' ,)" >&2
    rm -f "$DATA/gen.csv"
fi

# ---- PostgreSQL cluster ------------------------------------------------------------
"$ROOT/scripts/pg-test-cluster.sh" stop "$PGDIR" 2>/dev/null || true
PG_URI=$("$ROOT/scripts/pg-test-cluster.sh" start "$PGDIR")
pg_db() { printf '%s\n' "$PG_URI" | sed "s|/avrr?|/$1?|"; }
PG_ADMIN=$(pg_db postgres)
PG_VERSION=$(psql "$PG_ADMIN" -Atc 'SHOW server_version' | cut -d' ' -f1)

# ---- import --------------------------------------------------------------------------
# CPU seconds of the PostgreSQL server's exited processes (a backend's CPU
# is counted when its connection ends).
pg_cpu() { awk '{printf "%.2f\n", ($16 + $17) / 100}' "/proc/$(head -n 1 "$PGDIR/data/postmaster.pid")/stat"; }
import_all() { # DB NAME -> prints seconds; client CPU in $WORK/NAME.cpu
    "$AVRR" init --db "$1" >/dev/null
    for t in $TENANTS; do
        "$AVRR" tenant add --db "$1" --code "$t" --name "Member state $t" >/dev/null
    done
    rm -f "$WORK/$2.cpu"
    t0=$(now)
    for t in $TENANTS; do
        /usr/bin/time -a -o "$WORK/$2.cpu" -f "%U %S" \
            "$AVRR" import --db "$1" --tenant "$t" --quiet "$DATA/$t.csv" >&2
    done
    t1=$(now)
    printf "%.1f\n" "$(echo "$t1 - $t0" | bc)"
}
cpu_sum() { awk '{s += $1 + $2} END {printf "%.1f\n", s}' "$WORK/$1.cpu"; }
SQ_DB=$WORK/sqlite.db
rm -f "$SQ_DB" "$SQ_DB-wal" "$SQ_DB-shm"
echo "run.sh: import into SQLite" >&2
SQ_IMPORT_S=$(import_all "$SQ_DB" import_sqlite)
SQ_CPU=$(cpu_sum import_sqlite)
SQ_MB=$(du -cm "$SQ_DB"* | tail -n 1 | cut -f1)
echo "run.sh: import into PostgreSQL" >&2
PG_CPU0=$(pg_cpu)
PG_IMPORT_S=$(import_all "$PG_URI" import_pg)
sleep 1 # the last backend's exit
PG_SRV_CPU=$(echo "$(pg_cpu) - $PG_CPU0" | bc)
PG_CPU=$(cpu_sum import_pg)
PG_MB=$(($(psql "$PG_URI" -Atc 'SELECT pg_database_size(current_database())') / 1048576))
# Planner statistics now rather than whenever autovacuum gets to it (not
# counted in the import), of what autovacuum would visit: the loaded tables.
# Not the whole database: that would also record the still empty check
# tables as empty (reltuples 0), and each connection then plans the
# foreign-key lookups of a check's hits (check_hits -> checks) as sequential
# scans of checks and keeps that plan while checks grows (see "Sixth
# round" in docs/BENCHMARKS.md). Autovacuum never analyzes a table
# nobody wrote to, and `avrr import` analyzes only the tables it loaded.
psql "$PG_URI" -qc 'VACUUM ANALYZE persons, identities, documents, audit_events' >/dev/null
SQ_IDS=$("$AVRR" audit verify --db "$SQ_DB" | sed -n 's/.*verified: \([0-9]*\) event.*/\1/p')
PG_IDS=$("$AVRR" audit verify --db "$PG_URI" | sed -n 's/.*verified: \([0-9]*\) event.*/\1/p')
echo "run.sh: audit chains verify ($SQ_IDS and $PG_IDS events)" >&2

fresh() { # BACKEND NAME -> prints the --db value of a fresh copy
    if [ "$1" = sqlite ]; then
        rm -f "$WORK/$2.db" "$WORK/$2.db-wal" "$WORK/$2.db-shm"
        cp "$SQ_DB" "$WORK/$2.db"
        echo "$WORK/$2.db"
    else
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $2" >/dev/null
        # The template may not have other connections (autovacuum's)
        tries=0
        until psql "$PG_ADMIN" -qc "CREATE DATABASE $2 TEMPLATE avrr" >/dev/null 2>"$WORK/createdb.err"; do
            tries=$((tries + 1))
            [ $tries -lt 30 ] || { cat "$WORK/createdb.err" >&2; return 1; }
            sleep 1
        done
        pg_db "$2"
    fi
}

# ---- checks ----------------------------------------------------------------------------
for b in sqlite pg; do
    echo "run.sh: in-process checks, $b" >&2
    db=$(fresh $b inproc) || exit 1
    "$BUILD/check_bench" --db "$db" --known "$DATA/probes_known.csv" \
        --new "$DATA/probes_new.csv" --checks "$CHECKS" --threads 1 >"$WORK/inproc_$b.txt"
    cat "$WORK/inproc_$b.txt" >&2

    echo "run.sh: HTTP, $b" >&2
    db=$(fresh $b http) || exit 1
    KEY=$("$AVRR" key create --db "$db" --tenant BE --role caseworker --label bench | tail -n 1)
    case $KEY in avrr_*) ;; *) echo "run.sh: no API key ($KEY)" >&2; exit 1 ;; esac
    # Removed first: the shell truncates the new server's output file only
    # once the server's process runs, and the line of the last run's server
    # read meanwhile let wrk start before this one listened (the
    # "connection refused" of an earlier 1M run, whose index load takes
    # seconds).
    rm -f "$WORK/serve_$b.out" "$WORK/serve_$b.err"
    "$AVRR" serve --db "$db" --listen "127.0.0.1:$PORT" --quiet --threads "$SERVE_THREADS" \
        --rate-limit 0 >"$WORK/serve_$b.out" 2>"$WORK/serve_$b.err" &
    SERVER_PID=$!
    until grep -q 'serving http' "$WORK/serve_$b.out" 2>/dev/null; do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve_$b.err" >&2; exit 1; }
        sleep 0.2
    done
    URL=http://127.0.0.1:$PORT
    curl -fsS "$URL/healthz" >/dev/null || { echo "run.sh: $b server does not answer" >&2; exit 1; }
    export CHECK_BODIES="$DATA/probes.jsonl" CHECK_KEY="$KEY"
    wrk -t1 -c1 -d3s -s "$LAT/check.lua" "$URL" >/dev/null # warm-up
    wrk -t1 -c1 -d"$DUR_CHECK1" --latency -s "$LAT/check.lua" "$URL/" >"$WORK/wrk1_$b.txt"
    wrk -t2 -c32 -d"$DUR_CHECK32" --latency -s "$LAT/check.lua" "$URL/" >"$WORK/wrk32_$b.txt"
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "run.sh: the $b server died:" >&2; cat "$WORK/serve_$b.err" >&2; exit 1; }
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    grep -h '^wrk_result' "$WORK/wrk1_$b.txt" "$WORK/wrk32_$b.txt" >&2
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS inproc" -c "DROP DATABASE IF EXISTS http" \
        >/dev/null 2>&1 || true
done
"$ROOT/scripts/pg-test-cluster.sh" stop "$PGDIR"

# ---- report ---------------------------------------------------------------------------
ratio() { printf "%.2f" "$(echo "scale=6; $1 / $2" | bc)"; }
met() { if [ "$(echo "$1 $2 $3" | bc)" = 1 ]; then echo met; else echo "**not met**"; fi; }
SQ_P=$(grep '^checks ' "$WORK/inproc_sqlite.txt")
PG_P=$(grep '^checks ' "$WORK/inproc_pg.txt")
SQ_L=$(grep '^load ' "$WORK/inproc_sqlite.txt")
PG_L=$(grep '^load ' "$WORK/inproc_pg.txt")
SQ_1=$(grep '^wrk_result' "$WORK/wrk1_sqlite.txt")
PG_1=$(grep '^wrk_result' "$WORK/wrk1_pg.txt")
SQ_32=$(grep '^wrk_result' "$WORK/wrk32_sqlite.txt")
PG_32=$(grep '^wrk_result' "$WORK/wrk32_pg.txt")
SQ_RATE=$(echo "$N / $SQ_IMPORT_S" | bc)
PG_RATE=$(echo "$N / $PG_IMPORT_S" | bc)
MAXR=0
row() { # LABEL SQLITE_LINE PG_LINE RATE_KEY
    r50=$(ratio "$(val "$3" p50_ms)" "$(val "$2" p50_ms)")
    r99=$(ratio "$(val "$3" p99_ms)" "$(val "$2" p99_ms)")
    echo "| $1 | $(val "$2" "$4") | $(val "$3" "$4") | $(val "$2" p50_ms) | $(val "$3" p50_ms)" \
        "| $(val "$2" p99_ms) | $(val "$3" p99_ms) | $r50 | $r99 |"
}
worst() { # the largest PostgreSQL/SQLite ratio of p50 and p99 over the three measurements
    for l in "$SQ_P|$PG_P" "$SQ_1|$PG_1" "$SQ_32|$PG_32"; do
        s=${l%%|*}
        p=${l#*|}
        ratio "$(val "$p" p50_ms)" "$(val "$s" p50_ms)"; echo
        ratio "$(val "$p" p99_ms)" "$(val "$s" p99_ms)"; echo
    done | sort -g | tail -n 1
}
WORST=$(worst)
cat <<EOF

## Storage backends: import and check latency (PostgreSQL issue)

Command: \`bench/backends/run.sh $SIZE\` (CHECKS=$CHECKS, wrk $DUR_CHECK1 at 1 connection and
$DUR_CHECK32 at 32, \`avrr serve --threads $SERVE_THREADS --rate-limit 0\`)
Date: $(date -u +%F)
Machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1), \`nproc\` $(nproc), RelWithDebInfo;
SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo "(library)") (WAL, synchronous=NORMAL); PostgreSQL $PG_VERSION on the same machine
through its Unix socket, the cluster of \`scripts/pg-test-cluster.sh\` (fsync, full_page_writes
and synchronous_commit off; VACUUM ANALYZE of the four loaded tables after the import, not
counted).

Data: the check-latency data set (\`gen_returnees.py speed\`, $N identities spread at random over
$TENANTS), imported with \`avrr import --quiet\` one tenant file after the other into a fresh
registry of each backend; the same probes (80 % known persons, 20 % held out), checks as a BE
caseworker. Each check part starts from a fresh copy of the imported registry.

| $N identities | SQLite | PostgreSQL |
|---|---:|---:|
| import (4 x \`avrr import\`) | $SQ_IMPORT_S s, $SQ_RATE identities/s | $PG_IMPORT_S s, $PG_RATE identities/s |
| import CPU: avrr (user + system) / PostgreSQL server | $SQ_CPU s / - | $PG_CPU s / $PG_SRV_CPU s |
| registry size | ${SQ_MB} MB (file + WAL) | ${PG_MB} MB (\`pg_database_size\`) |
| audit events after import (chain verifies) | $SQ_IDS | $PG_IDS |
| index load, in-process | $(val "$SQ_L" index_load_s) s | $(val "$PG_L" index_load_s) s |

| checks | SQLite req/s | PostgreSQL req/s | SQLite p50 ms | PostgreSQL p50 ms | SQLite p99 ms | PostgreSQL p99 ms | PG/SQLite p50 | PG/SQLite p99 |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
$(row "in-process, 1 thread, $CHECKS checks" "$SQ_P" "$PG_P" checks_per_s)
$(row "HTTP, 1 connection (wrk -t1 -c1)" "$SQ_1" "$PG_1" req_s)
$(row "HTTP, 32 connections (wrk -t2 -c32)" "$SQ_32" "$PG_32" req_s)

Non-2xx answers: SQLite $(val "$SQ_1" non2xx) + $(val "$SQ_32" non2xx), PostgreSQL $(val "$PG_1" non2xx) + $(val "$PG_32" non2xx).

| target | measured | |
|---|---|---|
| PostgreSQL import >= 50,000 identities/s | $PG_RATE identities/s (SQLite: $SQ_RATE) | $(met "$PG_RATE" '>=' 50000) |
| check latency on PostgreSQL within 1.5x of SQLite at 1M (p50 and p99, worst of the three rows) | ${WORST}x$( [ "$N" = 1000000 ] || echo " (at $N, not 1M)") | $(met "$WORST" '<=' 1.5) |
EOF
