#!/usr/bin/env python3
"""evaluate.py: accuracy of a pairs file against the ground truth.

Usage: bench/evaluate.py --pairs PAIRS.csv --truth A.csv [--truth B.csv]
                         [--threshold 0.9] [--name LABEL]
With one truth file the task is a dedup (true pairs: two records of one
entity); with two it is a link (true pairs: left record and right record of
one entity). The truth files are the identity CSVs with an `entity` column
(bench/convert.py, bench/gen_returnees.py). Run the matcher with
--threshold 0 so that the pairs file holds every scored candidate: then the
blocking recall, the best F1 over all thresholds and the recall at 99 %
precision can be read off as well as the figures at the given threshold.
Prints one Markdown table row, the exact-match baseline (today's practice:
normalised given names + surname + birth date equal) in the same units.
"""
import argparse
import csv
import re
import unicodedata
from collections import defaultdict

csv.field_size_limit(1 << 24)


def norm(s):
    s = unicodedata.normalize("NFKD", s or "")
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"[a-z]+", s))


def load(path):
    ent, key = {}, {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            ent[r["rec_id"]] = r["entity"]
            name = norm(r["given_names"] + " " + r["surname"]) or norm(r["full_name"])
            bd = r["birth_date"]
            key[r["rec_id"]] = (name + "|" + bd) if (name and len(bd) == 10) else None
    return ent, key


def f1(p, r):
    return 2 * p * r / (p + r) if p + r else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--truth", action="append", required=True)
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--name", default="")
    a = ap.parse_args()
    link = len(a.truth) == 2
    ent, key = load(a.truth[0])
    left = set(ent)
    if link:
        e2, k2 = load(a.truth[1])
        ent.update(e2)
        key.update(k2)
    # true pairs
    if link:
        cl, cr = defaultdict(int), defaultdict(int)
        for r, e in ent.items():
            (cl if r in left else cr)[e] += 1
        total = sum(cl[e] * cr[e] for e in cl)
    else:
        c = defaultdict(int)
        for e in ent.values():
            c[e] += 1
        total = sum(k * (k - 1) // 2 for k in c.values())
    # scored pairs
    scored = []
    with open(a.pairs, newline="") as f:
        for r in csv.DictReader(f):
            l, rr = r["rec_id_l"], r["rec_id_r"]
            # rank by the match weight (bits): probabilities near 1 are
            # printed as 1.000000 and would tie
            scored.append((float(r["match_weight"]), ent.get(l) == ent.get(rr),
                           float(r["probability"])))
    cand = len(scored)
    cand_true = sum(1 for _, t, _ in scored if t)
    tp = sum(1 for _, t, p in scored if t and p >= a.threshold)
    fp = sum(1 for _, t, p in scored if not t and p >= a.threshold)
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / total if total else 0.0
    scored.sort(key=lambda x: -x[0])
    best, best_t, r99 = 0.0, 1.0, 0.0
    tpc = fpc = 0
    i = 0
    while i < len(scored):
        p0 = scored[i][0]
        while i < len(scored) and scored[i][0] == p0:
            if scored[i][1]:
                tpc += 1
            else:
                fpc += 1
            i += 1
        pp = tpc / (tpc + fpc)
        rr = tpc / total if total else 0
        if f1(pp, rr) > best:
            best, best_t = f1(pp, rr), p0  # a weight in bits
        if pp >= 0.99:
            r99 = max(r99, rr)
    # exact baseline
    groups = defaultdict(list)
    for rid, k in key.items():
        if k:
            groups[k].append(rid)
    etp = efp = 0
    for rids in groups.values():
        for x in range(len(rids)):
            for y in range(x + 1, len(rids)):
                if link and ((rids[x] in left) == (rids[y] in left)):
                    continue
                if ent[rids[x]] == ent[rids[y]]:
                    etp += 1
                else:
                    efp += 1
    ep = etp / (etp + efp) if etp + efp else 1.0
    er = etp / total if total else 0
    print("| %s | %d | %d | %d | %.4f | %.3f | %.3f | %.3f | %.3f (at %.1f bits) | %.3f | %.3f | %.3f | %.3f |" % (
        a.name, len(ent), total, cand, cand_true / total if total else 0,
        prec, rec, f1(prec, rec), best, best_t, r99, ep, er, f1(ep, er)))


if __name__ == "__main__":
    main()
