/* bench_keys.c: how well name keys bring transliteration variants together,
 * measured on the netranslit pairs (../shared/data/netranslit): English
 * spellings of one name grouped by its Arabic or Russian original.
 * Usage: sort -t "$(printf '\t')" -k2,2 FILE > SORTED; bench_keys SORTED [MIN_COUNT]
 * For avrr's key, American Soundex and plain lower-case equality:
 *   variant recall: share of pairs of distinct Latin spellings of one name
 *                   (spellings seen MIN_COUNT+ times, JW >= 0.7 to the
 *                   name's commonest spelling, against mining noise) with
 *                   equal keys;
 *   script recall:  share of (original, Latin spelling) pairs whose keys are
 *                   equal after avrr's transliteration of the original;
 *   collision rate: share of 1,000,000 random pairs of spellings of
 *                   different names with equal keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avrr/match.h"

typedef struct var {
    char latin[64];
    char key[64], sdx[8];
    int group;
    long count;
} var;

static void soundex(const char *s, char out[8])
{
    static const char code[] = "01230120022455012623010202";
    size_t o = 0;
    char last = 0;
    for (; *s && o < 4; s++) {
        char c = *s;
        if (c < 'a' || c > 'z')
            continue;
        char d = code[c - 'a'];
        if (o == 0) {
            out[o++] = (char)(c - 32);
            last = d;
            continue;
        }
        if (d != '0' && d != last)
            out[o++] = d;
        if (c != 'h' && c != 'w')
            last = d;
    }
    while (o < 4)
        out[o++] = '0';
    out[o] = 0;
}

static void keyof(const char *name, char *out, size_t cap)
{
    char t[256];
    size_t n = 0, o = 0;
    out[0] = 0;
    if (avrr_match_name_tokens(name, t, sizeof t, &n) != AVRR_OK)
        return;
    /* a name part may come out as two tokens (abd al ...): key them apart
     * and join */
    for (size_t i = 0; i < n && o + 1 < cap;) {
        size_t s = i;
        while (i < n && t[i] != ' ')
            i++;
        o += avrr_match_name_key(t + s, i - s, out + o, cap - o);
        if (i < n)
            i++;
    }
}

static int rnd(unsigned long *s, int n)
{
    *s = *s * 6364136223846793005ul + 1442695040888963407ul;
    return (int)((*s >> 33) % (unsigned long)n);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    long minc = argc > 2 ? atol(argv[2]) : 2;
    FILE *f = fopen(argv[1], "r");
    if (!f)
        return 1;
    static char line[4096];
    size_t cap = 1 << 18, nv = 0, ng = 0;
    var *v = calloc(cap, sizeof *v);
    char (*gname)[128] = calloc(cap, 128);
    char (*gkey)[64] = calloc(cap, 64);
    while (fgets(line, sizeof line, f) && nv < cap) {
        char *a = strtok(line, "\t"), *b = strtok(NULL, "\t"),
             *c = strtok(NULL, "\t\n");
        if (!a || !b || !c || strlen(a) >= 60)
            continue;
        long cnt = strtol(c, NULL, 10);
        if (cnt < minc)
            continue;
        char nat[128];
        size_t o = 0;
        for (char *p = b; *p && o + 1 < sizeof nat; p++)
            if (*p != ' ')
                nat[o++] = *p;
        nat[o] = 0;
        /* the file is sorted by the original (sort -t TAB -k2,2), so a
         * name's spellings arrive together */
        size_t g = ng;
        if (ng > 0 && strcmp(gname[ng - 1], nat) == 0)
            g = ng - 1;
        if (g == ng) {
            memcpy(gname[ng], nat, o + 1);
            keyof(nat, gkey[ng], 64);
            ng++;
        }
        var *x = &v[nv++];
        snprintf(x->latin, sizeof x->latin, "%s", a);
        keyof(a, x->key, sizeof x->key);
        soundex(a, x->sdx);
        x->group = (int)g;
        x->count = cnt;
    }
    fclose(f);
    /* commonest spelling per group; drop spellings far from it */
    long *best = calloc(ng, sizeof *best);
    int *bi = calloc(ng, sizeof *bi);
    for (size_t i = 0; i < nv; i++)
        if (v[i].count > best[v[i].group]) {
            best[v[i].group] = v[i].count;
            bi[v[i].group] = (int)i;
        }
    size_t keep = 0;
    for (size_t i = 0; i < nv; i++) {
        const char *m = v[bi[v[i].group]].latin;
        if (avrr_match_jaro_winkler(m, strlen(m), v[i].latin,
                                    strlen(v[i].latin)) >= 0.7)
            v[keep++] = v[i];
    }
    nv = keep;
    /* variant recall */
    long pairs = 0, k_eq = 0, s_eq = 0, l_eq = 0;
    for (size_t i = 0; i < nv; i++)
        for (size_t j = i + 1; j < nv && j < i + 400; j++) {
            if (v[j].group != v[i].group)
                continue;
            pairs++;
            k_eq += strcmp(v[i].key, v[j].key) == 0;
            s_eq += strcmp(v[i].sdx, v[j].sdx) == 0;
            l_eq += strcmp(v[i].latin, v[j].latin) == 0;
        }
    /* script recall */
    long sp = 0, sk = 0;
    for (size_t i = 0; i < nv; i++) {
        sp++;
        sk += strcmp(gkey[v[i].group], v[i].key) == 0;
    }
    /* collisions */
    unsigned long s = 42;
    long rp = 0, rk = 0, rs = 0;
    while (rp < 1000000 && nv > 1) {
        size_t i = (size_t)rnd(&s, (int)nv), j = (size_t)rnd(&s, (int)nv);
        if (v[i].group == v[j].group)
            continue;
        rp++;
        rk += strcmp(v[i].key, v[j].key) == 0;
        rs += strcmp(v[i].sdx, v[j].sdx) == 0;
    }
    printf("%s: %zu spellings of %zu names (count >= %ld), %ld variant pairs\n",
           argv[1], nv, ng, minc, pairs);
    printf("  avrr key : variant recall %.3f  script recall %.3f  collisions %.5f\n",
           (double)k_eq / pairs, (double)sk / sp, (double)rk / rp);
    printf("  soundex  : variant recall %.3f  script recall   n/a  collisions %.5f\n",
           (double)s_eq / pairs, (double)rs / rp);
    printf("  exact    : variant recall %.3f\n", (double)l_eq / pairs);
    return 0;
}
