#!/bin/sh
# Two builds of avrr side by side over HTTP on PostgreSQL (issue 6), with
# SQLite's figure of the same session beside them: per round, `avrr serve`
# of A, then of B, each on a fresh copy (CREATE DATABASE ... TEMPLATE) of
# one imported registry, wrk at 1 connection, then at 32, then the same
# for B's build on a fresh copy of an SQLite registry of the same data;
# then (INPROC=1, the default) check_bench in-process, one thread, A then B.
# Per wrk run: req/s, p50 / p99, and the CPU seconds the avrr server and
# the PostgreSQL server (all its processes) spent in it, per request.
#
# usage: bench/backends/http_ab.sh A_TREE B_TREE [SIZE]
#   A_TREE, B_TREE: source trees built in their build/ (cmake, RelWithDebInfo)
#   SIZE: 100k (default) or 1m: the cached data of bench/check_latency/run.sh
# environment (defaults): ROUNDS=2 THREADS=4 DUR1=15s DUR32=20s CHECKS=3000
#   INPROC=1 SQLITE=1 PORT=18491
#   ALT=0: with ALT=N instead, both servers run at once (ports PORT and
#   PORT+1, each on its own copy) and wrk alternates between them N times
#   (1 connection for DUR1, then 32 for DUR32, A then B): the machine's
#   load swings then hit both alike, at the cost of one index load each;
#   with SQLITE=1 a third server (B's build on a copy of the SQLite
#   registry, port PORT+2, "S") takes its turn after B
#   SERVE_A, SERVE_B: further `avrr serve` options of each (e.g.
#   SERVE_B="--store-pool 0")
#   CACHE=/tmp/avrr-bench/check_latency WORK=/tmp/avrr-bench/http_ab
# Needs wrk, psql, bc, curl and the PostgreSQL server packages.
set -eu
[ $# -ge 2 ] || { sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
case ${3:-100k} in
1m | 1M) N=1000000 ;;
100k | 100K) N=100000 ;;
*) echo "http_ab.sh: SIZE is 100k or 1m" >&2; exit 2 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-4}
DUR1=${DUR1:-15s}
DUR32=${DUR32:-20s}
CHECKS=${CHECKS:-3000}
PORT=${PORT:-18491}
CACHE=${CACHE:-/tmp/avrr-bench/check_latency}
WORK=${WORK:-/tmp/avrr-bench/http_ab}
DATA=$CACHE/$N
LAT=$ROOT/bench/check_latency
TENANTS="NL BE DE FR"
[ -f "$DATA/probes.jsonl" ] || { echo "http_ab.sh: no data in $DATA (run bench/check_latency/run.sh first)" >&2; exit 1; }
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
SERVER_PID=
cleanup() {
    # shellcheck disable=SC2086 # one pid or two
    [ -n "$SERVER_PID" ] && kill $SERVER_PID 2>/dev/null
    "$ROOT/scripts/pg-test-cluster.sh" stop "$PGDIR" 2>/dev/null
    true
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
"$ROOT/scripts/pg-test-cluster.sh" stop "$PGDIR" 2>/dev/null || true
PG_URI=$("$ROOT/scripts/pg-test-cluster.sh" start "$PGDIR")
pg_db() { printf '%s\n' "$PG_URI" | sed "s|/avrr?|/$1?|"; }
PG_ADMIN=$(pg_db postgres)
AVRR=$A/build/avrr
echo "http_ab.sh: importing $N identities into PostgreSQL and SQLite" >&2
SQ_DB=$WORK/sqlite.db
rm -f "$SQ_DB" "$SQ_DB-wal" "$SQ_DB-shm"
for db in "$PG_URI" "$SQ_DB"; do
    "$AVRR" init --db "$db" >/dev/null
    for t in $TENANTS; do "$AVRR" tenant add --db "$db" --code "$t" --name "Member state $t" >/dev/null; done
    for t in $TENANTS; do "$AVRR" import --db "$db" --tenant "$t" --quiet "$DATA/$t.csv" >/dev/null; done
done
# The loaded tables only, as autovacuum would (see bench/backends/run.sh).
psql "$PG_URI" -qc 'VACUUM ANALYZE persons, identities, documents, audit_events'
fresh_pg() { # [NAME]
    name=${1:-ab}
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1
    tries=0
    until psql "$PG_ADMIN" -qc "CREATE DATABASE $name TEMPLATE avrr" >/dev/null 2>&1; do
        tries=$((tries + 1)); [ $tries -lt 30 ] || { echo "http_ab.sh: CREATE DATABASE failed" >&2; exit 1; }
        sleep 1
    done
    pg_db "$name"
}
fresh_sqlite() {
    rm -f "$WORK/ab.db" "$WORK/ab.db-wal" "$WORK/ab.db-shm"
    cp "$SQ_DB" "$WORK/ab.db"
    echo "$WORK/ab.db"
}
# CPU seconds: of one process (utime + stime), and of the whole PostgreSQL
# server (the postmaster, its live children and those that exited).
proc_cpu() { awk '{printf "%.2f\n", ($14 + $15) / 100}' "/proc/$1/stat"; }
pg_cpu() {
    pm=$(head -n 1 "$PGDIR/data/postmaster.pid")
    { cat "/proc/$pm/stat"; for c in $(pgrep -P "$pm"); do cat "/proc/$c/stat" 2>/dev/null || true; done; } |
        awk -v pm="$pm" '{s += $14 + $15; if ($1 == pm) s += $16 + $17} END {printf "%.2f\n", s / 100}'
}
val() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# VARIANT DB LABEL: one server, wrk at 1 and 32 connections.
http_run() {
    eval "tree=\$$1; extra=\${SERVE_$1:-}"
    db=$2
    # shellcheck disable=SC2154 # tree set by eval
    KEY=$("$tree/build/avrr" key create --db "$db" --tenant BE --role caseworker --label bench | tail -n 1)
    rm -f "$WORK/serve.out" "$WORK/serve.err"
    # shellcheck disable=SC2086,SC2154 # extra: a list of options, set by eval
    "$tree/build/avrr" serve --db "$db" --listen "127.0.0.1:$PORT" --quiet --threads "$THREADS" \
        --rate-limit 0 $extra >"$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVER_PID=$!
    until grep -q 'serving http' "$WORK/serve.out" 2>/dev/null; do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
        sleep 0.2
    done
    URL=http://127.0.0.1:$PORT
    export CHECK_BODIES="$DATA/probes.jsonl" CHECK_KEY="$KEY"
    wrk -t1 -c1 -d3s -s "$LAT/check.lua" "$URL" >/dev/null # warm-up
    for c in 1 32; do
        if [ $c = 1 ]; then t=1; d=$DUR1; else t=2; d=$DUR32; fi
        load=$(cut -d' ' -f1 /proc/loadavg)
        s0=$(proc_cpu "$SERVER_PID"); p0=$(pg_cpu)
        wrk -t$t -c$c -d"$d" --latency -s "$LAT/check.lua" "$URL/" >"$WORK/wrk.txt"
        s1=$(proc_cpu "$SERVER_PID"); p1=$(pg_cpu)
        res=$(grep '^wrk_result' "$WORK/wrk.txt")
        n=$(val "$res" requests)
        echo "$(date -u +%T) $3 c=$c load=$load req_s=$(val "$res" req_s) p50_ms=$(val "$res" p50_ms)" \
            "p99_ms=$(val "$res" p99_ms) non2xx=$(val "$res" non2xx)" \
            "avrr_cpu_ms_per_req=$(echo "scale=3; ($s1 - $s0) * 1000 / $n" | bc)" \
            "pg_cpu_ms_per_req=$(echo "scale=3; ($p1 - $p0) * 1000 / $n" | bc)"
    done
    curl -fsS "$URL/metrics" | grep '^avrr_store_pool' | tr '\n' ' ' | sed "s/^/    $3 metrics: /"
    echo
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
# VARIANT DB PORT: starts a server in the background; its pid in SPID_VARIANT, key in KEY_VARIANT
start_server() {
    eval "tree=\$$1; extra=\${SERVE_$1:-}"
    key=$("$tree/build/avrr" key create --db "$2" --tenant BE --role caseworker --label bench | tail -n 1)
    rm -f "$WORK/serve_$1.out"
    # shellcheck disable=SC2086 # extra is a list of options
    "$tree/build/avrr" serve --db "$2" --listen "127.0.0.1:$3" --quiet --threads "$THREADS" \
        --rate-limit 0 $extra >"$WORK/serve_$1.out" 2>"$WORK/serve_$1.err" &
    eval "SPID_$1=$!; KEY_$1=$key"
}
url_of() { case $1 in A) echo "http://127.0.0.1:$PORT" ;; B) echo "http://127.0.0.1:$((PORT + 1))" ;; *) echo "http://127.0.0.1:$((PORT + 2))" ;; esac; }
if [ "${ALT:-0}" -gt 0 ]; then
    start_server A "$(fresh_pg ab_a)" "$PORT"
    start_server B "$(fresh_pg ab_b)" $((PORT + 1))
    SERVER_PID="$SPID_A $SPID_B"
    VARIANTS="A B"
    if [ "${SQLITE:-1}" = 1 ]; then
        # shellcheck disable=SC2034 # read by start_server's eval
        S=$B SERVE_S=
        start_server S "$(fresh_sqlite)" $((PORT + 2))
        SERVER_PID="$SERVER_PID $SPID_S"
        VARIANTS="A B S"
    fi
    for v in $VARIANTS; do
        until grep -q 'serving http' "$WORK/serve_$v.out" 2>/dev/null; do
            eval "kill -0 \$SPID_$v" 2>/dev/null || { cat "$WORK/serve_$v.err" >&2; exit 1; }
            sleep 0.5
        done
    done
    export CHECK_BODIES="$DATA/probes.jsonl"
    for i in $(seq 1 "$ALT"); do
        for v in $VARIANTS; do
            pid=
            eval "pid=\$SPID_$v; CHECK_KEY=\$KEY_$v"
            export CHECK_KEY
            URL=$(url_of "$v")
            if [ "$v" = S ]; then b=sqlite; else b=pg; fi
            [ "$i" = 1 ] && wrk -t1 -c1 -d3s -s "$LAT/check.lua" "$URL" >/dev/null # warm-up
            for c in 1 32; do
                if [ $c = 1 ]; then t=1; d=$DUR1; else t=2; d=$DUR32; fi
                load=$(cut -d' ' -f1 /proc/loadavg)
                s0=$(proc_cpu "$pid"); p0=$(pg_cpu)
                wrk -t$t -c$c -d"$d" --latency -s "$LAT/check.lua" "$URL/" >"$WORK/wrk.txt"
                s1=$(proc_cpu "$pid"); p1=$(pg_cpu)
                res=$(grep '^wrk_result' "$WORK/wrk.txt")
                n=$(val "$res" requests)
                echo "$(date -u +%T) alt=$i $v $b c=$c load=$load req_s=$(val "$res" req_s)" \
                    "p50_ms=$(val "$res" p50_ms) p99_ms=$(val "$res" p99_ms) non2xx=$(val "$res" non2xx)" \
                    "avrr_cpu_ms_per_req=$(echo "scale=3; ($s1 - $s0) * 1000 / $n" | bc)" \
                    "pg_cpu_ms_per_req=$(echo "scale=3; ($p1 - $p0) * 1000 / $n" | bc)"
            done
        done
    done
    for v in $VARIANTS; do
        URL=$(url_of "$v")
        curl -fsS "$URL/metrics" | grep '^avrr_store_pool' | tr '\n' ' ' | sed "s/^/    $v metrics: /"
        echo
    done
    # shellcheck disable=SC2086 # two pids
    kill $SERVER_PID
    wait 2>/dev/null || true
    SERVER_PID=
    exit 0
fi
for r in $(seq 1 "$ROUNDS"); do
    for v in A B; do
        http_run $v "$(fresh_pg)" "round=$r $v pg"
    done
    [ "${SQLITE:-1}" = 1 ] && http_run B "$(fresh_sqlite)" "round=$r B sqlite"
    if [ "${INPROC:-1}" = 1 ]; then
        for v in A B; do
            load=$(cut -d' ' -f1 /proc/loadavg)
            "$WORK/check_bench_$v" --db "$(fresh_pg)" --known "$DATA/probes_known.csv" \
                --new "$DATA/probes_new.csv" --checks "$CHECKS" --warmup 1000 --threads 1 \
                >"$WORK/inproc_$v.txt"
            echo "$(date -u +%T) round=$r $v pg in-process load=$load" \
                "$(grep '^checks' "$WORK/inproc_$v.txt" | tr ' ' '\n' |
                    grep -E '^(checks_per_s|p50_ms|p99_ms|cpu_p50_ms)=' | tr '\n' ' ')"
        done
    fi
done
