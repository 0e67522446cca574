/* pseudo_calib.c: how often the pseudonymised comparator puts a pair into
 * the plaintext comparator's level, and where its Dice thresholds belong.
 *
 * Reads identity CSVs (link: LEFT RIGHT; dedup: one file), encodes every
 * record in plaintext and pseudonymised form (a fixed test key), takes the
 * candidate pairs of the plaintext blocking (avrr_match_batch, threshold
 * 0), and for each pair compares the levels of the two forms field by
 * field. For the names it also collects every non-identical token pair's
 * Jaro-Winkler (of the spelling-normalised forms, what compare.c uses) and
 * filter Dice, and prints for each plaintext threshold (0.70, 0.80, 0.92)
 * the Dice threshold that puts the most token pairs on the same side.
 *
 * Usage: pseudo_calib [--knots MIN,WEAK,CLOSE] LEFT.csv [RIGHT.csv]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avrr/csv.h"
#include "avrr/pseudo.h"
#include "match/match_int.h"

typedef struct recs {
    avrr_match_rec **p, **z;
    size_t n, cap;
} recs;

typedef struct pairs {
    uint32_t *v;
    size_t n, cap;
} pairs;

static int load(const char *path, const avrr_pseudo_key *k, recs *s)
{
    FILE *f = fopen(path, "r");
    avrr_identity_reader *r = NULL;
    avrr_error e;
    if (!f || avrr_identity_reader_open(f, path, &r, &e) != AVRR_OK) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    for (;;) {
        avrr_identity id;
        const char *rid = NULL;
        avrr_err err = avrr_identity_reader_next(r, &id, &rid, &e);
        if (err == AVRR_ENOTFOUND)
            break;
        if (err != AVRR_OK) {
            if (avrr_identity_reader_failed(r))
                return 1;
            continue;
        }
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 4096;
            s->p = realloc(s->p, s->cap * sizeof *s->p);
            s->z = realloc(s->z, s->cap * sizeof *s->z);
            if (!s->p || !s->z)
                return 1;
        }
        if (avrr_match_rec_new(&id, &s->p[s->n]) != AVRR_OK ||
            avrr_pseudo_encode(k, &id, &s->z[s->n]) != AVRR_OK)
            return 1;
        s->n++;
        avrr_identity_clear(&id);
    }
    avrr_identity_reader_close(r);
    fclose(f);
    return 0;
}

static int on_pair(void *ctx, size_t i, size_t j,
                   const avrr_match_explanation *x)
{
    (void)x;
    pairs *p = ctx;
    if (p->n + 2 > p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1 << 16;
        p->v = realloc(p->v, p->cap * sizeof *p->v);
        if (!p->v)
            return 1;
    }
    p->v[p->n++] = (uint32_t)i;
    p->v[p->n++] = (uint32_t)j;
    return 0;
}

/* token-pair samples: jw, dice */
typedef struct tp {
    float jw, dice;
} tp;

int main(int argc, char **argv)
{
    int a = 1;
    if (a + 1 < argc && strcmp(argv[a], "--knots") == 0) {
        if (sscanf(argv[a + 1], "%lf,%lf,%lf", &avrr__pseudo_dice_min,
                   &avrr__pseudo_dice_weak, &avrr__pseudo_dice_close) != 3)
            return 2;
        a += 2;
    }
    if (a >= argc) {
        fprintf(stderr, "usage: pseudo_calib [--knots MIN,WEAK,CLOSE] LEFT.csv [RIGHT.csv]\n");
        return 2;
    }
    uint8_t secret[32];
    for (int i = 0; i < 32; i++)
        secret[i] = (uint8_t)(i * 7 + 1);
    avrr_pseudo_key *k = NULL;
    if (avrr_pseudo_key_from_bytes(secret, sizeof secret, &k) != AVRR_OK)
        return 1;
    recs s = {0};
    if (load(argv[a], k, &s))
        return 1;
    size_t n_left = 0;
    if (a + 1 < argc) {
        n_left = s.n;
        if (load(argv[a + 1], k, &s))
            return 1;
    }
    pairs p = {0};
    avrr_match_batch_opts bo = {.threshold = 0, .n_left = n_left, .threads = 1,
                                .on_pair = on_pair, .ctx = &p};
    avrr_match_batch_stats st;
    if (avrr_match_batch(s.p, s.n, &bo, &st) != AVRR_OK)
        return 1;
    size_t agree[AVRR_MF__COUNT] = {0}, total = p.n / 2, all_agree = 0;
    static long conf[AVRR_MATCH_LEVELS_MAX + 1][AVRR_MATCH_LEVELS_MAX + 1];
    tp *t = NULL;
    size_t nt = 0, ct = 0;
    for (size_t q = 0; q < p.n; q += 2) {
        const avrr_match_rec *x = s.p[p.v[q]], *y = s.p[p.v[q + 1]];
        const avrr_match_rec *zx = s.z[p.v[q]], *zy = s.z[p.v[q + 1]];
        avrr__mlevels lp, lz;
        avrr__match_levels(x, y, &lp);
        avrr__match_levels(zx, zy, &lz);
        bool all = true;
        for (int f = 0; f < AVRR_MF__COUNT; f++) {
            agree[f] += lp.level[f] == lz.level[f];
            all &= lp.level[f] == lz.level[f];
        }
        all_agree += all;
        int a0 = lp.level[AVRR_MF_NAME], b0 = lz.level[AVRR_MF_NAME];
        conf[a0 < 0 ? AVRR_MATCH_LEVELS_MAX : a0][b0 < 0 ? AVRR_MATCH_LEVELS_MAX : b0]++;
        for (int ia = 0; ia < x->n_names; ia++)
            for (int ib = 0; ib < y->n_names; ib++)
                for (int i = 0; i < x->name[ia].n; i++)
                    for (int j = 0; j < y->name[ib].n; j++) {
                        const avrr__mtok *u = &x->name[ia].t[i],
                                         *v = &y->name[ib].t[j];
                        if (u->len == v->len &&
                            memcmp(x->buf + u->off, y->buf + v->off, u->len) == 0)
                            continue;
                        if (nt == ct) {
                            ct = ct ? 2 * ct : 1 << 16;
                            t = realloc(t, ct * sizeof *t);
                            if (!t)
                                return 1;
                        }
                        t[nt].jw = (float)avrr_match_jaro_winkler(
                            x->buf + u->sp_off, u->sp_len, y->buf + v->sp_off,
                            v->sp_len);
                        t[nt].dice = (float)avrr__pseudo_tok_dice(zx, ia, i, zy, ib, j);
                        nt++;
                    }
    }
    printf("records %zu, candidate pairs %zu, knots (Dice) %.2f %.2f %.2f\n", s.n,
           total, avrr__pseudo_dice_min, avrr__pseudo_dice_weak,
           avrr__pseudo_dice_close);
    printf("level agreement with plaintext:");
    for (int f = 0; f < AVRR_MF__COUNT; f++)
        printf(" %s %.4f", avrr_match_field_name(f),
               total ? (double)agree[f] / (double)total : 0);
    printf("\nall fields agree: %.4f\n", total ? (double)all_agree / (double)total : 0);
    printf("name levels (rows plaintext, columns pseudonymised; last: null)\n");
    for (int i = 0; i <= AVRR_MATCH_LEVELS_MAX; i++) {
        long row = 0;
        for (int j = 0; j <= AVRR_MATCH_LEVELS_MAX; j++)
            row += conf[i][j];
        if (!row)
            continue;
        printf("  %d:", i);
        for (int j = 0; j <= AVRR_MATCH_LEVELS_MAX; j++)
            printf(" %7ld", conf[i][j]);
        printf("\n");
    }
    const double th[3] = {AVRR__KEY_SIM_MIN, AVRR__TOK_WEAK, AVRR__TOK_CLOSE};
    printf("token pairs %zu (not identical)\n", nt);
    for (int h = 0; h < 3; h++) {
        double best = -1, at = 0, cur = 0;
        for (double d = 0.20; d <= 0.99; d += 0.01) {
            size_t ok = 0;
            for (size_t i = 0; i < nt; i++)
                ok += (t[i].jw >= th[h]) == (t[i].dice >= d);
            if ((double)ok > best) {
                best = (double)ok;
                at = d;
            }
        }
        double knot = h == 0 ? avrr__pseudo_dice_min
                      : h == 1 ? avrr__pseudo_dice_weak
                               : avrr__pseudo_dice_close;
        size_t ok = 0;
        for (size_t i = 0; i < nt; i++)
            ok += (t[i].jw >= th[h]) == (t[i].dice >= knot);
        cur = (double)ok;
        printf("JW >= %.2f: best Dice threshold %.2f (same side %.4f); "
               "knot in use %.2f (%.4f)\n",
               th[h], at, best / (double)nt, knot, cur / (double)nt);
    }
    return 0;
}
