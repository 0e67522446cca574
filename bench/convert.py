#!/usr/bin/env python3
"""convert.py: the public benchmark data of ../shared/data to avrr's identity CSV.

Writes rec_id,given_names,surname,full_name,sex,birth_date,nationality,
birth_place,document_no,address plus an `entity` column with the ground truth
(extra columns are ignored by avrr). Usage: bench/convert.py DATA_DIR OUT_DIR

- febrl4a.csv / febrl4b.csv (link), febrl3.csv (dedup): soc_sec_id becomes
  document_no, the address parts become address; dates YYYYMMDD checked.
- historical_50k.csv: avrr dates run from 1850 to 2100 (core/date.c), the
  historical figures from the middle ages on; every year is shifted by +200
  (relative differences, the ones that matter for matching, are kept) and the
  dates still outside the range (born before 1650) are left empty.
- ncvr_ocp20.csv, ncvr_ocp40.csv: the 5 parties in one file (rec_id
  party:recid, entity recid), matched as a dedup across parties; suburb and
  postcode become address.
"""
import csv
import datetime
import os
import sys


def valid_date(y, m, d):
    try:
        datetime.date(y, m, d)
        return 1850 <= y <= 2100
    except ValueError:
        return False


def date_str(y, m, d):
    if valid_date(y, m, d):
        return "%04d-%02d-%02d" % (y, m, d)
    if 1850 <= y <= 2100 and 1 <= m <= 12:
        return "%04d-%02d" % (y, m)
    if 1850 <= y <= 2100:
        return "%04d" % y
    return ""


HEAD = ["rec_id", "given_names", "surname", "full_name", "sex", "birth_date",
        "nationality", "birth_place", "document_no", "address", "entity"]


def febrl(src, dst):
    with open(src, newline="") as f, open(dst, "w", newline="") as o:
        w = csv.writer(o)
        w.writerow(HEAD)
        r = csv.reader(f, skipinitialspace=True)
        next(r)
        for row in r:
            row = [x.strip() for x in row]
            rid, given, sur, num, a1, a2, sub, pc, st, dob, ssn = row[:11]
            bd = ""
            if len(dob) == 8 and dob.isdigit():
                bd = date_str(int(dob[:4]), int(dob[4:6]), int(dob[6:]))
            ent = rid.split("-")[1]
            addr = " ".join(x for x in (num, a1, a2, sub, pc, st) if x)
            w.writerow([rid, given, sur, "", "", bd, "", "", ssn, addr, ent])


def splink(src, dst):
    with open(src, newline="") as f, open(dst, "w", newline="") as o:
        w = csv.writer(o)
        w.writerow(HEAD)
        for row in csv.DictReader(f):
            bd = ""
            d = row["dob"]
            if len(d) == 10 and d[:4].isdigit():
                try:
                    bd = date_str(int(d[:4]) + 200, int(d[5:7]), int(d[8:10]))
                except ValueError:
                    bd = ""
            sex = {"male": "m", "female": "f"}.get(row["gender"], "")
            w.writerow([row["unique_id"], row["first_name"], row["surname"],
                        row["full_name"], sex, bd, "", row["birth_place"], "",
                        row["postcode_fake"], row["cluster"]])


def ncvr(src_dir, ocp, dst):
    with open(dst, "w", newline="") as o:
        w = csv.writer(o)
        w.writerow(HEAD)
        for p in range(5):
            fn = os.path.join(src_dir, "ncvr_numrec_5000_modrec_2_ocp_%d_myp_%d_nump_5.csv" % (ocp, p))
            with open(fn, newline="") as f:
                for row in csv.DictReader(f):
                    addr = " ".join(x for x in (row["suburb"], row["postcode"]) if x)
                    w.writerow(["%d:%s" % (p, row["recid"]), row["givenname"],
                                row["surname"], "", "", "", "", "", "", addr,
                                row["recid"]])


def main():
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    febrl(os.path.join(data, "febrl/dataset4a.csv"), os.path.join(out, "febrl4a.csv"))
    febrl(os.path.join(data, "febrl/dataset4b.csv"), os.path.join(out, "febrl4b.csv"))
    febrl(os.path.join(data, "febrl/dataset3.csv"), os.path.join(out, "febrl3.csv"))
    splink(os.path.join(data, "splink/historical_figures_with_errors_50k.csv"),
           os.path.join(out, "historical_50k.csv"))
    for ocp in (20, 40):
        ncvr(os.path.join(data, "ncvr-5party"), ocp, os.path.join(out, "ncvr_ocp%d.csv" % ocp))


if __name__ == "__main__":
    main()
