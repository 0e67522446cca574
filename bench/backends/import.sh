#!/bin/sh
# `avrr import` into PostgreSQL, several builds side by side (issue 6: 1M
# identities at >= 50,000/s). Each round imports the four tenant files of a
# bench/backends data set (run.sh or bench/check_latency/run.sh make and
# cache them) into a fresh database with every build in turn, and prints a
# Markdown row per import: wall, identities/s, avrr's CPU (user + system,
# /usr/bin/time), the PostgreSQL server's CPU (the postmaster's cutime +
# cstime: a backend's CPU is counted when its connection ends), the
# server's CPU per file, the WAL the imports wrote, and the load average
# before and after.
#
# usage: bench/backends/import.sh PGDIR URI DATA LABEL=AVRR [LABEL=AVRR ...]
#   PGDIR  the directory of a running scripts/pg-test-cluster.sh cluster
#   URI    the URI it printed (database "avrr"; the imports use their own)
#   DATA   a folder with NL.csv BE.csv DE.csv FR.csv, e.g.
#          /tmp/avrr-bench/check_latency/1000000
# environment: ROUNDS=1 (each round runs every build once, in order)
set -eu
[ $# -ge 4 ] || { sed -n 2,16p "$0" >&2; exit 2; }
PGDIR=$1
URI=$2
DATA=$3
shift 3
ROUNDS=${ROUNDS:-1}
TENANTS="NL BE DE FR"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

db_uri() { printf '%s\n' "$URI" | sed "s|/avrr?|/$1?|"; }
ADMIN=$(db_uri postgres)
pg_cpu() { awk '{printf "%.2f\n", ($16 + $17) / 100}' "/proc/$(head -n 1 "$PGDIR/data/postmaster.pid")/stat"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
now() { date +%s.%N; }

rows=0
for t in $TENANTS; do
    rows=$((rows + $(wc -l <"$DATA/$t.csv") - 1))
done

echo "| build | time UTC | wall s | identities/s | avrr CPU s | server CPU s | server CPU per file s | WAL MB | load before / after |"
echo "|---|---|---:|---:|---:|---:|---|---:|---|"
r=0
while [ $r -lt "$ROUNDS" ]; do
    r=$((r + 1))
    for spec in "$@"; do
        label=${spec%%=*}
        avrr=${spec#*=}
        db=imp_$(printf '%s' "$label" | tr -c 'a-zA-Z0-9_\n' _)
        psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
        psql "$ADMIN" -qc "CREATE DATABASE $db" >/dev/null
        u=$(db_uri "$db")
        "$avrr" init --db "$u" >/dev/null
        for t in $TENANTS; do
            "$avrr" tenant add --db "$u" --code "$t" --name "Member state $t" >/dev/null
        done
        sleep 1
        rm -f "$OUT/cpu"
        per=""
        l0=$(load1)
        hhmm=$(date -u +%H:%M)
        w0=$(psql "$ADMIN" -Atc "SELECT pg_current_wal_lsn()")
        c0=$(pg_cpu)
        t0=$(now)
        for t in $TENANTS; do
            f0=$(pg_cpu)
            /usr/bin/time -a -o "$OUT/cpu" -f "%U %S" \
                "$avrr" import --db "$u" --tenant "$t" --quiet "$DATA/$t.csv" >/dev/null
            sleep 0.2 # the backend's exit
            per="$per $(echo "$(pg_cpu) - $f0" | bc)"
        done
        t1=$(now)
        c1=$(pg_cpu)
        l1=$(load1)
        wal=$(psql "$ADMIN" -Atc "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$w0') / 1048576")
        wall=$(echo "$t1 - $t0 - 0.8" | bc) # less the four sleeps
        ids=$(echo "$rows / $wall" | bc)
        acpu=$(awk '{s += $1 + $2} END {printf "%.2f", s}' "$OUT/cpu")
        n=$(psql "$u" -Atc "SELECT count(*) FROM identities")
        [ "$n" -eq "$rows" ] || { echo "import.sh: $label stored $n of $rows identities" >&2; exit 1; }
        printf '| %s | %s | %.1f | %s | %s | %.2f |%s | %.0f | %s / %s |\n' "$label" "$hhmm" "$wall" \
            "$ids" "$acpu" "$(echo "$c1 - $c0" | bc)" "$per" "$wal" "$l0" "$l1"
        psql "$ADMIN" -qc "DROP DATABASE $db" >/dev/null
    done
done
