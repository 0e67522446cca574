#!/bin/sh
# The `avrr` command as a user drives it: setting a registry up, keys,
# imports good and bad, export, --help everywhere, a registry from a newer
# version refused. Needs AVRR_BIN (set by CTest) and the sqlite3 program.
set -u
AVRR=${AVRR_BIN:?AVRR_BIN not set}
T=$(mktemp -d /tmp/avrr-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
DB=$T/reg.db
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# expect CODE CMD...: runs CMD, output in $T/out and $T/err, checks the exit code.
expect() {
    want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    [ "$got" -eq "$want" ] || fail "exit $got (want $want): $* :: $(cat "$T/err")"
}
contains() { grep -q -- "$2" "$1" || fail "'$2' not in $1: $(cat "$1")"; }
count() { sqlite3 "$DB" "SELECT count(*) FROM $1"; }

# --help on the program and on every subcommand
expect 0 "$AVRR" --help
contains "$T/out" "import"
for c in init person case assistance check backup "tenant add" "tenant set" "tenant list" "key create" "key list" "key revoke" serve import export demo encode "encode key"; do
    # shellcheck disable=SC2086
    expect 0 "$AVRR" $c --help
    contains "$T/out" "usage: avrr"
done
expect 2 "$AVRR" frobnicate
expect 2 "$AVRR" import --db "$DB"

# a registry, a tenant, a key
expect 1 "$AVRR" tenant list --db "$DB"
contains "$T/err" "avrr init"
expect 0 "$AVRR" init --db "$DB"
expect 0 "$AVRR" init --db "$DB"
expect 0 "$AVRR" tenant add --db "$DB" --code nl --name "Netherlands"
expect 1 "$AVRR" tenant add --db "$DB" --code NL --name "Again"
contains "$T/err" "exists"
expect 1 "$AVRR" tenant add --db "$DB" --code "N L" --name "Bad"
expect 0 "$AVRR" tenant list --db "$DB"
contains "$T/out" "NL	Netherlands"
expect 0 "$AVRR" key create --db "$DB" --tenant NL --role caseworker
key=$(tail -n 1 "$T/out")
case "$key" in avrr_*) ;; *) fail "key create: last line is not a key: $key" ;; esac
[ "$(sqlite3 "$DB" "SELECT count(*) FROM api_keys WHERE hex(hash) LIKE '%'")" -eq 1 ] || fail "one key row"
sqlite3 "$DB" .dump | grep -q -- "${key#avrr_}" && fail "the key's secret is stored in the clear"
expect 1 "$AVRR" key create --db "$DB" --tenant XX --role caseworker
expect 1 "$AVRR" key create --db "$DB" --tenant NL --role king
contains "$T/err" "role"

# import: a good CSV, one transaction
cat >"$T/good.csv" <<'CSV'
rec_id,given_names,surname,full_name,sex,birth_date,nationality,birth_place,document_no,extra
nl-1,Youssef,El Amrani,,m,1990-03-14,MA,Casablanca,UZ4411720,ignored
nl-2,Tesfamariam,Ghebremedhin,,m,1988,ERI,Asmara,,
nl-3,,,"Олександр Шевченко",m,1979-00-00,UKR,"Kharkiv, ""Oblast""",,
CSV
expect 0 "$AVRR" import --db "$DB" --tenant NL "$T/good.csv"
contains "$T/out" "imported 3"
[ "$(count persons)" -eq 3 ] || fail "3 persons after good import"
[ "$(sqlite3 "$DB" "SELECT birth_place FROM identities WHERE national_ref='nl-3'")" = 'Kharkiv, "Oblast"' ] || fail "quoted field"

# a bad CSV: every bad row reported by file, line and column; nothing stored
cat >"$T/bad.csv" <<'CSV'
rec_id,given_names,surname,sex,birth_date,nationality
nl-4,Hamza,Benali,m,1995-02-30,MAR
nl-5,Amina,Tahiri,f,1999-05-05,MAR
nl-6,Omar,Saleh,m,1980,Iraq
CSV
expect 1 "$AVRR" import --db "$DB" --tenant NL "$T/bad.csv"
contains "$T/err" "bad.csv:2:21: birth_date"
contains "$T/err" "bad.csv:4:24: nationality"
contains "$T/err" "nothing was imported"
[ "$(count persons)" -eq 3 ] || fail "a bad file stores nothing"

# --skip-bad: the good row stored, the bad ones in the reject file
expect 0 "$AVRR" import --db "$DB" --tenant NL --skip-bad --reject "$T/rejects.csv" "$T/bad.csv"
[ "$(count persons)" -eq 4 ] || fail "skip-bad stores the good row"
[ "$(wc -l <"$T/rejects.csv")" -eq 3 ] || fail "reject file: header and two rows"
contains "$T/rejects.csv" "nl-6,Omar"

# malformed CSV structure
printf 'rec_id,surname\nx,"unterminated\n' >"$T/broken.csv"
expect 1 "$AVRR" import --db "$DB" --tenant NL "$T/broken.csv"
contains "$T/err" "broken.csv:2:"
printf 'name,surname\nx,y\n' >"$T/nohead.csv"
expect 1 "$AVRR" import --db "$DB" --tenant NL "$T/nohead.csv"
contains "$T/err" "rec_id"

# JSON lines
cat >"$T/people.jsonl" <<'JSONL'
{"identities":[{"given_names":"Giorgi","surname":"Beridze","birth_date":"1984-06-02","nationality":"GEO"},{"given_names":"Georgi","surname":"Beridse"}]}
{"identities":[{"given_names":"Nino","surname":"Kapanadze","birth_date":"1991","sex":"f"}]}
JSONL
expect 0 "$AVRR" import --db "$DB" --tenant NL "$T/people.jsonl"
[ "$(count persons)" -eq 6 ] || fail "jsonl import"
[ "$(count identities)" -eq 7 ] || fail "aliases from jsonl"
printf '{"identities":[{"given_names":"A"}]}\n{"identities":[{"given_names":"B","birth_date":"2001-02-29"}]}\nnot json\n' >"$T/bad.jsonl"
expect 1 "$AVRR" import --db "$DB" --tenant NL "$T/bad.jsonl"
contains "$T/err" "bad.jsonl:2:1: identities\[0\].birth_date"
contains "$T/err" "bad.jsonl:3:1"
[ "$(count persons)" -eq 6 ] || fail "a bad jsonl file stores nothing"
expect 1 "$AVRR" import --db "$DB" --tenant BE "$T/good.csv"
contains "$T/err" "no tenant BE"

# a file of several batches (10,000 rows each): a thread reads ahead of the
# one that stores; a bad row late in the file, after batches were stored in
# the transaction, still stores nothing and is named by line and column; so
# is a broken line (the reader's own failure); --skip-bad keeps the file's order
expect 0 "$AVRR" tenant add --db "$DB" --code DE --name "Germany"
before=$(count persons)
awk 'BEGIN { print "rec_id,given_names,surname,sex,birth_date,nationality";
             for (i = 1; i <= 32000; i++)
                 printf "big-%d,Given%d,Surname%d,%s,19%02d-%02d-%02d,NLD\n", i, i, i,
                        (i % 2 ? "f" : "m"), 50 + i % 50, 1 + i % 12, 1 + i % 28 }' >"$T/big.csv"
sed '30001s/,NLD$/,Holland/' "$T/big.csv" >"$T/big_bad.csv"
expect 1 "$AVRR" import --db "$DB" --tenant DE --quiet "$T/big_bad.csv"
contains "$T/err" "big_bad.csv:30001:"
contains "$T/err" ": nationality"
contains "$T/err" "1 bad row(s) in $T/big_bad.csv: nothing was imported"
[ "$(count persons)" -eq "$before" ] || fail "a bad row late in a big file stores nothing"
{ cat "$T/big.csv"; printf 'big-x,"unterminated\n'; } >"$T/big_broken.csv"
expect 1 "$AVRR" import --db "$DB" --tenant DE --quiet "$T/big_broken.csv"
contains "$T/err" "big_broken.csv:32002:"
[ "$(count persons)" -eq "$before" ] || fail "a broken line late in a big file stores nothing"
sed -e '5s/,NLD$/,Holland/' -e '25001s/,NLD$/,Holland/' "$T/big.csv" >"$T/big_two.csv"
expect 0 "$AVRR" import --db "$DB" --tenant DE --quiet --skip-bad --reject "$T/big.rej" "$T/big_two.csv"
contains "$T/out" "imported 31998"
[ "$(count persons)" -eq $((before + 31998)) ] || fail "skip-bad on a big file"
[ "$(sed -n '2s/,.*//p;3s/,.*//p' "$T/big.rej" | tr '\n' ' ')" = "big-4 big-25000 " ] ||
    fail "rejects of a big file in file order: $(cat "$T/big.rej")"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM audit_events WHERE action = 'person.create'
                     AND outcome = 'ok' AND tenant = 'DE'")" -eq 31998 ] || fail "an audit event per stored row"
seq 1 30000 | awk '{ printf "{\"identities\":[{\"given_names\":\"J%d\",\"surname\":\"L%d\"}]}\n", $1, $1 }' \
    >"$T/big.jsonl"
echo '{"identities":[{"given_names":"J","birth_date":"2001-02-29"}]}' >>"$T/big.jsonl"
expect 1 "$AVRR" import --db "$DB" --tenant DE --quiet "$T/big.jsonl"
contains "$T/err" "big.jsonl:30001:1: identities\[0\].birth_date"
[ "$(count persons)" -eq $((before + 31998)) ] || fail "a bad line late in a big jsonl file stores nothing"

# records from the command line, as in the README's walk-through
cat >"$T/person.json" <<'JSON'
{"identities":[{"given_names":"Giorgi","surname":"Beridze","birth_date":"1984-06-02","nationality":"GE"},
               {"given_names":"Georgi","surname":"Beridse"},
               {"given_names":"Gogi","surname":"Beridze","birth_date":"1984-01-01"}]}
JSON
before=$(count persons)
expect 0 "$AVRR" person add --db "$DB" --tenant NL "$T/person.json"
pid=$(sed -n 's/^  "id": \([0-9]*\),$/\1/p' "$T/out" | head -n 1)
[ -n "$pid" ] || fail "person add prints the id: $(cat "$T/out")"
[ "$(count persons)" -eq $((before + 1)) ] || fail "person add stores one person"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM identities WHERE person_id=$pid")" -eq 3 ] || fail "with 3 identities"
expect 0 "$AVRR" case open --db "$DB" --tenant NL --person "$pid" --destination ge --return-type voluntary
contains "$T/out" '"destination_country": "GEO"'
cid=$(sed -n 's/^  "id": \([0-9]*\),$/\1/p' "$T/out" | head -n 1)
expect 0 "$AVRR" assistance add --db "$DB" --tenant NL --case "$cid" --kind reintegration_business --amount-cents 200000 --funding amif --provider IOM
expect 0 "$AVRR" assistance list --db "$DB" --tenant NL --case "$cid"
contains "$T/out" '"amount_cents": 200000'
expect 1 "$AVRR" assistance add --db "$DB" --tenant NL --case "$cid" --kind holiday --funding amif
contains "$T/err" "kind"
expect 0 "$AVRR" case status --db "$DB" --tenant NL --id "$cid" --status applied
expect 1 "$AVRR" case status --db "$DB" --tenant NL --id "$cid" --status completed
contains "$T/err" "cannot move from applied to completed"
printf '{"identities":[{"surname":"X","birth_date":"1990-02-30"}]}' >"$T/badperson.json"
before=$(count persons)
expect 1 "$AVRR" person add --db "$DB" --tenant NL "$T/badperson.json"
contains "$T/err" "identities\[0\].birth_date"
[ "$(count persons)" -eq "$before" ] || fail "a bad person stores nothing"
expect 0 "$AVRR" person show --db "$DB" --tenant NL --id "$pid"
contains "$T/out" '"surname": "Beridse"'

# consultation from the command line: a second tenant checks, finds NL's
# person, learns nothing personal; then a tenant policy
expect 0 "$AVRR" tenant add --db "$DB" --code BE --name "Belgium"
cat >"$T/check.json" <<'JSON'
{"purpose":"assistance_decision","identity":{"given_names":"Joessef","surname":"Elamrani","birth_date":"1990"}}
JSON
expect 0 "$AVRR" check --db "$DB" --tenant BE "$T/check.json"
contains "$T/out" '"tenant": "NL"'
contains "$T/out" '"band": "strong"'
grep -q "El Amrani\|UZ4411720\|1990-03-14" "$T/out" && fail "check output shows NL's personal details"
[ "$(count checks)" -eq 1 ] || fail "the check is recorded"
printf '{"purpose":"gossip","identity":{"surname":"X"}}' >"$T/badcheck.json"
expect 1 "$AVRR" check --db "$DB" --tenant BE "$T/badcheck.json"
contains "$T/err" "purpose"
[ "$(count checks)" -eq 1 ] || fail "a bad check is not recorded"
expect 0 "$AVRR" tenant set --db "$DB" --code BE --duplicate-policy block
expect 0 "$AVRR" tenant list --db "$DB"
contains "$T/out" "BE	Belgium	block"
expect 1 "$AVRR" tenant set --db "$DB" --code BE --duplicate-policy maybe

# export: everything of the tenant, one person per line
expect 0 "$AVRR" export --db "$DB" --tenant NL --out "$T/export.jsonl"
[ "$(wc -l <"$T/export.jsonl")" -eq 7 ] || fail "export has 7 lines"
contains "$T/export.jsonl" '"surname":"El Amrani"'
contains "$T/export.jsonl" '"cases":\[\]'
contains "$T/export.jsonl" '"kind":"reintegration_business"'

# demo data
expect 0 "$AVRR" demo --db "$T/demo.db" --persons 50
contains "$T/out" "API key for IOM-NL"
[ "$(sqlite3 "$T/demo.db" "SELECT count(DISTINCT tenant) FROM persons")" -eq 3 ] || fail "demo spreads over 3 states"
[ "$(sqlite3 "$T/demo.db" "SELECT count(*) FROM assistance")" -gt 0 ] || fail "demo has assistance"

# serve: a config file, and its errors
printf 'db = %s\nlisten = 127.0.0.1:0\nthreads = 2\nlog_requests = 0\n' "$DB" >"$T/avrr.conf"
"$AVRR" serve --config "$T/avrr.conf" >"$T/serve.out" 2>"$T/serve.err" &
spid=$!
# up to 30 s (a server under valgrind loads slowly); the output file may not
# exist yet when the first grep runs
i=0
while [ $i -lt 150 ] && kill -0 "$spid" 2>/dev/null; do
    grep -qs serving "$T/serve.out" && break
    sleep 0.2; i=$((i + 1))
done
port=$(sed -n 's|.*127.0.0.1:\([0-9]*\)/.*|\1|p' "$T/serve.out")
[ -n "$port" ] || fail "serve with a config file did not start: $(cat "$T/serve.err")"
if [ -n "$port" ]; then
    out=$(curl -s -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/persons?limit=1")
    echo "$out" | grep -q '"tenant":"NL"' || fail "curl with the new key: $out"
fi
kill "$spid"; wait "$spid" || fail "serve exits 0 on SIGTERM"
printf 'colour = blue\n' >"$T/bad.conf"
expect 1 "$AVRR" serve --config "$T/bad.conf"
contains "$T/err" "bad.conf:1: unknown setting 'colour'"

# backup: a consistent copy that opens and verifies; an existing file is kept
expect 0 "$AVRR" backup --db "$DB" --out "$T/copy.db"
[ "$(stat -c %a "$T/copy.db")" = "600" ] || fail "the backup is private"
[ "$(sqlite3 "$T/copy.db" "SELECT count(*) FROM persons")" -eq "$(count persons)" ] || fail "backup has every person"
expect 0 "$AVRR" audit verify --db "$T/copy.db"
expect 1 "$AVRR" backup --db "$DB" --out "$T/copy.db"
contains "$T/err" "cannot create"

# a registry from a newer avrr is refused, and left alone
sqlite3 "$DB" "PRAGMA user_version = 99"
expect 1 "$AVRR" tenant list --db "$DB"
contains "$T/err" "newer\|upgrade"
[ "$(sqlite3 "$DB" "PRAGMA user_version")" -eq 99 ] || fail "refused registry untouched"

# a file that is not a registry
printf 'hello' >"$T/notes.txt"
expect 1 "$AVRR" tenant list --db "$T/notes.txt"

if [ "$failures" -ne 0 ]; then
    echo "$failures CLI check(s) failed" >&2
    exit 1
fi
echo "CLI checks passed"
