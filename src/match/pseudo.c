/* pseudo.c: per-field keyed encodings for the pseudonymised index.
 *
 * DESIGN.md 5, "Pseudonymised mode"; the API and the encoding are described
 * in include/avrr/pseudo.h. An encoded record is an avrr_match_rec whose
 * strings are gone and whose hashes are keyed, with the keyed material of
 * the fields hanging off rec->pz; the comparator here answers the same
 * questions the plaintext comparator asks (compare.c), and the name
 * alignment, the key lift and the date levels are compare.c's own code, so
 * that the two paths cannot drift apart.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "avrr/clk.h"
#include "avrr/pseudo.h"
#include "clk_int.h"
#include "match_int.h"

/* Per-token and place Bloom filters: 256 bits. A token of up to 12 letters
 * has at most 13 padded bigrams; two positions each fill about 10 % of 256
 * bits, so chance collisions move Dice by about 0.05 at most, well inside the
 * calibrated thresholds; 128 bits moved it twice as much. */
#define BF_WORDS 4
#define BF_BITS (64 * BF_WORDS)
/* Positions per bigram in a token filter (two: the classic CLK choice; one
 * would let a pattern-mining attack read bigrams straight off the bits). */
#define BF_K 2
/* Document numbers of at most this many canonical characters carry their
 * deletion hashes (one-edit typos); longer ones compare exact / OCR only.
 * Passport and ID numbers have 6 to 12. */
#define DOC_DEL_MAX 24

/* The sub-keys, one per field, so that equal plaintext in two fields
 * (a year and a document number "1990") gives unrelated hashes. */
enum { PK_ID, PK_TOK, PK_KEY, PK_BF, PK_DATE, PK_SEX, PK_NAT, PK_PLACE,
       PK_PLACE_BF, PK_DOC, PK_ADDR, PK_BLOCK, PK_SP, PK__N };

#define PKEY_MAGIC 0x70736b79u

struct avrr_pseudo_key {
    uint32_t magic;
    uint8_t k[PK__N][crypto_shorthash_KEYBYTES];
    uint64_t id;
};

typedef struct pz_tok {
    uint64_t bf[BF_WORDS], bf_alt[BF_WORDS];
    uint32_t sp;  /* keyed hash of the spelling-normalised form */
    uint32_t alt; /* keyed hash of the alternative (as the token hash) */
    uint16_t pop, pop_alt;
} pz_tok;

typedef struct pz_doc {
    uint32_t raw, canon;
    uint8_t len, n_del;
    uint32_t del[DOC_DEL_MAX];
} pz_doc;

struct avrr__pseudo {
    uint64_t key_id;
    pz_tok tok[2][AVRR__MT_MAXTOK];
    uint32_t yr[AVRR__FAR_YEARS + 1]; /* year + k */
    uint32_t ym, md, full, swap;
    uint32_t mask[8], tpos[7];
    uint32_t sex, nat, region;        /* 0: none */
    uint32_t place;
    uint64_t place_bf[BF_WORDS];
    uint16_t place_pop;
    uint8_t n_doc;
    pz_doc doc[2];
    uint16_t n_bkeys;
    uint64_t bkeys[AVRR__MAX_BKEYS];
};

/* ---- keys ------------------------------------------------------------------------ */

static uint64_t kh64(const avrr_pseudo_key *k, int f, const void *p, size_t n)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, p, n, k->k[f]);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v ? v : 1; /* 0 means "none" everywhere */
}

static uint32_t kh32(const avrr_pseudo_key *k, int f, const void *p, size_t n)
{
    uint64_t v = kh64(k, f, p, n);
    uint32_t w = (uint32_t)(v ^ (v >> 32));
    return w ? w : 1;
}

static avrr_err key_make(const uint8_t root[32], avrr_pseudo_key **out)
{
    avrr_pseudo_key *k = avrr_malloc(sizeof *k);
    if (!k)
        return AVRR_ENOMEM;
    k->magic = PKEY_MAGIC;
    for (int f = 0; f < PK__N; f++)
        crypto_kdf_derive_from_key(k->k[f], sizeof k->k[f], (uint64_t)f + 1,
                                   "avrrpsd1", root);
    k->id = kh64(k, PK_ID, "avrr-pseudo-key-id", 18);
    *out = k;
    return AVRR_OK;
}

static avrr_err from_clk(avrr_clk_key *ck, avrr_pseudo_key **out)
{
    avrr_err r = key_make(avrr__clk_key_pseudo(ck), out);
    avrr_clk_key_free(ck);
    return r;
}

/* The pseudonym key file has the CLK key's format (the same 32 secret
 * bytes give both, as avrr_pseudo_key_from_bytes does); errors here say
 * "pseudonym key". */
static avrr_err from_master(uint8_t master[AVRR_CLK_KEY_BYTES], avrr_pseudo_key **out,
                            avrr_error *e)
{
    avrr_err r = avrr_pseudo_key_from_bytes(master, AVRR_CLK_KEY_BYTES, out);
    sodium_memzero(master, AVRR_CLK_KEY_BYTES);
    if (r != AVRR_OK)
        avrr_error_set(e, r, "pseudonym_key", "%s", avrr_strerror(r));
    return r;
}

avrr_err avrr_pseudo_key_load(const char *path, avrr_pseudo_key **out,
                              avrr_error *e)
{
    uint8_t master[AVRR_CLK_KEY_BYTES];
    *out = NULL;
    avrr_err r = avrr__key_file_read(path, "pseudonym_key", "an avrr pseudonym key",
                                     master, e);
    if (r != AVRR_OK)
        return r;
    return from_master(master, out, e);
}

avrr_err avrr_pseudo_key_create(const char *path, avrr_pseudo_key **out,
                                avrr_error *e)
{
    uint8_t master[AVRR_CLK_KEY_BYTES];
    if (out)
        *out = NULL;
    avrr_err r = avrr__key_file_create(path, "pseudonym_key", "the pseudonym key", master,
                                       e);
    if (r != AVRR_OK)
        return r;
    if (!out) {
        sodium_memzero(master, sizeof master);
        return AVRR_OK;
    }
    return from_master(master, out, e);
}

avrr_err avrr_pseudo_key_from_bytes(const uint8_t *bytes, size_t n,
                                    avrr_pseudo_key **out)
{
    avrr_clk_key *ck = NULL;
    *out = NULL;
    avrr_err r = avrr_clk_key_from_bytes(bytes, n, &ck);
    if (r != AVRR_OK)
        return r;
    return from_clk(ck, out);
}

void avrr_pseudo_key_free(avrr_pseudo_key *key)
{
    if (!key)
        return;
    sodium_memzero(key, sizeof *key);
    avrr_free(key);
}

uint64_t avrr_pseudo_key_id(const avrr_pseudo_key *key)
{
    return key->id;
}

/* ---- encoding -------------------------------------------------------------------- */

static uint16_t popcount(const uint64_t *w, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += (int)avrr__popcount64(w[i]);
    return (uint16_t)c;
}

/* Padded bigrams (_a al li i_) of s into bf, k positions each. */
static void bf_add(const avrr_pseudo_key *key, int f, const char *s, size_t n,
                   int k, uint64_t *bf)
{
    if (n == 0)
        return;
    for (size_t i = 0; i <= n; i++) {
        char g[2] = {i ? s[i - 1] : '_', i < n ? s[i] : '_'};
        uint64_t h = kh64(key, f, g, 2);
        for (int j = 0; j < k; j++) {
            unsigned pos = (unsigned)(h >> (8 * j)) % BF_BITS;
            bf[pos / 64] |= 1ull << (pos % 64);
        }
    }
}

/* Dates as eight digits yyyymmdd. */
static void date_digits(int y, int m, int d, char out[8])
{
    int v[3] = {y, m, d}, w[3] = {4, 2, 2}, p = 0;
    for (int k = 0; k < 3; k++) {
        int x = v[k];
        for (int i = w[k] - 1; i >= 0; i--) {
            out[p + i] = (char)('0' + x % 10);
            x /= 10;
        }
        p += w[k];
    }
}

static uint32_t date_hash(const avrr_pseudo_key *key, char tag, const char *s,
                          size_t n)
{
    char b[16];
    b[0] = tag;
    memcpy(b + 1, s, n);
    return kh32(key, PK_DATE, b, n + 1);
}

static void encode_date(const avrr_pseudo_key *key, const avrr_match_rec *r,
                        avrr__pseudo *pz)
{
    if (r->precision == AVRR_DATE_UNKNOWN)
        return;
    for (int k = 0; k <= AVRR__FAR_YEARS; k++) {
        char y[8];
        date_digits(r->year + k, 0, 0, y);
        pz->yr[k] = date_hash(key, 'Y', y, 4);
    }
    char d[8];
    date_digits(r->year, r->month, r->day, d);
    if (r->precision >= AVRR_DATE_MONTH)
        pz->ym = date_hash(key, 'M', d, 6);
    if (r->precision < AVRR_DATE_DAY)
        return;
    pz->full = date_hash(key, 'D', d, 8);
    pz->md = date_hash(key, 'm', d + 4, 4);
    char s[8];
    date_digits(r->year, r->day, r->month, s);
    pz->swap = date_hash(key, 'D', s, 8);
    for (int i = 0; i < 8; i++) {
        char x[9];
        memcpy(x, d, 8);
        x[i] = '*';
        x[8] = (char)('0' + i);
        pz->mask[i] = date_hash(key, 'X', x, 9);
    }
    for (int i = 0; i < 7; i++) {
        char x[9];
        memcpy(x, d, 8);
        if (x[i] > x[i + 1]) {
            char t = x[i];
            x[i] = x[i + 1];
            x[i + 1] = t;
        }
        x[8] = (char)('0' + i);
        pz->tpos[i] = date_hash(key, 'T', x, 9);
    }
}

static void encode_doc(const avrr_pseudo_key *key, const char *raw, size_t n,
                       pz_doc *d)
{
    char b[AVRR_CODE_MAX + 2], c[AVRR_CODE_MAX + 1];
    b[0] = 'R';
    memcpy(b + 1, raw, n);
    d->raw = kh32(key, PK_DOC, b, n + 1);
    /* the canonical number and its deletions share one tag, so that "x
     * without one character" and "y" hash alike when they are alike */
    size_t cl = avrr__match_doc_canon(raw, c, sizeof c);
    b[0] = 'C';
    memcpy(b + 1, c, cl);
    d->canon = kh32(key, PK_DOC, b, cl + 1);
    d->len = (uint8_t)(cl > 255 ? 255 : cl);
    d->n_del = 0;
    if (cl > DOC_DEL_MAX)
        return;
    for (size_t i = 0; i < cl; i++) {
        memcpy(b + 1, c, i);
        memcpy(b + 1 + i, c + i + 1, cl - i - 1);
        d->del[d->n_del++] = kh32(key, PK_DOC, b, cl);
    }
}

bool avrr_match_rec_is_pseudo(const avrr_match_rec *r)
{
    return r && r->pz;
}

uint64_t avrr_pseudo_rec_key_id(const avrr_match_rec *r)
{
    return r && r->pz ? r->pz->key_id : 0;
}

/* A pseudonymised record: the rec and its encodings in one allocation. */
static avrr_match_rec *pz_alloc(void)
{
    avrr_match_rec *r = avrr_calloc(1, sizeof *r + sizeof(avrr__pseudo) + 1);
    if (!r)
        return NULL;
    r->magic = AVRR__MREC_MAGIC;
    r->pz = (avrr__pseudo *)(r + 1);
    r->buf = (char *)(r->pz + 1);
    r->buf_len = 0;
    r->region = -1;
    return r;
}

avrr_err avrr_pseudo_encode(const avrr_pseudo_key *key, const avrr_identity *id,
                            avrr_match_rec **out)
{
    avrr_match_rec *p = NULL, *r = NULL;
    avrr_err result;

    *out = NULL;
    if (!key || key->magic != PKEY_MAGIC)
        return AVRR_EINVALID;
    result = avrr_match_rec_new(id, &p);
    if (result != AVRR_OK)
        return result;
    r = pz_alloc();
    if (!r) {
        result = AVRR_ENOMEM;
        goto out;
    }
    avrr__pseudo *pz = r->pz;
    pz->key_id = key->id;

    r->n_names = p->n_names;
    for (int k = 0; k < p->n_names; k++) {
        const avrr__mname *pn = &p->name[k];
        avrr__mname *rn = &r->name[k];
        rn->n = pn->n;
        rn->sig = kh32(key, PK_KEY, &pn->sig, sizeof pn->sig);
        for (int i = 0; i < pn->n; i++) {
            const avrr__mtok *pt = &pn->t[i];
            avrr__mtok *rt = &rn->t[i];
            pz_tok *zt = &pz->tok[k][i];
            rt->hash = kh32(key, PK_TOK, p->buf + pt->off, pt->len);
            /* keys are keyed over their plaintext hashes, which keeps the
             * plaintext's equalities exactly (and its rare collisions) */
            rt->key = kh32(key, PK_KEY, &pt->key, sizeof pt->key);
            rt->abjad = pt->abjad;
            rt->key_len = pt->key_len >= 2 ? 2 : 1; /* only >= 2 is asked */
            /* identical spelling-normalised forms are Jaro-Winkler 1.0,
             * "exact", in plaintext (joessef, youssef: yusef) */
            zt->sp = kh32(key, PK_SP, p->buf + pt->sp_off, pt->sp_len);
            bf_add(key, PK_BF, p->buf + pt->sp_off, pt->sp_len, BF_K, zt->bf);
            zt->pop = popcount(zt->bf, BF_WORDS);
            if (pt->alt_len) {
                char sp[2 * AVRR__MT_TOKLEN + 8];
                size_t n = avrr__match_spelling(p->buf + pt->alt_off,
                                                pt->alt_len, sp, sizeof sp);
                rt->alt_len = 1;
                zt->alt = kh32(key, PK_TOK, p->buf + pt->alt_off, pt->alt_len);
                rt->alt_key = kh32(key, PK_KEY, &pt->alt_key,
                                   sizeof pt->alt_key);
                bf_add(key, PK_BF, sp, n, BF_K, zt->bf_alt);
                zt->pop_alt = popcount(zt->bf_alt, BF_WORDS);
                sodium_memzero(sp, sizeof sp);
            }
        }
    }

    r->precision = p->precision;
    r->placeholder = p->placeholder;
    encode_date(key, p, pz);

    if (p->sex != AVRR_SEX_UNKNOWN) {
        r->sex = 1;
        pz->sex = kh32(key, PK_SEX, &p->sex, 1);
    }
    if (p->nat[0]) {
        pz->nat = kh32(key, PK_NAT, p->nat, 3);
        if (p->region >= 0) {
            uint8_t g = (uint8_t)p->region;
            pz->region = kh32(key, PK_NAT, &g, 1);
        }
    }
    if (p->place_len) {
        const char *pl = p->buf + p->place_off;
        pz->place = kh32(key, PK_PLACE, pl, p->place_len);
        /* the plaintext comparator looks at the first 64 bytes */
        size_t n = p->place_len > 64 ? 64 : p->place_len;
        bf_add(key, PK_PLACE_BF, pl, n, 1, pz->place_bf);
        pz->place_pop = popcount(pz->place_bf, BF_WORDS);
    }
    const uint16_t doff[2] = {p->doc_off, p->doc2_off};
    const uint16_t dlen[2] = {p->doc_len, p->doc2_len};
    for (int d = 0; d < 2; d++)
        if (dlen[d])
            encode_doc(key, p->buf + doff[d], dlen[d], &pz->doc[pz->n_doc++]);
    r->n_addr = p->n_addr;
    for (int i = 0; i < p->n_addr; i++)
        r->addr[i] = kh32(key, PK_ADDR, &p->addr[i], sizeof p->addr[i]);

    uint64_t bk[AVRR__MAX_BKEYS];
    size_t nb = avrr__match_block_keys(p, bk, AVRR__MAX_BKEYS);
    for (size_t i = 0; i < nb; i++)
        pz->bkeys[i] = kh64(key, PK_BLOCK, &bk[i], sizeof bk[i]);
    pz->n_bkeys = (uint16_t)nb;
    sodium_memzero(bk, sizeof bk);
    *out = r;
    r = NULL;
out:
    if (p) {
        sodium_memzero(p->buf, p->buf_len);
        sodium_memzero(p, sizeof *p);
        avrr_free(p);
    }
    avrr_free(r);
    return result;
}

size_t avrr__match_rec_block_keys(const avrr_match_rec *r, uint64_t *keys,
                                  size_t cap)
{
    if (!r->pz)
        return avrr__match_block_keys(r, keys, cap);
    size_t n = r->pz->n_bkeys < cap ? r->pz->n_bkeys : cap;
    memcpy(keys, r->pz->bkeys, n * sizeof *keys);
    return n;
}

/* ---- comparison ------------------------------------------------------------------ */

/* Dice of two token filters on the Jaro-Winkler scale of the plaintext
 * comparator: a monotone piecewise-linear map through the points where the
 * two agree best on which side of each plaintext threshold a token pair
 * falls (measured on the returnee generator's token pairs by
 * bench/clk/pseudo_calib.c; docs/BENCHMARKS.md). */
#define DICE_MIN 0.42   /* ~ JW 0.70, AVRR__KEY_SIM_MIN */
#define DICE_WEAK 0.47  /* ~ JW 0.80, AVRR__TOK_WEAK */
#define DICE_CLOSE 0.68 /* ~ JW 0.92, AVRR__TOK_CLOSE */
/* Place filters: Dice at which plaintext's JW 0.88 ("close") is matched. */
#define DICE_PLACE 0.70

double avrr__pseudo_dice_min = DICE_MIN, avrr__pseudo_dice_weak = DICE_WEAK,
       avrr__pseudo_dice_close = DICE_CLOSE, avrr__pseudo_dice_place = DICE_PLACE;

static double dice(const uint64_t *a, uint16_t pa, const uint64_t *b,
                   uint16_t pb)
{
    if (pa + pb == 0)
        return 0;
    int c = 0;
    for (int i = 0; i < BF_WORDS; i++)
        c += (int)avrr__popcount64(a[i] & b[i]);
    return 2.0 * c / (double)(pa + pb);
}

static double lerp(double x, double x0, double x1, double y0, double y1)
{
    return x1 > x0 ? y0 + (x - x0) * (y1 - y0) / (x1 - x0) : y1;
}

double avrr__pseudo_dice_scale(double d)
{
    const double m = avrr__pseudo_dice_min, w = avrr__pseudo_dice_weak,
                 c = avrr__pseudo_dice_close;
    /* identical filters of different tokens stay below exact (1.0) */
    const double top = 0.999;
    if (d < m)
        return lerp(d, 0, m, 0, AVRR__KEY_SIM_MIN);
    if (d < w)
        return lerp(d, m, w, AVRR__KEY_SIM_MIN, AVRR__TOK_WEAK);
    if (d < c)
        return lerp(d, w, c, AVRR__TOK_WEAK, AVRR__TOK_CLOSE);
    return lerp(d, c, 1.0, AVRR__TOK_CLOSE, top);
}

/* tok_sim of compare.c with keyed hashes for equality and filter Dice for
 * Jaro-Winkler. */
static void pz_fill(const avrr_match_rec *a, int ia, const avrr_match_rec *b,
                    int ib, double s[AVRR__MT_MAXTOK][AVRR__MT_MAXTOK])
{
    const avrr__mname *na = &a->name[ia], *nb = &b->name[ib];
    for (int i = 0; i < na->n; i++) {
        const avrr__mtok *x = &na->t[i];
        const pz_tok *px = &a->pz->tok[ia][i];
        for (int j = 0; j < nb->n; j++) {
            const avrr__mtok *y = &nb->t[j];
            const pz_tok *py = &b->pz->tok[ib][j];
            if (x->hash == y->hash || px->sp == py->sp ||
                (x->alt_len && px->alt == y->hash) ||
                (y->alt_len && py->alt == x->hash)) {
                s[i][j] = 1.0;
                continue;
            }
            bool keq = x->key == y->key;
            double v = avrr__pseudo_dice_scale(
                dice(px->bf, px->pop, py->bf, py->pop));
            if (x->alt_len && v < AVRR__TOK_CLOSE) {
                double t = avrr__pseudo_dice_scale(
                    dice(px->bf_alt, px->pop_alt, py->bf, py->pop));
                v = t > v ? t : v;
                keq |= x->alt_key == y->key;
            }
            if (y->alt_len && v < AVRR__TOK_CLOSE) {
                double t = avrr__pseudo_dice_scale(
                    dice(px->bf, px->pop, py->bf_alt, py->pop_alt));
                v = t > v ? t : v;
                keq |= y->alt_key == x->key;
            }
            s[i][j] = avrr__match_key_lift(v, keq, x, y);
        }
    }
}

double avrr__pseudo_tok_dice(const avrr_match_rec *a, int ia, int i,
                             const avrr_match_rec *b, int ib, int j)
{
    const pz_tok *x = &a->pz->tok[ia][i], *y = &b->pz->tok[ib][j];
    return dice(x->bf, x->pop, y->bf, y->pop);
}

static bool pz_one_digit(const void *ctx)
{
    const avrr__pseudo *const *p = ctx;
    const avrr__pseudo *a = p[0], *b = p[1];
    for (int i = 0; i < 8; i++)
        if (a->mask[i] == b->mask[i])
            return true;
    for (int i = 0; i < 7; i++)
        if (a->tpos[i] == b->tpos[i])
            return true;
    return false;
}

static int pz_years_apart(const avrr__pseudo *a, const avrr__pseudo *b)
{
    if (a->yr[0] == b->yr[0])
        return 0;
    for (int k = 1; k <= AVRR__FAR_YEARS; k++)
        if (a->yr[k] == b->yr[0] || b->yr[k] == a->yr[0])
            return k == 1 ? 1 : 2;
    return AVRR__FAR_YEARS + 1;
}

static int pz_date_level(const avrr_match_rec *a, const avrr_match_rec *b)
{
    if (a->precision == AVRR_DATE_UNKNOWN || b->precision == AVRR_DATE_UNKNOWN)
        return AVRR_MATCH_LEVEL_NULL;
    const avrr__pseudo *x = a->pz, *y = b->pz;
    bool day = a->precision == AVRR_DATE_DAY && b->precision == AVRR_DATE_DAY;
    avrr__date_facts f = {
        .prec_a = a->precision,
        .prec_b = b->precision,
        .ph = a->placeholder || b->placeholder,
        .dy = pz_years_apart(x, y),
        .full_eq = day && x->full == y->full,
        .swap_eq = day && x->swap == y->full,
        .md_eq = day && x->md == y->md,
        .month_eq = x->ym == y->ym,
    };
    const avrr__pseudo *pair[2] = {x, y};
    return avrr__match_date_level(&f, pz_one_digit, pair);
}

/* within_one_edit of compare.c on deletion hashes: one substitution (x and
 * y equal but for position i), one adjacent transposition (x without i is y
 * without i+1 and the other way round), one insertion or deletion (x
 * without i is y). */
static bool pz_one_edit(const pz_doc *x, const pz_doc *y)
{
    if (x->n_del != x->len || y->n_del != y->len)
        return false;
    if (x->len == y->len) {
        for (int i = 0; i < x->len; i++)
            if (x->del[i] == y->del[i])
                return true;
        for (int i = 0; i + 1 < x->len; i++)
            if (x->del[i] == y->del[i + 1] && x->del[i + 1] == y->del[i])
                return true;
        return false;
    }
    if (x->len == y->len + 1) {
        for (int i = 0; i < x->len; i++)
            if (x->del[i] == y->canon)
                return true;
        return false;
    }
    if (y->len == x->len + 1)
        return pz_one_edit(y, x);
    return false;
}

static int pz_doc_pair(const pz_doc *x, const pz_doc *y)
{
    if (x->raw == y->raw)
        return OL_EXACT;
    if (x->canon == y->canon)
        return OL_OCR;
    if (x->len >= AVRR__DOC_TYPO_MIN && y->len >= AVRR__DOC_TYPO_MIN &&
        pz_one_edit(x, y))
        return OL_TYPO;
    return OL_DIFF;
}

static int pz_doc_level(const avrr__pseudo *a, const avrr__pseudo *b)
{
    if (!a->n_doc || !b->n_doc)
        return AVRR_MATCH_LEVEL_NULL;
    /* the pairs the plaintext comparator looks at: first with first, and
     * each side's second with the other's first */
    int best = pz_doc_pair(&a->doc[0], &b->doc[0]);
    if (best != OL_EXACT && a->n_doc > 1) {
        int l = pz_doc_pair(&a->doc[1], &b->doc[0]);
        best = l < best ? l : best;
    }
    if (best != OL_EXACT && b->n_doc > 1) {
        int l = pz_doc_pair(&a->doc[0], &b->doc[1]);
        best = l < best ? l : best;
    }
    return best;
}

void avrr__pseudo_levels(const avrr_match_rec *a, const avrr_match_rec *b,
                         avrr__mlevels *lv)
{
    const avrr__pseudo *x = a->pz, *y = b->pz;
    if (!x || !y || x->key_id != y->key_id) {
        /* a plaintext record, or another key: nothing is comparable */
        for (int f = 0; f < AVRR_MF__COUNT; f++)
            lv->level[f] = AVRR_MATCH_LEVEL_NULL;
        lv->level[AVRR_MF_NAME] = NL_NONE;
        lv->n_agree = 0;
        lv->sig_a = lv->sig_b = 0;
        return;
    }
    avrr__match_name_level(a, b, pz_fill, lv);
    lv->level[AVRR_MF_BIRTH_DATE] = (int8_t)pz_date_level(a, b);
    if (!x->sex || !y->sex)
        lv->level[AVRR_MF_SEX] = AVRR_MATCH_LEVEL_NULL;
    else
        lv->level[AVRR_MF_SEX] = x->sex == y->sex ? SL_AGREE : SL_DIFF;
    if (!x->nat || !y->nat)
        lv->level[AVRR_MF_NATIONALITY] = AVRR_MATCH_LEVEL_NULL;
    else if (x->nat == y->nat)
        lv->level[AVRR_MF_NATIONALITY] = CL_SAME;
    else if (x->region && x->region == y->region)
        lv->level[AVRR_MF_NATIONALITY] = CL_NEIGHBOUR;
    else
        lv->level[AVRR_MF_NATIONALITY] = CL_DIFF;
    if (!x->place || !y->place)
        lv->level[AVRR_MF_BIRTH_PLACE] = AVRR_MATCH_LEVEL_NULL;
    else if (x->place == y->place)
        lv->level[AVRR_MF_BIRTH_PLACE] = PL_EXACT;
    else
        lv->level[AVRR_MF_BIRTH_PLACE] =
            dice(x->place_bf, x->place_pop, y->place_bf, y->place_pop) >=
                    avrr__pseudo_dice_place
                ? PL_CLOSE
                : PL_DIFF;
    lv->level[AVRR_MF_DOCUMENT] = (int8_t)pz_doc_level(x, y);
}

/* ---- wire form ------------------------------------------------------------------- */

/* Layout (little-endian): "AVP" version key_id:8
 *   n_names:1 { n:1 sig:4 { flags:1 hash:4 key:4 sp:4 bf:32
 *                           [alt_key:4 alt:4 bf_alt:32] }* }*
 *   precision:1 placeholder:1 [yr:4*6] [ym:4] [md full swap:4*3 mask:4*8 tpos:4*7]
 *   sex:4 nat:4 region:4 has_place:1 [place:4 place_bf:32]
 *   n_doc:1 { raw:4 canon:4 len:1 n_del:1 del:4*n_del }*
 *   n_addr:1 addr:4*n  n_bkeys:2 bkeys:8*n
 * flags: 1 abjad, 2 has alternative, 4 key of two or more consonants. */
#define TF_ABJAD 1
#define TF_ALT 2
#define TF_KEY2 4
#define WIRE_BIN_MAX ((AVRR_PSEUDO_WIRE_MAX / 4) * 3)

typedef struct wbuf {
    uint8_t b[WIRE_BIN_MAX];
    size_t n;
    bool over;
} wbuf;

static void put(wbuf *w, const void *p, size_t n)
{
    if (w->n + n > sizeof w->b) {
        w->over = true;
        return;
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void put8(wbuf *w, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put(w, &b, 1);
}

static void put32(wbuf *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    put(w, b, 4);
}

static void put64(wbuf *w, uint64_t v)
{
    put32(w, (uint32_t)v);
    put32(w, (uint32_t)(v >> 32));
}

static void putbf(wbuf *w, const uint64_t *bf)
{
    for (int i = 0; i < BF_WORDS; i++)
        put64(w, bf[i]);
}

avrr_err avrr_pseudo_to_wire(const avrr_match_rec *r, char **out)
{
    avrr_err result = AVRR_OK;
    wbuf *w = NULL;
    *out = NULL;
    if (!r || !r->pz)
        return AVRR_EINVALID;
    const avrr__pseudo *pz = r->pz;
    w = avrr_malloc(sizeof *w);
    if (!w)
        return AVRR_ENOMEM;
    w->n = 0;
    w->over = false;
    put(w, "AVP", 3);
    put8(w, AVRR_PSEUDO_VERSION);
    put64(w, pz->key_id);
    put8(w, r->n_names);
    for (int k = 0; k < r->n_names; k++) {
        put8(w, r->name[k].n);
        put32(w, r->name[k].sig);
        for (int i = 0; i < r->name[k].n; i++) {
            const avrr__mtok *t = &r->name[k].t[i];
            const pz_tok *z = &pz->tok[k][i];
            put8(w, (t->abjad ? TF_ABJAD : 0) | (t->alt_len ? TF_ALT : 0) |
                        (t->key_len >= 2 ? TF_KEY2 : 0));
            put32(w, t->hash);
            put32(w, t->key);
            put32(w, z->sp);
            putbf(w, z->bf);
            if (t->alt_len) {
                put32(w, t->alt_key);
                put32(w, z->alt);
                putbf(w, z->bf_alt);
            }
        }
    }
    put8(w, r->precision);
    put8(w, r->placeholder);
    if (r->precision >= AVRR_DATE_YEAR)
        for (int k = 0; k <= AVRR__FAR_YEARS; k++)
            put32(w, pz->yr[k]);
    if (r->precision >= AVRR_DATE_MONTH)
        put32(w, pz->ym);
    if (r->precision >= AVRR_DATE_DAY) {
        put32(w, pz->md);
        put32(w, pz->full);
        put32(w, pz->swap);
        for (int i = 0; i < 8; i++)
            put32(w, pz->mask[i]);
        for (int i = 0; i < 7; i++)
            put32(w, pz->tpos[i]);
    }
    put32(w, pz->sex);
    put32(w, pz->nat);
    put32(w, pz->region);
    put8(w, pz->place ? 1 : 0);
    if (pz->place) {
        put32(w, pz->place);
        putbf(w, pz->place_bf);
    }
    put8(w, pz->n_doc);
    for (int d = 0; d < pz->n_doc; d++) {
        const pz_doc *x = &pz->doc[d];
        put32(w, x->raw);
        put32(w, x->canon);
        put8(w, x->len);
        put8(w, x->n_del);
        for (int i = 0; i < x->n_del; i++)
            put32(w, x->del[i]);
    }
    put8(w, r->n_addr);
    for (int i = 0; i < r->n_addr; i++)
        put32(w, r->addr[i]);
    put8(w, pz->n_bkeys & 0xff);
    put8(w, pz->n_bkeys >> 8);
    for (int i = 0; i < pz->n_bkeys; i++)
        put64(w, pz->bkeys[i]);
    if (w->over) {
        result = AVRR_ETOOLARGE;
        goto out;
    }
    size_t cap = sodium_base64_ENCODED_LEN(w->n, sodium_base64_VARIANT_ORIGINAL);
    char *s = avrr_malloc(cap);
    if (!s) {
        result = AVRR_ENOMEM;
        goto out;
    }
    sodium_bin2base64(s, cap, w->b, w->n, sodium_base64_VARIANT_ORIGINAL);
    *out = s;
out:
    avrr_free(w);
    return result;
}

typedef struct rbuf {
    const uint8_t *b;
    size_t n, at;
    bool bad;
} rbuf;

static bool get(rbuf *r, void *p, size_t n)
{
    if (r->bad || r->n - r->at < n) {
        r->bad = true;
        memset(p, 0, n);
        return false;
    }
    memcpy(p, r->b + r->at, n);
    r->at += n;
    return true;
}

static uint8_t get8(rbuf *r)
{
    uint8_t v;
    get(r, &v, 1);
    return v;
}

static uint32_t get32(rbuf *r)
{
    uint8_t b[4];
    get(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

static uint64_t get64(rbuf *r)
{
    uint64_t lo = get32(r);
    return lo | (uint64_t)get32(r) << 32;
}

static uint16_t getbf(rbuf *r, uint64_t *bf)
{
    for (int i = 0; i < BF_WORDS; i++)
        bf[i] = get64(r);
    return popcount(bf, BF_WORDS);
}

#define BAD(msg)                                                               \
    do {                                                                       \
        result = avrr_error_set(e, AVRR_EINVALID, "encoded_identity", "%s",    \
                                msg);                                          \
        goto out;                                                              \
    } while (0)

avrr_err avrr_pseudo_decode(const avrr_pseudo_key *key, const char *wire,
                            size_t n, avrr_match_rec **out, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    uint8_t *bin = NULL;
    avrr_match_rec *r = NULL;
    size_t bl = 0;

    *out = NULL;
    if (!wire || n == 0)
        return avrr_error_set(e, AVRR_EINVALID, "encoded_identity", "is empty");
    if (n > AVRR_PSEUDO_WIRE_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "encoded_identity",
                              "longer than %d characters", AVRR_PSEUDO_WIRE_MAX);
    bin = avrr_malloc(n);
    r = pz_alloc();
    if (!bin || !r) {
        result = AVRR_ENOMEM;
        goto out;
    }
    if (sodium_base642bin(bin, n, wire, n, NULL, &bl, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        BAD("is not base64");
    rbuf rb = {.b = bin, .n = bl};
    avrr__pseudo *pz = r->pz;
    char magic[3];
    get(&rb, magic, 3);
    if (rb.bad || memcmp(magic, "AVP", 3) != 0)
        BAD("is not an encoded identity");
    if (get8(&rb) != AVRR_PSEUDO_VERSION)
        BAD("has an unknown encoding version");
    pz->key_id = get64(&rb);
    if (key && pz->key_id != key->id)
        BAD("was encoded with another key");
    r->n_names = get8(&rb);
    if (r->n_names > 2)
        BAD("has too many name representations");
    for (int k = 0; k < r->n_names && !rb.bad; k++) {
        avrr__mname *nm = &r->name[k];
        nm->n = get8(&rb);
        if (nm->n == 0 || nm->n > AVRR__MT_MAXTOK)
            BAD("has a bad number of name tokens");
        nm->sig = get32(&rb);
        for (int i = 0; i < nm->n && !rb.bad; i++) {
            avrr__mtok *t = &nm->t[i];
            pz_tok *z = &pz->tok[k][i];
            uint8_t fl = get8(&rb);
            if (fl & ~(TF_ABJAD | TF_ALT | TF_KEY2))
                BAD("has unknown token flags");
            t->abjad = (fl & TF_ABJAD) != 0;
            t->key_len = (fl & TF_KEY2) ? 2 : 1;
            t->hash = get32(&rb);
            t->key = get32(&rb);
            z->sp = get32(&rb);
            z->pop = getbf(&rb, z->bf);
            if (fl & TF_ALT) {
                t->alt_len = 1;
                t->alt_key = get32(&rb);
                z->alt = get32(&rb);
                z->pop_alt = getbf(&rb, z->bf_alt);
            }
        }
    }
    r->precision = get8(&rb);
    if (r->precision > AVRR_DATE_DAY)
        BAD("has a bad date precision");
    uint8_t ph = get8(&rb);
    if (ph > 1)
        BAD("has a bad placeholder flag");
    r->placeholder = ph;
    if (r->precision >= AVRR_DATE_YEAR)
        for (int k = 0; k <= AVRR__FAR_YEARS; k++)
            pz->yr[k] = get32(&rb);
    if (r->precision >= AVRR_DATE_MONTH)
        pz->ym = get32(&rb);
    if (r->precision >= AVRR_DATE_DAY) {
        pz->md = get32(&rb);
        pz->full = get32(&rb);
        pz->swap = get32(&rb);
        for (int i = 0; i < 8; i++)
            pz->mask[i] = get32(&rb);
        for (int i = 0; i < 7; i++)
            pz->tpos[i] = get32(&rb);
    }
    pz->sex = get32(&rb);
    r->sex = pz->sex ? 1 : AVRR_SEX_UNKNOWN;
    pz->nat = get32(&rb);
    pz->region = get32(&rb);
    if (pz->region && !pz->nat)
        BAD("has a region without a nationality");
    uint8_t hp = get8(&rb);
    if (hp > 1)
        BAD("has a bad place flag");
    if (hp) {
        pz->place = get32(&rb);
        if (!rb.bad && !pz->place)
            BAD("has an empty place hash");
        pz->place_pop = getbf(&rb, pz->place_bf);
    }
    pz->n_doc = get8(&rb);
    if (pz->n_doc > 2)
        BAD("has too many documents");
    for (int d = 0; d < pz->n_doc && !rb.bad; d++) {
        pz_doc *x = &pz->doc[d];
        x->raw = get32(&rb);
        x->canon = get32(&rb);
        x->len = get8(&rb);
        x->n_del = get8(&rb);
        if (x->n_del > DOC_DEL_MAX || (x->n_del && x->n_del != x->len))
            BAD("has a bad document length");
        for (int i = 0; i < x->n_del; i++)
            x->del[i] = get32(&rb);
    }
    r->n_addr = get8(&rb);
    if (r->n_addr > AVRR__MT_MAXADDR)
        BAD("has too many address tokens");
    for (int i = 0; i < r->n_addr; i++)
        r->addr[i] = get32(&rb);
    uint16_t nb = get8(&rb);
    nb |= (uint16_t)(get8(&rb) << 8);
    if (nb > AVRR__MAX_BKEYS)
        BAD("has too many blocking keys");
    pz->n_bkeys = nb;
    for (int i = 0; i < nb; i++) {
        pz->bkeys[i] = get64(&rb);
        if (!rb.bad && !pz->bkeys[i])
            BAD("has an empty blocking key");
    }
    if (rb.bad)
        BAD("is truncated");
    if (rb.at != rb.n)
        BAD("has trailing bytes");
    *out = r;
    r = NULL;
out:
    avrr_free(bin);
    avrr_free(r);
    return result;
}
