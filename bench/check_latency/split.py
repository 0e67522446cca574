#!/usr/bin/env python3
"""split.py: turns one gen_returnees.py CSV into a multi-tenant registry and
the probes of the check-latency benchmark.

Usage: split.py IN.csv OUTDIR N_REGISTRY N_PROBES TENANT[,TENANT...] [--seed S]

The generator writes each person's 1-5 registrations on consecutive rows
(same `entity`). Reading group by group:
  - a person registered 2+ times gives, with some probability, its last
    registration to the probes (a "known" probe: the same person as
    someone in the registry, spelt, dated and romanised as another member
    state would: the generator's typos, transliterations, placeholder
    dates, swapped names);
  - a person registered once is, with some probability, kept out of the
    registry whole and becomes a "new" probe (nobody to find, apart from
    namesakes: the realistic no-hit case);
  - every other registration goes to the registry, each row to a tenant
    drawn at random, so that one person's registrations are spread over
    member states as in real life.
Stops when the registry has N_REGISTRY rows and there are N_PROBES probes
(80 % known, 20 % new). Writes OUTDIR/TENANT.csv, OUTDIR/probes_known.csv,
OUTDIR/probes_new.csv (identity columns) and OUTDIR/probes.jsonl (one
POST /v1/checks body a line, known and new interleaved as drawn).
"""
import csv
import json
import os
import random
import sys

COLS = ["rec_id", "given_names", "surname", "full_name", "sex", "birth_date", "nationality",
        "birth_place", "document_no"]


def body(row):
    ident = {"given_names": row["given_names"], "surname": row["surname"]}
    for k in ("full_name", "birth_date", "nationality", "birth_place"):
        if row[k]:
            ident[k] = row[k]
    if row["sex"]:
        ident["sex"] = row["sex"]
    if row["document_no"]:
        ident["documents"] = [{"type": "unknown", "number": row["document_no"]}]
    return json.dumps({"purpose": "assistance_decision", "identity": ident},
                      ensure_ascii=False, separators=(",", ":"))


def main():
    args = sys.argv[1:]
    seed = 7
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 5:
        sys.exit(__doc__)
    src, outdir, n_reg, n_probes, tenants = args[0], args[1], int(args[2]), int(args[3]), \
        args[4].split(",")
    n_known, n_new = n_probes * 4 // 5, n_probes - n_probes * 4 // 5
    rnd = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    files = {t: open(os.path.join(outdir, t + ".csv"), "w", newline="") for t in tenants}
    writers = {t: csv.DictWriter(f, COLS, extrasaction="ignore") for t, f in files.items()}
    for w in writers.values():
        w.writeheader()
    pk = open(os.path.join(outdir, "probes_known.csv"), "w", newline="")
    pn = open(os.path.join(outdir, "probes_new.csv"), "w", newline="")
    wk = csv.DictWriter(pk, COLS, extrasaction="ignore")
    wn = csv.DictWriter(pn, COLS, extrasaction="ignore")
    wk.writeheader()
    wn.writeheader()
    jl = open(os.path.join(outdir, "probes.jsonl"), "w")
    # Probability that a group becomes a probe: enough to collect the probes
    # evenly over the whole file rather than from its first persons.
    p_known = min(1.0, 5.0 * n_known / max(1, n_reg))
    p_new = min(1.0, 6.0 * n_new / max(1, n_reg))
    counts = {"reg": 0, "known": 0, "new": 0}

    def put(row):
        if counts["reg"] < n_reg:
            writers[rnd.choice(tenants)].writerow(row)
            counts["reg"] += 1

    def flush(group):
        if not group:
            return
        if len(group) >= 2 and counts["known"] < n_known and rnd.random() < p_known:
            wk.writerow(group[-1])
            jl.write(body(group[-1]) + "\n")
            counts["known"] += 1
            group = group[:-1]
        elif len(group) == 1 and counts["new"] < n_new and rnd.random() < p_new:
            wn.writerow(group[0])
            jl.write(body(group[0]) + "\n")
            counts["new"] += 1
            group = []
        for r in group:
            put(r)

    group, ent = [], None
    with open(src, newline="") as f:
        for row in csv.DictReader(f):
            if row["entity"] != ent:
                flush(group)
                group, ent = [], row["entity"]
                if counts["reg"] >= n_reg and counts["known"] >= n_known and \
                        counts["new"] >= n_new:
                    break
            group.append(row)
    flush(group)
    for f in list(files.values()) + [pk, pn, jl]:
        f.close()
    print("split: registry %d rows over %s, probes %d known + %d new"
          % (counts["reg"], ",".join(tenants), counts["known"], counts["new"]))
    if counts["reg"] < n_reg or counts["known"] < n_known or counts["new"] < n_new:
        sys.exit("split: input too short for the sizes asked")


if __name__ == "__main__":
    main()
