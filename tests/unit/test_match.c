/* test_match.c: unit tests of the matching engine (normalisation, keys,
 * Jaro-Winkler, comparison levels, scoring, model file, batch, index). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "avrr/match.h"
#include "avrr/pseudo.h"
#include "match/match_int.h"

double avrr__jaro_winkler_ref(const char *a, size_t na, const char *b,
                              size_t nb);

/* ---- helpers ------------------------------------------------------------------- */

typedef struct person {
    const char *given, *surname, *full, *sex, *dob, *nat, *place, *doc;
} person;

static void make(avrr_identity *id, const person *p)
{
    memset(id, 0, sizeof *id);
    id->given_names = (char *)p->given;
    id->surname = (char *)p->surname;
    id->full_name = (char *)p->full;
    id->sex = p->sex ? (avrr_sex)avrr_sex_parse(p->sex) : AVRR_SEX_UNKNOWN;
    if (p->dob && p->dob[0]) /* else unknown (zero) */
        assert_int_equal(avrr_date_parse(p->dob, &id->birth_date, "birth_date", NULL),
                         AVRR_OK);
    if (p->nat)
        memcpy(id->nationality, p->nat, 4);
    id->birth_place = (char *)p->place;
    static avrr_document docs[8];
    static int next;
    if (p->doc) {
        avrr_document *d = &docs[next++ % 8];
        d->number = (char *)p->doc;
        id->documents = d;
        id->n_documents = 1;
    }
}

static avrr_match_rec *rec_of(const person *p)
{
    avrr_identity id;
    avrr_match_rec *r = NULL;
    make(&id, p);
    assert_int_equal(avrr_match_rec_new(&id, &r), AVRR_OK);
    return r;
}

static void compare(const person *a, const person *b,
                    avrr_match_explanation *x)
{
    avrr_match_rec *ra = rec_of(a), *rb = rec_of(b);
    avrr_match_compare(NULL, NULL, ra, rb, x);
    avrr_match_rec_free(ra);
    avrr_match_rec_free(rb);
}

static void key_of(const char *name, char *out, size_t cap)
{
    char t[256];
    size_t n = 0;
    assert_int_equal(avrr_match_name_tokens(name, t, sizeof t, &n), AVRR_OK);
    avrr_match_name_key(t, n, out, cap);
}

static void assert_same_key(const char *const *names)
{
    char k0[64], k[64];
    key_of(names[0], k0, sizeof k0);
    for (int i = 1; names[i]; i++) {
        key_of(names[i], k, sizeof k);
        if (strcmp(k0, k) != 0)
            fail_msg("%s -> %s but %s -> %s", names[0], k0, names[i], k);
    }
}

/* ---- normalisation ----------------------------------------------------------------- */

static void test_normalize_ascii(void **state)
{
    (void)state;
    char out[128];
    size_t n;
    assert_int_equal(avrr_match_normalize("  Mohammed EL-Amrani, jr. O'Brien ",
                                          out, sizeof out, &n),
                     AVRR_OK);
    assert_string_equal(out, "mohammed el amrani jr obrien");
    assert_int_equal(n, strlen(out));
    assert_int_equal(avrr_match_name_tokens("Mohammed ben Ali El Amrani", out,
                                            sizeof out, NULL),
                     AVRR_OK);
    assert_string_equal(out, "mohammed ali amrani");
    /* a tiny buffer cuts at a token boundary */
    assert_int_equal(avrr_match_normalize("abc defgh", out, 6, &n), AVRR_OK);
    assert_string_equal(out, "abc");
}

static void test_normalize_scripts(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(avrr_match_normalize("Александр", out, sizeof out, NULL),
                     AVRR_OK);
    assert_string_equal(out, "aleksandr");
    assert_int_equal(avrr_match_normalize("José Ñúñez", out, sizeof out, NULL),
                     AVRR_OK);
    assert_string_equal(out, "jose nunez");
    assert_int_equal(avrr_match_normalize("يوسف", out, sizeof out, NULL),
                     AVRR_OK);
    assert_true(strlen(out) >= 3);
    /* full-width Latin folds by NFKC */
    assert_int_equal(avrr_match_normalize("ＡＬＩ", out, sizeof out, NULL),
                     AVRR_OK);
    assert_string_equal(out, "ali");
    assert_int_equal(avrr_match_normalize("\xff\xfe", out, sizeof out, NULL),
                     AVRR_EINVALID);
}

static void test_compounds(void **state)
{
    (void)state;
    char a[64], b[64], c[64], d[64];
    key_of("Abd al Rahman", a, sizeof a);
    key_of("Abdul Rahman", b, sizeof b);
    key_of("Abderrahmane", c, sizeof c);
    key_of("Abdulrahman", d, sizeof d);
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    assert_string_equal(a, d);
    char t[64];
    assert_int_equal(avrr_match_name_tokens("Abu Bakr", t, sizeof t, NULL),
                     AVRR_OK);
    assert_string_equal(t, "abubakr");
}

/* ---- keys ------------------------------------------------------------------------ */

static void test_keys_variants(void **state)
{
    (void)state;
    static const char *const mohammed[] = {"Mohammed", "Muhammad", "Mohamed",
                                           "Mouhamed", "Mohammad", "محمد",
                                           NULL};
    static const char *const youssef[] = {"Youssef", "Yusuf", "Joessef",
                                          "Jussuf", "Youcef", "Yousef",
                                          "يوسف", NULL};
    static const char *const alex[] = {"Oleksandr", "Aleksandr", "Alexander",
                                       "Александр", "Олександр", NULL};
    static const char *const hussein[] = {"Hussein", "Husein", "Hossein",
                                          "Houssein", "حسين", NULL};
    static const char *const khaled[] = {"Khaled", "Khalid", "خالد", NULL};
    assert_same_key(mohammed);
    assert_same_key(youssef);
    assert_same_key(alex);
    assert_same_key(hussein);
    assert_same_key(khaled);
    char a[32], b[32];
    key_of("Mohammed", a, sizeof a);
    key_of("Tesfamariam", b, sizeof b);
    assert_string_not_equal(a, b);
    assert_string_equal(a, "MHMD");
}

/* ---- Jaro-Winkler ------------------------------------------------------------------- */

static void test_jaro_winkler(void **state)
{
    (void)state;
    assert_float_equal(avrr_match_jaro_winkler("martha", 6, "marhta", 6),
                       0.9611, 0.0001);
    assert_float_equal(avrr_match_jaro_winkler("dwayne", 6, "duane", 5), 0.84,
                       0.0001);
    assert_float_equal(avrr_match_jaro_winkler("dixon", 5, "dicksonx", 8),
                       0.8133, 0.0001);
    assert_float_equal(avrr_match_jaro_winkler("abc", 3, "abc", 3), 1.0, 1e-9);
    assert_float_equal(avrr_match_jaro_winkler("abc", 3, "xyz", 3), 0.0, 1e-9);
    assert_float_equal(avrr_match_jaro_winkler("", 0, "xyz", 3), 0.0, 1e-9);
    /* the bit-parallel kernel agrees with the textbook one */
    unsigned s = 12345;
    for (int k = 0; k < 20000; k++) {
        char x[24], y[24];
        size_t nx = 1 + (s = s * 1103515245 + 12345) % 20;
        size_t ny = 1 + (s = s * 1103515245 + 12345) % 20;
        for (size_t i = 0; i < nx; i++)
            x[i] = (char)('a' + (s = s * 1103515245 + 12345) % 6);
        for (size_t i = 0; i < ny; i++)
            y[i] = (char)('a' + (s = s * 1103515245 + 12345) % 6);
        double f = avrr_match_jaro_winkler(x, nx, y, ny);
        double r = avrr__jaro_winkler_ref(x, nx, y, ny);
        assert_float_equal(f, r, 0.06);
    }
}

/* ---- comparisons ---------------------------------------------------------------------- */

static void test_strong_match_variants(void **state)
{
    (void)state;
    person a = {"Joessef", "Elamrani", NULL, "m", "1990", "MAR", NULL, NULL};
    person b = {"Youssef", "El Amrani", NULL, "m", "1990-03-14", "MAR", NULL,
                NULL};
    avrr_match_explanation x;
    compare(&a, &b, &x);
    assert_true(x.field[AVRR_MF_NAME].level <= 1);
    assert_int_equal(x.field[AVRR_MF_BIRTH_DATE].level, 3);
    assert_true(x.probability > 0.99);
    /* swapped given and family names, script against Latin */
    person c = {"El Amrani", "Youssef", NULL, "m", "1990-03-14", NULL, NULL,
                NULL};
    compare(&c, &b, &x);
    assert_true(x.probability > 0.99);
    person d = {NULL, NULL, "يوسف العمراني", "m", "1990-03-14", "MAR", NULL,
                NULL};
    compare(&d, &b, &x);
    assert_true(x.field[AVRR_MF_NAME].level <= 1);
    assert_true(x.probability > 0.99);
    person e = {"Aleksandr", "Ivanov", "Александр Иванов", "m", "1985-06-02",
                "UKR", NULL, NULL};
    person f = {"Oleksandr", "Ivanov", NULL, "m", "1985-02-06", "RUS", NULL,
                NULL};
    compare(&e, &f, &x);
    assert_int_equal(x.field[AVRR_MF_BIRTH_DATE].level, 2); /* swapped */
    assert_int_equal(x.field[AVRR_MF_NATIONALITY].level, 1); /* neighbour */
    assert_true(x.probability > 0.95);
}

static void test_namesakes_not_strong(void **state)
{
    (void)state;
    person a = {"Mohammed", "Ali", NULL, "m", "1990-01-01", "SYR", "Aleppo",
                "N1234567"};
    person b = {"Mohammed", "Ali", NULL, "m", "1990-01-01", "SDN", "Khartoum",
                "P7654321"};
    avrr_match_explanation x;
    compare(&a, &b, &x);
    assert_int_equal(x.field[AVRR_MF_NAME].level, 0);
    assert_int_equal(x.field[AVRR_MF_BIRTH_DATE].level, 1);
    assert_true(x.probability < 0.5);
    /* the common name weighs less than a rare one in the same position */
    person c = {"Tesfamariam", "Gebremedhin", NULL, "m", "1990-01-01", "ERI",
                "Asmara", "N1234567"};
    person d = {"Tesfamariam", "Gebremedhin", NULL, "m", "1990-01-01", "ETH",
                "Mekele", "P7654321"};
    avrr_match_explanation y;
    compare(&c, &d, &y);
    assert_true(y.field[AVRR_MF_NAME].weight > x.field[AVRR_MF_NAME].weight);
    /* siblings: same family name, other given name, other date */
    person s1 = {"Ahmed", "Haddad", NULL, "m", "1992-05-10", "SYR", NULL, NULL};
    person s2 = {"Omar", "Haddad", NULL, "m", "1995-08-21", "SYR", NULL, NULL};
    compare(&s1, &s2, &x);
    assert_true(x.probability < 0.2);
}

static int date_level(const char *d1, const char *d2)
{
    person a = {"Ali", "Zaman", NULL, NULL, d1, NULL, NULL, NULL};
    person b = {"Ali", "Zaman", NULL, NULL, d2, NULL, NULL, NULL};
    avrr_match_explanation x;
    compare(&a, &b, &x);
    return x.field[AVRR_MF_BIRTH_DATE].level;
}

static void test_date_levels(void **state)
{
    (void)state;
    assert_int_equal(date_level("1990-03-14", "1990-03-14"), 0);
    assert_int_equal(date_level("1990-01-01", "1990-01-01"), 1);
    assert_int_equal(date_level("1990-03-04", "1990-04-03"), 2); /* swap */
    assert_int_equal(date_level("1990-03-14", "1990-03-15"), 2); /* digit */
    assert_int_equal(date_level("1990-03-14", "1909-03-14"), 2); /* transp. */
    assert_int_equal(date_level("1989-03-14", "1998-03-14"), 2); /* transp. */
    assert_int_equal(date_level("1990-03-14", "1993-03-14"), 2); /* digit */
    assert_int_equal(date_level("1990-03-14", "1990-04-13"), 6); /* 2 apart */
    assert_int_equal(date_level("1989-03-14", "1999-03-18"), 7); /* 2, far */
    assert_int_equal(date_level("1990-01-01", "1990-07-23"), 3); /* ph */
    assert_int_equal(date_level("1990", "1990-07-23"), 3);
    assert_int_equal(date_level("1990-00-00", "1990-07-23"), 3);
    /* a year apart: the same day and month on two full dates (a slip in
     * the year) apart from an estimated age (a placeholder or a year) */
    assert_int_equal(date_level("1990-07-23", "1991-07-23"), 4);
    assert_int_equal(date_level("1991", "1990-07-23"), 5);
    assert_int_equal(date_level("1991-01-01", "1990-07-23"), 5);
    assert_int_equal(date_level("1991-01-01", "1990-01-01"), 5);
    assert_int_equal(date_level("1991-00-00", "1990"), 5);
    assert_int_equal(date_level("1990-07-24", "1991-07-23"), 6);
    assert_int_equal(date_level("1990-07-23", "1990-11-02"), 6);
    assert_int_equal(date_level("1980", "1990-07-23"), 7); /* far apart */
    assert_int_equal(date_level("1987", "1990-07-23"), 6);
    assert_int_equal(date_level("", "1990-07-23"), AVRR_MATCH_LEVEL_NULL);
}

/* The default model among 40,000 records (the returnee generator's dedup
 * file): one person whose father's name was registered as his family name,
 * with his full birth date, is a match at the default threshold 0.9; two
 * men called Mohammed Ali on 01-01 of one year with one nationality and
 * nothing else are not (placeholders agree among namesakes far more often
 * than among random pairs). */
static double prob_among(const person *a, const person *b, double records)
{
    avrr_match_model *m = NULL;
    assert_int_equal(avrr_match_model_copy(avrr_match_model_default(), &m),
                     AVRR_OK);
    avrr__match_model_set_records(m, records);
    avrr_match_rec *ra = rec_of(a), *rb = rec_of(b);
    avrr_match_explanation x;
    avrr_match_compare(m, NULL, ra, rb, &x);
    avrr_match_rec_free(ra);
    avrr_match_rec_free(rb);
    avrr_match_model_free(m);
    return x.probability;
}

static void test_patronymic_and_placeholder_namesakes(void **state)
{
    (void)state;
    person y1 = {"Youssef", "El Amrani", NULL, "m", "1990-03-14", "MAR", NULL, NULL};
    person y2 = {"Youssef", "Rachid", NULL, "m", "1990-03-14", "MAR", NULL, NULL};
    assert_true(prob_among(&y1, &y2, 40000) >= 0.9);
    person m1 = {"Mohammed", "Ali", NULL, "m", "1990-01-01", "SYR", NULL, NULL};
    person m2 = {"Mohammed", "Ali", NULL, "m", "1990-01-01", "SYR", NULL, NULL};
    assert_true(prob_among(&m1, &m2, 40000) < 0.9);
    /* with the same document they are one man again */
    m1.doc = m2.doc = "N1234567";
    assert_true(prob_among(&m1, &m2, 40000) >= 0.99);
}

/* The probability of a and b among records under model m (NULL: the
 * defaults), its explanation in *x. */
static double prob_with(const avrr_match_model *base, const person *a, const person *b,
                        double records, avrr_match_explanation *x)
{
    avrr_match_model *m = NULL;
    assert_int_equal(avrr_match_model_copy(base, &m), AVRR_OK);
    avrr__match_model_set_records(m, records);
    avrr_match_rec *ra = rec_of(a), *rb = rec_of(b);
    avrr_match_compare(m, NULL, ra, rb, x);
    avrr_match_rec_free(ra);
    avrr_match_rec_free(rb);
    avrr_match_model_free(m);
    return x->probability;
}

/* The name and the birth date weigh together: one agreeing name token (the
 * father's name taken for the family name) with the same full birth date
 * is one person among 40,000 records, where the two fields' weights alone
 * leave it below 0.9; one token with 01-01 of the same year, or with
 * another date, stays what it was (relatives, namesakes). */
static void test_joint_name_and_date(void **state)
{
    (void)state;
    avrr_match_explanation x, y;
    avrr_match_model *indep = NULL;
    assert_int_equal(avrr_match_model_copy(NULL, &indep), AVRR_OK);
    memset(indep->jset, 0, sizeof indep->jset);
    avrr__match_model_derive(indep);
    /* no nationality: the date carries it */
    person a = {"Hamidullah", "Zadran", NULL, "m", "1987-06-23", NULL, NULL, NULL};
    person b = {"Hamidullah", "Gulbuddin", NULL, "m", "1987-06-23", NULL, NULL, NULL};
    assert_true(prob_with(NULL, &a, &b, 40000, &x) >= 0.9);
    assert_int_equal(x.field[AVRR_MF_NAME].level, NL_ONE);
    assert_int_equal(x.field[AVRR_MF_BIRTH_DATE].level, DL_EXACT);
    /* the explanation shows the joint weight, log2 of the m ratio of one
     * token at a person's own date (0.16) to one token alone (0.03) */
    assert_float_equal(x.name_x_birth_date_weight, log2(0.16 / 0.03), 1e-5);
    double sum = x.prior_weight + x.name_x_birth_date_weight;
    for (int f = 0; f < AVRR_MF__COUNT; f++)
        sum += x.field[f].weight;
    assert_float_equal(x.weight, sum, 1e-4);
    /* without the joint cell (the fields independent) it stays below */
    assert_true(prob_with(indep, &a, &b, 40000, &y) < 0.9);
    assert_float_equal(y.name_x_birth_date_weight, 0, 0);
    assert_float_equal(x.weight - y.weight, log2(0.16 / 0.03), 1e-4);
    /* a slip of one digit: the same joint weight on the date's weaker one */
    b.dob = "1987-06-28";
    prob_with(NULL, &a, &b, 40000, &x);
    assert_int_equal(x.field[AVRR_MF_BIRTH_DATE].level, DL_TYPO);
    assert_float_equal(x.name_x_birth_date_weight, log2(0.16 / 0.03), 1e-5);
    /* one token with 01-01 of the same year: no joint weight */
    a.dob = b.dob = "1987-01-01";
    assert_true(prob_with(NULL, &a, &b, 40000, &x) < 0.5);
    assert_float_equal(x.name_x_birth_date_weight, 0, 0);
    /* brothers: one family name, other dates */
    person c = {"Hamidullah", "Zadran", NULL, "m", "1987-06-23", NULL, NULL, NULL};
    person d = {"Rahmatullah", "Zadran", NULL, "m", "1991-02-11", NULL, NULL, NULL};
    assert_true(prob_with(NULL, &c, &d, 40000, &x) < 0.01);
    assert_float_equal(x.name_x_birth_date_weight, 0, 0);
    /* two different men called Mohammed Ali on 01-01 of one year, or of
     * the next, stay below */
    person m1 = {"Mohammed", "Ali", NULL, "m", "1990-01-01", "SYR", NULL, NULL};
    person m2 = {"Mohammed", "Ali", NULL, "m", "1990-01-01", "SYR", NULL, NULL};
    assert_true(prob_with(NULL, &m1, &m2, 40000, &x) < 0.9);
    m2.dob = "1991-01-01";
    assert_true(prob_with(NULL, &m1, &m2, 40000, &x) < 0.9);
    avrr_match_model_free(indep);
}

static int doc_level(const char *d1, const char *d2)
{
    person a = {"Ali", "Zaman", NULL, NULL, NULL, NULL, NULL, d1};
    person b = {"Ali", "Zaman", NULL, NULL, NULL, NULL, NULL, d2};
    avrr_match_explanation x;
    compare(&a, &b, &x);
    return x.field[AVRR_MF_DOCUMENT].level;
}

static void test_documents_ocr(void **state)
{
    (void)state;
    assert_int_equal(doc_level("AB1234567", "ab 123-4567"), 0);
    assert_int_equal(doc_level("AB1234567", "A81234567"), 1); /* B/8 */
    assert_int_equal(doc_level("O0I15S", "00115S"), 1);       /* O/0 I/1 */
    assert_int_equal(doc_level("AB1234567", "AB1234576"), 2); /* transp. */
    assert_int_equal(doc_level("AB1234567", "AB123456"), 2);  /* dropped */
    assert_int_equal(doc_level("AB1234567", "XY9876543"), 3);
    assert_int_equal(doc_level("SZGQT1", "52601T"), 1); /* S5 Z2 G6 Q0 T1 */
    assert_int_equal(doc_level("SZGQT1", "52601X"), 2); /* one more */
    assert_int_equal(doc_level("SZGQT1", "X2601X"), 3);
    assert_int_equal(doc_level(NULL, "XY9876543"), AVRR_MATCH_LEVEL_NULL);
}

static void test_names_order_free(void **state)
{
    (void)state;
    avrr_match_explanation x;
    person a = {"Ahmad Shah", "Popalzai", NULL, NULL, NULL, NULL, NULL, NULL};
    person b = {"Ahmad", "Popalzai", NULL, NULL, NULL, NULL, NULL, NULL};
    compare(&a, &b, &x);
    assert_int_equal(x.field[AVRR_MF_NAME].level, 2); /* given name dropped */
    person c = {"Popalzai", "Ahmad Shah", NULL, NULL, NULL, NULL, NULL, NULL};
    compare(&a, &c, &x);
    assert_int_equal(x.field[AVRR_MF_NAME].level, 0);
    person d = {"Zainab", "Karimi", NULL, NULL, NULL, NULL, NULL, NULL};
    compare(&a, &d, &x);
    assert_int_equal(x.field[AVRR_MF_NAME].level, 5);
    assert_true(x.field[AVRR_MF_NAME].weight < 0);
    assert_string_equal(avrr_match_level_name(AVRR_MF_NAME, 5), "different");
    assert_string_equal(avrr_match_field_name(AVRR_MF_DOCUMENT), "document");
}

static int name_level(const char *g1, const char *s1, const char *g2,
                      const char *s2)
{
    person a = {g1, s1, NULL, NULL, NULL, NULL, NULL, NULL};
    person b = {g2, s2, NULL, NULL, NULL, NULL, NULL, NULL};
    avrr_match_explanation x;
    compare(&a, &b, &x);
    return x.field[AVRR_MF_NAME].level;
}

static void test_name_slips_and_spellings(void **state)
{
    (void)state;
    /* one letter dropped, added or two swapped from 4 letters on */
    assert_int_equal(name_level("Haile", "Tekle", "Haile", "Teke"), 1);
    assert_int_equal(name_level("Amina", "Sadiku", "Amina", "Sadikuu"), 1);
    /* one letter replaced only from 6 letters on: Amir and Amin are other
     * names */
    assert_true(name_level("Amir", "Rahimi", "Amin", "Rahimi") > 1);
    assert_int_equal(name_level("Abdelkader", "Bouzid", "Abdelkadir",
                                "Bouzid"), 1);
    /* German and Dutch spellings of one name */
    assert_true(name_level("Dschawad", "Rahimi", "Jawad", "Rahimi") <= 1);
    assert_true(name_level("Djawad", "Rahimi", "Jawad", "Rahimi") <= 1);
    assert_true(name_level("Ismail", "Dschallow", "Ismail", "Jallow") <= 1);
    assert_true(name_level("Hicham", "Schraibi", "Hicham", "Shraibi") <= 1);
}

/* ---- model file ---------------------------------------------------------------------- */

/* Creates the empty file named by the template path (its XXXXXX filled in),
 * for a model file to be written there; the test removes it. */
static void scratch_file(char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

static void test_model_roundtrip(void **state)
{
    (void)state;
    char path[] = "/tmp/avrr-model-XXXXXX";
    scratch_file(path);
    avrr_error e;
    assert_int_equal(avrr_match_model_save(avrr_match_model_default(), path, &e),
                     AVRR_OK);
    avrr_match_model *m = NULL;
    assert_int_equal(avrr_match_model_load(path, &m, &e), AVRR_OK);
    person a = {"Youssef", "Amrani", NULL, "m", "1990", "MAR", NULL, NULL};
    person b = {"Yusuf", "Amrani", NULL, "m", "1990-03-14", "MAR", NULL, NULL};
    avrr_match_rec *ra = rec_of(&a), *rb = rec_of(&b);
    avrr_match_explanation x, y;
    avrr_match_compare(m, NULL, ra, rb, &x);
    avrr_match_compare(NULL, NULL, ra, rb, &y);
    assert_float_equal(x.probability, y.probability, 1e-9);
    avrr_match_rec_free(ra);
    avrr_match_rec_free(rb);
    avrr_match_model_free(m);
    FILE *f = fopen(path, "w");
    fputs("{\"format\":\"avrr-match-model\",\"prior\":2}", f);
    fclose(f);
    assert_int_equal(avrr_match_model_load(path, &m, &e), AVRR_EINVALID);
    assert_non_null(strstr(e.message, "prior"));
    unlink(path);
}

/* A model file written before year_off_by_one was split in two (seven
 * birth date levels) still loads, and scores both new levels with the old
 * level's weight; seven levels under other names are refused. */
static void test_model_old_date_levels(void **state)
{
    (void)state;
    char path[] = "/tmp/avrr-model-XXXXXX";
    scratch_file(path);
    static const char head[] =
        "{\"format\":\"avrr-match-model\",\"version\":1,\"prior\":0.002,"
        "\"fields\":{\"birth_date\":{\"levels\":[\"exact\","
        "\"exact_placeholder\",\"typo_or_swap\",\"same_year_imprecise\","
        "\"year_off_by_one\",\"different\",\"far_apart\"],"
        "\"m\":[0.36,0.11,0.08,0.29,0.15,0.009,0.001],"
        "\"u\":[0.0001,0.004,0.001,0.02,0.05,0.15,0.7749]}}}";
    FILE *f = fopen(path, "w");
    fputs(head, f);
    fclose(f);
    avrr_error e;
    avrr_match_model *m = NULL;
    assert_int_equal(avrr_match_model_load(path, &m, &e), AVRR_OK);
    double w1 = log2(0.15 / 0.05);
    assert_float_equal(m->w[AVRR_MF_BIRTH_DATE][DL_YEAR1], w1, 1e-9);
    assert_float_equal(m->w[AVRR_MF_BIRTH_DATE][DL_YEAR1_PH], w1, 1e-9);
    assert_float_equal(m->w[AVRR_MF_BIRTH_DATE][DL_DIFF], log2(0.009 / 0.15),
                       1e-9);
    assert_float_equal(m->w[AVRR_MF_BIRTH_DATE][DL_FAR],
                       log2(0.001 / 0.7749), 1e-9);
    /* through the comparison: a placeholder a year apart */
    person a = {"Youssef", "Amrani", NULL, "m", "1991-01-01", "MAR", NULL, NULL};
    person b = {"Youssef", "Amrani", NULL, "m", "1990-03-14", "MAR", NULL, NULL};
    avrr_match_rec *ra = rec_of(&a), *rb = rec_of(&b);
    avrr_match_explanation x;
    avrr_match_compare(m, NULL, ra, rb, &x);
    assert_int_equal(x.field[AVRR_MF_BIRTH_DATE].level, DL_YEAR1_PH);
    assert_float_equal(x.field[AVRR_MF_BIRTH_DATE].weight, w1, 1e-5);
    avrr_match_rec_free(ra);
    avrr_match_rec_free(rb);
    avrr_match_model_free(m);
    /* seven levels that are not the old ones */
    f = fopen(path, "w");
    fputs("{\"format\":\"avrr-match-model\",\"fields\":{\"birth_date\":"
          "{\"levels\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\"],"
          "\"m\":[0.36,0.11,0.08,0.29,0.15,0.009,0.001],"
          "\"u\":[0.0001,0.004,0.001,0.02,0.05,0.15,0.7749]}}}",
          f);
    fclose(f);
    assert_int_equal(avrr_match_model_load(path, &m, &e), AVRR_EINVALID);
    assert_non_null(strstr(e.message, "birth_date"));
    unlink(path);
}

/* The joint cells go into the model file and come back; a file without
 * them (written before they existed) has none and scores a pair as the sum
 * of its fields; a cell with an unknown level or an m out of range is
 * refused. */
static void test_model_joint_file(void **state)
{
    (void)state;
    char path[] = "/tmp/avrr-model-XXXXXX";
    scratch_file(path);
    avrr_error e;
    avrr_match_model *m = NULL, *c = NULL;
    const avrr_match_model *d = avrr_match_model_default();
    assert_true(d->jset[NL_ONE][DL_EXACT]);
    assert_int_equal(avrr_match_model_copy(NULL, &c), AVRR_OK);
    c->jset[NL_EXACT][DL_YEAR_PH] = true; /* one more, below the product */
    c->jm[NL_EXACT][DL_YEAR_PH] = 0.05;
    c->ju[NL_EXACT][DL_YEAR_PH] = 1e-5;
    avrr__match_model_derive(c);
    assert_true(c->jw[NL_EXACT][DL_YEAR_PH] < 0);
    assert_int_equal(avrr_match_model_save(c, path, &e), AVRR_OK);
    assert_int_equal(avrr_match_model_load(path, &m, &e), AVRR_OK);
    for (int l = 0; l < NL__N; l++)
        for (int k = 0; k < DL__N; k++) {
            assert_int_equal(m->jset[l][k], c->jset[l][k]);
            assert_float_equal(m->jw[l][k], c->jw[l][k], 1e-9);
        }
    avrr_match_model_free(m);
    avrr_match_model_free(c);
    /* an old file: no cells, the plain sum */
    FILE *f = fopen(path, "w");
    fputs("{\"format\":\"avrr-match-model\",\"version\":1,\"prior\":0.002}", f);
    fclose(f);
    assert_int_equal(avrr_match_model_load(path, &m, &e), AVRR_OK);
    person a = {"Hamidullah", "Zadran", NULL, "m", "1987-06-23", NULL, NULL, NULL};
    person b = {"Hamidullah", "Gulbuddin", NULL, "m", "1987-06-23", NULL, NULL, NULL};
    avrr_match_explanation x;
    prob_with(m, &a, &b, 0, &x);
    assert_int_equal(x.field[AVRR_MF_NAME].level, NL_ONE);
    assert_float_equal(x.name_x_birth_date_weight, 0, 0);
    for (int l = 0; l < NL__N; l++)
        for (int k = 0; k < DL__N; k++)
            assert_false(m->jset[l][k]);
    avrr_match_model_free(m);
    static const char *const bad[] = {
        "{\"format\":\"avrr-match-model\",\"joint\":{\"name_x_birth_date\":"
        "[{\"name\":\"one\",\"birth_date\":\"exact\",\"m\":0.05,\"u\":1e-6}]}}",
        "{\"format\":\"avrr-match-model\",\"joint\":{\"name_x_birth_date\":"
        "[{\"name\":\"one_token\",\"birth_date\":\"exact\",\"m\":1.5,\"u\":1e-6}]}}",
        "{\"format\":\"avrr-match-model\",\"joint\":{\"name_x_birth_date\":"
        "[{\"name\":\"one_token\",\"birth_date\":\"exact\",\"m\":0.05}]}}",
        "{\"format\":\"avrr-match-model\",\"joint\":{}}",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        f = fopen(path, "w");
        fputs(bad[k], f);
        fclose(f);
        assert_int_equal(avrr_match_model_load(path, &m, &e), AVRR_EINVALID);
        assert_non_null(strstr(e.message, "joint"));
    }
    /* a cell of its own */
    f = fopen(path, "w");
    fputs("{\"format\":\"avrr-match-model\",\"joint\":{\"name_x_birth_date\":"
          "[{\"name\":\"different\",\"birth_date\":\"exact\",\"m\":0.01,\"u\":1e-6}]}}",
          f);
    fclose(f);
    assert_int_equal(avrr_match_model_load(path, &m, &e), AVRR_OK);
    assert_true(m->jset[NL_NONE][DL_EXACT]);
    assert_false(m->jset[NL_ONE][DL_EXACT]);
    assert_float_equal(m->jw[NL_NONE][DL_EXACT],
                       log2(0.01 / 1e-6) - m->w[AVRR_MF_NAME][NL_NONE] -
                           m->w[AVRR_MF_BIRTH_DATE][DL_EXACT],
                       1e-9);
    avrr_match_model_free(m);
    unlink(path);
}

/* ---- batch and index -------------------------------------------------------------------- */

static const person population[] = {
    {"Youssef", "El Amrani", NULL, "m", "1990-03-14", "MAR", "Nador", NULL},
    {"Joessef", "Elamrani", NULL, "m", "1990", "MAR", NULL, NULL},
    {"Mohammed", "Ali", NULL, "m", "1990-01-01", "SYR", "Aleppo", "N1234567"},
    {"Mohammed", "Ali", NULL, "m", "1990-01-01", "SDN", "Khartoum", "P765432"},
    {"Aleksandr", "Ivanov", NULL, "m", "1985-06-02", "UKR", NULL, NULL},
    {NULL, NULL, "Олександр Іванов", "m", "1985-06-02", "UKR", NULL, NULL},
    {"Fatima", "Haddad", NULL, "f", "2001-11-30", "SYR", NULL, NULL},
};

typedef struct collect {
    uint32_t pairs[64];
    double w[32];
    size_t n;
} collect;

static int on_pair(void *ctx, size_t i, size_t j,
                   const avrr_match_explanation *x)
{
    collect *c = ctx;
    if (c->n < 32) {
        c->pairs[2 * c->n] = (uint32_t)i;
        c->pairs[2 * c->n + 1] = (uint32_t)j;
        c->w[c->n] = x->weight;
        c->n++;
    }
    return 0;
}

static void test_batch_dedup(void **state)
{
    (void)state;
    size_t n = sizeof population / sizeof population[0];
    avrr_match_rec *recs[16];
    for (size_t i = 0; i < n; i++)
        recs[i] = rec_of(&population[i]);
    collect c = {.n = 0};
    avrr_match_batch_opts o = {.threshold = 0.9, .on_pair = on_pair,
                               .ctx = &c, .threads = 2,
                               .tf = avrr_match_tf_builtin()};
    avrr_match_batch_stats st;
    assert_int_equal(avrr_match_batch(recs, n, &o, &st), AVRR_OK);
    assert_int_equal(c.n, 2);
    uint32_t cl[16];
    assert_int_equal(avrr_match_cluster(n, c.pairs, c.n, cl), AVRR_OK);
    assert_int_equal(cl[1], 0);
    assert_int_equal(cl[5], 4);
    assert_int_equal(cl[3], 3);
    assert_true(st.candidate_pairs >= 3);
    /* link: left = first four, right = the rest */
    c.n = 0;
    o.n_left = 4;
    assert_int_equal(avrr_match_batch(recs, n, &o, &st), AVRR_OK);
    assert_int_equal(c.n, 0);
    avrr_match_model *m = NULL;
    assert_int_equal(avrr_match_train(recs, n, 0, NULL, 1, &m), AVRR_OK);
    /* the default joint cells, on the trained fields: too few pairs for EM
     * at any date level, so one token's m at the same full date stays the
     * start model's 0.16 of the date's m; u the product of the fields' */
    assert_true(m->jset[NL_ONE][DL_EXACT]);
    assert_float_equal(m->jm[NL_ONE][DL_EXACT] / m->m[AVRR_MF_BIRTH_DATE][DL_EXACT], 0.16, 1e-9);
    assert_float_equal(m->ju[NL_ONE][DL_EXACT],
                       m->u[AVRR_MF_NAME][NL_ONE] * m->u[AVRR_MF_BIRTH_DATE][DL_EXACT], 1e-12);
    avrr_match_model_free(m);
    for (size_t i = 0; i < n; i++)
        avrr_match_rec_free(recs[i]);
}

/* The prior follows the number of records scored among: a model whose
 * prior holds for 2 records, used in a batch of 8, gives every pair prior
 * odds 4 times lower (2 bits); fewer records than the population keep it. */
static void test_model_population(void **state)
{
    (void)state;
    avrr_match_model *m = NULL;
    assert_int_equal(avrr_match_model_copy(NULL, &m), AVRR_OK);
    double w0 = m->prior_w;
    avrr__match_model_set_records(m, 4 * AVRR__DEF_POPULATION);
    assert_float_equal(m->prior_w, w0 - 2.0, 1e-9);
    avrr__match_model_set_records(m, AVRR__DEF_POPULATION / 4);
    assert_float_equal(m->prior_w, w0, 1e-9);
    avrr_match_model_free(m);

    char path[] = "/tmp/avrr-model-XXXXXX";
    scratch_file(path);
    avrr_error e;
    FILE *f = fopen(path, "w");
    fputs("{\"format\":\"avrr-match-model\",\"prior\":0.002,"
          "\"population\":2}", f);
    fclose(f);
    assert_int_equal(avrr_match_model_load(path, &m, &e), AVRR_OK);
    size_t n = 8;
    avrr_match_rec *recs[8];
    for (size_t i = 0; i < n; i++)
        recs[i] = rec_of(&population[i % 7]);
    collect c = {.n = 0}, d = {.n = 0};
    avrr_match_batch_opts o = {.threshold = 0, .on_pair = on_pair, .ctx = &c,
                               .threads = 1, .tf = avrr_match_tf_builtin()};
    assert_int_equal(avrr_match_batch(recs, n, &o, NULL), AVRR_OK);
    o.model = m;
    o.ctx = &d;
    assert_int_equal(avrr_match_batch(recs, n, &o, NULL), AVRR_OK);
    assert_true(c.n > 0);
    assert_int_equal(c.n, d.n);
    for (size_t k = 0; k < c.n; k++)
        assert_float_equal(d.w[k], c.w[k] - 2.0, 1e-9);
    avrr_match_model_free(m);
    /* a population that is no number of records is refused, naming it */
    f = fopen(path, "w");
    fputs("{\"format\":\"avrr-match-model\",\"population\":0}", f);
    fclose(f);
    assert_int_equal(avrr_match_model_load(path, &m, &e), AVRR_EINVALID);
    assert_non_null(strstr(e.message, "population"));
    unlink(path);
    for (size_t i = 0; i < n; i++)
        avrr_match_rec_free(recs[i]);
}

/* Short forms meet their formal names as a close spelling, and block with
 * them; unrelated names stay apart. */
static void test_nicknames(void **state)
{
    (void)state;
    size_t n;
    const avrr__nick *t = avrr__nick_table(&n);
    assert_true(n > 100);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(t[i - 1].short_form, t[i].short_form) < 0);
    assert_string_equal(avrr__nick_formal("bill", 4), "william");
    assert_null(avrr__nick_formal("william", 7));
    assert_int_equal(name_level("Bill", "Smith", "William", "Smith"), 1);
    assert_int_equal(name_level("Willie", "Fernie", "William", "Fernie"), 1);
    assert_int_equal(name_level("Billy", "Owen", "Bill", "Owen"), 1);
    assert_int_equal(name_level("Sasha", "Ivanov", "Aleksandr", "Ivanov"), 1);
    assert_int_equal(name_level("Dick", "Perkins", "Richard", "Perkins"), 1);
    assert_true(name_level("Bill", "Smith", "Walter", "Smith") > 1);
    assert_true(name_level("Dick", "Perkins", "Robert", "Perkins") > 1);
    /* blocking: without a birth date the two records share only a short
     * form's key and a place */
    person a = {"Maggie", "Aldersley", NULL, "f", NULL, NULL, "Hilperton", NULL};
    person b = {"Margaret", "Alderdley", NULL, "f", NULL, NULL, "Hilperton", NULL};
    avrr_match_rec *recs[2] = {rec_of(&a), rec_of(&b)};
    collect c = {.n = 0};
    avrr_match_batch_opts o = {.threshold = 0, .on_pair = on_pair, .ctx = &c,
                               .threads = 1, .tf = avrr_match_tf_builtin()};
    assert_int_equal(avrr_match_batch(recs, 2, &o, NULL), AVRR_OK);
    assert_int_equal(c.n, 1);
    avrr_match_rec_free(recs[0]);
    avrr_match_rec_free(recs[1]);
}

/* ---- blocking rules without a shared name key ------------------------------------ */

/* Whether the batch and the index make a and b candidates (threshold 0:
 * every scored candidate is reported); both must agree. */
static avrr_match_rec *rec_at(const person *p, const char *address)
{
    avrr_identity id;
    avrr_match_rec *r = NULL;
    make(&id, p);
    id.address = (char *)address;
    assert_int_equal(avrr_match_rec_new(&id, &r), AVRR_OK);
    return r;
}

static bool candidates(const person *a, const char *addr_a, const person *b,
                       const char *addr_b)
{
    avrr_match_rec *recs[2] = {rec_at(a, addr_a), rec_at(b, addr_b)};
    collect c = {.n = 0};
    avrr_match_batch_opts o = {.threshold = 0, .on_pair = on_pair, .ctx = &c,
                               .threads = 1, .tf = avrr_match_tf_builtin()};
    assert_int_equal(avrr_match_batch(recs, 2, &o, NULL), AVRR_OK);
    avrr_match_rec_free(recs[0]);
    avrr_match_rec_free(recs[1]);
    avrr_match_index *idx = NULL;
    assert_int_equal(avrr_match_index_new(NULL, &idx), AVRR_OK);
    avrr_identity id;
    make(&id, a);
    id.address = (char *)addr_a;
    assert_int_equal(avrr_match_index_add(idx, 1, 1, "NL", &id), AVRR_OK);
    make(&id, b);
    id.address = (char *)addr_b;
    avrr_match_hit *h = NULL;
    size_t nh = 0;
    avrr__mqstats st = {.exhaustive = true};
    assert_int_equal(avrr__match_index_query_stats(idx, &id, 0, 0, &h, &nh, &st), AVRR_OK);
    avrr_free(h);
    avrr_match_index_free(idx);
    assert_int_equal(nh, c.n);
    return c.n == 1;
}

/* Names written so differently that no name key meets (Gerald Burn,
 * Gerard Burm: every key differs; Nessie for Agnes) still become candidates
 * through what else they share: the initials of two names with the birth
 * place (rule 10) or an address token (rule 11), the full birth date with
 * the birth place (rule 9, a placeholder date too), the birth place with an
 * address token (rule 12). Each alone is not enough. */
static void test_block_rules_without_name_key(void **state)
{
    (void)state;
    person gb = {"Gerald", "Burn", NULL, "m", NULL, NULL, "Westminster", NULL};
    person gm = {"Gerard", "Burm", NULL, "m", NULL, NULL, "Westminster", NULL};
    assert_true(candidates(&gb, NULL, &gm, NULL));             /* rule 10 */
    gm.place = "Lambeth";
    assert_false(candidates(&gb, NULL, &gm, NULL));            /* initials alone */
    assert_true(candidates(&gb, "SW1A 2BJ", &gm, "sw1a 2bj")); /* rule 11 */
    gm.given = "Rupert";
    assert_false(candidates(&gb, "SW1A 2BJ", &gm, "sw1a 2bj")); /* address alone */

    person ne = {"Nessie", NULL, NULL, "f", "1862-01-01", NULL, "Edworth", NULL};
    person ab = {"Agnes", "Beaumont", NULL, "f", "1862-01-01", NULL, "Edworth", NULL};
    assert_true(candidates(&ne, NULL, &ab, NULL));             /* rule 9 */
    ab.dob = "1862-03-01";
    assert_false(candidates(&ne, NULL, &ab, NULL));            /* place alone */
    ab.dob = NULL;
    assert_true(candidates(&ne, "SG18 9TB", &ab, "sg18 9tb")); /* rule 12 */
    ab.place = "Biggleswade";
    assert_false(candidates(&ne, "SG18 9TB", &ab, "sg18 9tb")); /* address alone */
}

/* ---- batch speed-ups: sub-blocks, early exit, the kernel's filter --------------------- */

/* A crowd from small pools: many records share a name key and a year, so
 * that blocks are large, and some are the same person written again. */
#define CROWD 360

typedef struct crowd {
    person p[CROWD];
    char buf[CROWD][5][32];
    avrr_match_rec *recs[CROWD];
} crowd;

static crowd *crowd_new(void)
{
    static const char *const given[] = {"Mohammed", "Youssef", "Ahmed",
                                        "Karim", "Omar", "Fatima"};
    static const char *const sur[] = {"Ali", "El Amrani", "Haddad", "Benali",
                                      "Hassan"};
    static const char *const nat[] = {"MAR", "SYR", "SDN", "DZA", "IRQ"};
    static const char *const place[] = {"Nador", "Aleppo", "Khartoum", ""};
    crowd *c = calloc(1, sizeof *c);
    assert_non_null(c);
    uint32_t x = 12345;
    for (int i = 0; i < CROWD; i++) {
        /* every third record repeats the one before with a slip or two */
        int base = (i % 3 == 2) ? i - 1 : i;
        uint32_t r = x = x * 1103515245u + 12345u;
        uint32_t b = (uint32_t)base * 2654435761u;
        person *p = &c->p[i];
        p->given = given[(b >> 3) % 6];
        p->surname = sur[(b >> 7) % 5];
        p->sex = (b >> 11) % 4 ? "m" : "f";
        snprintf(c->buf[i][0], 32, "%04u-%02u-%02u", 1985 + (b >> 13) % 4,
                 1 + (b >> 17) % 12, 1 + (b >> 21) % 28);
        if (base != i && (r >> 9) % 3 == 0) /* placeholder date */
            snprintf(c->buf[i][0], 32, "%04u-01-01", 1985 + (b >> 13) % 4);
        p->dob = c->buf[i][0];
        p->nat = nat[(base != i && (r >> 12) % 5 == 0) ? (r >> 15) % 5
                                                        : (b >> 25) % 5];
        p->place = place[(b >> 27) % 4];
        snprintf(c->buf[i][1], 32, "N%07u", (b >> 5) % 10000000);
        p->doc = (b >> 29) % 2 ? c->buf[i][1] : NULL;
        if (base != i && (r >> 18) % 4 == 0)
            p->given = "Mohamed"; /* respelt */
        if (base != i && (r >> 20) % 2 == 0 && p->place == place[2])
            p->place = "Khartum"; /* a close place, not an equal one */
        c->recs[i] = rec_of(p);
    }
    return c;
}

static void crowd_free(crowd *c)
{
    for (int i = 0; i < CROWD; i++)
        avrr_match_rec_free(c->recs[i]);
    free(c);
}

typedef struct scored {
    uint32_t i, j;
    double weight, probability;
} scored;

typedef struct all_pairs {
    scored *v;
    size_t n, cap;
} all_pairs;

static int on_any(void *ctx, size_t i, size_t j,
                  const avrr_match_explanation *x)
{
    all_pairs *a = ctx;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 1024;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        assert_non_null(a->v);
    }
    a->v[a->n++] = (scored){(uint32_t)i, (uint32_t)j, x->weight,
                            x->probability};
    return 0;
}

static int scored_cmp(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->i != y->i)
        return x->i < y->i ? -1 : 1;
    return x->j < y->j ? -1 : x->j > y->j;
}

/* The model of run_crowd (NULL: the defaults). */
static const avrr_match_model *crowd_model;
static avrr_match_model *joint_heavy_model(void);

static all_pairs run_crowd(crowd *c, double threshold, size_t cap,
                           int threads, avrr_match_batch_stats *st)
{
    all_pairs a = {0};
    avrr_match_batch_opts o = {.model = crowd_model, .threshold = threshold, .on_pair = on_any,
                               .ctx = &a, .threads = threads,
                               .block_cap = cap};
    assert_int_equal(avrr_match_batch(c->recs, CROWD, &o, st), AVRR_OK);
    qsort(a.v, a.n, sizeof *a.v, scored_cmp);
    for (size_t k = 1; k < a.n; k++) /* each pair once */
        assert_true(scored_cmp(&a.v[k - 1], &a.v[k]) < 0);
    return a;
}

/* The early exit never drops a pair at or above the threshold and never
 * changes a score: the pairs of a threshold run are exactly the pairs of a
 * threshold-0 run that reach it, with the same weights. */
static void check_early_exit(crowd *c)
{
    avrr_match_batch_stats s0, s9;
    all_pairs all = run_crowd(c, 0, 0, 2, &s0);
    assert_int_equal(s0.pairs_bounded, 0);
    assert_int_equal(all.n, s0.candidate_pairs);
    const double th[] = {0.5, 0.9, 0.999};
    for (size_t t = 0; t < sizeof th / sizeof th[0]; t++) {
        all_pairs hi = run_crowd(c, th[t], 0, 2, &s9);
        assert_int_equal(s9.candidate_pairs, s0.candidate_pairs);
        assert_true(s9.pairs_bounded > 0); /* the exit was taken */
        size_t k = 0;
        for (size_t q = 0; q < all.n; q++) {
            if (all.v[q].probability < th[t])
                continue;
            assert_true(k < hi.n);
            assert_int_equal(hi.v[k].i, all.v[q].i);
            assert_int_equal(hi.v[k].j, all.v[q].j);
            assert_true(hi.v[k].weight == all.v[q].weight);
            k++;
        }
        assert_int_equal(k, hi.n);
        assert_true(hi.n > 0);
        free(hi.v);
    }
    free(all.v);
}

static void test_batch_early_exit(void **state)
{
    (void)state;
    crowd *c = crowd_new();
    check_early_exit(c);
    /* with joint cells of the name and the date that lift weak names, one
     * token with another date above whole names (the crowd has many) */
    avrr_match_model *m = joint_heavy_model();
    m->jm[NL_ONE][DL_DIFF] = 0.5;
    m->ju[NL_ONE][DL_DIFF] = 1e-5;
    avrr__match_model_derive(m);
    assert_true(m->jw[NL_ONE][DL_DIFF] > m->w[AVRR_MF_NAME][NL_EXACT] + TF_ADJ_MAX);
    crowd_model = m;
    check_early_exit(c);
    crowd_model = NULL;
    avrr_match_model_free(m);
    crowd_free(c);
}

/* Blocks over the cap are split by a second key, not skipped: fewer
 * candidates, each scored as before, and the same with one or two threads. */
static void test_batch_split(void **state)
{
    (void)state;
    crowd *c = crowd_new();
    avrr_match_batch_stats sw, ss, s1;
    all_pairs whole = run_crowd(c, 0, 100000, 2, &sw);
    all_pairs split = run_crowd(c, 0, 12, 2, &ss);
    all_pairs one = run_crowd(c, 0, 12, 1, &s1);
    assert_int_equal(sw.blocks_split, 0);
    assert_true(ss.blocks_split > 0);
    assert_true(split.n < whole.n);
    assert_true(split.n > 0);
    assert_int_equal(one.n, split.n);
    size_t k = 0;
    for (size_t q = 0; q < split.n; q++) {
        assert_int_equal(one.v[q].i, split.v[q].i);
        assert_int_equal(one.v[q].j, split.v[q].j);
        while (k < whole.n && scored_cmp(&whole.v[k], &split.v[q]) < 0)
            k++;
        assert_true(k < whole.n); /* a pair of the whole blocks */
        assert_int_equal(whole.v[k].j, split.v[q].j);
        assert_true(whole.v[k].weight == split.v[q].weight);
    }
    /* the repeated records (same person) that share a name key and a year
     * are still candidates after the split */
    size_t kept = 0, same = 0;
    for (int i = 2; i < CROWD; i += 3) {
        scored key = {(uint32_t)(i - 1), (uint32_t)i, 0, 0};
        bool in_whole = bsearch(&key, whole.v, whole.n, sizeof key,
                                scored_cmp) != NULL;
        same += in_whole;
        kept += in_whole && bsearch(&key, split.v, split.n, sizeof key,
                                    scored_cmp) != NULL;
    }
    assert_true(same > 0);
    assert_true(kept * 10 >= same * 9);
    free(whole.v);
    free(split.v);
    free(one.v);
    crowd_free(c);
}

/* The bound that lets the name comparator skip the kernel is never below
 * the kernel's value, on random strings over a small alphabet (many shared
 * letters, the hard case) and on long ones (the reference path). */
static void test_jw_bound(void **state)
{
    (void)state;
    const char al[] = "ahmdeosuykrbn";
    uint32_t x = 7;
    char a[100], b[100];
    for (int k = 0; k < 200000; k++) {
        x = x * 1103515245u + 12345u;
        size_t na = (x >> 8) % (k % 50 == 0 ? 90 : 13);
        x = x * 1103515245u + 12345u;
        size_t nb = (x >> 8) % (k % 50 == 0 ? 90 : 13);
        for (size_t i = 0; i < na; i++) {
            x = x * 1103515245u + 12345u;
            a[i] = al[(x >> 10) % (sizeof al - 1)];
        }
        for (size_t i = 0; i < nb; i++) {
            x = x * 1103515245u + 12345u;
            b[i] = (x >> 20) % 3 == 0 && i < na ? a[i]
                                                : al[(x >> 10) % (sizeof al - 1)];
        }
        avrr__chars ca, cb;
        avrr__chars_of(a, na, &ca);
        avrr__chars_of(b, nb, &cb);
        double real = avrr_match_jaro_winkler(a, na, b, nb);
        double bound = avrr__jaro_winkler_bound(a, na, &ca, b, nb, &cb);
        if (real > bound)
            fail_msg("bound %.17g < %.17g for '%.*s' '%.*s'", bound, real,
                     (int)na, a, (int)nb, b);
    }
    /* and it does reject: unrelated names are far apart */
    avrr__chars ca, cb;
    avrr__chars_of("mohammed", 8, &ca);
    avrr__chars_of("youssef", 7, &cb);
    assert_true(avrr__jaro_winkler_bound("mohammed", 8, &ca, "youssef", 7,
                                         &cb) < 0.8);
}

static void test_index(void **state)
{
    (void)state;
    avrr_match_index *idx = NULL;
    assert_int_equal(avrr_match_index_new(NULL, &idx), AVRR_OK);
    size_t n = sizeof population / sizeof population[0];
    for (size_t i = 0; i < n; i++) {
        avrr_identity id;
        make(&id, &population[i]);
        assert_int_equal(avrr_match_index_add(idx, (int64_t)i + 1,
                                              (int64_t)i + 100,
                                              i % 2 ? "BE" : "NL", &id),
                         AVRR_OK);
    }
    avrr_identity id;
    make(&id, &population[0]);
    assert_int_equal(avrr_match_index_add(idx, 1, 1, "NL", &id), AVRR_EEXISTS);
    assert_int_equal(avrr_match_index_size(idx), n);
    person probe = {"Yusuf", "Al-Amrani", NULL, "m", "1990-01-01", "DZA", NULL,
                    NULL};
    make(&id, &probe);
    avrr_match_hit *hits = NULL;
    size_t nh = 0;
    assert_int_equal(avrr_match_index_query(idx, &id, 0.5, 10, &hits, &nh),
                     AVRR_OK);
    assert_int_equal(nh, 2);
    assert_true(hits[0].explanation.probability >=
                hits[1].explanation.probability);
    assert_true(hits[0].identity_id == 1 || hits[0].identity_id == 2);
    assert_int_equal(hits[0].explanation.field[AVRR_MF_NATIONALITY].level, 1);
    avrr_free(hits);
    assert_int_equal(avrr_match_index_remove(idx, 1), AVRR_OK);
    assert_int_equal(avrr_match_index_remove(idx, 1), AVRR_ENOTFOUND);
    assert_int_equal(avrr_match_index_query(idx, &id, 0.5, 10, &hits, &nh),
                     AVRR_OK);
    assert_int_equal(nh, 1);
    assert_int_equal(hits[0].identity_id, 2);
    assert_string_equal(hits[0].tenant, "BE");
    avrr_free(hits);
    /* re-adding the removed id works */
    make(&id, &population[0]);
    assert_int_equal(avrr_match_index_add(idx, 1, 100, "NL", &id), AVRR_OK);
    avrr_match_index_free(idx);
}

/* ---- the index's weight bound ------------------------------------------------------------ */

/* A population thick with namesakes, as a registry of returnees is: few
 * given names and surnames with their spellings, common birth years, 01-01
 * placeholders, typos, swapped names, some documents and places. */
static const char *const given_pool[] = {
    "Mohammed", "Muhammad", "Mohamed", "Ahmed", "Ahmad", "Ali", "Youssef", "Yusuf", "Joessef",
    "Fatima", "Fatma", "Omar", "Umar", "Ibrahim", "Hassan", "Hasan", "Abdul Rahman",
    "Abderrahmane", "Amina", "Aminata", "Mamadou", "Tesfamariam", "Aleksandr", "Oleksandr",
    "Mariama", "Ousmane", "Khalid", "Mohamad Ali"};
static const char *const surname_pool[] = {
    "Ali", "El Amrani", "Elamrani", "Diallo", "Bah", "Haddad", "Hussein", "Husain", "Ahmadi",
    "Ivanov", "Ivanova", "Mohammed", "Tesfaye", "Kebede", "Al-Hassan", "Alhassan", "Barry",
    "Sow", "Nasser", "Osman", "Othman"};
static const char *const nat_pool[] = {"MAR", "DZA", "SYR", "IRQ", "AFG", "ERI", "ETH",
                                       "GIN", "UKR", "SDN"};
static const char *const place_pool[] = {"Nador", "Aleppo", "Conakry", "Kabul", "Asmara",
                                         "Kyiv", NULL, NULL, NULL};

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

#define NPOOL(a) (sizeof(a) / sizeof((a)[0]))

typedef struct gen_person {
    char given[64], surname[64], dob[16], doc[16], sex[2];
    const char *nat, *place, *full;
} gen_person;

/* Whole names in other scripts (a second name representation, names from
 * a script without short vowels), and glued articles. */
static const char *const full_pool[] = {
    "محمد علي", "يوسف العمراني", "أحمد حسن", "Олександр Іванов", "Мухаммад Алиев",
    "Mohammed Elamrani", "Abdelkader Alhassan", NULL};

static void gen_new(gen_person *g)
{
    snprintf(g->given, sizeof g->given, "%s", given_pool[rnd(NPOOL(given_pool))]);
    snprintf(g->surname, sizeof g->surname, "%s", surname_pool[rnd(NPOOL(surname_pool))]);
    unsigned y = 1975 + rnd(30);
    if (rnd(4) == 0)
        snprintf(g->dob, sizeof g->dob, "%u-01-01", y);
    else if (rnd(8) == 0)
        snprintf(g->dob, sizeof g->dob, "%u", y);
    else
        snprintf(g->dob, sizeof g->dob, "%u-%02u-%02u", y, 1 + rnd(12), 1 + rnd(28));
    g->doc[0] = 0;
    if (rnd(3) == 0)
        snprintf(g->doc, sizeof g->doc, "N%07u", rnd(10000000));
    snprintf(g->sex, sizeof g->sex, "%s", rnd(2) ? "m" : "f");
    g->nat = nat_pool[rnd(NPOOL(nat_pool))];
    g->place = place_pool[rnd(NPOOL(place_pool))];
    g->full = rnd(5) == 0 ? full_pool[rnd(NPOOL(full_pool))] : NULL;
    /* missing details: no date, no sex, a single name, only a whole name */
    if (rnd(25) == 0)
        g->dob[0] = 0;
    if (rnd(20) == 0)
        g->sex[0] = 0;
    if (rnd(20) == 0)
        g->given[0] = 0;
    if (g->full && rnd(4) == 0)
        g->given[0] = g->surname[0] = 0;
}

/* Another registration of the same person: a typo, swapped names, another
 * date precision, a neighbour's nationality, a document read with OCR
 * errors. */
static void gen_variant(const gen_person *g, gen_person *v)
{
    *v = *g;
    size_t n = strlen(v->surname);
    switch (rnd(6)) {
    case 0:
        if (n > 3)
            v->surname[1 + rnd((unsigned)n - 2)] = 'e';
        break;
    case 1:
        snprintf(v->given, sizeof v->given, "%s", g->surname);
        snprintf(v->surname, sizeof v->surname, "%s", g->given);
        break;
    case 2:
        if (g->dob[0])
            snprintf(v->dob, sizeof v->dob, "%.4s-01-01", g->dob);
        break;
    case 3:
        v->nat = nat_pool[rnd(NPOOL(nat_pool))];
        break;
    case 4:
        if (v->doc[0])
            v->doc[1] = 'O';
        break;
    default:
        break;
    }
}

static void gen_identity(avrr_identity *id, const gen_person *g)
{
    person p = {g->given[0] ? g->given : NULL, g->surname[0] ? g->surname : NULL, g->full,
                g->sex[0] ? g->sex : NULL, g->dob, g->nat, g->place, g->doc[0] ? g->doc : NULL};
    make(id, &p);
}

/* Person i of a generated population (a third are variants of an earlier
 * one), added to the index as identity and person i + 1. */
static void add_generated(avrr_match_index *idx, gen_person *pop, size_t i)
{
    if (i > 0 && rnd(3) == 0)
        gen_variant(&pop[rnd((unsigned)i)], &pop[i]);
    else
        gen_new(&pop[i]);
    avrr_identity id;
    gen_identity(&id, &pop[i]);
    assert_int_equal(avrr_match_index_add(idx, (int64_t)i + 1, (int64_t)i + 1,
                                          i % 2 ? "NL" : "BE", &id),
                     AVRR_OK);
}

/* The query of id at threshold returns the same hits, with the same
 * probabilities, as comparing every candidate in full; *sf and *sx get the
 * statistics of the two queries; the number of hits is returned. */
static size_t query_as_exhaustive(const avrr_match_index *idx, const avrr_identity *id,
                                  double threshold, avrr__mqstats *sf, avrr__mqstats *sx)
{
    avrr_match_hit *fast = NULL, *full = NULL;
    size_t nf = 0, nx = 0;
    *sf = (avrr__mqstats){.exhaustive = false};
    *sx = (avrr__mqstats){.exhaustive = true};
    assert_int_equal(avrr__match_index_query_stats(idx, id, threshold, 0, &fast, &nf, sf),
                     AVRR_OK);
    assert_int_equal(avrr__match_index_query_stats(idx, id, threshold, 0, &full, &nx, sx),
                     AVRR_OK);
    assert_int_equal(nf, nx);
    for (size_t i = 0; i < nx; i++) {
        assert_int_equal(fast[i].identity_id, full[i].identity_id);
        assert_true(fast[i].explanation.probability == full[i].explanation.probability);
    }
    avrr_free(fast);
    avrr_free(full);
    return nf;
}

/* A model whose joint cells of the name and the birth date add most where
 * the names are weak: different names with the same full date, one token
 * with 01-01 of the same year, a year apart or another date (common among
 * the tests' crowds, so that the bounds meet the cells); and one that takes away
 * (whole names with a year-only date): the bounds must take the cell of
 * the weakest name level the pair may still have. */
static avrr_match_model *joint_heavy_model(void)
{
    avrr_match_model *m = NULL;
    assert_int_equal(avrr_match_model_copy(avrr_match_model_default(), &m), AVRR_OK);
    static const struct {
        int l, d;
        double jm, ju;
    } cells[] = {
        {NL_NONE, DL_EXACT, 0.02, 1e-6},   {NL_ONE, DL_EXACT_PH, 0.2, 1e-5},
        {NL_ONE, DL_YEAR1_PH, 0.1, 1e-4},  {NL_MOST, DL_YEAR_PH, 0.1, 1e-6},
        {NL_EXACT, DL_YEAR_PH, 0.01, 0.01}, {NL_NONE, DL_TYPO, 0.01, 1e-6},
        {NL_ONE, DL_DIFF, 0.05, 1e-3},
    };
    for (size_t k = 0; k < sizeof cells / sizeof cells[0]; k++) {
        m->jset[cells[k].l][cells[k].d] = true;
        m->jm[cells[k].l][cells[k].d] = cells[k].jm;
        m->ju[cells[k].l][cells[k].d] = cells[k].ju;
    }
    avrr__match_model_derive(m);
    assert_true(m->jw[NL_NONE][DL_EXACT] > 5);
    assert_true(m->jw[NL_EXACT][DL_YEAR_PH] < 0);
    return m;
}

/* The bound is never below the real weight, under the default model and
 * under one whose name weights do not fall with the level (as a trained
 * model's may not); and a query returns exactly what comparing every
 * candidate in full returns, while comparing far fewer. */
static void check_bound(const avrr_match_model *model)
{
    enum { N = 1200, PROBES = 120 };
    static gen_person pop[N];
    avrr_match_index *idx = NULL;
    assert_int_equal(avrr_match_index_new(model, &idx), AVRR_OK);
    for (size_t i = 0; i < N; i++)
        add_generated(idx, pop, i);
    static const avrr_match_rec *recs[N];
    static int64_t ids[N];
    assert_int_equal(avrr__match_index_records(idx, recs, ids, N), N);
    const avrr_match_model *m = avrr__match_index_model(idx);
    const avrr_match_tf *tf = avrr__match_index_tf(idx);
    size_t candidates = 0, compared = 0, hits = 0, pairs_hit = 0;
    double tight = INFINITY; /* least slack of a pair whose names agree */
    size_t capped_compared = 0, capped_hits = 0;
    for (size_t k = 0; k < PROBES; k++) {
        gen_person g;
        if (k % 4 == 3)
            gen_new(&g);
        else
            gen_variant(&pop[rnd(N)], &g);
        avrr_identity id;
        gen_identity(&id, &g);
        double threshold = k % 3 == 0 ? 0.5 : k % 3 == 1 ? 0.9 : 0.1;
        avrr_match_rec *probe = NULL;
        assert_int_equal(avrr_match_rec_new(&id, &probe), AVRR_OK);
        /* with the index's name frequencies, and with the built-in ones
         * (which know none of these names: no TF adjustment, so the bound
         * is tight where names agree and places and documents are missing) */
        for (int t = 0; t < 2; t++) {
            const avrr_match_tf *tft = t == 0 ? tf : avrr_match_tf_builtin();
            avrr__mbound b;
            avrr__match_bound_prepare(m, tft, probe, threshold, &b);
            for (size_t r = 0; r < N; r++) {
                avrr_match_explanation x;
                avrr_match_compare(m, tft, probe, recs[r], &x);
                double ub = avrr__match_bound(&b, recs[r]);
                if (ub < x.weight)
                    fail_msg("probe %zu record %zu: bound %.9f below weight %.9f", k, r, ub,
                             x.weight);
                if (x.probability >= threshold && ub < b.need)
                    fail_msg("probe %zu record %zu: probability %.6f rejected", k, r,
                             x.probability);
                if (t == 0)
                    pairs_hit += x.probability >= threshold;
                int nl = x.field[AVRR_MF_NAME].level;
                if (t == 1 && nl != AVRR_MATCH_LEVEL_NULL && nl <= 4 && ub - x.weight < tight)
                    tight = ub - x.weight; /* level 4: one name agrees */
            }
            avrr__match_bound_clear(&b);
        }
        avrr_match_rec_free(probe);

        avrr__mqstats sf, sx;
        hits += query_as_exhaustive(idx, &id, threshold, &sf, &sx);
        assert_int_equal(sx.compared, sx.candidates);
        assert_int_equal(sf.candidates, sx.candidates);
        candidates += sf.candidates;
        compared += sf.compared;
        /* with a cap on the hits, the best ones are kept as scoring every
         * candidate would keep them */
        size_t cap = 1 + k % 5, nf = 0, nx = 0;
        avrr_match_hit *fast = NULL, *full = NULL;
        assert_int_equal(avrr__match_index_query_stats(idx, &id, threshold, cap, &fast, &nf, &sf),
                         AVRR_OK);
        assert_int_equal(avrr__match_index_query_stats(idx, &id, threshold, cap, &full, &nx, &sx),
                         AVRR_OK);
        assert_int_equal(nf, nx);
        for (size_t i = 0; i < nx; i++)
            assert_int_equal(fast[i].identity_id, full[i].identity_id);
        capped_compared += sf.compared;
        capped_hits += nx;
        avrr_free(fast);
        avrr_free(full);
    }
    /* not vacuous: there were hits, and the bound rejected most candidates */
    assert_true(hits > PROBES);
    assert_true(pairs_hit >= hits);
    assert_true(compared >= hits);
    assert_true(tight < 1e-3);
    assert_true((compared - hits) * 2 < candidates - hits);
    assert_true(capped_hits > 0 && capped_compared < compared);
    avrr_match_index_free(idx);
}

static void test_index_bound_exact(void **state)
{
    (void)state;
    check_bound(NULL);
    /* a model whose weights rise where the defaults fall: one agreeing name
     * weighs more than most of them, a far date less than a different one */
    avrr_match_model *m = NULL;
    assert_int_equal(avrr_match_model_copy(avrr_match_model_default(), &m), AVRR_OK);
    m->m[AVRR_MF_NAME][4] = 0.4;
    m->u[AVRR_MF_NAME][4] = 1e-4;
    m->m[AVRR_MF_BIRTH_DATE][DL_FAR] = 0.03;
    avrr__match_model_derive(m);
    check_bound(m);
    avrr_match_model_free(m);
    /* joint cells of the name and the date: the bound takes them */
    m = joint_heavy_model();
    check_bound(m);
    avrr_match_model_free(m);
}

/* ---- the index's bound records ---------------------------------------------------------- */

static const char *const addr_pool[] = {
    "Hoofdstraat 12 Utrecht", "Rue de la Paix 5 Paris", "Hoofdstraat 12 3511 Utrecht",
    "Kastanienallee 3 Berlin", "Rue de la Paix 7 Paris", "Calle Mayor 1 Madrid",
};

/* Person i of pop as an identity; a third of them with an address. */
static void gen_identity_addr(avrr_identity *id, const gen_person *pop, size_t i)
{
    gen_identity(id, &pop[i]);
    if (i % 3 == 0)
        id->address = (char *)addr_pool[(i / 3) % NPOOL(addr_pool)];
    /* documents the bound record cannot hold: a long number, two numbers */
    static avrr_document two[2][2];
    static char longer[2][24];
    if (i % 7 == 1 && pop[i].doc[0]) {
        avrr_document *d = two[i % 2];
        snprintf(longer[i % 2], sizeof longer[i % 2], "%s%s", pop[i].doc,
                 i % 14 == 1 ? "" : "XY99");
        d[0].number = longer[i % 2];
        d[1].number = (char *)(i % 14 == 1 ? "N7777777" : "");
        id->documents = d;
        id->n_documents = i % 14 == 1 ? 2 : 1;
    }
}

static void add_person(avrr_match_index *idx, const gen_person *pop, size_t i)
{
    avrr_identity id;
    gen_identity_addr(&id, pop, i);
    assert_int_equal(avrr_match_index_add(idx, (int64_t)i + 1, (int64_t)i + 1, "NL", &id),
                     AVRR_OK);
}

/* The interned tokens of idx are those of an index of just its live records
 * (live[i]: person i is in it). */
static void check_tokens(const avrr_match_index *idx, const gen_person *pop, const bool *live,
                         size_t n)
{
    avrr_match_index *ref = NULL;
    assert_int_equal(avrr_match_index_new(NULL, &ref), AVRR_OK);
    for (size_t i = 0; i < n; i++)
        if (live[i])
            add_person(ref, pop, i);
    size_t ra = 0, rb = 0;
    size_t ta = avrr__match_index_tokens(idx, &ra), tb = avrr__match_index_tokens(ref, &rb);
    assert_true(tb > 0 && tb != SIZE_MAX);
    assert_int_equal(ta, tb);
    assert_int_equal(ra, rb);
    avrr_match_index_free(ref);
}

/* The bound a query computes from an index's bound records (one cache line
 * a record, name tokens interned; documents, places and addresses from the
 * full record when they decide) is never below the weight; on an index
 * whose records were removed and added again (interned tokens freed, their
 * ids and the slots reused), the interned tokens are exactly those of the
 * live records, and a query returns what comparing every candidate in full
 * returns. In the pseudonymised mode nothing is interned and every
 * candidate is compared. */
enum { BR_N = 900, BR_MORE = 200 };
static gen_person br_pop[BR_N + BR_MORE];

/* The plaintext part of test_index_bound_records; token ids above id_max
 * are not held in bound records (then the bound reads the record). */
static void check_bound_records(uint32_t id_max, const avrr_match_model *model)
{
    enum { N = BR_N, MORE = BR_MORE, PROBES = 60 };
    gen_person *pop = br_pop;
    bool live[N + MORE] = {false};
    avrr_match_index *idx = NULL;
    assert_int_equal(avrr_match_index_new(model, &idx), AVRR_OK);
    assert_int_equal(avrr__match_index_set_tok_id_max(idx, id_max), AVRR_OK);
    for (size_t i = 0; i < N; i++) {
        if (i > 0 && rnd(3) == 0)
            gen_variant(&pop[rnd((unsigned)i)], &pop[i]);
        else
            gen_new(&pop[i]);
        add_person(idx, pop, i);
        live[i] = true;
    }
    check_tokens(idx, pop, live, N);
    size_t nref = 0;
    if (id_max < 1000) /* not vacuous: most ids are past it */
        assert_true(avrr__match_index_tokens(idx, &nref) > 3 * (size_t)id_max);
    /* a third out, new persons into their slots, some of the removed back */
    for (size_t i = 0; i < N; i += 3) {
        assert_int_equal(avrr_match_index_remove(idx, (int64_t)i + 1), AVRR_OK);
        live[i] = false;
    }
    check_tokens(idx, pop, live, N);
    for (size_t i = N; i < N + MORE; i++) {
        gen_new(&pop[i]);
        add_person(idx, pop, i);
        live[i] = true;
    }
    for (size_t i = 0; i < N; i += 9) {
        add_person(idx, pop, i);
        live[i] = true;
    }
    check_tokens(idx, pop, live, N + MORE);

    const avrr_match_model *m = avrr__match_index_model(idx);
    const avrr_match_tf *tf = avrr__match_index_tf(idx);
    size_t pairs = 0, hits = 0, rejected = 0, compared = 0, candidates = 0, with_addr = 0;
    for (size_t k = 0; k < PROBES; k++) {
        gen_person g;
        if (k % 4 == 3)
            gen_new(&g);
        else
            gen_variant(&pop[rnd(N + MORE)], &g);
        avrr_identity id;
        gen_identity(&id, &g);
        if (k % 2)
            id.address = (char *)addr_pool[k % NPOOL(addr_pool)];
        double threshold = k % 3 == 0 ? 0.5 : k % 3 == 1 ? 0.9 : 0.1;
        avrr_match_rec *probe = NULL;
        assert_int_equal(avrr_match_rec_new(&id, &probe), AVRR_OK);
        avrr__mbound b;
        avrr__match_bound_prepare(m, tf, probe, threshold, &b);
        for (size_t i = 0; i < N + MORE; i++) {
            if (!live[i])
                continue;
            avrr_identity r;
            gen_identity_addr(&r, pop, i);
            avrr_match_rec *rec = NULL;
            assert_int_equal(avrr_match_rec_new(&r, &rec), AVRR_OK);
            avrr_match_explanation x;
            avrr_match_compare(m, tf, probe, rec, &x);
            double ub;
            assert_int_equal(avrr__match_index_bound_of(idx, &b, (int64_t)i + 1, &ub), AVRR_OK);
            if (ub < x.weight)
                fail_msg("probe %zu person %zu: bound %.9f below weight %.9f", k, i, ub,
                         x.weight);
            pairs++;
            hits += x.probability >= threshold;
            rejected += ub < b.need;
            with_addr += x.field[AVRR_MF_ADDRESS].level != AVRR_MATCH_LEVEL_NULL &&
                         x.probability >= threshold;
            avrr_match_rec_free(rec);
        }
        avrr__match_bound_clear(&b);
        avrr_match_rec_free(probe);
        avrr__mqstats sf, sx;
        query_as_exhaustive(idx, &id, threshold, &sf, &sx);
        assert_int_equal(sf.candidates, sx.candidates);
        compared += sf.compared;
        candidates += sf.candidates;
    }
    /* not vacuous: hits (some with addresses), most pairs rejected */
    assert_true(hits > PROBES / 2 && with_addr > 0);
    assert_true(rejected * 2 > pairs);
    assert_true(compared * 2 < candidates);
    double ub;
    avrr__mbound b0 = {0};
    assert_int_equal(avrr__match_index_bound_of(idx, &b0, N + MORE + 7, &ub), AVRR_ENOTFOUND);
    /* every record out: no token left */
    for (size_t i = 0; i < N + MORE; i++)
        if (live[i])
            assert_int_equal(avrr_match_index_remove(idx, (int64_t)i + 1), AVRR_OK);
    size_t refs = 1;
    assert_int_equal(avrr__match_index_tokens(idx, &refs), 0);
    assert_int_equal(refs, 0);
    avrr_match_index_free(idx);
}

static void test_index_bound_records(void **state)
{
    (void)state;
    gen_person *pop = br_pop;
    size_t refs = 1;
    double ub;
    avrr__mbound b0 = {0};
    check_bound_records(0xffffff, NULL);
    /* most records with a token past the ids bound records hold */
    check_bound_records(15, NULL);
    /* joint cells that lift weak names and imprecise dates */
    avrr_match_model *jm = joint_heavy_model();
    check_bound_records(0xffffff, jm);
    check_bound_records(15, jm);
    avrr_match_model_free(jm);
    avrr_match_index *idx = NULL;
    assert_int_equal(avrr_match_index_new(NULL, &idx), AVRR_OK);
    assert_int_equal(avrr__match_index_set_tok_id_max(idx, 0), AVRR_EINVALID);
    assert_int_equal(avrr__match_index_set_tok_id_max(idx, 0x1000000), AVRR_EINVALID);
    assert_int_equal(avrr__match_index_set_tok_id_max(idx, 40), AVRR_EINVALID);
    add_person(idx, pop, 0);
    assert_int_equal(avrr__match_index_set_tok_id_max(idx, 15), AVRR_EINVALID);
    avrr_match_index_free(idx);

    /* pseudonymised: no bound records, no tokens; every candidate compared */
    uint8_t secret[32];
    for (unsigned i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(7 * i + 1);
    avrr_pseudo_key *key = NULL;
    assert_int_equal(avrr_pseudo_key_from_bytes(secret, sizeof secret, &key), AVRR_OK);
    assert_int_equal(avrr_match_index_new(NULL, &idx), AVRR_OK);
    assert_int_equal(avrr_match_index_set_pseudonym_key(idx, key), AVRR_OK);
    for (size_t i = 0; i < 300; i++)
        add_person(idx, pop, i);
    for (size_t i = 0; i < 300; i += 4)
        assert_int_equal(avrr_match_index_remove(idx, (int64_t)i + 1), AVRR_OK);
    for (size_t i = 0; i < 300; i += 8)
        add_person(idx, pop, i);
    assert_int_equal(avrr__match_index_tokens(idx, &refs), 0);
    assert_int_equal(refs, 0);
    assert_int_equal(avrr__match_index_bound_of(idx, &b0, 1, &ub), AVRR_EINVALID);
    size_t phits = 0;
    for (size_t k = 0; k < 20; k++) {
        gen_person g;
        gen_variant(&pop[rnd(300)], &g);
        avrr_identity id;
        gen_identity(&id, &g);
        avrr_match_hit *fast = NULL, *full = NULL;
        size_t nf = 0, nx = 0;
        avrr__mqstats sf = {.exhaustive = false}, sx = {.exhaustive = true};
        assert_int_equal(avrr__match_index_query_stats(idx, &id, 0.5, 0, &fast, &nf, &sf),
                         AVRR_OK);
        assert_int_equal(avrr__match_index_query_stats(idx, &id, 0.5, 0, &full, &nx, &sx),
                         AVRR_OK);
        assert_int_equal(sf.compared, sf.candidates);
        assert_int_equal(nf, nx);
        for (size_t i = 0; i < nx; i++)
            assert_int_equal(fast[i].identity_id, full[i].identity_id);
        phits += nf;
        avrr_free(fast);
        avrr_free(full);
    }
    assert_true(phits > 0);
    avrr_match_index_free(idx);
    avrr_pseudo_key_free(key);
}

/* ---- the index blocks as `avrr link` does ------------------------------------------------ */

typedef struct right_set {
    uint32_t *j;
    size_t n, cap;
} right_set;

static int on_right(void *ctx, size_t i, size_t j, const avrr_match_explanation *x)
{
    right_set *r = ctx;
    (void)x;
    assert_int_equal(i, 0); /* the probe is the only record on the left */
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->j = realloc(r->j, r->cap * sizeof *r->j);
        assert_non_null(r->j);
    }
    r->j[r->n++] = (uint32_t)j;
    return 0;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* A query's candidates are the records `avrr link` pairs the probe with:
 * link of a file of the probe alone against the records of the index, at
 * the same block cap, threshold 0 (every candidate pair reported), against
 * an exhaustive query at threshold 0 (every candidate a hit). With a cap
 * small enough that blocks are split once, twice and still skipped; on an
 * index built one record at a time (lists reach the cap and split while it
 * grows), then after removals and more additions. */
static void check_blocks_as_link(size_t cap, bool *split_seen, bool *capped_seen,
                                 size_t *fewer)
{
    enum { N = 900, MORE = 150, PROBES = 40 };
    static gen_person pop[N + MORE];
    static avrr_match_rec *recs[N + MORE + 1];
    static int64_t rid[N + MORE + 1];
    bool live[N + MORE] = {false};
    avrr_match_index *idx = NULL;
    assert_int_equal(avrr_match_index_new(NULL, &idx), AVRR_OK);
    assert_int_equal(avrr__match_index_set_block_cap(idx, cap), AVRR_OK);
    for (int round = 0; round < 2; round++) {
        size_t from = round == 0 ? 0 : N, to = round == 0 ? N : N + MORE;
        for (size_t i = from; i < to; i++) {
            add_generated(idx, pop, i);
            live[i] = true;
        }
        if (round == 0)
            avrr__match_index_trim(idx); /* as after a load; round 1 grows it */
        if (round == 1) { /* a tenth removed, some of them added again */
            for (size_t i = 0; i < N + MORE; i += 10) {
                assert_int_equal(avrr_match_index_remove(idx, (int64_t)i + 1), AVRR_OK);
                live[i] = false;
            }
            for (size_t i = 0; i < N + MORE; i += 30) {
                avrr_identity id;
                gen_identity(&id, &pop[i]);
                assert_int_equal(avrr_match_index_add(idx, (int64_t)i + 1, (int64_t)i + 1,
                                                      "FR", &id),
                                 AVRR_OK);
                live[i] = true;
            }
        }
        /* the batch's records: the probe, then every live record */
        size_t n = 1;
        for (size_t i = 0; i < N + MORE; i++)
            if (live[i]) {
                avrr_identity id;
                gen_identity(&id, &pop[i]);
                assert_int_equal(avrr_match_rec_new(&id, &recs[n]), AVRR_OK);
                rid[n++] = (int64_t)i + 1;
            }
        assert_int_equal(avrr_match_index_size(idx), n - 1);
        for (size_t k = 0; k < PROBES; k++) {
            gen_person g;
            if (k % 4 == 3)
                gen_new(&g);
            else
                gen_variant(&pop[rnd((unsigned)(round == 0 ? N : N + MORE))], &g);
            avrr_identity id;
            gen_identity(&id, &g);
            assert_int_equal(avrr_match_rec_new(&id, &recs[0]), AVRR_OK);
            right_set r = {0};
            avrr_match_batch_stats st;
            avrr_match_batch_opts o = {.threshold = 0, .n_left = 1, .threads = 1,
                                       .block_cap = cap, .on_pair = on_right, .ctx = &r};
            assert_int_equal(avrr_match_batch(recs, n, &o, &st), AVRR_OK);
            *split_seen |= st.blocks_split > 0;
            *capped_seen |= st.blocks_capped > 0;
            int64_t *want = calloc(r.n + 1, sizeof *want);
            assert_non_null(want);
            for (size_t q = 0; q < r.n; q++)
                want[q] = rid[r.j[q]];
            qsort(want, r.n, sizeof *want, i64_cmp);

            avrr_match_hit *h = NULL;
            size_t nh = 0;
            avrr__mqstats sx = {.exhaustive = true};
            assert_int_equal(avrr__match_index_query_stats(idx, &id, 0, 0, &h, &nh, &sx),
                             AVRR_OK);
            assert_int_equal(sx.candidates, nh); /* threshold 0: every candidate */
            int64_t *got = calloc(nh + 1, sizeof *got);
            assert_non_null(got);
            for (size_t q = 0; q < nh; q++)
                got[q] = h[q].identity_id;
            qsort(got, nh, sizeof *got, i64_cmp);
            if (nh != r.n)
                fail_msg("cap %zu round %d probe %zu: query %zu candidates, link %zu", cap,
                         round, k, nh, r.n);
            for (size_t q = 0; q < nh; q++)
                assert_true(got[q] == want[q]);
            /* the blocks over the cap cost candidates against whole blocks */
            avrr_match_batch_opts ow = o;
            right_set rw = {0};
            ow.block_cap = 100000;
            ow.ctx = &rw;
            assert_int_equal(avrr_match_batch(recs, n, &ow, NULL), AVRR_OK);
            assert_true(rw.n >= r.n);
            *fewer += rw.n - r.n;
            free(rw.j);
            free(got);
            free(want);
            free(r.j);
            avrr_free(h);
            avrr_match_rec_free(recs[0]);
        }
        for (size_t i = 1; i < n; i++)
            avrr_match_rec_free(recs[i]);
    }
    avrr_match_index_free(idx);
}

static void test_index_blocks_as_link(void **state)
{
    (void)state;
    bool split = false, capped = false;
    size_t fewer = 0;
    check_blocks_as_link(6, &split, &capped, &fewer);
    assert_true(split && capped); /* split twice, and still over the cap */
    assert_true(fewer > 0);
    split = capped = false;
    fewer = 0;
    check_blocks_as_link(40, &split, &capped, &fewer);
    assert_true(split && fewer > 0);
    /* the default: the population's blocks are all within it */
    avrr_match_index *idx = NULL;
    assert_int_equal(avrr_match_index_new(NULL, &idx), AVRR_OK);
    assert_int_equal(avrr__match_index_set_block_cap(idx, 1), AVRR_EINVALID);
    avrr_identity id;
    make(&id, &population[0]);
    assert_int_equal(avrr_match_index_add(idx, 1, 1, "NL", &id), AVRR_OK);
    assert_int_equal(avrr__match_index_set_block_cap(idx, 10), AVRR_EINVALID);
    avrr_match_index_free(idx);
}

/* Out of memory is returned, never a crash, at every allocation in turn. */
/* The candidates of an exhaustive query at threshold 0, sorted, and after
 * them the postings it read. */
static size_t candidates_of(const avrr_match_index *idx, const avrr_identity *id,
                            int64_t *out, size_t cap)
{
    avrr_match_hit *h = NULL;
    size_t nh = 0;
    avrr__mqstats st = {.exhaustive = true};
    assert_int_equal(avrr__match_index_query_stats(idx, id, 0, 0, &h, &nh, &st), AVRR_OK);
    assert_true(nh <= cap);
    assert_true(nh < cap);
    for (size_t i = 0; i < nh; i++)
        out[i] = h[i].identity_id;
    qsort(out, nh, sizeof *out, i64_cmp);
    out[nh] = (int64_t)st.postings;
    avrr_free(h);
    return nh + 1;
}

/* Namesakes: lists that reach a small cap and keep growing after they split
 * (and their sub-lists too). */
static const person oom_pop[] = {
    {"Mohammed", "Ali", NULL, "m", "1990-01-01", "MAR", "Nador", NULL},
    {"Mohamed", "Ali", NULL, "m", "1990-05-02", "MAR", NULL, NULL},
    {"Mohammed", "Ali", NULL, "f", "1991-03-04", "SYR", NULL, "N1234567"},
    {"Ahmed", "Ali", NULL, "m", "1990-07-08", "MAR", "Nador", NULL},
    {"Mohammed", "Hassan", NULL, "m", "1990-01-01", "DZA", NULL, NULL},
    {"Mohammed", "Ali", NULL, "m", "1990-01-01", "SYR", "Aleppo", NULL},
    {"Ali", "Mohammed", NULL, "m", "1990-02-02", "MAR", NULL, NULL},
    {"Mohammed Ali", "Hassan", NULL, "m", "1990", "IRQ", NULL, NULL},
};

/* Out of memory is returned, never a crash, at every allocation in turn;
 * an addition that fails leaves the index as it was (its queries offer the
 * candidates of an index that never saw the record). */
static void test_out_of_memory(void **state)
{
    (void)state;
    /* with the default cap, and with one so small that lists split (and
     * their sub-lists too) as records arrive */
    enum { NREC = sizeof oom_pop / sizeof oom_pop[0] };
    bool done[2] = {false, false};
    for (long k = 1; k < 20000 && !(done[0] && done[1]); k++) {
        int small = (int)(k % 2);
        size_t cap = small ? 2 : AVRR__SPLIT_CAP;
        avrr_match_index *idx = NULL;
        size_t added = 0;
        avrr_alloc_fail_after(k / 2 + 1);
        avrr_err r = avrr_match_index_new(NULL, &idx);
        if (r == AVRR_OK)
            assert_int_equal(avrr__match_index_set_block_cap(idx, cap), AVRR_OK);
        for (; r == AVRR_OK && added < NREC; added++) {
            avrr_identity id;
            make(&id, &oom_pop[added]);
            r = avrr_match_index_add(idx, (int64_t)added + 1, 1, "NL", &id);
            if (r != AVRR_OK)
                break;
        }
        avrr_match_hit *hits = NULL;
        size_t nh = 0;
        if (r == AVRR_OK) {
            avrr_identity id;
            make(&id, &oom_pop[1]);
            r = avrr_match_index_query(idx, &id, 0.5, 10, &hits, &nh);
        }
        avrr_alloc_fail_after(0);
        assert_true(r == AVRR_OK || r == AVRR_ENOMEM);
        avrr_free(hits);
        if (r == AVRR_ENOMEM && idx && added < NREC) {
            /* the failed addition left no trace: as an index of the
             * records before it */
            avrr_match_index *ref = NULL;
            assert_int_equal(avrr_match_index_new(NULL, &ref), AVRR_OK);
            assert_int_equal(avrr__match_index_set_block_cap(ref, cap), AVRR_OK);
            for (size_t i = 0; i < added; i++) {
                avrr_identity id;
                make(&id, &oom_pop[i]);
                assert_int_equal(avrr_match_index_add(ref, (int64_t)i + 1, 1, "NL", &id),
                                 AVRR_OK);
            }
            assert_int_equal(avrr_match_index_size(idx), added);
            /* no interned token of it either */
            size_t ra = 0, rb = 0;
            assert_int_equal(avrr__match_index_tokens(idx, &ra),
                             avrr__match_index_tokens(ref, &rb));
            assert_int_equal(ra, rb);
            for (size_t p = 0; p < NREC; p++) {
                avrr_identity id;
                int64_t a[NREC + 1], b[NREC + 1];
                make(&id, &oom_pop[p]);
                size_t na = candidates_of(idx, &id, a, NREC + 1);
                size_t nb = candidates_of(ref, &id, b, NREC + 1);
                assert_int_equal(na, nb);
                assert_memory_equal(a, b, na * sizeof *a);
            }
            /* and it goes on: the record can be added now, and the rest,
             * with the candidates of an index that never failed */
            for (size_t i = added; i < NREC; i++) {
                avrr_identity id;
                make(&id, &oom_pop[i]);
                assert_int_equal(avrr_match_index_add(idx, (int64_t)i + 1, 1, "NL", &id),
                                 AVRR_OK);
                make(&id, &oom_pop[i]);
                assert_int_equal(avrr_match_index_add(ref, (int64_t)i + 1, 1, "NL", &id),
                                 AVRR_OK);
            }
            assert_int_equal(avrr__match_index_tokens(idx, &ra),
                             avrr__match_index_tokens(ref, &rb));
            assert_int_equal(ra, rb);
            for (size_t p = 0; p < NREC; p++) {
                /* and the bound (its records) rejects as the reference's */
                avrr_identity id;
                make(&id, &oom_pop[p]);
                avrr_match_hit *ha = NULL, *hb = NULL;
                size_t na = 0, nb = 0;
                assert_int_equal(avrr_match_index_query(idx, &id, 0.5, 0, &ha, &na), AVRR_OK);
                assert_int_equal(avrr_match_index_query(ref, &id, 0.5, 0, &hb, &nb), AVRR_OK);
                assert_int_equal(na, nb);
                for (size_t q = 0; q < na; q++)
                    assert_true(ha[q].identity_id == hb[q].identity_id &&
                                ha[q].explanation.probability == hb[q].explanation.probability);
                avrr_free(ha);
                avrr_free(hb);
            }
            for (size_t p = 0; p < NREC; p++) {
                avrr_identity id;
                int64_t a[NREC + 1], b[NREC + 1];
                make(&id, &oom_pop[p]);
                size_t na = candidates_of(idx, &id, a, NREC + 1);
                size_t nb = candidates_of(ref, &id, b, NREC + 1);
                assert_int_equal(na, nb);
                assert_memory_equal(a, b, na * sizeof *a);
            }
            avrr_match_index_free(ref);
        }
        avrr_match_index_free(idx);
        if (r == AVRR_OK)
            done[small] = true;
    }
    assert_true(done[0] && done[1]);
}

/* avrr__popcount64 (the bit-field sum where the CPU has no POPCNT) counts
 * as a loop over the bits does: edges, single bits, and xorshift values. */
static void test_popcount64(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 2000; i++) {
        uint64_t v = i < 64 ? 1ull << i : i < 128 ? ~(1ull << (i - 64)) : x;
        if (i == 128)
            v = 0;
        if (i == 129)
            v = ~0ull;
        unsigned n = 0;
        for (int b = 0; b < 64; b++)
            n += (unsigned)(v >> b & 1);
        assert_int_equal(avrr__popcount64(v), n);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_popcount64),
        cmocka_unit_test(test_normalize_ascii),
        cmocka_unit_test(test_normalize_scripts),
        cmocka_unit_test(test_compounds),
        cmocka_unit_test(test_keys_variants),
        cmocka_unit_test(test_jaro_winkler),
        cmocka_unit_test(test_strong_match_variants),
        cmocka_unit_test(test_namesakes_not_strong),
        cmocka_unit_test(test_date_levels),
        cmocka_unit_test(test_documents_ocr),
        cmocka_unit_test(test_names_order_free),
        cmocka_unit_test(test_name_slips_and_spellings),
        cmocka_unit_test(test_nicknames),
        cmocka_unit_test(test_block_rules_without_name_key),
        cmocka_unit_test(test_model_population),
        cmocka_unit_test(test_model_roundtrip),
        cmocka_unit_test(test_model_old_date_levels),
        cmocka_unit_test(test_patronymic_and_placeholder_namesakes),
        cmocka_unit_test(test_joint_name_and_date),
        cmocka_unit_test(test_model_joint_file),
        cmocka_unit_test(test_batch_dedup),
        cmocka_unit_test(test_batch_early_exit),
        cmocka_unit_test(test_batch_split),
        cmocka_unit_test(test_jw_bound),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_index_bound_exact),
        cmocka_unit_test(test_index_bound_records),
        cmocka_unit_test(test_index_blocks_as_link),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
