/* clk.c: keyed Bloom-filter encodings (cryptographic long-term keys) of
 * identities, their blocking HMACs, and the Dice kernels that compare them.
 *
 * Encoding. Every feature (a padded character bigram of a name token, a
 * bigram of a token's transliteration key, a birth-date part, the sex, a
 * bigram of a document number) is hashed with keyed BLAKE2b under a sub-key
 * of its field, derived from the master key with the field's name. The
 * 512-bit output gives k independent bit positions ("random hashing"), not
 * the h1 + i*h2 of double hashing, whose few possible patterns Kroll and
 * Steinmetzer (2015) exploited. All fields go into one record-level filter
 * (clkhash's CLK, Schnell 2011), each with its own k as its weight. The
 * filter is built at 2048 bits and XOR-folded to 1024 (Schnell, Borgs,
 * Encarnacao 2016): every stored bit is the parity of two positions, so a
 * frequent bigram no longer owns a fixed set of always-set bits, which is
 * what the pattern-mining attack (Christen et al. 2017, 2018) mines. See
 * docs/PRIVACY.md for the attacks, the reasons and what remains a risk.
 *
 * Comparison. Dice = 2|a AND b| / (|a| + |b|). The kernels precompute, for
 * the probe and each possible popcount of the other side, the smallest
 * intersection that reaches the threshold (with the popcount bound folded
 * in), so that a scan costs one table look-up per rejected encoding and
 * 16 words of AND + popcount per compared one.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avrr/clk.h"
#include "avrr/match.h"
#include "match/clk_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CLK_X86 1
#endif

/* k per field. Chosen on FEBRL4 and the returnee generator (bench/clk,
 * docs/BENCHMARKS.md): names carry most of the identity, so their bigrams
 * get the most bits; the transliteration key makes Mohammed / Muhammad /
 * محمد agree; the birth-date parts together weigh about one name token. */
#define CLK_PARAMS_DEFAULT                                                     \
    {                                                                          \
        .k = {                                                                 \
            [AVRR__CLK_F_NAME] = 20,                                           \
            [AVRR__CLK_F_NAMEKEY] = 12,                                        \
            [AVRR__CLK_F_YEAR] = 20,                                           \
            [AVRR__CLK_F_YEAR2] = 10,                                          \
            [AVRR__CLK_F_MONTH] = 15,                                          \
            [AVRR__CLK_F_DAY] = 15,                                            \
            [AVRR__CLK_F_YM] = 10,                                             \
            [AVRR__CLK_F_MD] = 10,                                             \
            [AVRR__CLK_F_SEX] = 6,                                             \
            [AVRR__CLK_F_DOC] = 10,                                            \
            [AVRR__CLK_F_ADDR] = 8,                                            \
            [AVRR__CLK_F_NAT] = 10,                                            \
            [AVRR__CLK_F_PLACE] = 6,                                           \
        },                                                                     \
        .fold = true, .blip = 0.0, .full_name_always = false,                  \
    }
const avrr__clk_params avrr__clk_params_default = CLK_PARAMS_DEFAULT;
avrr__clk_params avrr__clk_params_now = CLK_PARAMS_DEFAULT;

static const char *const field_names[AVRR__CLK_F__COUNT] = {
    "name", "name_key", "year", "year2", "month", "day",
    "year_month", "month_day", "sex", "document", "address",
    "nationality", "birth_place",
};

#define KEY_MAGIC 0x434c4b4bu /* "CLKK" */
#define SUBKEY_BYTES 32

struct avrr_clk_key {
    uint32_t magic;
    uint8_t field[AVRR__CLK_F__COUNT][SUBKEY_BYTES];
    uint8_t noise[SUBKEY_BYTES];
    uint8_t block[SUBKEY_BYTES];
    uint8_t pseudo[SUBKEY_BYTES]; /* root of the per-field encodings (pseudo.c) */
};

/* ---- keys --------------------------------------------------------------------- */

/* Sub-key = BLAKE2b-256 keyed with the master key over a label, so that one
 * field's positions say nothing about another's. */
static void derive(const uint8_t master[AVRR_CLK_KEY_BYTES], const char *label,
                   uint8_t out[SUBKEY_BYTES])
{
    char msg[64];
    int n = snprintf(msg, sizeof msg, "avrr-clk-v%d/%s", AVRR_CLK_VERSION, label);
    crypto_generichash(out, SUBKEY_BYTES, (const unsigned char *)msg, (size_t)n, master,
                       AVRR_CLK_KEY_BYTES);
}

static avrr_err key_make(const uint8_t master[AVRR_CLK_KEY_BYTES], avrr_clk_key **out)
{
    if (sodium_init() < 0)
        return AVRR_ECRYPTO;
    avrr_clk_key *k = avrr_malloc(sizeof *k);
    if (!k)
        return AVRR_ENOMEM;
    k->magic = KEY_MAGIC;
    for (int f = 0; f < AVRR__CLK_F__COUNT; f++)
        derive(master, field_names[f], k->field[f]);
    derive(master, "noise", k->noise);
    derive(master, "block", k->block);
    derive(master, "pseudo", k->pseudo);
    *out = k;
    return AVRR_OK;
}

void avrr_clk_key_free(avrr_clk_key *key)
{
    if (!key)
        return;
    sodium_memzero(key, sizeof *key);
    avrr_free(key);
}

avrr_err avrr_clk_key_from_bytes(const uint8_t *bytes, size_t n, avrr_clk_key **out)
{
    uint8_t master[AVRR_CLK_KEY_BYTES];
    *out = NULL;
    if (!bytes || n < AVRR_CLK_KEY_BYTES)
        return AVRR_EINVALID;
    if (sodium_init() < 0)
        return AVRR_ECRYPTO;
    if (n == AVRR_CLK_KEY_BYTES)
        memcpy(master, bytes, n);
    else
        crypto_generichash(master, sizeof master, bytes, n, NULL, 0);
    avrr_err result = key_make(master, out);
    sodium_memzero(master, sizeof master);
    return result;
}

/* Key files: 64 hex digits and a newline, mode 0600, never a symbolic
 * link. The CLK key and the pseudonym key (pseudo.c) share the format; the
 * field and the name say which one an error is about. */
avrr_err avrr__key_file_create(const char *path, const char *field, const char *what,
                               uint8_t master[AVRR_CLK_KEY_BYTES], avrr_error *e)
{
    char hex[2 * AVRR_CLK_KEY_BYTES + 2];
    avrr_err result = AVRR_OK;
    if (sodium_init() < 0)
        return avrr_error_set(e, AVRR_ECRYPTO, field, "libsodium cannot start");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return avrr_error_set(e, errno == EEXIST ? AVRR_EEXISTS : AVRR_EIO, field,
                              "cannot create %s %s: %s", what, path, strerror(errno));
    randombytes_buf(master, AVRR_CLK_KEY_BYTES);
    sodium_bin2hex(hex, sizeof hex, master, AVRR_CLK_KEY_BYTES);
    hex[2 * AVRR_CLK_KEY_BYTES] = '\n';
    ssize_t w = write(fd, hex, 2 * AVRR_CLK_KEY_BYTES + 1);
    if (w != 2 * AVRR_CLK_KEY_BYTES + 1 || fsync(fd) != 0) {
        close(fd);
        unlink(path);
        sodium_memzero(master, AVRR_CLK_KEY_BYTES);
        result = avrr_error_set(e, AVRR_EIO, field, "cannot write %s %s", what, path);
        goto out;
    }
    close(fd);
out:
    sodium_memzero(hex, sizeof hex);
    return result;
}

avrr_err avrr__key_file_read(const char *path, const char *field, const char *what,
                             uint8_t master[AVRR_CLK_KEY_BYTES], avrr_error *e)
{
    char hex[2 * AVRR_CLK_KEY_BYTES + 8];
    struct stat st;
    size_t bin = 0;
    avrr_err result = AVRR_OK;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return avrr_error_set(e, errno == ELOOP ? AVRR_EINVALID : AVRR_EIO, field,
                              "cannot open %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return avrr_error_set(e, AVRR_EINVALID, field, "%s is not a regular file", path);
    }
    if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
        close(fd);
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "%s must be owned by this user and not readable by others: "
                              "chmod 600 it", path);
    }
    ssize_t n = read(fd, hex, sizeof hex - 1);
    close(fd);
    if (n < 0)
        return avrr_error_set(e, AVRR_EIO, field, "cannot read %s", path);
    if (n == 2 * AVRR_CLK_KEY_BYTES + 1 && hex[n - 1] == '\n')
        n--;
    if (n != 2 * AVRR_CLK_KEY_BYTES ||
        sodium_hex2bin(master, AVRR_CLK_KEY_BYTES, hex, (size_t)n, NULL, &bin, NULL) != 0 ||
        bin != AVRR_CLK_KEY_BYTES) {
        sodium_memzero(master, AVRR_CLK_KEY_BYTES);
        result = avrr_error_set(e, AVRR_EINVALID, field,
                                "%s is not %s (64 hex digits)", path, what);
    }
    sodium_memzero(hex, sizeof hex);
    return result;
}

avrr_err avrr_clk_key_create(const char *path, avrr_clk_key **out, avrr_error *e)
{
    uint8_t master[AVRR_CLK_KEY_BYTES];
    if (out)
        *out = NULL;
    avrr_err result = avrr__key_file_create(path, "clk_key", "the CLK key", master, e);
    if (result == AVRR_OK && out && (result = key_make(master, out)) != AVRR_OK)
        avrr_error_set(e, result, "clk_key", "%s", avrr_strerror(result));
    sodium_memzero(master, sizeof master);
    return result;
}

avrr_err avrr_clk_key_load(const char *path, avrr_clk_key **out, avrr_error *e)
{
    uint8_t master[AVRR_CLK_KEY_BYTES];
    *out = NULL;
    avrr_err result = avrr__key_file_read(path, "clk_key", "an avrr CLK key", master, e);
    if (result == AVRR_OK && (result = key_make(master, out)) != AVRR_OK)
        avrr_error_set(e, result, "clk_key", "%s", avrr_strerror(result));
    sodium_memzero(master, sizeof master);
    return result;
}

/* ---- encoding ----------------------------------------------------------------- */

/* The filter is built at BUILD_BITS (2048 when folding) and folded. */
#define BUILD_WORDS_MAX (2 * AVRR_CLK_WORDS)

typedef struct builder {
    const avrr_clk_key *key;
    const avrr__clk_params *p;
    uint64_t w[BUILD_WORDS_MAX];
    unsigned log2_bits; /* 10 or 11 */
} builder;

/* Sets k positions taken as independent log2_bits-bit chunks of keyed
 * BLAKE2b-512 outputs of the feature (more blocks when k needs them). */
static void add_feature(builder *b, int field, const char *s, size_t n)
{
    int k = b->p->k[field];
    unsigned lb = b->log2_bits;
    uint8_t h[64];
    uint8_t ctr = 0;
    while (k > 0) {
        crypto_generichash_state st;
        crypto_generichash_init(&st, b->key->field[field], SUBKEY_BYTES, sizeof h);
        crypto_generichash_update(&st, &ctr, 1);
        crypto_generichash_update(&st, (const unsigned char *)s, n);
        crypto_generichash_final(&st, h, sizeof h);
        unsigned per = 512 / lb;
        for (unsigned j = 0; j < per && k > 0; j++, k--) {
            unsigned bit = j * lb, pos = 0;
            for (unsigned t = 0; t < lb; t++, bit++)
                pos |= (unsigned)((h[bit >> 3] >> (bit & 7)) & 1u) << t;
            b->w[pos >> 6] |= 1ull << (pos & 63);
        }
        ctr++;
    }
    sodium_memzero(h, sizeof h);
}

/* Padded bigrams of s[0..n): "_m", "mo", ..., "d_". */
static void add_bigrams(builder *b, int field, const char *s, size_t n)
{
    char g[2];
    for (size_t i = 0; i <= n; i++) {
        g[0] = i == 0 ? '_' : s[i - 1];
        g[1] = i == n ? '_' : s[i];
        add_feature(b, field, g, 2);
    }
}

static void add_name_tokens(builder *b, const char *toks, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && toks[i] == ' ')
            i++;
        size_t j = i;
        while (j < len && toks[j] != ' ')
            j++;
        if (j > i) {
            char key[64];
            add_bigrams(b, AVRR__CLK_F_NAME, toks + i, j - i);
            size_t kn = avrr_match_name_key(toks + i, j - i, key, sizeof key);
            if (kn > 0)
                add_bigrams(b, AVRR__CLK_F_NAMEKEY, key, kn);
        }
        i = j;
    }
}

/* Upper-case letters and digits with the OCR confusions folded (O->0,
 * I/L->1, S->5, B->8, Z->2), as the plaintext comparator does. */
static size_t doc_canon(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s && *s && n + 1 < cap; s++) {
        char c = *s;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            continue;
        switch (c) {
        case 'O': c = '0'; break;
        case 'I': case 'L': c = '1'; break;
        case 'S': c = '5'; break;
        case 'B': c = '8'; break;
        case 'Z': c = '2'; break;
        default: break;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return n;
}

/* Normalised name tokens of id into out (cap bytes). */
static avrr_err name_tokens(const avrr_identity *id, bool full_too, char *out, size_t cap,
                            size_t *len)
{
    char joined[2 * AVRR_NAME_MAX + 2];
    size_t n = 0, used = 0;
    avrr_err r;
    *len = 0;
    out[0] = '\0';
    snprintf(joined, sizeof joined, "%s %s", id->given_names ? id->given_names : "",
             id->surname ? id->surname : "");
    if ((r = avrr_match_name_tokens(joined, out, cap, &n)) != AVRR_OK)
        return r;
    used = n;
    if (id->full_name && id->full_name[0] && (used == 0 || full_too) && used + 2 < cap) {
        if (used > 0)
            out[used++] = ' ';
        if ((r = avrr_match_name_tokens(id->full_name, out + used, cap - used, &n)) != AVRR_OK)
            return r;
        used += n;
        while (used > 0 && out[used - 1] == ' ')
            used--;
        out[used] = '\0';
    }
    *len = used;
    return AVRR_OK;
}

/* Bigrams of the normalised tokens of a free-text field. */
static avrr_err add_text(builder *b, int field, const char *text)
{
    char a[2 * AVRR_TEXT_MAX + 8];
    size_t an = 0;
    avrr_err r;
    if (b->p->k[field] <= 0 || !text || !text[0])
        return AVRR_OK;
    if ((r = avrr_match_normalize(text, a, sizeof a, &an)) != AVRR_OK)
        return r;
    for (size_t i = 0; i < an;) {
        size_t j = i;
        while (j < an && a[j] != ' ')
            j++;
        if (j > i)
            add_bigrams(b, field, a + i, j - i);
        i = j + 1;
    }
    sodium_memzero(a, sizeof a);
    return AVRR_OK;
}

static void add_date(builder *b, const avrr_date *d)
{
    char s[16];
    if (d->precision < AVRR_DATE_YEAR || d->year <= 0)
        return;
    int n = snprintf(s, sizeof s, "%04d", d->year);
    add_feature(b, AVRR__CLK_F_YEAR, s, (size_t)n);
    /* two buckets, (y >> 1) and ((y + 1) >> 1): years one apart share one */
    n = snprintf(s, sizeof s, "a%d", d->year >> 1);
    add_feature(b, AVRR__CLK_F_YEAR2, s, (size_t)n);
    n = snprintf(s, sizeof s, "b%d", (d->year + 1) >> 1);
    add_feature(b, AVRR__CLK_F_YEAR2, s, (size_t)n);
    if (d->placeholder || d->precision < AVRR_DATE_MONTH)
        return; /* 01-01 and 00-00 say nothing about month and day */
    n = snprintf(s, sizeof s, "%02d", d->month);
    add_feature(b, AVRR__CLK_F_MONTH, s, (size_t)n);
    n = snprintf(s, sizeof s, "%04d-%02d", d->year, d->month);
    add_feature(b, AVRR__CLK_F_YM, s, (size_t)n);
    if (d->precision < AVRR_DATE_DAY)
        return;
    n = snprintf(s, sizeof s, "%02d", d->day);
    add_feature(b, AVRR__CLK_F_DAY, s, (size_t)n);
    int lo = d->day < d->month ? d->day : d->month, hi = d->day < d->month ? d->month : d->day;
    n = snprintf(s, sizeof s, "%02d%02d", lo, hi);
    add_feature(b, AVRR__CLK_F_MD, s, (size_t)n);
}

/* Keyed randomised response: each bit flips with probability p, from a
 * ChaCha20 stream keyed by the noise sub-key and the filter itself, so that
 * an identity always gets the same noise (the index needs determinism) and
 * the noise is unpredictable without the key. */
static void add_noise(builder *b, double p)
{
    uint8_t seed[crypto_stream_chacha20_KEYBYTES];
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
    uint16_t rnd[AVRR_CLK_BITS];
    crypto_generichash(seed, sizeof seed, (const unsigned char *)b->w, sizeof b->w, b->key->noise,
                       SUBKEY_BYTES);
    crypto_stream_chacha20((unsigned char *)rnd, sizeof rnd, nonce, seed);
    unsigned lim = (unsigned)(p * 65536.0);
    for (unsigned i = 0; i < AVRR_CLK_BITS; i++)
        if (rnd[i] < lim)
            b->w[i >> 6] ^= 1ull << (i & 63);
    sodium_memzero(seed, sizeof seed);
}

static void block_add(avrr_clk *out, const avrr_clk_key *key, const char *msg, size_t n)
{
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    uint64_t v;
    if (out->n_blocks >= AVRR_CLK_BLOCKS)
        return;
    crypto_auth_hmacsha256(mac, (const unsigned char *)msg, n, key->block);
    memcpy(&v, mac, sizeof v);
    for (unsigned i = 0; i < out->n_blocks; i++)
        if (out->block[i] == v)
            return;
    out->block[out->n_blocks++] = v;
}

/* Blocking keys, as the plaintext index has them (DESIGN.md 5.3): each name
 * key with the birth year (alone when the year is unknown), the first two
 * name keys together, the full birth date, document numbers. */
static void add_blocks(avrr_clk *out, const avrr_clk_key *key, const avrr_identity *id,
                       const char *toks, size_t len)
{
    char msg[160], keys[2][40];
    int n, nk = 0;
    bool year = id->birth_date.precision >= AVRR_DATE_YEAR && id->birth_date.year > 0;
    for (size_t i = 0; i < len && nk < 4;) {
        while (i < len && toks[i] == ' ')
            i++;
        size_t j = i;
        while (j < len && toks[j] != ' ')
            j++;
        char k[40];
        if (j > i && avrr_match_name_key(toks + i, j - i, k, sizeof k) > 0) {
            if (year)
                n = snprintf(msg, sizeof msg, "nk\x1f%s\x1f%04d", k, id->birth_date.year);
            else
                n = snprintf(msg, sizeof msg, "nk\x1f%s", k);
            block_add(out, key, msg, (size_t)n);
            if (nk < 2)
                memcpy(keys[nk], k, sizeof k);
            nk++;
        }
        i = j;
    }
    if (nk >= 2) {
        int c = strcmp(keys[0], keys[1]);
        n = snprintf(msg, sizeof msg, "nk2\x1f%s\x1f%s", c < 0 ? keys[0] : keys[1],
                     c < 0 ? keys[1] : keys[0]);
        block_add(out, key, msg, (size_t)n);
    }
    const avrr_date *d = &id->birth_date;
    if (d->precision == AVRR_DATE_DAY && !d->placeholder) {
        n = snprintf(msg, sizeof msg, "dob\x1f%04d-%02d-%02d", d->year, d->month, d->day);
        block_add(out, key, msg, (size_t)n);
    }
    for (size_t i = 0; i < id->n_documents && i < 2; i++) {
        char c[AVRR_CODE_MAX + 1];
        if (doc_canon(id->documents[i].number, c, sizeof c) >= 4) {
            n = snprintf(msg, sizeof msg, "doc\x1f%s", c);
            block_add(out, key, msg, (size_t)n);
        }
    }
    sodium_memzero(msg, sizeof msg);
}

static unsigned popcount_words(const uint64_t *w, size_t n)
{
    unsigned c = 0;
    for (size_t i = 0; i < n; i++)
        c += (unsigned)__builtin_popcountll(w[i]);
    return c;
}

avrr_err avrr_clk_encode(const avrr_clk_key *key, const avrr_identity *id, avrr_clk *out)
{
    char toks[4 * AVRR_NAME_MAX + 8];
    size_t len = 0;
    builder b;
    avrr_err result;
    memset(out, 0, sizeof *out);
    if (!key || key->magic != KEY_MAGIC || !id)
        return AVRR_EINVALID;
    b.key = key;
    b.p = &avrr__clk_params_now;
    b.log2_bits = b.p->fold ? 11 : 10;
    memset(b.w, 0, sizeof b.w);
    if ((result = name_tokens(id, b.p->full_name_always, toks, sizeof toks, &len)) != AVRR_OK)
        goto out;
    add_name_tokens(&b, toks, len);
    add_date(&b, &id->birth_date);
    if (id->sex == AVRR_SEX_FEMALE || id->sex == AVRR_SEX_MALE || id->sex == AVRR_SEX_OTHER)
        add_feature(&b, AVRR__CLK_F_SEX, avrr_sex_name(id->sex), strlen(avrr_sex_name(id->sex)));
    if (b.p->k[AVRR__CLK_F_DOC] > 0)
        for (size_t i = 0; i < id->n_documents; i++) {
            char c[AVRR_CODE_MAX + 1];
            size_t n = doc_canon(id->documents[i].number, c, sizeof c);
            if (n > 0)
                add_bigrams(&b, AVRR__CLK_F_DOC, c, n);
        }
    if (id->nationality[0] && b.p->k[AVRR__CLK_F_NAT] > 0)
        add_feature(&b, AVRR__CLK_F_NAT, id->nationality, strlen(id->nationality));
    if ((result = add_text(&b, AVRR__CLK_F_ADDR, id->address)) != AVRR_OK ||
        (result = add_text(&b, AVRR__CLK_F_PLACE, id->birth_place)) != AVRR_OK)
        goto out;
    if (b.p->fold)
        for (unsigned i = 0; i < AVRR_CLK_WORDS; i++)
            b.w[i] ^= b.w[i + AVRR_CLK_WORDS];
    if (b.p->blip > 0)
        add_noise(&b, b.p->blip);
    memcpy(out->bits, b.w, sizeof out->bits);
    out->popcount = (uint16_t)popcount_words(out->bits, AVRR_CLK_WORDS);
    out->version = AVRR_CLK_VERSION;
    add_blocks(out, key, id, toks, len);
out:
    sodium_memzero(toks, sizeof toks);
    sodium_memzero(b.w, sizeof b.w);
    return result;
}

/* ---- comparison ---------------------------------------------------------------- */

/* The one Dice formula: the kernels report exactly what this gives. */
static inline double dice_of(unsigned c, unsigned pa, unsigned pb)
{
    unsigned s = pa + pb;
    return s ? 2.0 * (double)c / (double)s : 0.0;
}

double avrr_clk_dice(const avrr_clk *a, const avrr_clk *b)
{
    unsigned c = 0;
    for (unsigned i = 0; i < AVRR_CLK_WORDS; i++)
        c += (unsigned)__builtin_popcountll(a->bits[i] & b->bits[i]);
    return dice_of(c, a->popcount, b->popcount);
}

int avrr_clk_blocks_shared(const avrr_clk *a, const avrr_clk *b)
{
    int n = 0;
    for (unsigned i = 0; i < a->n_blocks; i++)
        for (unsigned j = 0; j < b->n_blocks; j++)
            if (a->block[i] == b->block[j]) {
                n++;
                break;
            }
    return n;
}

#define NEED_REJECT 0xFFFFu
#define POP_MAX AVRR_CLK_BITS

/* need[pb] = the smallest intersection c for which a pair with popcounts
 * (pa, pb) reaches the threshold, or NEED_REJECT when even c = min(pa, pb)
 * (the popcount bound) does not. Exact: checked with dice_of itself. */
static void need_table(unsigned pa, double t, uint16_t need[POP_MAX + 1])
{
    for (unsigned pb = 0; pb <= POP_MAX; pb++) {
        unsigned mn = pa < pb ? pa : pb;
        double want = t * (double)(pa + pb) / 2.0;
        long c = want <= 0 ? 0 : (long)ceil(want);
        if (c > (long)mn + 1)
            c = (long)mn + 1;
        while (c > 0 && dice_of((unsigned)c - 1, pa, pb) >= t)
            c--;
        while (c <= (long)mn && dice_of((unsigned)c, pa, pb) < t)
            c++;
        need[pb] = c <= (long)mn ? (uint16_t)c : NEED_REJECT;
    }
}

/* Where hits go: one probe's callback or the batch's pair callback. */
typedef struct emit {
    avrr_clk_hit_fn hit;
    avrr_clk_pair_fn pair;
    void *ctx;
    size_t q;
    unsigned pa;
} emit;

static int emit_hit(const emit *em, size_t i, unsigned c, unsigned pb)
{
    double d = dice_of(c, em->pa, pb);
    return em->hit ? em->hit(em->ctx, i, d) : em->pair(em->ctx, em->q, i, d);
}

/* A kernel scans bits[0..n) (indexes reported from base) against probe p
 * with the probe's need table; returns non-zero when the callback stopped. */
typedef int (*kernel_fn)(const uint64_t *p, const uint16_t *need, const uint64_t *bits,
                         const uint16_t *pop, size_t n, size_t base, const emit *em);

static int kernel_portable(const uint64_t *p, const uint16_t *need, const uint64_t *bits,
                           const uint16_t *pop, size_t n, size_t base, const emit *em)
{
    for (size_t i = 0; i < n; i++) {
        unsigned nd = need[pop[i]];
        if (nd == NEED_REJECT)
            continue;
        const uint64_t *b = bits + i * AVRR_CLK_WORDS;
        unsigned c = 0;
        for (unsigned w = 0; w < AVRR_CLK_WORDS; w++) {
            /* SWAR popcount: no instruction assumed */
            uint64_t x = p[w] & b[w];
            x = x - ((x >> 1) & 0x5555555555555555ull);
            x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
            c += (unsigned)((x * 0x0101010101010101ull) >> 56);
        }
        if (c >= nd && emit_hit(em, base + i, c, pop[i]))
            return 1;
    }
    return 0;
}

#ifdef CLK_X86
__attribute__((target("popcnt"))) static int
kernel_popcnt(const uint64_t *p, const uint16_t *need, const uint64_t *bits,
              const uint16_t *pop, size_t n, size_t base, const emit *em)
{
    for (size_t i = 0; i < n; i++) {
        unsigned nd = need[pop[i]];
        if (nd == NEED_REJECT)
            continue;
        const uint64_t *b = bits + i * AVRR_CLK_WORDS;
        /* four chains so that popcnt's latency overlaps */
        uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        for (unsigned w = 0; w < AVRR_CLK_WORDS; w += 4) {
            c0 += (uint64_t)__builtin_popcountll(p[w] & b[w]);
            c1 += (uint64_t)__builtin_popcountll(p[w + 1] & b[w + 1]);
            c2 += (uint64_t)__builtin_popcountll(p[w + 2] & b[w + 2]);
            c3 += (uint64_t)__builtin_popcountll(p[w + 3] & b[w + 3]);
        }
        unsigned c = (unsigned)(c0 + c1 + c2 + c3);
        if (c >= nd && emit_hit(em, base + i, c, pop[i]))
            return 1;
    }
    return 0;
}

/* Two 512-bit loads, AND, VPOPCNTQ, one add and a horizontal sum per
 * encoding: the arithmetic is a few cycles, so a scan from memory runs at
 * the memory's pace. */
__attribute__((target("avx512f,avx512vpopcntdq"))) static int
kernel_avx512(const uint64_t *p, const uint16_t *need, const uint64_t *bits,
              const uint16_t *pop, size_t n, size_t base, const emit *em)
{
    const __m512i p0 = _mm512_loadu_si512((const void *)p);
    const __m512i p1 = _mm512_loadu_si512((const void *)(p + 8));
    for (size_t i = 0; i < n; i++) {
        unsigned nd = need[pop[i]];
        if (nd == NEED_REJECT)
            continue;
        const uint64_t *b = bits + i * AVRR_CLK_WORDS;
        __m512i x0 = _mm512_and_si512(p0, _mm512_loadu_si512((const void *)b));
        __m512i x1 = _mm512_and_si512(p1, _mm512_loadu_si512((const void *)(b + 8)));
        __m512i s = _mm512_add_epi64(_mm512_popcnt_epi64(x0), _mm512_popcnt_epi64(x1));
        unsigned c = (unsigned)_mm512_reduce_add_epi64(s);
        if (c >= nd && emit_hit(em, base + i, c, pop[i]))
            return 1;
    }
    return 0;
}
#endif

static kernel_fn kernel;
static const char *kernel_label = "portable";
static pthread_once_t kernel_once = PTHREAD_ONCE_INIT;

static void kernel_choose(void)
{
    kernel = kernel_portable;
#ifdef CLK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq")) {
        kernel = kernel_avx512;
        kernel_label = "avx512-vpopcntdq";
    } else if (__builtin_cpu_supports("popcnt")) {
        kernel = kernel_popcnt;
        kernel_label = "popcnt";
    }
#endif
    /* AVRR_CLK_KERNEL=portable|popcnt forces a slower kernel (tests, bench) */
    const char *force = getenv("AVRR_CLK_KERNEL");
    if (force && strcmp(force, "portable") == 0) {
        kernel = kernel_portable;
        kernel_label = "portable";
    }
#ifdef CLK_X86
    if (force && strcmp(force, "popcnt") == 0 && __builtin_cpu_supports("popcnt")) {
        kernel = kernel_popcnt;
        kernel_label = "popcnt";
    }
#endif
}

const char *avrr_clk_kernel_name(void)
{
    pthread_once(&kernel_once, kernel_choose);
    return kernel_label;
}

avrr_err avrr_clk_dice_many(const avrr_clk *probe, const uint64_t *bits, const uint16_t *pop,
                            size_t n, double threshold, avrr_clk_hit_fn fn, void *ctx)
{
    uint16_t need[POP_MAX + 1];
    pthread_once(&kernel_once, kernel_choose);
    if (n == 0)
        return AVRR_OK;
    need_table(probe->popcount, threshold, need);
    emit em = {.hit = fn, .ctx = ctx, .pa = probe->popcount};
    return kernel(probe->bits, need, bits, pop, n, 0, &em) ? AVRR_ELIMIT : AVRR_OK;
}

/* Batch tiling: TILE encodings (32 KiB) stay in L1 while every probe of a
 * group of GROUP scans them, so memory is read once per group; GROUP need
 * tables (2 KiB each) stay in L1/L2 beside them. */
#define TILE 256
#define GROUP 16

avrr_err avrr_clk_dice_batch(const avrr_clk *probes, size_t n_probes, const uint64_t *bits,
                             const uint16_t *pop, size_t n, double threshold,
                             avrr_clk_pair_fn fn, void *ctx)
{
    uint16_t need[GROUP][POP_MAX + 1];
    pthread_once(&kernel_once, kernel_choose);
    for (size_t q0 = 0; q0 < n_probes; q0 += GROUP) {
        size_t g = n_probes - q0 < GROUP ? n_probes - q0 : GROUP;
        for (size_t q = 0; q < g; q++)
            need_table(probes[q0 + q].popcount, threshold, need[q]);
        for (size_t t0 = 0; t0 < n; t0 += TILE) {
            size_t tn = n - t0 < TILE ? n - t0 : TILE;
            for (size_t q = 0; q < g; q++) {
                emit em = {.pair = fn, .ctx = ctx, .q = q0 + q, .pa = probes[q0 + q].popcount};
                if (kernel(probes[q0 + q].bits, need[q], bits + t0 * AVRR_CLK_WORDS, pop + t0,
                           tn, t0, &em))
                    return AVRR_ELIMIT;
            }
        }
    }
    return AVRR_OK;
}

/* ---- arrays ---------------------------------------------------------------------- */

/* Room for cap filters, aligned to 64 bytes, or to 2 MiB (and advised into
 * transparent huge pages) when large: a scan then walks few TLB entries. */
static avrr_err array_alloc(size_t cap, void **raw, uint64_t **bits)
{
    if (cap > SIZE_MAX / (AVRR_CLK_WORDS * sizeof(uint64_t)))
        return AVRR_ENOMEM;
    size_t bytes = cap * AVRR_CLK_WORDS * sizeof(uint64_t);
    *bits = avrr_malloc_huge(bytes, (size_t)32 << 20, raw);
    return *bits ? AVRR_OK : AVRR_ENOMEM;
}

avrr_err avrr_clk_array_init(avrr_clk_array *a, size_t cap)
{
    memset(a, 0, sizeof *a);
    if (cap < 16)
        cap = 16;
    a->pop = avrr_malloc(cap * sizeof *a->pop);
    if (!a->pop)
        return AVRR_ENOMEM;
    if (array_alloc(cap, &a->raw_, &a->bits) != AVRR_OK) {
        avrr_free(a->pop);
        a->pop = NULL;
        return AVRR_ENOMEM;
    }
    a->cap = cap;
    return AVRR_OK;
}

avrr_err avrr_clk_array_push(avrr_clk_array *a, const avrr_clk *c)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        void *raw;
        uint64_t *bits;
        uint16_t *pop = avrr_realloc(a->pop, cap * sizeof *pop);
        if (!pop)
            return AVRR_ENOMEM;
        a->pop = pop;
        if (array_alloc(cap, &raw, &bits) != AVRR_OK)
            return AVRR_ENOMEM;
        if (a->n)
            memcpy(bits, a->bits, a->n * AVRR_CLK_WORDS * sizeof *bits);
        avrr_free(a->raw_);
        a->raw_ = raw;
        a->bits = bits;
        a->cap = cap;
    }
    memcpy(a->bits + a->n * AVRR_CLK_WORDS, c->bits, sizeof c->bits);
    a->pop[a->n++] = c->popcount;
    return AVRR_OK;
}

void avrr_clk_array_free(avrr_clk_array *a)
{
    avrr_free(a->raw_);
    avrr_free(a->pop);
    memset(a, 0, sizeof *a);
}

const uint8_t *avrr__clk_key_pseudo(const avrr_clk_key *key)
{
    return key->pseudo;
}
