#!/bin/sh
# The `avrr` command on a PostgreSQL registry: init, tenants, keys, import,
# export, check, case and assistance, audit checkpoint and verify, purge, and
# the refusals (no registry yet, a database of another application, a newer
# schema). Runs on the cluster named by AVRR_TEST_PG_URI (`make test` starts
# one with scripts/pg-test-cluster.sh), in a database of its own that it
# drops at the end; without AVRR_TEST_PG_URI it says so and passes.
#
# The other CLI tests (test_cli.sh, test_audit.sh) stay on SQLite: they read
# and tamper with the registry file through the sqlite3 program. Here psql
# plays that part where a test needs to look behind the program.
set -u
AVRR=${AVRR_BIN:?AVRR_BIN not set}
if [ -z "${AVRR_TEST_PG_URI:-}" ]; then
    echo "test_pg: AVRR_TEST_PG_URI is not set: skipped (make test starts a" \
         "PostgreSQL cluster with scripts/pg-test-cluster.sh)"
    exit 0
fi
if ! command -v psql >/dev/null 2>&1; then
    echo "test_pg: psql not found (Debian package postgresql-client)" >&2
    exit 1
fi

T=$(mktemp -d /tmp/avrr-clipg-XXXXXX)
NAME=avrr_t_cli_$$
OTHER=avrr_t_cli_other_$$
admin() { psql -X -q -v ON_ERROR_STOP=1 -d "$AVRR_TEST_PG_URI" -c "$1" >/dev/null; }
cleanup() {
    admin "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" || true
    admin "DROP DATABASE IF EXISTS $OTHER WITH (FORCE)" || true
    rm -rf "$T"
}
trap cleanup EXIT

# The cluster's URI with another database name:
# scheme://[userinfo@][host][:port][/dbname][?params]
with_db() {
    printf '%s\n' "$AVRR_TEST_PG_URI" |
        sed -e "s|^\([a-z]*://[^/?]*\)[^?]*|\1/$1|"
}
DB=$(with_db "$NAME")
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect() {
    want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    [ "$got" -eq "$want" ] || fail "exit $got (want $want): $* :: $(cat "$T/err")"
}
contains() { grep -q -- "$2" "$1" || fail "'$2' not in $1: $(cat "$1")"; }
sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
count() { sql "SELECT count(*) FROM $1"; }

admin "CREATE DATABASE $NAME"

# no registry until `avrr init`, which is idempotent
expect 1 "$AVRR" tenant list --db "$DB"
contains "$T/err" "avrr init"
expect 0 "$AVRR" init --db "$DB"
expect 0 "$AVRR" init --db "$DB"
[ "$(sql "SELECT max(version) FROM schema_migrations")" -ge 3 ] || fail "migrations recorded"

# tenants and keys
expect 0 "$AVRR" tenant add --db "$DB" --code NL --name "Netherlands"
expect 1 "$AVRR" tenant add --db "$DB" --code NL --name "Again"
contains "$T/err" "exists"
expect 0 "$AVRR" tenant add --db "$DB" --code BE --name "Belgium"
expect 0 "$AVRR" tenant list --db "$DB"
contains "$T/out" "BE	Belgium"
contains "$T/out" "NL	Netherlands"
expect 0 "$AVRR" key create --db "$DB" --tenant NL --role caseworker
key=$(tail -n 1 "$T/out")
case "$key" in avrr_*) ;; *) fail "key create: last line is not a key: $key" ;; esac
[ "$(sql "SELECT count(*) FROM api_keys WHERE length(hash) = 32")" -eq 1 ] || fail "one key row"
expect 1 "$AVRR" key create --db "$DB" --tenant XX --role caseworker
expect 0 "$AVRR" key list --db "$DB" --tenant NL
contains "$T/out" "caseworker"

# import: a good file in one transaction, a bad one stores nothing
cat >"$T/good.csv" <<'CSV'
rec_id,given_names,surname,full_name,sex,birth_date,nationality,birth_place,document_no,extra
nl-1,Youssef,El Amrani,,m,1990-03-14,MA,Casablanca,UZ4411720,ignored
nl-2,Tesfamariam,Ghebremedhin,,m,1988,ERI,Asmara,,
nl-3,,,"Олександр Шевченко",m,1979-00-00,UKR,"Kharkiv, ""Oblast""",,
CSV
expect 0 "$AVRR" import --db "$DB" --tenant NL "$T/good.csv"
contains "$T/out" "imported 3"
[ "$(count persons)" -eq 3 ] || fail "3 persons after the good import"
[ "$(sql "SELECT birth_place FROM identities WHERE national_ref='nl-3'")" = 'Kharkiv, "Oblast"' ] ||
    fail "quoted field"
[ "$(sql "SELECT full_name FROM identities WHERE national_ref='nl-3'")" = 'Олександр Шевченко' ] ||
    fail "UTF-8 round trip"
cat >"$T/bad.csv" <<'CSV'
rec_id,given_names,surname,sex,birth_date,nationality
nl-4,Hamza,Benali,m,1995-02-30,MAR
nl-5,Amina,Tahiri,f,1999-05-05,MAR
CSV
expect 1 "$AVRR" import --db "$DB" --tenant NL "$T/bad.csv"
contains "$T/err" "nothing was imported"
[ "$(count persons)" -eq 3 ] || fail "a bad file stores nothing"

# a person, a case, assistance
cat >"$T/person.json" <<'JSON'
{"identities":[{"given_names":"Giorgi","surname":"Beridze","birth_date":"1984-06-02","nationality":"GE"},
               {"given_names":"Georgi","surname":"Beridse"}]}
JSON
expect 0 "$AVRR" person add --db "$DB" --tenant NL "$T/person.json"
pid=$(sed -n 's/^  "id": \([0-9]*\),$/\1/p' "$T/out" | head -n 1)
[ -n "$pid" ] || fail "person add prints the id: $(cat "$T/out")"
[ "$(sql "SELECT count(*) FROM identities WHERE person_id=${pid:-0}")" -eq 2 ] || fail "with 2 identities"
expect 0 "$AVRR" case open --db "$DB" --tenant NL --person "${pid:-0}" --destination ge --return-type voluntary
cid=$(sed -n 's/^  "id": \([0-9]*\),$/\1/p' "$T/out" | head -n 1)
expect 0 "$AVRR" assistance add --db "$DB" --tenant NL --case "${cid:-0}" --kind reintegration_business --amount-cents 200000 --funding amif --provider IOM
expect 0 "$AVRR" assistance list --db "$DB" --tenant NL --case "${cid:-0}"
contains "$T/out" '"amount_cents": 200000'
expect 1 "$AVRR" person show --db "$DB" --tenant BE --id "${pid:-0}"

# consultation: Belgium finds the Dutch person, learns nothing personal
cat >"$T/check.json" <<'JSON'
{"purpose":"assistance_decision","identity":{"given_names":"Joessef","surname":"Elamrani","birth_date":"1990"}}
JSON
expect 0 "$AVRR" check --db "$DB" --tenant BE "$T/check.json"
contains "$T/out" '"tenant": "NL"'
contains "$T/out" '"band": "strong"'
grep -q "El Amrani\|UZ4411720\|1990-03-14" "$T/out" && fail "check output shows NL's personal details"
[ "$(count checks)" -eq 1 ] || fail "the check is recorded"

# export
expect 0 "$AVRR" export --db "$DB" --tenant NL --out "$T/export.jsonl"
[ "$(wc -l <"$T/export.jsonl")" -eq 4 ] || fail "export has 4 lines"
contains "$T/export.jsonl" '"surname":"El Amrani"'
contains "$T/export.jsonl" '"kind":"reintegration_business"'

# the audit chain: recorded, signed, verified; tampering is found
[ "$(sql "SELECT max(seq) - count(*) FROM audit_events")" -eq 0 ] || fail "sequence without gaps"
expect 0 "$AVRR" audit verify --db "$DB"
expect 0 "$AVRR" audit key --out "$T/audit.key"
pub=$(tail -n 1 "$T/out")
expect 0 "$AVRR" audit checkpoint --db "$DB" --key "$T/audit.key"
expect 0 "$AVRR" audit verify --db "$DB" --public-key "$pub"
was=$(sql "SELECT outcome FROM audit_events WHERE seq = 2")
sql "UPDATE audit_events SET outcome = 'tampered' WHERE seq = 2" >/dev/null
expect 1 "$AVRR" audit verify --db "$DB"
contains "$T/err" "event 2"
sql "UPDATE audit_events SET outcome = '$was' WHERE seq = 2" >/dev/null
expect 0 "$AVRR" audit verify --db "$DB"

# retention: purge runs and the chain still verifies
expect 0 "$AVRR" purge --db "$DB"
expect 0 "$AVRR" audit verify --db "$DB"

# a bulk import (10,000 rows or more into a registry at most half as big):
# the person tables' secondary indexes and foreign keys are built after the
# load in its transaction, and the loaded tables analyzed; a bad row still
# stores nothing and leaves the schema as it was
schema() {
    sql "SELECT (SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated
                 AND conrelid IN ('persons'::regclass, 'identities'::regclass,
                                  'documents'::regclass))
         || ' ' || (SELECT count(*) FROM pg_indexes WHERE indexname IN ('persons_tenant',
                    'identities_person', 'documents_identity', 'audit_events_tenant'))"
}
before=$(count persons)
awk 'BEGIN { print "rec_id,given_names,surname,sex,birth_date,nationality,document_no";
             for (i = 1; i <= 12000; i++)
                 printf "be-%d,Given%c%d,Surname%d,%s,19%02d-%02d-%02d,BEL,%s\n", i,
                        65 + i % 26, i, i, (i % 2 ? "f" : "m"), 50 + i % 50,
                        1 + i % 12, 1 + i % 28, (i % 3 ? "BE" i : "") }' >"$T/bulk.csv"
{ cat "$T/bulk.csv"; echo "be-bad,Bad,Row,m,1990-02-30,BEL,"; } >"$T/bulk_bad.csv"
expect 1 "$AVRR" import --db "$DB" --tenant BE --quiet "$T/bulk_bad.csv"
contains "$T/err" "nothing was imported"
[ "$(count persons)" -eq "$before" ] || fail "a bad bulk file stores nothing"
[ "$(schema)" = "3 4" ] || fail "after a failed bulk import: $(schema)"
expect 0 "$AVRR" import --db "$DB" --tenant BE --quiet "$T/bulk.csv"
contains "$T/out" "imported 12000"
[ "$(count persons)" -eq $((before + 12000)) ] || fail "12000 more persons"
[ "$(sql "SELECT count(*) FROM identities i JOIN persons p ON p.id = i.person_id
          WHERE p.tenant = 'BE' AND i.national_ref LIKE 'be-%'")" -eq 12000 ] || fail "their identities"
[ "$(sql "SELECT count(*) FROM documents d JOIN identities i ON i.id = d.identity_id
          WHERE i.national_ref LIKE 'be-%'")" -eq 8000 ] || fail "their documents"
[ "$(schema)" = "3 4" ] || fail "indexes and validated foreign keys after a bulk import: $(schema)"
[ "$(sql "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN ('persons', 'identities')
          AND last_analyze IS NOT NULL")" -eq 2 ] || fail "the loaded tables analyzed"
psql -X -q -d "$DB" -c "INSERT INTO identities (person_id, created_at) VALUES (-1, 0)" \
    >/dev/null 2>&1 && fail "the foreign key holds after a bulk import"
expect 0 "$AVRR" audit verify --db "$DB"
# a small import into the now larger registry takes the ordinary way
head -n 1001 "$T/bulk.csv" | sed 's/^be-/be2-/' >"$T/small.csv"
expect 0 "$AVRR" import --db "$DB" --tenant BE --quiet "$T/small.csv"
[ "$(schema)" = "3 4" ] || fail "after a small import: $(schema)"
# three batches read ahead by the reader thread while the first ones are
# copied: a bad row and a broken line late in the file store nothing, name
# their line, and leave the schema as it was (bulk way: 30,000 rows into 13,000)
before=$(count persons)
awk 'BEGIN { print "rec_id,given_names,surname,sex,birth_date,nationality";
             for (i = 1; i <= 30000; i++)
                 printf "bg-%d,Given%d,Surname%d,%s,19%02d-%02d-%02d,BEL\n", i, i, i,
                        (i % 2 ? "f" : "m"), 50 + i % 50, 1 + i % 12, 1 + i % 28 }' >"$T/big.csv"
sed '29001s/,BEL$/,Belgium/' "$T/big.csv" >"$T/big_bad.csv"
expect 1 "$AVRR" import --db "$DB" --tenant BE --quiet "$T/big_bad.csv"
contains "$T/err" "big_bad.csv:29001:"
contains "$T/err" "1 bad row(s) in $T/big_bad.csv: nothing was imported"
{ cat "$T/big.csv"; printf 'bg-x,"unterminated\n'; } >"$T/big_broken.csv"
expect 1 "$AVRR" import --db "$DB" --tenant BE --quiet "$T/big_broken.csv"
contains "$T/err" "big_broken.csv:30002:"
[ "$(count persons)" -eq "$before" ] || fail "bad rows late in a big file store nothing"
[ "$(schema)" = "3 4" ] || fail "after failed big imports: $(schema)"
expect 0 "$AVRR" import --db "$DB" --tenant BE --quiet "$T/big.csv"
[ "$(count persons)" -eq $((before + 30000)) ] || fail "30000 more persons"
[ "$(sql "SELECT count(*) FROM identities i JOIN persons p ON p.id = i.person_id
          WHERE p.tenant = 'BE' AND i.national_ref LIKE 'bg-%'")" -eq 30000 ] || fail "their identities"
expect 0 "$AVRR" audit verify --db "$DB"
# a bulk import into a registry up to four times as big: the foreign keys
# are checked once after the load (dropped and added back: new constraints),
# the indexes stay (the same ones); a bad row late in it stores nothing
oids() {
    sql "SELECT (SELECT string_agg(oid::text, ',' ORDER BY conname) FROM pg_constraint
                 WHERE contype = 'f' AND conrelid IN ('persons'::regclass,
                       'identities'::regclass, 'documents'::regclass))
         || ' ' || (SELECT string_agg(indexrelid::text, ',' ORDER BY indexrelid)
                    FROM pg_index WHERE indexrelid IN ('persons_tenant'::regclass,
                    'identities_person'::regclass, 'documents_identity'::regclass,
                    'audit_events_tenant'::regclass))"
}
psql -X -q -d "$DB" -c "VACUUM ANALYZE persons" >/dev/null
before=$(count persons)
was=$(oids)
sed 's/^be-/bk-/' "$T/bulk.csv" >"$T/keys.csv"
{ cat "$T/keys.csv"; echo "bk-bad,Bad,Row,m,1990-02-30,BEL,"; } >"$T/keys_bad.csv"
expect 1 "$AVRR" import --db "$DB" --tenant BE --quiet "$T/keys_bad.csv"
contains "$T/err" "keys_bad.csv:12002:"
[ "$(count persons)" -eq "$before" ] || fail "a bad file stores nothing (foreign keys after the load)"
[ "$(oids)" = "$was" ] || fail "a failed load leaves the constraints and indexes as they were"
expect 0 "$AVRR" import --db "$DB" --tenant BE --quiet "$T/keys.csv"
[ "$(count persons)" -eq $((before + 12000)) ] || fail "12000 more persons (foreign keys after the load)"
[ "$(schema)" = "3 4" ] || fail "validated foreign keys after a load into a bigger registry: $(schema)"
[ "${was#* }" = "$(oids | cut -d' ' -f2)" ] || fail "the indexes stay in a load into a bigger registry"
[ "${was% *}" != "$(oids | cut -d' ' -f1)" ] || fail "the foreign keys are checked after the load"
psql -X -q -d "$DB" -c "INSERT INTO documents (identity_id, type, number) VALUES (-1, 'passport', 'X')" \
    >/dev/null 2>&1 && fail "the foreign key of documents holds after the load"
expect 0 "$AVRR" audit verify --db "$DB"

# refusals: another application's database, a newer schema
admin "CREATE DATABASE $OTHER"
psql -X -q -d "$(with_db "$OTHER")" -c "CREATE TABLE notes (t TEXT)" >/dev/null
expect 1 "$AVRR" init --db "$(with_db "$OTHER")"
contains "$T/err" "not an avrr registry"
sql "INSERT INTO schema_migrations VALUES (99, 0)" >/dev/null
expect 1 "$AVRR" tenant list --db "$DB"
contains "$T/err" "upgrade avrr"

if [ "$failures" -ne 0 ]; then
    echo "test_pg: $failures failure(s)" >&2
    exit 1
fi
echo "test_pg: all passed"
