#!/bin/sh
# Check latency benchmark (issue 4, item 7): builds avrr and check_bench,
# generates a registry of SIZE returnee-like identities over four tenants
# (cached, never in the repository), measures checks in-process and through
# HTTP with wrk, with /healthz as the reference, and prints a Markdown table.
#
# usage: bench/check_latency/run.sh [SIZE]      SIZE: 1m (default), 100k or N
# environment (defaults):
#   CHECKS=20000       in-process checks per thread count
#   THREADS=1,2        in-process thread counts
#   PROBES=10000       distinct probes (80 % known persons, 20 % new)
#   SERVE_THREADS=4    avrr serve --threads
#   DUR_CHECK1=20s DUR_CHECK32=30s DUR_HEALTHZ=10s   wrk durations
#   PORT=18480         loopback port of the server
#   CACHE=/tmp/avrr-bench/check_latency   generated data and registries
# Needs wrk (apt-get install -y wrk; only for this benchmark) and python3.
# Every check writes (its record, hits, yellow links), so each part runs on
# a fresh copy of the cached registry.
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
CHECKS=${CHECKS:-20000}
THREADS=${THREADS:-1,2}
PROBES=${PROBES:-10000}
SERVE_THREADS=${SERVE_THREADS:-4}
DUR_CHECK1=${DUR_CHECK1:-20s}
DUR_CHECK32=${DUR_CHECK32:-30s}
DUR_HEALTHZ=${DUR_HEALTHZ:-10s}
PORT=${PORT:-18480}
CACHE=${CACHE:-/tmp/avrr-bench/check_latency}
TENANTS="NL BE DE FR"
BUILD=$ROOT/build-bench
DATA=$CACHE/$N
WORK=${WORK:-$CACHE/work}
command -v wrk >/dev/null || { echo "run.sh: wrk missing (apt-get install -y wrk)" >&2; exit 1; }

SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
# key=value lookup in a results line: val LINE KEY
val() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "run.sh: building" >&2
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 >/dev/null
# shellcheck disable=SC2046 # pkg-config output is a flag list
cc -O2 -g -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -I "$ROOT/include" -I "$ROOT/src" \
    -o "$BUILD/check_bench" "$HERE/check_bench.c" "$BUILD/libavrr.a" \
    $(pkg-config --libs sqlite3 libpq libmicrohttpd json-c libsodium icu-uc icu-i18n) -lpthread -lm
AVRR=$BUILD/avrr

mkdir -p "$DATA" "$WORK"
if [ ! -f "$DATA/registry.db" ]; then
    echo "run.sh: generating $N identities into $DATA" >&2
    # 6 % more rows than needed: the probes and the persons held out as "new"
    python3 "$ROOT/bench/gen_returnees.py" speed $((N + N / 16 + 2 * PROBES)) "$DATA/gen.csv" --seed 1
    python3 "$HERE/split.py" "$DATA/gen.csv" "$DATA" "$N" "$PROBES" "$(echo $TENANTS | tr ' ' ,)" >&2
    rm -f "$DATA/gen.csv" "$DATA/tmp.db" "$DATA/tmp.db-wal" "$DATA/tmp.db-shm"
    "$AVRR" init --db "$DATA/tmp.db" >/dev/null
    for t in $TENANTS; do
        "$AVRR" tenant add --db "$DATA/tmp.db" --code "$t" --name "Member state $t" >/dev/null
    done
    t0=$(now)
    for t in $TENANTS; do
        "$AVRR" import --db "$DATA/tmp.db" --tenant "$t" --quiet "$DATA/$t.csv" >&2
    done
    t1=$(now)
    echo "import_s=$(echo "$t1 - $t0" | bc)" >"$DATA/import.txt"
    mv "$DATA/tmp.db" "$DATA/registry.db"
fi
IMPORT_S=$(sed -n 's/^import_s=//p' "$DATA/import.txt")
DB_MB=$(du -m "$DATA/registry.db" | cut -f1)

fresh_copy() {
    rm -f "$WORK/r.db" "$WORK/r.db-wal" "$WORK/r.db-shm"
    cp "$DATA/registry.db" "$WORK/r.db"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "run.sh: in-process checks" >&2
fresh_copy
"$BUILD/check_bench" --db "$WORK/r.db" --known "$DATA/probes_known.csv" \
    --new "$DATA/probes_new.csv" --checks "$CHECKS" --threads "$THREADS" >"$WORK/inproc.txt"
cat "$WORK/inproc.txt" >&2
LOAD=$(grep '^load ' "$WORK/inproc.txt")

echo "run.sh: HTTP" >&2
fresh_copy
KEY=$("$AVRR" key create --db "$WORK/r.db" --tenant BE --role caseworker --label bench | tail -n 1)
"$AVRR" serve --db "$WORK/r.db" --listen "127.0.0.1:$PORT" --quiet --threads "$SERVE_THREADS" \
    --rate-limit 0 \
    >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
t0=$(now)
until grep -q 'serving http' "$WORK/serve.out" 2>/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
    sleep 0.2
done
SERVE_START_S=$(echo "$(now) - $t0" | bc)
URL=http://127.0.0.1:$PORT
SERVER_RSS=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER_PID/status")
export CHECK_BODIES="$DATA/probes.jsonl" CHECK_KEY="$KEY"
# A few checks first, as the in-process warm-up.
wrk -t1 -c1 -d3s -s "$HERE/check.lua" "$URL" >/dev/null
# CPU seconds the server has used (user + system), from /proc
server_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$SERVER_PID/stat"; }
wrkrun() { # NAME THREADS CONNS DURATION SCRIPT PATH; appends the server's CPU us per request
    c0=$(server_cpu)
    wrk -t"$2" -c"$3" -d"$4" --latency -s "$HERE/$5" "$URL$6" >"$WORK/wrk_$1.txt"
    c1=$(server_cpu)
    r=$(grep '^wrk_result' "$WORK/wrk_$1.txt")
    echo "$r server_cpu_us=$(echo "scale=1; ($c1 - $c0) * 1000000 / $(val "$r" requests)" | bc)"
}
H1=$(wrkrun healthz1 1 1 "$DUR_HEALTHZ" healthz.lua /healthz)
H32=$(wrkrun healthz32 2 32 "$DUR_HEALTHZ" healthz.lua /healthz)
C1=$(wrkrun check1 1 1 "$DUR_CHECK1" check.lua /)
C32=$(wrkrun check32 2 32 "$DUR_CHECK32" check.lua /)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
SERVER_RSS_END=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER_PID/status")
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
printf '%s\n' "$H1" "$H32" "$C1" "$C32" >&2

# ---- report -------------------------------------------------------------------
met() { # VALUE OP LIMIT -> met / not met
    if [ "$(echo "$1 $2 $3" | bc)" = 1 ]; then echo met; else echo "not met"; fi
}
P1=$(grep '^checks threads=1 ' "$WORK/inproc.txt" | head -n 1)
P2=$(grep '^checks threads=2 ' "$WORK/inproc.txt" | head -n 1 || true)
RATIO=$(printf "%.4f" "$(echo "scale=6; $(val "$C32" req_s) / $(val "$H32" req_s)" | bc)")
echo
echo "Size: $N identities over $TENANTS ($(val "$LOAD" identities) in the store), $(date -u +%F)"
echo "Machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1), nproc $(nproc);" \
    "load average $LOAD_START at the start, $LOAD_END after the HTTP part"
echo "Import: ${IMPORT_S} s ($(echo "$N / $IMPORT_S" | bc) identities/s), registry file ${DB_MB} MB"
echo "Index load (in-process): $(val "$LOAD" index_load_s) s, RSS after load" \
    "$(val "$LOAD" rss_after_mib) MiB (VmHWM $(val "$LOAD" hwm_after_mib) MiB);" \
    "server ready after ${SERVE_START_S} s, RSS $((SERVER_RSS / 1024)) MiB" \
    "(after the run $((SERVER_RSS_END / 1024)) MiB)"
echo
echo "| measurement | req/s or checks/s | p50 ms | p90 ms | p99 ms | max ms | CPU mean / p50 / p99 ms |"
echo "|---|---|---|---|---|---|---|"
for l in "$P1" "$P2"; do
    [ -n "$l" ] || continue
    echo "| in-process check, $(val "$l" threads) thread(s), $(val "$l" checks) checks" \
        "| $(val "$l" checks_per_s) | $(val "$l" p50_ms) | $(val "$l" p90_ms)" \
        "| $(val "$l" p99_ms) | $(val "$l" max_ms)" \
        "| $(val "$l" cpu_mean_ms) / $(val "$l" cpu_p50_ms) / $(val "$l" cpu_p99_ms) |"
done
for x in "check, 1 connection (wrk -t1 -c1):$C1" "check, 32 connections (wrk -t2 -c32):$C32" \
    "/healthz, 1 connection:$H1" "/healthz, 32 connections:$H32"; do
    l=${x#*:}
    echo "| HTTP ${x%%:*}, $(val "$l" requests) requests, $(val "$l" non2xx) non-2xx" \
        "| $(val "$l" req_s) | $(val "$l" p50_ms) | $(val "$l" p90_ms) | $(val "$l" p99_ms)" \
        "| $(val "$l" max_ms) | server $(val "$l" server_cpu_us) us a request |"
done
echo
echo "Hits: known-person probes with a hit $(val "$P1" known_hit_rate), new-person probes" \
    "with a hit $(val "$P1" new_hit_rate), persons per check $(val "$P1" hits_per_check)"
echo
echo "| target | measured | |"
echo "|---|---|---|"
echo "| HTTP p99 at 32 connections <= 20 ms | $(val "$C32" p99_ms) ms | $(met "$(val "$C32" p99_ms)" '<=' 20) |"
echo "| in-process p99 <= 2 ms | $(val "$P1" p99_ms) ms | $(met "$(val "$P1" p99_ms)" '<=' 2) |"
echo "| check req/s >= 30 % of /healthz req/s (32 connections) | $(val "$C32" req_s) / $(val "$H32" req_s) = $RATIO | $(met "$RATIO" '>=' 0.3) |"
