#!/usr/bin/env python3
"""ret_errors.py: the returnee generator's misjudged pairs, by class and cause,
and how many of them no comparison of these fields could tell apart.

Usage:
  bench/ret_errors.py dedup N SEED PAIRS.csv TRUTH.csv
  bench/ret_errors.py link N SEED PAIRS.csv LEFT.csv RIGHT.csv
N and SEED as given to bench/gen_returnees.py (the battery: dedup 20000 1,
link 10000 2); PAIRS.csv written with --threshold 0 (every candidate, with the
explanation columns).

The generator is run again with the same seed (it writes the records after
drawing the whole population, so the persons are the same) and tells for each
pair what the two persons are: one person, siblings (one family), two of the
generated Mohammed Alis born on 01-01 of nearby years, namesakes (same given
and family name), same family name, same given name, other names; and for
each record what the registration did to the name (the father's name as the
family name, an alias, only the original script).

Classes at the model's best-F1 threshold (match weight): true pairs never
candidates (blocking), true pairs below the threshold, false pairs above it.
"Indistinguishable": an oracle that knows the truth and sees each pair's field
levels, its name weight rounded to whole bits and the kind of each birth date
(full, 01-01, year only, 00-00) takes the groups of pairs that give the best
F1; its errors are pairs that these observations cannot separate (a group
with as many or more pairs of the other kind that look the same). The
model's errors it does not make are "misjudged" (by the weights, or by a
level that lumps what the date kinds separate). With small groups the oracle
flatters itself (a group of one pair is always pure), so its F1 is an upper
bound, more so on the smaller link file.
"""
import collections
import csv
import importlib.util
import os
import random
import re
import sys
from difflib import SequenceMatcher

csv.field_size_limit(1 << 24)


def load_generator():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen_returnees.py")
    spec = importlib.util.spec_from_file_location("gen_returnees", path)
    g = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(g)
    return g


def persons_of(g, n, seed):
    """The generator's persons, each tagged with its kind and family."""
    orig = g.make_person
    fam = [0]

    def tagged(rnd, pid, group=None, sur=None, father=None, place=None, year=None, sex=None):
        p = orig(rnd, pid, group, sur, father, place, year, sex)
        # population(): siblings get the base's family name; the Mohammed
        # Alis a sex and a year; every other person neither
        p.kind = "sibling" if sur is not None else ("mali" if sex == "m" and year is not None else "")
        if p.kind != "sibling":
            fam[0] += 1
        p.fam = fam[0]
        return p

    g.make_person = tagged
    try:
        ps = g.population(n, random.Random(seed))
    finally:
        g.make_person = orig
    return {p.id: p for p in ps}


def toks(s):
    return re.findall(r"[a-z]+", s.lower())


def close(a, b):
    return SequenceMatcher(None, a, b).ratio()


def reg_causes(r, p):
    """What one registration did to the person's name."""
    out = set()
    gn, sn = " ".join(toks(r["given_names"])), " ".join(toks(r["surname"]))
    if not gn and not sn:
        return {"original script only"}
    if p.alias and close(gn.split(" ")[0] if gn else sn, p.alias[0]) > \
            close(gn.split(" ")[0] if gn else sn, p.given[0]):
        out.add("alias")
    if p.father[0] != p.sur[0]:
        for part in (sn, gn):
            if part and close(part, p.father[0]) > max(close(part, p.sur[0]), 0.7):
                out.add("father's name as family name")
    return out


def relation(pa, pb):
    if pa.fam == pb.fam:
        return "siblings"
    if pa.kind == "mali" and pb.kind == "mali":
        return "two Mohammed Alis"
    if pa.given[0] == pb.given[0] and pa.sur[0] == pb.sur[0]:
        return "namesakes (same given and family name)"
    if pa.sur[0] == pb.sur[0]:
        return "same family name"
    if pa.given[0] == pb.given[0]:
        return "same given name"
    return "other names"


def dkind(s):
    if not s:
        return "none"
    if len(s) == 4:
        return "year"
    if s.endswith("-00-00"):
        return "00-00"
    if s.endswith("-01-01"):
        return "01-01"
    return "full"


def main():
    a = sys.argv[1:]
    if len(a) < 5 or a[0] not in ("dedup", "link"):
        sys.exit(__doc__)
    mode, n, seed, pairs, truths = a[0], int(a[1]), int(a[2]), a[3], a[4:]
    P = persons_of(load_generator(), n, seed)
    recs, per = {}, []
    for t in truths:
        c = collections.Counter()
        with open(t, newline="") as f:
            for r in csv.DictReader(f):
                recs[r["rec_id"]] = r
                c[r["entity"]] += 1
        per.append(c)
    ent = {k: r["entity"] for k, r in recs.items()}
    if len(per) == 1:
        total = sum(k * (k - 1) // 2 for k in per[0].values())
    else:
        total = sum(k * per[1].get(e, 0) for e, k in per[0].items())
    groups = collections.defaultdict(lambda: [0, 0])
    rows = []
    with open(pairs, newline="") as f:
        rd = csv.reader(f)
        head = next(rd)
        lvc = [i for i, h in enumerate(head) if h.endswith("_level")]
        nw = head.index("name_weight")
        for row in rd:
            ra, rb = recs[row[0]], recs[row[1]]
            y = ent[row[0]] == ent[row[1]]
            lv = tuple(row[i] for i in lvc)
            key = lv + (round(float(row[nw])),) + tuple(sorted((dkind(ra["birth_date"]), dkind(rb["birth_date"]))))
            groups[key][y] += 1
            rows.append((float(row[3]), row[0], row[1], y, key, lv))
    order = sorted(groups.items(), key=lambda kv: -kv[1][1] / (kv[1][0] + kv[1][1]))
    tp = fp = 0
    best = (0.0, 0.0, 0.0, -1)
    for i, (_, (fa, tr)) in enumerate(order):
        tp += tr
        fp += fa
        p, r = tp / (tp + fp), tp / total
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best[0]:
            best = (f1, p, r, i)
    chosen = set(k for k, _ in order[:best[3] + 1])
    rows.sort(key=lambda x: -x[0])
    tp = fp = 0
    mb = (0.0, 0.0)
    for w, _, _, y, _, _ in rows:
        tp += y
        fp += not y
        f1 = 2 * tp / (tp + fp + total)
        if f1 > mb[0]:
            mb = (f1, w)
    thr = mb[1]
    print("true pairs %d, candidates %d" % (total, len(rows)))
    print("model: best F1 %.4f at %.2f bits" % mb)
    print("oracle on levels + name weight + date kinds: best F1 %.4f (P %.4f R %.4f)" % best[:3])
    counts = collections.Counter()
    why = collections.defaultdict(collections.Counter)
    seen = set()

    def true_cause(x, y, lv):
        c = reg_causes(recs[x], P[ent[x]]) | reg_causes(recs[y], P[ent[y]])
        return "name %s (%s), date %s" % (lv[0], ", ".join(sorted(c)) or "spelling", lv[1])

    for w, x, y, t, key, lv in rows:
        seen.add((x, y))
        seen.add((y, x))
        mpos, opos = w >= thr, key in chosen
        if t and not mpos:
            c = "true pairs below the threshold, " + ("misjudged" if opos else "indistinguishable")
            why[c][true_cause(x, y, lv)] += 1
        elif not t and mpos:
            c = "false pairs above the threshold, " + ("indistinguishable" if opos else "misjudged")
            why[c][relation(P[ent[x]], P[ent[y]]) + "; " + ",".join(lv[:2])] += 1
        else:
            continue
        counts[c] += 1
    byent = collections.defaultdict(list)
    for k, r in recs.items():
        byent[r["entity"]].append(k)
    unb = collections.Counter()
    for ks in byent.values():
        for i in range(len(ks)):
            for j in range(i + 1, len(ks)):
                x, y = ks[i], ks[j]
                if len(truths) > 1 and x[0] == y[0]:
                    continue
                if (x, y) not in seen:
                    c = reg_causes(recs[x], P[ent[x]]) | reg_causes(recs[y], P[ent[y]])
                    unb[", ".join(sorted(c)) or "spelling"] += 1
    counts["true pairs never candidates"] = sum(unb.values())
    why["true pairs never candidates"] = unb
    for c in sorted(counts):
        print("%-50s %7d" % (c, counts[c]))
    for c in sorted(why):
        print(c + " (largest groups):")
        for k, v in why[c].most_common(10):
            print("  %6d  %s" % (v, k))


if __name__ == "__main__":
    main()
