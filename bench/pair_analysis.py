#!/usr/bin/env python3
"""pair_analysis.py: what the true pairs that blocking misses, the true
pairs that score low and the false pairs that score high have in common.

Usage: bench/pair_analysis.py --pairs PAIRS.csv --truth A.csv [--truth B.csv]
                              [--weight W] [--top N]

Reads a pairs file written with --threshold 0 and the truth (as
evaluate.py). For three sets of pairs -- true pairs never scored (blocking
misses), true pairs scored below W bits (default: the best-F1 threshold) and
false pairs scored at or above W -- prints counts by a coarse, plain-Python
description of each field's agreement: the birth date (both missing, one
missing, equal, same year, years apart), the given names and surname (equal,
first letter equal, different, missing), the birth place and the address
(equal, first token equal, different, missing), plus the largest
combinations. The descriptions are the bench's, not avrr's comparators: they
say where to look, not what avrr's levels are.
"""
import argparse
import csv
import re
import unicodedata
from collections import Counter, defaultdict

csv.field_size_limit(1 << 24)


def norm(s):
    s = unicodedata.normalize("NFKD", s or "")
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"[a-z0-9]+", s))


def load(paths):
    recs, ent, side = {}, {}, {}
    for k, path in enumerate(paths):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                rid = r["rec_id"]
                recs[rid] = {x: norm(r.get(x, "")) for x in
                             ("given_names", "surname", "full_name",
                              "birth_place", "address")}
                recs[rid]["birth_date"] = r.get("birth_date", "")
                ent[rid] = r["entity"]
                side[rid] = k
    return recs, ent, side


def date_desc(a, b):
    if not a and not b:
        return "date:both-missing"
    if not a or not b:
        return "date:one-missing"
    if a == b:
        return "date:equal"
    if a[:4] == b[:4]:
        return "date:same-year"
    try:
        dy = abs(int(a[:4]) - int(b[:4]))
    except ValueError:
        return "date:other"
    return "date:1y" if dy == 1 else ("date:2-5y" if dy <= 5 else "date:far")


def str_desc(tag, a, b):
    if not a or not b:
        return tag + ":missing"
    if a == b:
        return tag + ":equal"
    ta, tb = set(a.split()), set(b.split())
    if ta & tb:
        return tag + ":token"
    if a[0] == b[0]:
        return tag + ":initial"
    return tag + ":diff"


def describe(x, y):
    return (date_desc(x["birth_date"], y["birth_date"]),
            str_desc("given", x["given_names"], y["given_names"]),
            str_desc("sur", x["surname"], y["surname"]),
            str_desc("place", x["birth_place"], y["birth_place"]),
            str_desc("addr", x["address"], y["address"]))


def report(title, pairs, recs, top, examples):
    print("## %s: %d pairs" % (title, len(pairs)))
    if not pairs:
        return
    per_field = defaultdict(Counter)
    combos = Counter()
    ex = defaultdict(list)
    for a, b in pairs:
        d = describe(recs[a], recs[b])
        combos[d] += 1
        if len(ex[d]) < examples:
            ex[d].append((a, b))
        for part in d:
            f, v = part.split(":")
            per_field[f][v] += 1
    for f, c in per_field.items():
        print("  %-6s " % f + ", ".join("%s %d (%.1f%%)" % (v, n, 100.0 * n / len(pairs))
                                       for v, n in c.most_common()))
    print("  largest combinations:")
    for d, n in combos.most_common(top):
        print("  %7d  %s" % (n, " ".join(d)))
        for a, b in ex[d]:
            ra, rb = recs[a], recs[b]
            print("           %s | %s | %s | %s | %s" % (ra["full_name"], ra["given_names"] + " " + ra["surname"],
                                                          ra["birth_date"], ra["birth_place"], ra["address"]))
            print("           %s | %s | %s | %s | %s" % (rb["full_name"], rb["given_names"] + " " + rb["surname"],
                                                          rb["birth_date"], rb["birth_place"], rb["address"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--truth", action="append", required=True)
    ap.add_argument("--weight", type=float)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--examples", type=int, default=1)
    a = ap.parse_args()
    recs, ent, side = load(a.truth)
    ids = {rid: i for i, rid in enumerate(recs)}
    n = len(ids)
    scored = {}
    with open(a.pairs, newline="") as f:
        rd = csv.reader(f)
        next(rd)
        for row in rd:
            i, j = ids[row[0]], ids[row[1]]
            scored[min(i, j) * n + max(i, j)] = float(row[3])
    # the true pairs
    by_ent = defaultdict(list)
    for rid, e in ent.items():
        by_ent[e].append(rid)
    truth = []
    for members in by_ent.values():
        for p in range(len(members)):
            for q in range(p + 1, len(members)):
                x, y = members[p], members[q]
                if len(a.truth) == 2 and side[x] == side[y]:
                    continue
                truth.append((x, y))
    tset = set()
    for x, y in truth:
        i, j = ids[x], ids[y]
        tset.add(min(i, j) * n + max(i, j))
    w = a.weight
    if w is None:  # best-F1 threshold
        ws = sorted(((v, k in tset) for k, v in scored.items()), reverse=True)
        tp = fp = 0
        best = (0.0, 0.0)
        for v, y in ws:
            tp += y
            fp += not y
            p, r = tp / (tp + fp), tp / len(truth)
            f1 = 2 * p * r / (p + r)
            if f1 > best[0]:
                best = (f1, v)
        w = best[1]
        print("best F1 %.4f at %.2f bits" % best)
    missed, low = [], []
    for x, y in truth:
        i, j = ids[x], ids[y]
        k = min(i, j) * n + max(i, j)
        if k not in scored:
            missed.append((x, y))
        elif scored[k] < w:
            low.append((x, y))
    rid_of = list(recs)
    high = [(rid_of[k // n], rid_of[k % n]) for k, v in scored.items()
            if v >= w and k not in tset]
    report("true pairs never scored (blocking)", missed, recs, a.top, a.examples)
    report("true pairs scored below %.2f bits" % w, low, recs, a.top, a.examples)
    report("false pairs scored at or above %.2f bits" % w, high, recs, a.top, a.examples)


if __name__ == "__main__":
    main()
