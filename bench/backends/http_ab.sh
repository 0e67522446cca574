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
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-4}
DUR1=${DUR1:-15s}
DUR32=${DUR32:-20s}
CHECKS=${CHECKS:-3000}
PORT=${PORT:-18491}
WORK=${WORK:-/tmp/avrr-bench/http_ab}
LAT=$ROOT/bench/check_latency
# shellcheck source=bench/backends/lib.sh
. "$HERE/lib.sh"
size_of http_ab.sh "${3:-100k}"
mkdir -p "$WORK"
build_check_bench "$A" "$WORK/check_bench_A"
build_check_bench "$B" "$WORK/check_bench_B"
SERVER_PID=
cleanup() {
    # shellcheck disable=SC2086 # one pid or two
    [ -n "$SERVER_PID" ] && kill $SERVER_PID 2>/dev/null
    pg_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
pg_start
echo "http_ab.sh: importing $N identities into PostgreSQL and SQLite" >&2
SQ_DB=$WORK/sqlite.db
rm -f "$SQ_DB" "$SQ_DB-wal" "$SQ_DB-shm"
registry_import "$A/build/avrr" "$PG_URI"
registry_import "$A/build/avrr" "$SQ_DB"
fresh_sqlite() {
    rm -f "$WORK/ab.db" "$WORK/ab.db-wal" "$WORK/ab.db-shm"
    cp "$SQ_DB" "$WORK/ab.db"
    echo "$WORK/ab.db"
}
val() { printf '%s\n' "$1" | field "$2"; }
# PID URL LABEL: wrk at 1 connection for DUR1, then at 32 for DUR32, on the
# server PID at URL; one line of figures each, with the CPU seconds the
# server and PostgreSQL spent per request.
wrk_pair() {
    for c in 1 32; do
        if [ $c = 1 ]; then t=1; d=$DUR1; else t=2; d=$DUR32; fi
        load=$(cut -d' ' -f1 /proc/loadavg)
        s0=$(proc_cpu "$1"); p0=$(pg_cpu)
        wrk -t$t -c$c -d"$d" --latency -s "$LAT/check.lua" "$2/" >"$WORK/wrk.txt"
        s1=$(proc_cpu "$1"); p1=$(pg_cpu)
        res=$(grep '^wrk_result' "$WORK/wrk.txt")
        n=$(val "$res" requests)
        echo "$(date -u +%T) $3 c=$c load=$load req_s=$(val "$res" req_s)" \
            "p50_ms=$(val "$res" p50_ms) p99_ms=$(val "$res" p99_ms) non2xx=$(val "$res" non2xx)" \
            "avrr_cpu_ms_per_req=$(echo "scale=3; ($s1 - $s0) * 1000 / $n" | bc)" \
            "pg_cpu_ms_per_req=$(echo "scale=3; ($p1 - $p0) * 1000 / $n" | bc)"
    done
}
# VARIANT DB PORT: starts a server in the background; its pid in SPID_VARIANT, key in KEY_VARIANT
start_server() {
    eval "tree=\$$1; extra=\${SERVE_$1:-}"
    # shellcheck disable=SC2154 # tree set by eval
    key=$("$tree/build/avrr" key create --db "$2" --tenant BE --role caseworker --label bench | tail -n 1)
    rm -f "$WORK/serve_$1.out"
    # shellcheck disable=SC2086,SC2154 # extra: a list of options, set by eval
    "$tree/build/avrr" serve --db "$2" --listen "127.0.0.1:$3" --quiet --threads "$THREADS" \
        --rate-limit 0 $extra >"$WORK/serve_$1.out" 2>"$WORK/serve_$1.err" &
    eval "SPID_$1=$!; KEY_$1=$key"
}
# VARIANT: waits until its server serves (exits when it died)
wait_serving() {
    until grep -q 'serving http' "$WORK/serve_$1.out" 2>/dev/null; do
        eval "kill -0 \$SPID_$1" 2>/dev/null || { cat "$WORK/serve_$1.err" >&2; exit 1; }
        sleep 0.2
    done
}
# VARIANT DB LABEL: one server, wrk at 1 and 32 connections.
http_run() {
    start_server "$1" "$2" "$PORT"
    eval "SERVER_PID=\$SPID_$1; CHECK_KEY=\$KEY_$1"
    wait_serving "$1"
    URL=http://127.0.0.1:$PORT
    export CHECK_BODIES="$DATA/probes.jsonl" CHECK_KEY
    wrk -t1 -c1 -d3s -s "$LAT/check.lua" "$URL" >/dev/null # warm-up
    wrk_pair "$SERVER_PID" "$URL" "$3"
    curl -fsS "$URL/metrics" | grep '^avrr_store_pool' | tr '\n' ' ' | sed "s/^/    $3 metrics: /"
    echo
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
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
    for v in $VARIANTS; do wait_serving "$v"; done
    export CHECK_BODIES="$DATA/probes.jsonl"
    for i in $(seq 1 "$ALT"); do
        for v in $VARIANTS; do
            pid=
            eval "pid=\$SPID_$v; CHECK_KEY=\$KEY_$v"
            export CHECK_KEY
            URL=$(url_of "$v")
            if [ "$v" = S ]; then b=sqlite; else b=pg; fi
            [ "$i" = 1 ] && wrk -t1 -c1 -d3s -s "$LAT/check.lua" "$URL" >/dev/null # warm-up
            wrk_pair "$pid" "$URL" "alt=$i $v $b"
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
        http_run $v "$(fresh_pg ab)" "round=$r $v pg"
    done
    [ "${SQLITE:-1}" = 1 ] && http_run B "$(fresh_sqlite)" "round=$r B sqlite"
    if [ "${INPROC:-1}" = 1 ]; then
        for v in A B; do
            load=$(cut -d' ' -f1 /proc/loadavg)
            "$WORK/check_bench_$v" --db "$(fresh_pg ab)" --known "$DATA/probes_known.csv" \
                --new "$DATA/probes_new.csv" --checks "$CHECKS" --warmup 1000 --threads 1 \
                >"$WORK/inproc_$v.txt"
            echo "$(date -u +%T) round=$r $v pg in-process load=$load" \
                "$(grep '^checks' "$WORK/inproc_$v.txt" | tr ' ' '\n' |
                    grep -E '^(checks_per_s|p50_ms|p99_ms|cpu_p50_ms)=' | tr '\n' ' ')"
        done
    fi
done
