#!/bin/sh
# `avrr encode`, the national node's side of the pseudonymised index: the
# key file (0600, never overwritten), encoding CSV and JSON lines with bad
# rows reported as FILE:LINE:COLUMN and no output then, determinism per
# key, no plaintext in the output; `avrr check --pseudonym-key` with an
# encoded request; serve's errors about the pseudonym key name
# pseudonym_key_file. Needs AVRR_BIN (set by CTest).
set -u
AVRR=${AVRR_BIN:?AVRR_BIN not set}
T=$(mktemp -d /tmp/avrr-encode-XXXXXX)
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
lacks() { grep -q -- "$2" "$1" && fail "'$2' in $1"; }

# the key
expect 0 "$AVRR" encode key --out "$T/node.key"
[ "$(stat -c %a "$T/node.key")" = 600 ] || fail "key file mode $(stat -c %a "$T/node.key")"
grep -Eq '^[0-9a-f]{64}$' "$T/node.key" || fail "key file is not 64 hex digits"
cp "$T/node.key" "$T/node.key.orig"
expect 1 "$AVRR" encode key --out "$T/node.key"
contains "$T/err" "exists"
cmp -s "$T/node.key" "$T/node.key.orig" || fail "an existing key file was overwritten"
expect 2 "$AVRR" encode key
expect 0 "$AVRR" encode key --out "$T/other.key"
cmp -s "$T/node.key" "$T/other.key" && fail "two keys are the same"

# a good CSV
cat >"$T/ids.csv" <<'CSV'
rec_id,given_names,surname,full_name,sex,birth_date,nationality,birth_place,document_no
be-1,Joessef,Elamrani,,m,1990,,,
"be,2",Tesfamariam,Ghebremedhin,,m,1988,ERI,Asmara,P1234567
be-3,,,"Олександр Шевченко",m,1979-00-00,UKR,Kharkiv,
CSV
expect 0 "$AVRR" encode --key "$T/node.key" --in "$T/ids.csv" --out "$T/enc.csv"
[ "$(head -n 1 "$T/enc.csv")" = "rec_id,encoded_identity" ] || fail "header: $(head -n 1 "$T/enc.csv")"
[ "$(wc -l <"$T/enc.csv")" -eq 4 ] || fail "3 rows wanted: $(cat "$T/enc.csv")"
grep -q '^be-1,QVZQ' "$T/enc.csv" || fail "be-1 row"
grep -q '^"be,2",QVZQ' "$T/enc.csv" || fail "quoted rec_id row"
for word in Joessef Elamrani joessef elamrani Tesfamariam Asmara P1234567 1990 Kharkiv; do
    lacks "$T/enc.csv" "$word"
done
# every encoding is well-formed base64
tail -n +2 "$T/enc.csv" | sed 's/^.*,//' | while read -r b; do
    printf '%s' "$b" | base64 -d >/dev/null 2>&1 || echo bad
done | grep -q bad && fail "an encoding is not base64"
# stdout, deterministic per key, different under another key
expect 0 "$AVRR" encode --key "$T/node.key" --in "$T/ids.csv"
cmp -s "$T/out" "$T/enc.csv" || fail "the same key gave another encoding"
expect 0 "$AVRR" encode --key "$T/other.key" --in "$T/ids.csv"
[ "$(sed -n 2p "$T/out")" = "$(sed -n 2p "$T/enc.csv")" ] && fail "another key gave the same encoding"
# stdin
expect 0 "$AVRR" encode --key "$T/node.key" --format csv --in - <"$T/ids.csv"
cmp -s "$T/out" "$T/enc.csv" || fail "stdin gave another output"

# bad rows: FILE:LINE:COLUMN, nothing written
cat >"$T/bad.csv" <<'CSV'
rec_id,given_names,surname,sex,birth_date,nationality
be-4,Hamza,Benali,m,1995-02-30,MAR
be-5,Amina,Tahiri,f,1999-05-05,MAR
be-6,Omar,Saleh,m,1980,Iraq
CSV
expect 1 "$AVRR" encode --key "$T/node.key" --in "$T/bad.csv" --out "$T/bad.out"
contains "$T/err" "bad.csv:2:21: birth_date"
contains "$T/err" "bad.csv:4:24: nationality"
contains "$T/err" "nothing was written"
[ -e "$T/bad.out" ] && fail "a bad file gave output"
[ -s "$T/out" ] && fail "a bad file wrote to stdout"
ls "$T" | grep -q '^bad.out\.' && fail "a temporary file was left behind"
expect 0 "$AVRR" encode --key "$T/node.key" --in "$T/bad.csv" --skip-bad --out "$T/bad.out"
[ "$(wc -l <"$T/bad.out")" -eq 2 ] || fail "--skip-bad: one good row wanted"
grep -q '^be-5,' "$T/bad.out" || fail "--skip-bad: be-5 encoded"
contains "$T/err" "bad.csv:2:21: birth_date"
# a malformed file, a missing column, an empty file
printf 'rec_id,given_names\nbe-7,"Unclosed\n' >"$T/quote.csv"
expect 1 "$AVRR" encode --key "$T/node.key" --in "$T/quote.csv"
contains "$T/err" "quote.csv:2:6:"
printf 'given_names,surname\nA,B\n' >"$T/norec.csv"
expect 1 "$AVRR" encode --key "$T/node.key" --in "$T/norec.csv"
contains "$T/err" "norec.csv:1:1: missing column rec_id"
: >"$T/empty.csv"
expect 1 "$AVRR" encode --key "$T/node.key" --in "$T/empty.csv"
contains "$T/err" "empty.csv:1:1"
expect 1 "$AVRR" encode --key "$T/node.key" --in "$T/missing.csv"
contains "$T/err" "missing.csv"

# JSON lines: identity objects with an optional rec_id
cat >"$T/ids.jsonl" <<'JSON'
{"rec_id":"j-1","given_names":"Joessef","surname":"Elamrani","birth_date":"1990","sex":"m"}

{"given_names":"Amina","surname":"Tahiri","national_ref":"ref-77"}
{"given_names":"Omar","surname":"Saleh"}
JSON
expect 0 "$AVRR" encode --key "$T/node.key" --in "$T/ids.jsonl"
grep -q '^j-1,QVZQ' "$T/out" || fail "jsonl rec_id"
grep -q '^ref-77,QVZQ' "$T/out" || fail "jsonl national_ref as rec_id"
grep -q '^4,QVZQ' "$T/out" || fail "jsonl line number as rec_id"
# the CSV and the JSON line of the same identity encode alike
[ "$(grep '^j-1,' "$T/out" | cut -d, -f2)" = "$(grep '^be-1,' "$T/enc.csv" | cut -d, -f2)" ] ||
    fail "CSV and JSON lines encode the same identity differently"
cat >"$T/bad.jsonl" <<'JSON'
{"given_names":"Amina","surname":"Tahiri"}
{"given_names":"Amina","birth_date":"1999-13-01"}
{"given_names":"Amina","colour":"blue"}
{"rec_id":5,"given_names":"Amina"}
not json
JSON
expect 1 "$AVRR" encode --key "$T/node.key" --in "$T/bad.jsonl"
contains "$T/err" "bad.jsonl:2:1: birth_date"
contains "$T/err" "bad.jsonl:3:1: colour"
contains "$T/err" "bad.jsonl:4:1: rec_id"
contains "$T/err" "bad.jsonl:5:1:"
[ -s "$T/out" ] && fail "a bad JSON lines file wrote to stdout"

# key file refusals name the pseudonym key
chmod 644 "$T/other.key"
expect 1 "$AVRR" encode --key "$T/other.key" --in "$T/ids.csv"
contains "$T/err" "pseudonym_key"
contains "$T/err" "chmod 600"
expect 1 "$AVRR" encode --key "$T/nokey" --in "$T/ids.csv"
contains "$T/err" "pseudonym_key"
expect 2 "$AVRR" encode --in "$T/ids.csv"
expect 1 "$AVRR" encode --key "$T/node.key" --in "$T/ids.csv" --format xml
contains "$T/err" "--format"

# a check from the command line with an encoded identity
expect 0 "$AVRR" init --db "$DB"
expect 0 "$AVRR" tenant add --db "$DB" --code NL --name Netherlands
expect 0 "$AVRR" tenant add --db "$DB" --code BE --name Belgium
cat >"$T/nl.csv" <<'CSV'
rec_id,given_names,surname,sex,birth_date,nationality,birth_place
nl-1,Youssef,El Amrani,m,1990-03-14,MAR,Casablanca
CSV
expect 0 "$AVRR" import --db "$DB" --tenant NL "$T/nl.csv"
printf '{"purpose":"assistance_decision","encoded_identity":"%s"}\n' \
    "$(grep '^be-1,' "$T/enc.csv" | cut -d, -f2)" >"$T/check.json"
expect 0 "$AVRR" check --db "$DB" --tenant BE --pseudonym-key "$T/node.key" "$T/check.json"
contains "$T/out" '"tenant": *"NL"'
contains "$T/out" '"band": *"strong"'
lacks "$T/out" "El Amrani"
# without the key the registry's index is plaintext: refused, nothing stored
before=$(sqlite3 "$DB" "SELECT count(*) FROM checks" 2>/dev/null || echo skip)
expect 1 "$AVRR" check --db "$DB" --tenant BE "$T/check.json"
contains "$T/err" "encoded_identity"
contains "$T/err" "not pseudonymised"
after=$(sqlite3 "$DB" "SELECT count(*) FROM checks" 2>/dev/null || echo skip)
[ "$before" = "$after" ] || fail "a refused check was stored ($before, $after)"
# under another key: refused
chmod 600 "$T/other.key"
expect 1 "$AVRR" check --db "$DB" --tenant BE --pseudonym-key "$T/other.key" "$T/check.json"
contains "$T/err" "another pseudonym key"

# serve: the pseudonym key's errors name the setting
printf 'pseudonymised_index = true\n' >"$T/serve.conf"
expect 1 "$AVRR" serve --db "$DB" --listen 127.0.0.1:0 --config "$T/serve.conf"
contains "$T/err" "pseudonym_key_file"
contains "$T/err" "avrr encode key"
printf 'pseudonymised_index = true\npseudonym_key_file = %s\n' "$T/nokey" >"$T/serve.conf"
expect 1 "$AVRR" serve --db "$DB" --listen 127.0.0.1:0 --config "$T/serve.conf"
contains "$T/err" "pseudonym_key_file"
lacks "$T/err" "clk_key"

if [ "$failures" -ne 0 ]; then
    echo "$failures encode check(s) failed" >&2
    exit 1
fi
echo "encode checks passed"
