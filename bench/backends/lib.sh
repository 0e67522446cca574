# shellcheck shell=sh
# lib.sh: what the side-by-side benchmarks of bench/backends share (sourced
# by pg_ab.sh, http_ab.sh and floor.sh, which set ROOT, WORK and, through
# size_of, N and DATA). POSIX sh.

TENANTS="NL BE DE FR"

# size_of SCRIPT SIZE: N and DATA for 100k or 1m (the cached data of
# bench/check_latency/run.sh under CACHE); exits on anything else.
size_of() {
    case $2 in
    1m | 1M) N=1000000 ;;
    100k | 100K) N=100000 ;;
    *) echo "$1: SIZE is 100k or 1m" >&2; exit 2 ;;
    esac
    DATA=${CACHE:-/tmp/avrr-bench/check_latency}/$N
    [ -f "$DATA/probes.jsonl" ] ||
        { echo "$1: no data in $DATA (run bench/check_latency/run.sh first)" >&2; exit 1; }
}

# build_check_bench TREE OUT: bench/check_latency/check_bench.c of a tree
# built in TREE/build, linked with its libavrr.a.
build_check_bench() {
    # shellcheck disable=SC2046 # a flag list
    cc -O2 -g -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I "$1/include" -I "$1/src" \
        -o "$2" "$1/bench/check_latency/check_bench.c" "$1/build/libavrr.a" \
        $(pkg-config --libs sqlite3 libpq libmicrohttpd json-c libsodium icu-uc icu-i18n) -lpthread -lm
}

# pg_start: a throw-away cluster in $WORK/pg (PGDIR); PG_URI its database
# "avrr", PG_ADMIN its "postgres". The caller's EXIT trap calls pg_stop.
pg_start() {
    PGDIR=$WORK/pg
    "$ROOT/scripts/pg-test-cluster.sh" stop "$PGDIR" 2>/dev/null || true
    PG_URI=$("$ROOT/scripts/pg-test-cluster.sh" start "$PGDIR")
    PG_ADMIN=$(pg_db postgres)
}
pg_stop() { "$ROOT/scripts/pg-test-cluster.sh" stop "$PGDIR" 2>/dev/null; true; }
pg_db() { printf '%s\n' "$PG_URI" | sed "s|/avrr?|/$1?|"; }

# registry_import AVRR DB: a new registry with the four tenants and their
# identities, as an operator makes one; on PostgreSQL then the loaded tables
# analyzed, as autovacuum would (a whole-database ANALYZE records the empty
# check tables as empty: bench/backends/run.sh says what that costs).
registry_import() {
    "$1" init --db "$2" >/dev/null
    for t in $TENANTS; do "$1" tenant add --db "$2" --code "$t" --name "Member state $t" >/dev/null; done
    for t in $TENANTS; do "$1" import --db "$2" --tenant "$t" --quiet "$DATA/$t.csv" >/dev/null; done
    case $2 in
    postgres*) psql "$2" -qc 'VACUUM ANALYZE persons, identities, documents, audit_events' ;;
    esac
}

# fresh_pg NAME: the URI of a new copy of the imported registry (CREATE
# DATABASE ... TEMPLATE avrr; retried while the last user of the template
# is still leaving).
fresh_pg() {
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1
    tries=0
    until psql "$PG_ADMIN" -qc "CREATE DATABASE $1 TEMPLATE avrr" >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ $tries -lt 30 ] || { echo "CREATE DATABASE $1 failed" >&2; exit 1; }
        sleep 1
    done
    pg_db "$1"
}

# CPU seconds (utime + stime): of one process, and of the whole PostgreSQL
# server (the postmaster, its live children and those that exited).
proc_cpu() { awk '{printf "%.2f\n", ($14 + $15) / 100}' "/proc/$1/stat"; }
pg_cpu() {
    pm=$(head -n 1 "$PGDIR/data/postmaster.pid")
    { cat "/proc/$pm/stat"; for c in $(pgrep -P "$pm"); do cat "/proc/$c/stat" 2>/dev/null || true; done; } |
        awk -v pm="$pm" '{s += $14 + $15; if ($1 == pm) s += $16 + $17} END {printf "%.2f\n", s / 100}'
}

# field NAME: the value of NAME=... among the words of standard input.
field() { tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# check_figures FILE: check_bench's main figures, one line.
check_figures() {
    grep '^checks' "$1" | tr ' ' '\n' |
        grep -E '^(checks_per_s|p50_ms|p90_ms|p99_ms|cpu_p50_ms)=' | tr '\n' ' '
}
