#!/bin/sh
# Encryption at rest as an operator drives it: `avrr init --data-key`, an
# import, the names absent from the database files, check and person show
# with AVRR_DATA_KEY, refusals without or with a wrong or loose key, `avrr
# rekey` (the old key no longer works, the new one does), and a plain
# registry encrypted by rekey. Needs AVRR_BIN (set by CTest) and sqlite3.
set -u
AVRR=${AVRR_BIN:?AVRR_BIN not set}
T=$(mktemp -d /tmp/avrr-crypt-XXXXXX)
trap 'rm -rf "$T"' EXIT
unset AVRR_DATA_KEY AVRR_DB
DB=$T/reg.db
K1=$T/keys/data1.key
K2=$T/keys/data2.key
mkdir "$T/keys"
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect() {
    want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    [ "$got" -eq "$want" ] || fail "exit $got (want $want): $* :: $(cat "$T/err")"
}
contains() { grep -q -- "$2" "$1" || fail "'$2' not in $1: $(cat "$1")"; }
# absent TEXT FILE...: no file (that exists) holds TEXT.
absent() {
    text=$1; shift
    for f in "$@"; do
        [ -e "$f" ] || continue
        if grep -a -q -- "$text" "$f"; then fail "'$text' found in $f"; fi
    done
}

expect 0 "$AVRR" rekey --help
contains "$T/out" "usage: avrr rekey"
contains "$T/out" "new-data-key"
expect 0 "$AVRR" init --help
contains "$T/out" "data-key"
expect 2 "$AVRR" rekey --db "$DB"

# a new encrypted registry; the key file is made, mode 600
expect 0 "$AVRR" init --db "$DB" --data-key "$K1"
contains "$T/out" "data key created"
[ "$(stat -c %a "$K1")" = 600 ] || fail "key file mode $(stat -c %a "$K1")"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM avrr_meta WHERE key = 'data_key_id'")" -eq 1 ] ||
    fail "avrr_meta names the key id"
keyhex=$(cut -d ' ' -f 3 "$K1")
sqlite3 "$DB" .dump | grep -q -- "$keyhex" && fail "the data key is stored in the registry"

# without the key nothing opens
expect 1 "$AVRR" tenant add --db "$DB" --code NL --name Netherlands
contains "$T/err" "AVRR_DATA_KEY"
export AVRR_DATA_KEY="$K1"
expect 0 "$AVRR" tenant add --db "$DB" --code NL --name Netherlands
expect 0 "$AVRR" tenant add --db "$DB" --code BE --name Belgium

cat >"$T/people.csv" <<'CSV'
rec_id,given_names,surname,full_name,sex,birth_date,nationality,birth_place,document_no,address
nl-1,Wolodymyra,Khvorostianenko,,f,1984-11-02,UKR,Zhytomyr,FX9183372,Azc Budel-Cranendonck
nl-2,Tesfamariam,Ghebremedhin,,m,1988,ERI,Asmara,,
CSV
expect 0 "$AVRR" import --db "$DB" --tenant NL "$T/people.csv"
contains "$T/out" "imported 2"
[ "$(sqlite3 "$DB" "SELECT typeof(surname) FROM identities LIMIT 1")" = blob ] ||
    fail "surname is not stored sealed"
[ "$(sqlite3 "$DB" "SELECT nationality FROM identities ORDER BY id LIMIT 1")" = UKR ] ||
    fail "nationality stays in the clear for statistics"
absent Khvorostianenko "$DB" "$DB-wal"
absent Wolodymyra "$DB" "$DB-wal"
absent FX9183372 "$DB" "$DB-wal"
absent Zhytomyr "$DB" "$DB-wal"

# consultation and display work with the key
cat >"$T/check.json" <<'JSON'
{"purpose":"assistance_decision","identity":{"given_names":"Volodymyra","surname":"Khvorostyanenko","birth_date":"1984-11-02"}}
JSON
expect 0 "$AVRR" check --db "$DB" --tenant BE "$T/check.json"
contains "$T/out" '"tenant": "NL"'
absent Khvorostyanenko "$DB" "$DB-wal"
expect 0 "$AVRR" person show --db "$DB" --tenant NL --id 1
contains "$T/out" '"surname": "Khvorostianenko"'
contains "$T/out" '"number": "FX9183372"'

# a loose key file is refused
chmod 644 "$K1"
expect 1 "$AVRR" person show --db "$DB" --tenant NL --id 1
contains "$T/err" "chmod 600"
chmod 600 "$K1"

# rekey: a new key, made on the way; the old one no longer opens it
expect 0 "$AVRR" rekey --db "$DB" --data-key "$K1" --new-data-key "$K2"
contains "$T/out" "re-encrypted"
expect 1 "$AVRR" person show --db "$DB" --tenant NL --id 1
contains "$T/err" "AVRR_DATA_KEY"
export AVRR_DATA_KEY="$K2"
expect 0 "$AVRR" person show --db "$DB" --tenant NL --id 1
contains "$T/out" '"surname": "Khvorostianenko"'
expect 0 "$AVRR" check --db "$DB" --tenant BE "$T/check.json"
contains "$T/out" '"band": "strong"'
expect 0 "$AVRR" audit verify --db "$DB"
# the same key again, or the old key as the current one, is refused
expect 1 "$AVRR" rekey --db "$DB" --data-key "$K2" --new-data-key "$K2"
expect 1 "$AVRR" rekey --db "$DB" --data-key "$K1" --new-data-key "$T/keys/data3.key"
[ -e "$T/keys/data3.key" ] && fail "a failed rekey leaves its new key behind"
absent Khvorostianenko "$DB" "$DB-wal"

# a plain registry: a key set is refused; rekey encrypts it and wipes the
# plaintext from the files
P=$T/plain.db
unset AVRR_DATA_KEY
expect 0 "$AVRR" init --db "$P"
expect 0 "$AVRR" tenant add --db "$P" --code NL --name Netherlands
expect 0 "$AVRR" import --db "$P" --tenant NL "$T/people.csv"
grep -a -q Khvorostianenko "$P" "$P-wal" 2>/dev/null || fail "the plain registry holds the name"
expect 1 env AVRR_DATA_KEY="$K2" "$AVRR" person show --db "$P" --tenant NL --id 1
contains "$T/err" "not encrypted"
expect 1 "$AVRR" init --db "$P" --data-key "$T/keys/data4.key"
[ -e "$T/keys/data4.key" ] && fail "a refused init leaves its new key behind"
expect 0 "$AVRR" rekey --db "$P" --new-data-key "$T/keys/plain.key"
absent Khvorostianenko "$P" "$P-wal"
absent FX9183372 "$P" "$P-wal"
expect 1 "$AVRR" person show --db "$P" --tenant NL --id 1
expect 0 env AVRR_DATA_KEY="$T/keys/plain.key" "$AVRR" person show --db "$P" --tenant NL --id 2
contains "$T/out" '"surname": "Ghebremedhin"'

# serve reads data_key from its config file
cat >"$T/serve.conf" <<EOF
db = $DB
data_key = $T/keys/nonexistent.key
EOF
expect 1 "$AVRR" serve --config "$T/serve.conf" --listen 127.0.0.1:0
contains "$T/err" "nonexistent.key"

if [ "$failures" -ne 0 ]; then
    echo "$failures encryption check(s) failed" >&2
    exit 1
fi
echo "encryption checks passed"
