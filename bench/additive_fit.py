#!/usr/bin/env python3
"""additive_fit.py: the best that additive weights on avrr's levels can do.

Usage: bench/additive_fit.py PAIRS.csv TRUTH.csv [TRUTH2.csv]

Fits, knowing the truth, one weight per field level (null included) plus a
factor on the model's term-frequency-adjusted name weight, by logistic
regression over the pairs of a file written with --threshold 0 (grouped by
their levels and name weight in half bits), and prints the best F1 of the
fitted scores and the weights in bits. When this is not above the model's
own best F1, reweighting the levels cannot win more (bench/ceiling.py gives
what any rule on the same groups could do, interactions included).
"""
import csv, sys, math, collections
csv.field_size_limit(1<<24)
pairs = sys.argv[1]; truths = sys.argv[2:]
ent = {}; per = []
for t in truths:
    c = collections.Counter()
    for r in csv.DictReader(open(t, newline='')): ent[r['rec_id']] = r['entity']; c[r['entity']] += 1
    per.append(c)
total = sum(n*(n-1)//2 for n in per[0].values()) if len(per) == 1 else sum(n*per[1].get(e,0) for e,n in per[0].items())
G = collections.defaultdict(lambda: [0, 0])
with open(pairs, newline='') as f:
    rd = csv.reader(f); head = next(rd)
    lvc = [i for i, h in enumerate(head) if h.endswith('_level')]
    nw = head.index('name_weight'); ni = head.index('name_level')
    for row in rd:
        y = ent[row[0]] == ent[row[1]]
        key = tuple(head[i][:-6] + '=' + row[i] for i in lvc if head[i] != 'name_level') + (row[ni], round(float(row[nw]) * 2) / 2)
        G[key][y] += 1
feats = sorted({k for key in G for k in key[:-2]} | {'name=' + key[-2] for key in G})
fi = {f: i for i, f in enumerate(feats)}
X = [([fi[k] for k in key[:-2]] + [fi['name=' + key[-2]]], key[-1], c) for key, c in G.items()]
w = [0.0] * len(feats); wn = 0.0; b = -5.0
lr = 0.5
for it in range(400):
    gw = [0.0] * len(feats); gn = 0.0; gb = 0.0; N = 0
    for idx, nv, (fa, tr) in X:
        z = b + wn * nv + sum(w[i] for i in idx)
        p = 1 / (1 + math.exp(-max(-50, min(50, z))))
        g = p * (fa + tr) - tr
        for i in idx: gw[i] += g
        gn += g * nv; gb += g; N += fa + tr
    for i in range(len(w)): w[i] -= lr * gw[i] / N * 50
    wn -= lr * gn / N * 5; b -= lr * gb / N * 50
scored = []
for idx, nv, c in X:
    scored.append((b + wn * nv + sum(w[i] for i in idx), c))
scored.sort(key=lambda x: -x[0])
tp = fp = 0; best = (0, 0, 0)
for z, (fa, tr) in scored:
    tp += tr; fp += fa
    p, r = tp / (tp + fp), tp / total
    f1 = 2 * p * r / (p + r) if p + r else 0
    if f1 > best[0]: best = (f1, p, r)
print('additive LR best F1 %.4f P %.4f R %.4f' % best, 'name_weight coef %.3f' % wn, 'groups', len(G))
for f, x in zip(feats, w): print('  %-45s %6.2f bits' % (f, x / math.log(2)))
