/* record.c: the compact comparison record of an identity.
 *
 * Everything the comparators need, normalised once when a record enters a
 * batch or the index, so that comparing a pair touches only small arrays and
 * short ASCII strings: name tokens with their keys, date parts, codes, the
 * OCR-canonical document number and hashed address tokens. One allocation
 * per record.
 */
#include <string.h>

#include "match_int.h"

/* The text arena of a record under construction. */
typedef struct sbuf {
    char b[4096];
    size_t n;
} sbuf;

static uint16_t sbuf_put(sbuf *s, const char *p, size_t n, uint16_t *len)
{
    if (s->n + n + 1 > sizeof s->b)
        n = 0;
    uint16_t off = (uint16_t)s->n;
    memcpy(s->b + s->n, p, n);
    s->n += n;
    s->b[s->n++] = '\0';
    *len = (uint16_t)n;
    return off;
}

static uint32_t key_hash(const char *t, size_t n, uint8_t *len)
{
    char k[AVRR__MT_TOKLEN + 8];
    size_t kl = avrr_match_name_key(t, n, k, sizeof k);
    if (len)
        *len = (uint8_t)kl;
    return avrr__hash32(k, kl);
}

static void build_name(const char *toks, size_t len, bool abjad, sbuf *s,
                       avrr__mname *nm)
{
    nm->n = 0;
    for (size_t i = 0; i < len && nm->n < AVRR__MT_MAXTOK;) {
        while (i < len && toks[i] == ' ')
            i++;
        size_t st = i;
        while (i < len && toks[i] != ' ')
            i++;
        if (i == st)
            break;
        avrr__mtok *t = &nm->t[nm->n++];
        const char *p = toks + st;
        size_t n = i - st;
        memset(t, 0, sizeof *t);
        t->off = sbuf_put(s, p, n, &t->len);
        t->hash = avrr__hash32(p, n);
        t->key = key_hash(p, n, &t->key_len);
        t->abjad = abjad;
        char sp[2 * AVRR__MT_TOKLEN + 8];
        size_t spl = avrr__match_spelling(p, n, sp, sizeof sp);
        t->sp_off = sbuf_put(s, sp, spl, &t->sp_len);
        avrr__chars_of(s->b + t->sp_off, t->sp_len, &t->sp_chars);
        /* an article glued on: elamrani, alhassan, abdelkader stays */
        if (n >= 6 && (p[0] == 'a' || p[0] == 'e' || p[0] == 'u') &&
            p[1] == 'l') {
            t->alt_off = (uint16_t)(t->off + 2);
            t->alt_len = (uint16_t)(n - 2);
            t->alt_key = key_hash(p + 2, n - 2, NULL);
        } else {
            const char *formal = avrr__nick_formal(p, n);
            if (formal) {
                t->nick = 1;
                t->alt_key = key_hash(formal, strlen(formal), NULL);
            }
        }
    }
}

/* The whole-name key: sorted token keys, hashed. */
static void name_sig(avrr__mname *nm)
{
    uint32_t k[AVRR__MT_MAXTOK + 1];
    int n = nm->n;
    for (int i = 0; i < n; i++)
        k[i] = nm->t[i].key;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && k[j - 1] > k[j]; j--) {
            uint32_t t = k[j];
            k[j] = k[j - 1];
            k[j - 1] = t;
        }
    k[n] = 0x5349475fu; /* keeps signatures apart from token keys */
    nm->sig = avrr__hash32(k, sizeof k[0] * (size_t)(n + 1));
}

/* True when s holds Arabic-script letters (U+0600-U+06FF: Arabic, Persian,
 * Urdu, Pashto), whose transliteration lacks the short vowels. */
static bool has_abjad(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s >= 0xD8 && (unsigned char)*s <= 0xDB)
            return true;
    return false;
}

/* Order-free equality of two representations (sorted token hashes). */
static bool same_tokens(const avrr__mname *a, const avrr__mname *b)
{
    if (a->n != b->n)
        return false;
    uint32_t x[AVRR__MT_MAXTOK], y[AVRR__MT_MAXTOK];
    for (int i = 0; i < a->n; i++) {
        x[i] = a->t[i].hash;
        y[i] = b->t[i].hash;
    }
    for (int i = 1; i < a->n; i++)
        for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
            uint32_t t = x[j];
            x[j] = x[j - 1];
            x[j - 1] = t;
        }
    for (int i = 1; i < b->n; i++)
        for (int j = i; j > 0 && y[j - 1] > y[j]; j--) {
            uint32_t t = y[j];
            y[j] = y[j - 1];
            y[j - 1] = t;
        }
    return memcmp(x, y, a->n * sizeof x[0]) == 0;
}

size_t avrr__match_doc_canon(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return 0;
    for (; s && *s && o + 1 < cap; s++) {
        char c = *s;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        switch (c) {
        case 'O': case 'Q': case 'D': c = '0'; break;
        case 'I': case 'L': case 'T': c = '1'; break;
        case 'S': c = '5'; break;
        case 'B': c = '8'; break;
        case 'Z': c = '2'; break;
        case 'G': c = '6'; break;
        default: break;
        }
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))
            out[o++] = c;
    }
    out[o] = '\0';
    return o;
}

static void doc_clean(const char *s, char *out, size_t cap, size_t *n)
{
    size_t o = 0;
    for (; s && *s && o + 1 < cap; s++) {
        char c = *s;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))
            out[o++] = c;
    }
    out[o] = '\0';
    *n = o;
}

static void build_addr(const char *s, avrr_match_rec *r)
{
    r->n_addr = 0;
    if (!s)
        return;
    char tok[64];
    size_t n = 0;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c >= 0x80;
        if (alnum) {
            if (n + 1 < sizeof tok)
                tok[n++] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
            continue;
        }
        if (n > 0 && r->n_addr < AVRR__MT_MAXADDR) {
            uint32_t h = avrr__hash32(tok, n);
            bool dup = false;
            for (int i = 0; i < r->n_addr; i++)
                dup |= r->addr[i] == h;
            if (!dup)
                r->addr[r->n_addr++] = h;
        }
        n = 0;
        if (!c)
            break;
    }
}

avrr_err avrr_match_rec_new(const avrr_identity *id, avrr_match_rec **out)
{
    avrr_err result = AVRR_OK;
    sbuf *s = NULL;
    avrr_match_rec *r = NULL;
    char tmp[4 * AVRR_NAME_MAX + 64], toks[4 * AVRR_NAME_MAX + 64];
    size_t tl = 0;
    avrr_match_rec proto;

    *out = NULL;
    memset(&proto, 0, sizeof proto);
    s = avrr_malloc(sizeof *s);
    if (!s) {
        result = AVRR_ENOMEM;
        goto out;
    }
    s->n = 0;

    /* representation 0: given names + surname */
    size_t gl = id->given_names ? strlen(id->given_names) : 0;
    size_t sl = id->surname ? strlen(id->surname) : 0;
    if (gl + sl + 2 > sizeof tmp) {
        result = AVRR_ETOOLARGE;
        goto out;
    }
    memcpy(tmp, id->given_names ? id->given_names : "", gl);
    tmp[gl] = ' ';
    memcpy(tmp + gl + 1, id->surname ? id->surname : "", sl);
    tmp[gl + 1 + sl] = '\0';
    result = avrr_match_name_tokens(tmp, toks, sizeof toks, &tl);
    if (result != AVRR_OK)
        goto out;
    build_name(toks, tl, has_abjad(tmp), s, &proto.name[0]);
    name_sig(&proto.name[0]);
    proto.n_names = proto.name[0].n ? 1 : 0;
    /* representation 1: the full name as written, when it says more */
    if (id->full_name && id->full_name[0]) {
        result = avrr_match_name_tokens(id->full_name, toks, sizeof toks, &tl);
        if (result != AVRR_OK)
            goto out;
        avrr__mname fn;
        build_name(toks, tl, has_abjad(id->full_name), s, &fn);
        name_sig(&fn);
        if (fn.n > 0) {
            if (proto.n_names == 0)
                proto.name[proto.n_names++] = fn;
            else if (!same_tokens(&fn, &proto.name[0]))
                proto.name[proto.n_names++] = fn;
        }
    }

    proto.year = id->birth_date.year;
    proto.month = id->birth_date.month;
    proto.day = id->birth_date.day;
    proto.precision = id->birth_date.precision;
    proto.placeholder = id->birth_date.placeholder;
    if (proto.precision == AVRR_DATE_UNKNOWN || proto.year == 0)
        proto.precision = AVRR_DATE_UNKNOWN;
    proto.sex = (uint8_t)id->sex;
    memcpy(proto.nat, id->nationality, 4);
    proto.nat[3] = '\0';
    proto.region = (int8_t)(proto.nat[0] ? avrr__match_region(proto.nat) : -1);

    if (id->birth_place && id->birth_place[0]) {
        result = avrr_match_normalize(id->birth_place, tmp, sizeof tmp, &tl);
        if (result != AVRR_OK)
            goto out;
        if (tl > 0)
            proto.place_off = sbuf_put(s, tmp, tl, &proto.place_len);
    }
    for (size_t d = 0; d < id->n_documents && d < 2; d++) {
        size_t dl = 0;
        doc_clean(id->documents[d].number, tmp, AVRR_CODE_MAX + 1, &dl);
        if (dl == 0)
            continue;
        if (proto.doc_len == 0)
            proto.doc_off = sbuf_put(s, tmp, dl, &proto.doc_len);
        else
            proto.doc2_off = sbuf_put(s, tmp, dl, &proto.doc2_len);
    }
    build_addr(id->address, &proto);

    r = avrr_malloc(sizeof *r + s->n + 1);
    if (!r) {
        result = AVRR_ENOMEM;
        goto out;
    }
    *r = proto;
    r->magic = AVRR__MREC_MAGIC;
    r->buf = (char *)(r + 1);
    memcpy(r->buf, s->b, s->n);
    r->buf[s->n] = '\0';
    r->buf_len = (uint32_t)s->n;
    *out = r;
out:
    avrr_free(s);
    return result;
}

void avrr_match_rec_free(avrr_match_rec *r)
{
    if (!r)
        return;
    r->magic = 0;
    avrr_free(r);
}
