#!/bin/sh
# bench/soak/run.sh: the soak test of issue 8 (item 3), not part of `make test`.
#
#   bench/soak/run.sh [BUILD_DIR]      (default: build; `make soak` runs it)
#
# Creates a demo registry (avrr demo --persons 2000), serves it on a free
# loopback port without the per-key rate limit, and drives it with
# bench/soak/soak.c: CONNECTIONS (64) keep-alive connections for DURATION
# (60) seconds over a mix of reads, writes and checks with the NL, BE and DE
# caseworker keys, sampling the server's VmRSS every second. Then it stops
# the server (SIGTERM, which must exit 0), verifies the audit chain and
# prints a Markdown summary. Exits 1 on any 5xx, connection error, bad
# server exit or broken audit chain.
#
# Environment: CONNECTIONS, DURATION, PERSONS (2000), THREADS (server
# worker threads, default the server's), SEED, KEEP=1 keeps the work folder,
# NO_WRITES=1 reads and checks only (memory must then stay flat).
set -eu
S=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$S/build}
AVRR=$BUILD/avrr
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-60}
PERSONS=${PERSONS:-2000}
SEED=${SEED:-$(date +%s)}
SOAK_EXTRA=
MIX_NOTE=
[ "${NO_WRITES:-0}" = 1 ] && SOAK_EXTRA=--no-writes && MIX_NOTE=" NO_WRITES=1"
[ -x "$AVRR" ] || { echo "run.sh: $AVRR not found; build first (make build)" >&2; exit 2; }

W=$(mktemp -d /tmp/avrr-soak-XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    [ "${KEEP:-0}" = 1 ] && echo "work folder kept: $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT INT TERM

cc -O2 -g -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -o "$W/soak" "$S/bench/soak/soak.c" \
   $(pkg-config --cflags --libs libcurl json-c) -lpthread

DB=$W/soak.db
"$AVRR" demo --db "$DB" --persons "$PERSONS" --seed 1 > "$W/demo.out"
# "API key for NL     (caseworker): avrr_..." -> "NL avrr_..."
grep '(caseworker)' "$W/demo.out" | sed 's/^API key for \([^ ]*\) .*: \(avrr_[^ ]*\)$/\1 \2/' > "$W/keys"
[ -s "$W/keys" ] || { echo "run.sh: no keys from avrr demo" >&2; cat "$W/demo.out" >&2; exit 2; }
PERSONS_DB=$(sqlite3 "$DB" 'SELECT count(*) FROM persons' 2>/dev/null || echo '?')

SERVE_ARGS="--db $DB --listen 127.0.0.1:0 --quiet --rate-limit 0"
[ -n "${THREADS:-}" ] && SERVE_ARGS="$SERVE_ARGS --threads $THREADS"
mkfifo "$W/out"
# shellcheck disable=SC2086
"$AVRR" serve $SERVE_ARGS > "$W/out" 2> "$W/server.log" &
PID=$!
read -r LINE < "$W/out"
PORT=$(echo "$LINE" | sed -n 's|^avrr: serving http://127.0.0.1:\([0-9]*\)/.*|\1|p')
[ -n "$PORT" ] || { echo "run.sh: server did not start: $LINE" >&2; exit 2; }

set +e
"$W/soak" --port "$PORT" --keys "$W/keys" --connections "$CONNECTIONS" \
          --duration "$DURATION" --pid "$PID" --seed "$SEED" \
          $SOAK_EXTRA > "$W/summary.md"
SOAK=$?
kill -TERM "$PID"
wait "$PID"
SERVER=$?
PID=
"$AVRR" audit verify --db "$DB" > "$W/verify.out" 2>&1
AUDIT=$?
set -e

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "## Soak test ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "Command: \`bench/soak/run.sh $BUILD\` (CONNECTIONS=$CONNECTIONS DURATION=$DURATION"
echo "PERSONS=$PERSONS SEED=$SEED$MIX_NOTE); registry: \`avrr demo --persons $PERSONS\` ($PERSONS_DB persons);"
echo "server: \`avrr serve $(echo "$SERVE_ARGS" | sed "s|$W/||")\`."
echo "Machine: $(nproc) CPU(s), $CPU, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
cat "$W/summary.md"
echo
echo "Server exit status after SIGTERM: $SERVER. Audit: $(tail -n 1 "$W/verify.out")."
if grep -q -e 'Sanitizer' -e 'runtime error' -e '"level":"error"' "$W/server.log"; then
    echo; echo "Server stderr has errors:"; echo '```'; grep -e 'Sanitizer' -e 'runtime error' -e '"level":"error"' "$W/server.log" | head -n 20; echo '```'
    SERVER=1
fi
RESULT=PASS
[ "$SOAK" = 0 ] && [ "$SERVER" = 0 ] && [ "$AUDIT" = 0 ] || RESULT=FAIL
echo
echo "Result: **$RESULT** (criteria: zero 5xx, zero connection errors, bounded memory; clean exit; audit chain verifies)."
[ "$RESULT" = PASS ]
