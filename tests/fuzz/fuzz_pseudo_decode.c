/* fuzz_pseudo_decode.c: avrr_pseudo_decode on what a national node sends
 * as "encoded_identity" (POST /v1/checks), and what the server then does
 * with an accepted record: compare it and query the pseudonymised index.
 *
 * The input is the binary layout (include/avrr/pseudo.h, pseudo.c), which
 * the target base64-encodes as a client would, so that the fuzzer explores
 * the layout rather than base64; the input is also decoded as text once, to
 * reach the base64 and length checks. Invariants: an accepted layout comes
 * back from avrr_pseudo_to_wire byte for byte (the decoder checks every
 * count and uses the whole input, so nothing is lost or invented); a
 * refusal names encoded_identity and returns no record; with the index's
 * key id written in, a layout is accepted under that key exactly when it
 * was accepted without a key; comparisons give probabilities in [0, 1]. */
#include <math.h>
#include <sodium.h>

#include "avrr/pseudo.h"
#include "fuzz.h"

static avrr_pseudo_key *key;
static avrr_match_index *idx;
static avrr_match_rec *known; /* a well-formed record of the key */

static void add(int64_t n, const char *given, const char *sur, const char *dob,
                const char *nat, const char *doc)
{
    avrr_identity id;
    avrr_document d;
    memset(&id, 0, sizeof id);
    memset(&d, 0, sizeof d);
    id.given_names = (char *)given;
    id.surname = (char *)sur;
    id.sex = AVRR_SEX_MALE;
    memcpy(id.nationality, nat, 4);
    FUZZ_ASSERT(avrr_date_parse(dob, &id.birth_date, "birth_date", NULL) == AVRR_OK);
    if (doc) {
        d.number = (char *)doc;
        id.documents = &d;
        id.n_documents = 1;
    }
    FUZZ_ASSERT(avrr_match_index_add(idx, n, n, "NL", &id) == AVRR_OK);
    if (!known)
        FUZZ_ASSERT(avrr_pseudo_encode(key, &id, &known) == AVRR_OK);
}

static void setup(void)
{
    uint8_t b[32];
    for (unsigned i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)(7 * i + 3);
    FUZZ_ASSERT(sodium_init() >= 0);
    FUZZ_ASSERT(avrr_pseudo_key_from_bytes(b, sizeof b, &key) == AVRR_OK);
    FUZZ_ASSERT(avrr_match_index_new(NULL, &idx) == AVRR_OK);
    FUZZ_ASSERT(avrr_match_index_set_pseudonym_key(idx, key) == AVRR_OK);
    add(1, "Youssef", "El Amrani", "1990-03-14", "MAR", "UZ4411720");
    add(2, "Tesfamariam", "Ghebremedhin", "1988", "ERI", NULL);
    add(3, "Mohammed", "Al Hassan", "1979-00-00", "SYR", "N0012345");
}

static void check_explanation(const avrr_match_explanation *x)
{
    FUZZ_ASSERT(!isnan(x->probability));
    FUZZ_ASSERT(x->probability >= 0.0 && x->probability <= 1.0);
}

/* Decodes wire (n characters) and checks the refusal's promises. */
static avrr_match_rec *decode(const avrr_pseudo_key *k, const char *wire, size_t n)
{
    avrr_match_rec *r = (avrr_match_rec *)1;
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err rc = avrr_pseudo_decode(k, wire, n, &r, &e);
    if (rc != AVRR_OK) {
        FUZZ_ASSERT(rc == AVRR_EINVALID);
        FUZZ_ASSERT(r == NULL);
        FUZZ_ASSERT(strcmp(e.field, "encoded_identity") == 0 && e.message[0]);
        return NULL;
    }
    FUZZ_ASSERT(r && avrr_match_rec_is_pseudo(r));
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!key)
        setup();
    if (size > AVRR_PSEUDO_WIRE_MAX)
        return 0;

    /* the input as text */
    char *text = fuzz_cstr(data, size);
    avrr_match_rec *t = decode(NULL, text, size);
    if (t) {
        char *w = NULL;
        FUZZ_ASSERT(avrr_pseudo_to_wire(t, &w) == AVRR_OK);
        avrr_match_rec *again = decode(NULL, w, strlen(w));
        FUZZ_ASSERT(again);
        avrr_match_rec_free(again);
        avrr_free(w);
        avrr_match_rec_free(t);
    }
    free(text);

    /* the input as the binary layout, base64 as a client sends it */
    size_t cap = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    uint8_t *patched = malloc(size ? size : 1);
    FUZZ_ASSERT(b64 && patched);
    sodium_bin2base64(b64, cap, data, size, sodium_base64_VARIANT_ORIGINAL);
    size_t n = strlen(b64);
    avrr_match_rec *r = n <= AVRR_PSEUDO_WIRE_MAX ? decode(NULL, b64, n) : NULL;
    if (r) {
        char *w = NULL;
        FUZZ_ASSERT(avrr_pseudo_to_wire(r, &w) == AVRR_OK);
        FUZZ_ASSERT(strcmp(w, b64) == 0);
        avrr_free(w);
    }

    /* the same layout carrying the index's key id: what the server compares */
    if (size >= 12 && n <= AVRR_PSEUDO_WIRE_MAX) {
        uint64_t id = avrr_pseudo_key_id(key);
        memcpy(patched, data, size);
        for (int i = 0; i < 8; i++)
            patched[4 + i] = (uint8_t)(id >> (8 * i));
        sodium_bin2base64(b64, cap, patched, size, sodium_base64_VARIANT_ORIGINAL);
        avrr_match_rec *p = decode(key, b64, strlen(b64));
        FUZZ_ASSERT((p != NULL) == (r != NULL));
        if (p) {
            avrr_match_explanation x;
            avrr_match_compare(NULL, NULL, p, p, &x);
            check_explanation(&x);
            avrr_match_compare(NULL, NULL, p, known, &x);
            check_explanation(&x);
            avrr_match_compare(NULL, NULL, known, p, &x);
            check_explanation(&x);
            avrr_match_hit *hits = NULL;
            size_t nh = 0;
            FUZZ_ASSERT(avrr_match_index_query_encoded(idx, p, 0.0, 10, &hits, &nh) ==
                        AVRR_OK);
            FUZZ_ASSERT(nh <= 10);
            for (size_t i = 0; i < nh; i++) {
                check_explanation(&hits[i].explanation);
                FUZZ_ASSERT(hits[i].identity_id >= 1 && hits[i].identity_id <= 3);
            }
            avrr_free(hits);
            avrr_match_rec_free(p);
        }
    }
    avrr_match_rec_free(r);
    free(patched);
    free(b64);
    return 0;
}
