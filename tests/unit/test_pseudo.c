/* test_pseudo.c: per-field keyed encodings (avrr/pseudo.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "avrr/pseudo.h"

static avrr_pseudo_key *key_n(uint8_t seed)
{
    uint8_t b[32];
    for (unsigned i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)(seed * 31 + i);
    avrr_pseudo_key *k = NULL;
    assert_int_equal(avrr_pseudo_key_from_bytes(b, sizeof b, &k), AVRR_OK);
    return k;
}

typedef struct idv {
    const char *given, *sur, *full, *dob, *nat, *place, *doc, *addr;
    avrr_sex sex;
} idv;

static void ident(avrr_identity *id, avrr_document *doc, const idv *v)
{
    memset(id, 0, sizeof *id);
    id->given_names = (char *)v->given;
    id->surname = (char *)v->sur;
    id->full_name = (char *)v->full;
    id->sex = v->sex;
    id->birth_place = (char *)v->place;
    id->address = (char *)v->addr;
    if (v->nat)
        memcpy(id->nationality, v->nat, 4);
    if (v->dob)
        assert_int_equal(avrr_date_parse(v->dob, &id->birth_date, "birth_date", NULL),
                         AVRR_OK);
    if (v->doc) {
        memset(doc, 0, sizeof *doc);
        doc->number = (char *)v->doc;
        id->documents = doc;
        id->n_documents = 1;
    }
}

static char *wire_of(const avrr_pseudo_key *k, const idv *v)
{
    avrr_identity id;
    avrr_document d;
    avrr_match_rec *r = NULL;
    char *w = NULL;
    ident(&id, &d, v);
    assert_int_equal(avrr_pseudo_encode(k, &id, &r), AVRR_OK);
    assert_true(avrr_match_rec_is_pseudo(r));
    assert_int_equal(avrr_pseudo_to_wire(r, &w), AVRR_OK);
    avrr_match_rec_free(r);
    return w;
}

static const idv youssef = {"Youssef", "El Amrani", NULL, "1990-03-14", "MAR",
                            "Casablanca", "AB1234567", "12 Rue de Fes Tanger",
                            AVRR_SEX_MALE};

static void test_deterministic_and_keyed(void **state)
{
    (void)state;
    avrr_pseudo_key *k1 = key_n(1), *k1b = key_n(1), *k2 = key_n(2);
    char *a = wire_of(k1, &youssef), *b = wire_of(k1b, &youssef);
    char *c = wire_of(k2, &youssef);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_true(avrr_pseudo_key_id(k1) == avrr_pseudo_key_id(k1b));
    assert_true(avrr_pseudo_key_id(k1) != avrr_pseudo_key_id(k2));
    avrr_free(a);
    avrr_free(b);
    avrr_free(c);
    avrr_pseudo_key_free(k1);
    avrr_pseudo_key_free(k1b);
    avrr_pseudo_key_free(k2);
}

/* No plaintext in the binary form: no three consecutive bytes of any name,
 * place, document or address (case-folded) appear in it. */
static void test_no_plaintext(void **state)
{
    (void)state;
    avrr_pseudo_key *k = key_n(3);
    char *w = wire_of(k, &youssef);
    size_t n = strlen(w), bl = 0;
    unsigned char *bin = malloc(n);
    assert_non_null(bin);
    /* decode base64 by hand through the API's own decoder round trip */
    avrr_match_rec *r = NULL;
    assert_int_equal(avrr_pseudo_decode(k, w, n, &r, NULL), AVRR_OK);
    avrr_match_rec_free(r);
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && w[i] != '='; i++) {
        const char *p = strchr(b64, w[i]);
        assert_non_null(p);
        acc = acc << 6 | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bin[bl++] = (unsigned char)(acc >> bits);
        }
    }
    const char *words[] = {"you", "uss", "sef", "ssef", "amr", "ani", "yusef",
                           "casa", "blan", "anca", "1234", "ab1", "rue", "fes",
                           "tan", "1990", "0314", "mar"};
    for (size_t wi = 0; wi < sizeof words / sizeof *words; wi++) {
        size_t wl = strlen(words[wi]);
        for (size_t i = 0; i + wl <= bl; i++) {
            bool same = true;
            for (size_t j = 0; j < wl && same; j++) {
                int c = bin[i + j];
                if (c >= 'A' && c <= 'Z')
                    c |= 0x20;
                same = c == words[wi][j];
            }
            if (same)
                fail_msg("plaintext \"%s\" found in the encoding", words[wi]);
        }
    }
    free(bin);
    avrr_free(w);
    avrr_pseudo_key_free(k);
}

/* Levels of the pseudonymised comparator equal the plaintext ones. */
static void same_levels(const avrr_pseudo_key *k, const idv *x, const idv *y,
                        int field, const char *want)
{
    avrr_identity a, b;
    avrr_document da, db;
    avrr_match_rec *pa = NULL, *pb = NULL, *za = NULL, *zb = NULL;
    avrr_match_explanation ep, ez;
    ident(&a, &da, x);
    ident(&b, &db, y);
    assert_int_equal(avrr_match_rec_new(&a, &pa), AVRR_OK);
    assert_int_equal(avrr_match_rec_new(&b, &pb), AVRR_OK);
    assert_int_equal(avrr_pseudo_encode(k, &a, &za), AVRR_OK);
    assert_int_equal(avrr_pseudo_encode(k, &b, &zb), AVRR_OK);
    /* and through the wire form */
    char *w = NULL;
    assert_int_equal(avrr_pseudo_to_wire(zb, &w), AVRR_OK);
    avrr_match_rec_free(zb);
    zb = NULL;
    assert_int_equal(avrr_pseudo_decode(k, w, strlen(w), &zb, NULL), AVRR_OK);
    avrr_free(w);
    avrr_match_compare(NULL, NULL, pa, pb, &ep);
    avrr_match_compare(NULL, NULL, za, zb, &ez);
    for (int f = 0; f < AVRR_MF__COUNT; f++)
        if (ep.field[f].level != ez.field[f].level)
            fail_msg("%s: plaintext %s, pseudonymised %s", avrr_match_field_name(f),
                     avrr_match_level_name(f, ep.field[f].level),
                     avrr_match_level_name(f, ez.field[f].level));
    assert_string_equal(avrr_match_level_name(field, ez.field[field].level), want);
    avrr_match_rec_free(pa);
    avrr_match_rec_free(pb);
    avrr_match_rec_free(za);
    avrr_match_rec_free(zb);
}

static void test_levels(void **state)
{
    (void)state;
    avrr_pseudo_key *k = key_n(4);
    idv y = youssef;
    same_levels(k, &youssef, &y, AVRR_MF_NAME, "exact");
    same_levels(k, &youssef, &y, AVRR_MF_BIRTH_DATE, "exact");
    same_levels(k, &youssef, &y, AVRR_MF_DOCUMENT, "exact");
    same_levels(k, &youssef, &y, AVRR_MF_ADDRESS, "high");
    /* swapped given and family names */
    y.given = "El Amrani";
    y.sur = "Youssef";
    same_levels(k, &youssef, &y, AVRR_MF_NAME, "exact");
    /* another spelling: Joessef is Youssef in Dutch (yusef) */
    y.given = "Joessef";
    y.sur = "Elamrani";
    same_levels(k, &youssef, &y, AVRR_MF_NAME, "exact");
    /* a typo */
    y.given = "Youssfe";
    y.sur = "El Amrani";
    same_levels(k, &youssef, &y, AVRR_MF_NAME, "all_close");
    /* namesakes with a different given name */
    y.given = "Karim";
    same_levels(k, &youssef, &y, AVRR_MF_NAME, "one_token");
    y = youssef;
    /* day and month swapped */
    idv x = youssef;
    x.dob = "1990-03-12";
    y.dob = "1990-12-03";
    same_levels(k, &x, &y, AVRR_MF_BIRTH_DATE, "typo_or_swap");
    /* one digit wrong */
    y.dob = "1990-03-15";
    same_levels(k, &youssef, &y, AVRR_MF_BIRTH_DATE, "typo_or_swap");
    /* adjacent digits transposed */
    y.dob = "1909-03-14";
    same_levels(k, &youssef, &y, AVRR_MF_BIRTH_DATE, "typo_or_swap");
    /* a placeholder against the full date of the same year */
    y.dob = "1990-01-01";
    same_levels(k, &youssef, &y, AVRR_MF_BIRTH_DATE, "same_year_imprecise");
    y.dob = "1991-01-01";
    same_levels(k, &youssef, &y, AVRR_MF_BIRTH_DATE, "year_off_by_one_imprecise");
    y.dob = "1991-03-14";
    same_levels(k, &youssef, &y, AVRR_MF_BIRTH_DATE, "year_off_by_one");
    y.dob = "1990";
    same_levels(k, &youssef, &y, AVRR_MF_BIRTH_DATE, "same_year_imprecise");
    y.dob = "1993-07-22";
    same_levels(k, &youssef, &y, AVRR_MF_BIRTH_DATE, "different");
    y.dob = "1970-07-22";
    same_levels(k, &youssef, &y, AVRR_MF_BIRTH_DATE, "far_apart");
    y = youssef;
    /* OCR confusion and a one-character typo in the document */
    y.doc = "A81234567";
    same_levels(k, &youssef, &y, AVRR_MF_DOCUMENT, "ocr_confusion");
    y.doc = "AB1234576";
    same_levels(k, &youssef, &y, AVRR_MF_DOCUMENT, "typo");
    y.doc = "AB123457";
    same_levels(k, &youssef, &y, AVRR_MF_DOCUMENT, "typo");
    y.doc = "XY9999999";
    same_levels(k, &youssef, &y, AVRR_MF_DOCUMENT, "different");
    y = youssef;
    y.nat = "DZA";
    same_levels(k, &youssef, &y, AVRR_MF_NATIONALITY, "neighbour");
    y.nat = "AFG";
    same_levels(k, &youssef, &y, AVRR_MF_NATIONALITY, "different");
    y.place = "Casablanka";
    same_levels(k, &youssef, &y, AVRR_MF_BIRTH_PLACE, "close");
    y.sex = AVRR_SEX_FEMALE;
    same_levels(k, &youssef, &y, AVRR_MF_SEX, "different");
    avrr_pseudo_key_free(k);
}

/* Records of two keys never agree; the decoder refuses another key. */
static void test_other_key(void **state)
{
    (void)state;
    avrr_pseudo_key *k1 = key_n(5), *k2 = key_n(6);
    avrr_identity a;
    avrr_document d;
    avrr_match_rec *x = NULL, *y = NULL, *z = NULL;
    avrr_match_explanation ex;
    ident(&a, &d, &youssef);
    assert_int_equal(avrr_pseudo_encode(k1, &a, &x), AVRR_OK);
    assert_int_equal(avrr_pseudo_encode(k2, &a, &y), AVRR_OK);
    avrr_match_compare(NULL, NULL, x, y, &ex);
    assert_string_equal(avrr_match_level_name(AVRR_MF_NAME, ex.field[AVRR_MF_NAME].level),
                        "different");
    assert_true(ex.probability < 0.01);
    char *w = NULL;
    avrr_error e;
    avrr_error_clear(&e);
    assert_int_equal(avrr_pseudo_to_wire(x, &w), AVRR_OK);
    assert_int_equal(avrr_pseudo_decode(k2, w, strlen(w), &z, &e), AVRR_EINVALID);
    assert_null(z);
    assert_string_equal(e.field, "encoded_identity");
    assert_non_null(strstr(e.message, "another key"));
    /* truncated, trailing, not base64 */
    size_t n = strlen(w);
    assert_int_equal(avrr_pseudo_decode(k1, w, n - 8, &z, &e), AVRR_EINVALID);
    assert_int_equal(avrr_pseudo_decode(k1, "!!!!", 4, &z, &e), AVRR_EINVALID);
    assert_int_equal(avrr_pseudo_decode(k1, "QVZQ", 4, &z, &e), AVRR_EINVALID);
    assert_int_equal(avrr_pseudo_decode(k1, w, n, &z, &e), AVRR_OK);
    avrr_match_rec_free(z);
    /* a plaintext record has no wire form */
    avrr_match_rec *p = NULL;
    char *pw = NULL;
    assert_int_equal(avrr_match_rec_new(&a, &p), AVRR_OK);
    assert_int_equal(avrr_pseudo_to_wire(p, &pw), AVRR_EINVALID);
    avrr_match_rec_free(p);
    avrr_free(w);
    avrr_match_rec_free(x);
    avrr_match_rec_free(y);
    avrr_pseudo_key_free(k1);
    avrr_pseudo_key_free(k2);
}

/* Key files: made 0600 from fresh random bytes, never overwritten, loaded
 * back to the same key; refusals name the pseudonym key. */
static void test_key_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/avrr-pseudo-key-XXXXXX", path[64], other[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a.key", dir);
    snprintf(other, sizeof other, "%s/b.key", dir);
    avrr_pseudo_key *made = NULL, *loaded = NULL, *b = NULL;
    avrr_error e;
    avrr_error_clear(&e);
    assert_int_equal(avrr_pseudo_key_create(path, &made, &e), AVRR_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    assert_int_equal(avrr_pseudo_key_load(path, &loaded, &e), AVRR_OK);
    assert_true(avrr_pseudo_key_id(made) == avrr_pseudo_key_id(loaded));
    /* a second key is another key */
    assert_int_equal(avrr_pseudo_key_create(other, NULL, &e), AVRR_OK);
    assert_int_equal(avrr_pseudo_key_load(other, &b, &e), AVRR_OK);
    assert_true(avrr_pseudo_key_id(b) != avrr_pseudo_key_id(made));
    /* never overwritten */
    assert_int_equal(avrr_pseudo_key_create(path, NULL, &e), AVRR_EEXISTS);
    assert_string_equal(e.field, "pseudonym_key");
    avrr_pseudo_key *again = NULL;
    assert_int_equal(avrr_pseudo_key_load(path, &again, &e), AVRR_OK);
    assert_true(avrr_pseudo_key_id(again) == avrr_pseudo_key_id(made));
    avrr_pseudo_key_free(again);
    /* readable by others: refused */
    assert_int_equal(chmod(path, 0644), 0);
    avrr_pseudo_key *k = NULL;
    assert_int_equal(avrr_pseudo_key_load(path, &k, &e), AVRR_EINVALID);
    assert_null(k);
    assert_string_equal(e.field, "pseudonym_key");
    assert_non_null(strstr(e.message, "chmod 600"));
    /* not a key */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a key\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(avrr_pseudo_key_load(path, &k, &e), AVRR_EINVALID);
    assert_non_null(strstr(e.message, "pseudonym key"));
    unlink(path);
    unlink(other);
    rmdir(dir);
    avrr_pseudo_key_free(made);
    avrr_pseudo_key_free(loaded);
    avrr_pseudo_key_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic_and_keyed),
        cmocka_unit_test(test_no_plaintext),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_other_key),
        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
