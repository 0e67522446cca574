#!/bin/sh
# The audit chain as a data-protection officer checks it: every use case
# leaves an event; `avrr audit verify` holds on an untouched log and names
# the first bad event when one was changed, deleted, inserted or reordered,
# or when the end of the log was cut off after a signed checkpoint.
set -u
AVRR=${AVRR_BIN:?AVRR_BIN not set}
T=$(mktemp -d /tmp/avrr-audit-XXXXXX)
trap 'rm -rf "$T"' EXIT
DB=$T/reg.db
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect() {
    want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    [ "$got" -eq "$want" ] || fail "exit $got (want $want): $* :: $(cat "$T/err")"
}
contains() { grep -q -- "$2" "$1" || fail "'$2' not in $1: $(cat "$1")"; }
sql() { sqlite3 "$1" "$2"; }

"$AVRR" init --db "$DB" >/dev/null
"$AVRR" tenant add --db "$DB" --code NL --name Netherlands >/dev/null
"$AVRR" key create --db "$DB" --tenant NL --role caseworker >/dev/null
printf '{"identities":[{"given_names":"Amina","surname":"Tahiri","birth_date":"1999-05-05"}]}' >"$T/p.json"
"$AVRR" person add --db "$DB" --tenant NL "$T/p.json" >/dev/null
"$AVRR" person show --db "$DB" --tenant NL --id 1 >/dev/null
"$AVRR" person show --db "$DB" --tenant NL --id 77 >/dev/null 2>&1
"$AVRR" case open --db "$DB" --tenant NL --person 1 --destination MAR >/dev/null
printf '{"purpose":"case_review","identity":{"given_names":"Amina","surname":"Tahiri"}}' >"$T/c.json"
"$AVRR" check --db "$DB" --tenant NL "$T/c.json" >/dev/null

# Every use case left an event, failures included, in one gapless chain.
# tenant.create, key.create, person.create, person.read twice, case.create, check.create
[ "$(sql "$DB" "SELECT count(*) FROM audit_events")" -ge 7 ] || fail "events were recorded"
[ "$(sql "$DB" "SELECT action FROM audit_events WHERE action='person.read' AND outcome='not_found'")" = "person.read" ] ||
    fail "a failed read is audited with its outcome"
[ "$(sql "$DB" "SELECT count(*) FROM audit_events WHERE action='check.create' AND tenant='NL'")" -eq 1 ] ||
    fail "the check is audited"
[ "$(sql "$DB" "SELECT max(seq) - count(*) FROM audit_events")" -eq 0 ] || fail "sequence without gaps"
expect 0 "$AVRR" audit verify --db "$DB"
contains "$T/out" "audit log verified"

# A signing key outside the database, and a checkpoint of the head.
expect 1 "$AVRR" audit checkpoint --db "$DB" --key "$T/none.key"
expect 0 "$AVRR" audit key --out "$T/audit.key"
pub=$(tail -n 1 "$T/out")
[ "$(stat -c %a "$T/audit.key")" = "600" ] || fail "the key file is private"
expect 0 "$AVRR" audit checkpoint --db "$DB" --key "$T/audit.key"
contains "$T/out" "signed the audit chain up to event"
expect 0 "$AVRR" audit verify --db "$DB" --public-key "$pub"
contains "$T/out" "1 signed checkpoint"
chmod 644 "$T/audit.key"
expect 1 "$AVRR" audit checkpoint --db "$DB" --key "$T/audit.key"
contains "$T/err" "chmod 600"
chmod 600 "$T/audit.key"
expect 0 "$AVRR" audit key --out "$T/other.key"
other=$(tail -n 1 "$T/out")
expect 1 "$AVRR" audit verify --db "$DB" --public-key "$other"
contains "$T/err" "signature"

# tamper CASE SQL: on a copy, apply SQL, expect verify to fail at event SEQ.
tamper() {
    name=$1 seq=$2 stmt=$3
    cp "$DB" "$T/$name.db"
    sql "$T/$name.db" "$stmt" || fail "$name: the tampering SQL failed"
    expect 1 "$AVRR" audit verify --db "$T/$name.db"
    grep -q "FAILED at event $seq:" "$T/err" || fail "$name: expected a failure at event $seq: $(cat "$T/err")"
}
tamper changed 3 "UPDATE audit_events SET tenant = 'BE' WHERE seq = 3"
refused=$(sql "$DB" "SELECT seq FROM audit_events WHERE outcome = 'not_found'")
tamper outcome "$refused" "UPDATE audit_events SET outcome = 'ok' WHERE seq = $refused"
tamper deleted 3 "DELETE FROM audit_events WHERE seq = 3"
# An event slipped in: later events shifted up to make room.
tamper inserted 3 "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 3;
                   UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1003;
                   INSERT INTO audit_events (seq, ts_ms, tenant, role, action, target_type, target_id, purpose, request_id, outcome, prev_hash, hash)
                   SELECT 3, ts_ms, tenant, role, 'person.read', 'person', 1, '', '', 'ok', prev_hash, hash FROM audit_events WHERE seq = 2"
# Two events swapped (their contents trade places, the numbers stay).
tamper reordered 3 "CREATE TEMP TABLE x AS SELECT * FROM audit_events WHERE seq IN (3, 4);
                    UPDATE audit_events SET seq = -seq WHERE seq IN (3, 4);
                    INSERT INTO audit_events SELECT 7 - seq, ts_ms, key_id, tenant, role, action, target_type, target_id, purpose, request_id, outcome, prev_hash, hash FROM x;
                    DELETE FROM audit_events WHERE seq < 0"
# The end cut off: only the signed checkpoint shows it.
last=$(sql "$DB" "SELECT max(seq) FROM audit_events")
tamper truncated "$last" "DELETE FROM audit_events WHERE seq = $last"

# Retention: a person whose cases all closed longer ago than the tenant's
# retention is erased by `avrr purge`; one with an open case is kept; the
# case rows stay as anonymous statistics.
R=$T/ret.db
"$AVRR" init --db "$R" >/dev/null
"$AVRR" tenant add --db "$R" --code NL --name Netherlands >/dev/null
expect 0 "$AVRR" tenant set --db "$R" --code NL --retention-days 365 --audit-retention-days 1095
printf '{"identities":[{"given_names":"Irakli","surname":"Beridze","birth_place":"Kutaisi"}]}' >"$T/a.json"
printf '{"identities":[{"given_names":"Nino","surname":"Lomidze"}]}' >"$T/b.json"
"$AVRR" person add --db "$R" --tenant NL "$T/a.json" >/dev/null
"$AVRR" person add --db "$R" --tenant NL "$T/b.json" >/dev/null
"$AVRR" case open --db "$R" --tenant NL --person 1 --destination GEO >/dev/null
"$AVRR" case open --db "$R" --tenant NL --person 2 --destination GEO >/dev/null
"$AVRR" case status --db "$R" --tenant NL --id 1 --status withdrawn >/dev/null
expect 0 "$AVRR" purge --db "$R"
contains "$T/out" "erased 0 person"
nextyear=$(( $(date -u +%Y) + 2 ))
expect 0 "$AVRR" purge --db "$R" --today "$nextyear-06-01"
contains "$T/out" "erased 1 person"
[ "$(sql "$R" "SELECT count(*) FROM identities WHERE person_id = 1")" -eq 0 ] || fail "expired identities erased"
[ "$(sql "$R" "SELECT count(*) FROM identities WHERE person_id = 2")" -eq 1 ] || fail "open case keeps its person"
[ "$(sql "$R" "SELECT count(*) FROM cases")" -eq 2 ] || fail "cases stay as statistics"
[ "$(sql "$R" "SELECT erased_at > 0 FROM persons WHERE id = 1")" -eq 1 ] || fail "erased_at set"
grep -c "Kutaisi" "$R" "$R-wal" 2>/dev/null | grep -q ":[1-9]" && fail "erased data left in the files"
[ "$(sql "$R" "SELECT count(*) FROM audit_events WHERE action = 'person.erase' AND purpose = 'retention'")" -eq 1 ] ||
    fail "retention erasure audited"
expect 0 "$AVRR" audit verify --db "$R"
# Audit retention: events older than the longest audit retention go, the
# chain still verifies from its new anchor.
expect 0 "$AVRR" purge --db "$R" --today "$(( $(date -u +%Y) + 10 ))-01-01"
contains "$T/out" "removed [1-9][0-9]* audit event"
expect 0 "$AVRR" audit verify --db "$R"

if [ "$failures" -ne 0 ]; then
    echo "$failures audit check(s) failed" >&2
    exit 1
fi
echo "audit checks passed"
