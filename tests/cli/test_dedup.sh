#!/bin/sh
# `avrr dedup` and `avrr link` as a user drives them: pairs are written as
# they are scored (in no particular order), so the checks compare sorted
# rows: the rows at the default threshold are exactly the rows of a
# threshold-0 run that reach 0.9, with the same scores; one thread and two
# give the same rows; --clusters joins the pairs; link finds the pairs
# across the files. Needs AVRR_BIN (set by CTest).
set -u
AVRR=${AVRR_BIN:?AVRR_BIN not set}
T=$(mktemp -d /tmp/avrr-dedup-XXXXXX)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

cat >"$T/in.csv" <<'CSV'
rec_id,given_names,surname,full_name,sex,birth_date,nationality,birth_place,document_no
a1,Youssef,El Amrani,,m,1990-03-14,MAR,Nador,AB1234567
a2,Joessef,Elamrani,,m,1990-01-01,MAR,,AB1234567
a3,Youssef,Amrani,,m,1990-03-14,DZA,Nador,
b1,Mohammed,Ali,,m,1990-01-01,SYR,Aleppo,N1234567
b2,Mohammed,Ali,,m,1990-01-01,SDN,Khartoum,P765432
b3,Mohamed,Ali,,m,1991-01-01,SYR,Aleppo,N1234567
c1,Aleksandr,Ivanov,,m,1985-06-02,UKR,,
c2,,,Олександр Іванов,m,1985-06-02,UKR,,
d1,Fatima,Haddad,,f,2001-11-30,SYR,,
d2,Fatma,Hadad,,f,2001-11-30,SYR,,
e1,"Ali, Omar",Hassan,,m,1975-05-05,IRQ,Mosul,
e2,Omar Ali,Hassan,,m,1975-05-05,IRQ,Mosul,
CSV

run() { "$AVRR" "$@" 2>"$T/err" || fail "exit $?: $* :: $(cat "$T/err")"; }
rows() { tail -n +2 "$1" | LC_ALL=C sort; }

run dedup --in "$T/in.csv" --out "$T/all.csv" --threshold 0 --quiet
run dedup --in "$T/in.csv" --out "$T/hi.csv" --quiet --threads 2
run dedup --in "$T/in.csv" --out "$T/hi1.csv" --quiet --threads 1 \
    --clusters "$T/cl.csv"
head -1 "$T/hi.csv" | grep -q '^rec_id_l,rec_id_r,probability,match_weight,name_level' ||
    fail "header: $(head -1 "$T/hi.csv")"
# rows of the threshold-0 run that reach 0.9 (the probability is the 3rd
# column; rec ids here hold no commas)
rows "$T/all.csv" | awk -F, '$3 >= 0.9' >"$T/want"
rows "$T/hi.csv" >"$T/got"
[ -s "$T/got" ] || fail "no pairs at 0.9"
cmp -s "$T/want" "$T/got" || fail "threshold run differs from the filtered threshold-0 run: $(diff "$T/want" "$T/got")"
rows "$T/hi1.csv" >"$T/got1"
cmp -s "$T/got" "$T/got1" || fail "one thread differs from two"
n_all=$(rows "$T/all.csv" | wc -l)
[ "$n_all" -gt "$(wc -l <"$T/got")" ] || fail "threshold 0 should write more pairs ($n_all)"
grep -q '^a1,a2,' "$T/got" || fail "a1,a2 not found: $(cat "$T/got")"
# clusters: the first record names the cluster; a2 with a1
grep -q '^a2,a1$' "$T/cl.csv" || fail "clusters: $(cat "$T/cl.csv")"
grep -q '^d1,d1$' "$T/cl.csv" || fail "clusters: $(cat "$T/cl.csv")"
[ "$(wc -l <"$T/cl.csv")" -eq 13 ] || fail "clusters: one row per record plus header"
# a quoted id with a comma survives
run dedup --in "$T/in.csv" --out - --threshold 0 --quiet >"$T/stdout.csv"
[ "$(rows "$T/stdout.csv" | wc -l)" -eq "$n_all" ] || fail "--out - writes the same rows"
# link: the left file against the right one
head -1 "$T/in.csv" >"$T/l.csv"; head -1 "$T/in.csv" >"$T/r.csv"
grep '^a1,\|^b1,\|^d1,' "$T/in.csv" >>"$T/l.csv"
grep '^a2,\|^b2,\|^d2,' "$T/in.csv" >>"$T/r.csv"
run link --left "$T/l.csv" --right "$T/r.csv" --out "$T/link.csv" --quiet
grep -q '^a1,a2,' "$T/link.csv" || fail "link a1,a2: $(cat "$T/link.csv")"
grep -q '^d1,d2,' "$T/link.csv" || fail "link d1,d2: $(cat "$T/link.csv")"
# a file that cannot be written is an error
"$AVRR" dedup --in "$T/in.csv" --out "$T/no/such/dir.csv" --quiet 2>"$T/err" &&
    fail "unwritable output accepted"
grep -q "cannot create" "$T/err" || fail "error text: $(cat "$T/err")"
# --block-cap is checked
"$AVRR" dedup --in "$T/in.csv" --out "$T/x.csv" --block-cap 1 2>/dev/null &&
    fail "--block-cap 1 accepted"
# a file of several read chunks (records are built by all threads, a chunk
# of rows at a time): the records keep the order of the rows (the clusters
# file lists them in it), one thread and two give the same pairs, and a bad
# row deep in the file is reported at its line
head -1 "$T/in.csv" >"$T/big.csv"
awk -F, 'NR > 1 && NF > 5 { rows[++n] = $0 }
    END { for (k = 0; k < 850; k++) for (i = 1; i <= n; i++) {
        r = rows[i]; sub(/^[^,]*/, "&_" k, r)
        sub(/[12][09][0-9][0-9]-/, (1900 + k % 90) "-", r); print r } }' \
    "$T/in.csv" >>"$T/big.csv"
[ "$(wc -l <"$T/big.csv")" -eq 10201 ] || fail "big.csv: $(wc -l <"$T/big.csv") lines"
run dedup --in "$T/big.csv" --out "$T/big2.csv" --quiet --threads 2 \
    --clusters "$T/bigcl2.csv"
run dedup --in "$T/big.csv" --out "$T/big1.csv" --quiet --threads 1
rows "$T/big2.csv" >"$T/bg2"
rows "$T/big1.csv" >"$T/bg1"
[ -s "$T/bg2" ] || fail "no pairs in big.csv"
cmp -s "$T/bg1" "$T/bg2" || fail "big.csv: one thread differs from two"
tail -n +2 "$T/big.csv" | cut -d, -f1 >"$T/order_in"
tail -n +2 "$T/bigcl2.csv" | cut -d, -f1 >"$T/order_cl"
cmp -s "$T/order_in" "$T/order_cl" || fail "records out of the rows' order"
awk 'NR == 9001 { sub(/-[01][0-9]-/, "-13-") } { print }' \
    "$T/big.csv" >"$T/bad.csv"
"$AVRR" dedup --in "$T/bad.csv" --out "$T/x.csv" --quiet 2>"$T/err" &&
    fail "bad row accepted"
grep -q "bad.csv:9001:.*month 13" "$T/err" || fail "bad row: $(cat "$T/err")"
run dedup --in "$T/bad.csv" --out "$T/x.csv" --skip-bad \
    --clusters "$T/xcl.csv"
[ "$(wc -l <"$T/xcl.csv")" -eq 10200 ] || fail "--skip-bad keeps the other rows"
grep -q "10199 records read" "$T/err" || fail "--skip-bad: $(cat "$T/err")"

# avrr train writes a model that dedup reads; the server refuses a model
# file that is not one, naming the setting
run train --in "$T/big.csv" --out "$T/model.json" --quiet
grep -q '"population"' "$T/model.json" || fail "model without its population"
run dedup --in "$T/in.csv" --out "$T/tr.csv" --quiet --model "$T/model.json"
"$AVRR" init --db "$T/reg.db" >/dev/null 2>"$T/err" || fail "init: $(cat "$T/err")"
printf '{"format":"avrr-match-model","prior":2}\n' >"$T/bad.json"
printf 'match_model = %s\n' "$T/bad.json" >"$T/serve.conf"
"$AVRR" serve --db "$T/reg.db" --listen 127.0.0.1:0 --config "$T/serve.conf" \
    >/dev/null 2>"$T/err" && fail "serve took a bad model"
grep -q "match_model" "$T/err" && grep -q "prior" "$T/err" ||
    fail "bad model: $(cat "$T/err")"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "ok"
