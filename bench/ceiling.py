#!/usr/bin/env python3
"""ceiling.py: how much F1 the comparison levels themselves allow.

Usage: bench/ceiling.py --pairs PAIRS.csv --truth A.csv [--truth B.csv]

Reads a pairs file written with --threshold 0 (every scored candidate, with
the explanation columns) and the truth, and prints three best F1 figures over
the same candidates:
  - the model's: pairs ranked by match weight (what evaluate.py reports);
  - levels only: pairs grouped by their vector of field levels, groups taken
    in order of their share of true pairs -- the best that any classifier
    seeing only the levels could do on this data, knowing the truth;
  - levels + name weight: the same with the name weight rounded to whole bits
    added to the group (so that term frequency counts).
The gap between the first and the other two is what better weights could
still win; the gap between the last and 1.0 is what the levels cannot tell
apart (two men with the same common name, born in the same year, one of them
registered with a placeholder date). Also lists the largest groups of false
positives and false negatives at the model's best threshold.
"""
import argparse
import csv
from collections import defaultdict

csv.field_size_limit(1 << 24)


def true_pairs(truth):
    ent = {}
    per_file = []
    for path in truth:
        c = defaultdict(int)
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                ent[r["rec_id"]] = r["entity"]
                c[r["entity"]] += 1
        per_file.append(c)
    if len(per_file) == 1:
        total = sum(n * (n - 1) // 2 for n in per_file[0].values())
    else:
        total = sum(n * per_file[1].get(e, 0) for e, n in per_file[0].items())
    return ent, total


def best_f1(groups, total):
    tp = fp = 0
    best = (0.0, 0.0, 0.0)
    for fneg, fpos in sorted(groups.values(), key=lambda c: -c[1] / (c[0] + c[1])):
        tp += fpos
        fp += fneg
        p, r = tp / (tp + fp), tp / total
        f = 2 * p * r / (p + r) if p + r else 0.0
        if f > best[0]:
            best = (f, p, r)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--truth", action="append", required=True)
    a = ap.parse_args()
    ent, total = true_pairs(a.truth)
    levels = defaultdict(lambda: [0, 0])
    with_w = defaultdict(lambda: [0, 0])
    scored = []
    with open(a.pairs, newline="") as f:
        rd = csv.reader(f)
        head = next(rd)
        lv_cols = [i for i, h in enumerate(head) if h.endswith("_level")]
        name_w = head.index("name_weight")
        for row in rd:
            y = ent[row[0]] == ent[row[1]]
            key = tuple(row[i] for i in lv_cols)
            levels[key][y] += 1
            with_w[key + (round(float(row[name_w])),)][y] += 1
            scored.append((float(row[3]), y, key))
    scored.sort(key=lambda x: -x[0])
    tp = fp = 0
    best = (0.0, 0.0, 0.0, 0.0)
    for w, y, _ in scored:
        tp += y
        fp += not y
        p, r = tp / (tp + fp), tp / total
        f = 2 * p * r / (p + r) if p + r else 0.0
        if f > best[0]:
            best = (f, p, r, w)
    print("true pairs %d, candidates %d" % (total, len(scored)))
    print("model:                 best F1 %.4f (P %.4f R %.4f) at %.1f bits" % best)
    print("levels only:           best F1 %.4f (P %.4f R %.4f)" % best_f1(levels, total))
    print("levels + name weight:  best F1 %.4f (P %.4f R %.4f)" % best_f1(with_w, total))
    fps, fns = defaultdict(int), defaultdict(int)
    for w, y, key in scored:
        if w >= best[3] and not y:
            fps[key] += 1
        elif w < best[3] and y:
            fns[key] += 1
    cols = ",".join(head[i][:-6] for i in lv_cols)
    for title, d in (("false positives", fps), ("false negatives", fns)):
        print("largest groups of %s (%s: count, [false, true] in the group):" % (title, cols))
        for key, n in sorted(d.items(), key=lambda x: -x[1])[:8]:
            print("  %5d  %s  %s" % (n, ",".join(key), levels[key]))


if __name__ == "__main__":
    main()
