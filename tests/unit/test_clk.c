/* test_clk.c: keyed Bloom-filter encodings (avrr/clk.h). */
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

#include "avrr/clk.h"

static avrr_clk_key *key_n(uint8_t seed)
{
    uint8_t b[AVRR_CLK_KEY_BYTES];
    for (unsigned i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)(seed * 31 + i);
    avrr_clk_key *k = NULL;
    assert_int_equal(avrr_clk_key_from_bytes(b, sizeof b, &k), AVRR_OK);
    return k;
}

static void ident(avrr_identity *id, const char *given, const char *sur, const char *full,
                  const char *dob, avrr_sex sex)
{
    memset(id, 0, sizeof *id);
    id->given_names = (char *)given;
    id->surname = (char *)sur;
    id->full_name = (char *)full;
    id->sex = sex;
    if (dob)
        assert_int_equal(avrr_date_parse(dob, &id->birth_date, "birth_date", NULL), AVRR_OK);
}

static double dice_of(const avrr_clk_key *k, const avrr_identity *a, const avrr_identity *b)
{
    avrr_clk ca, cb;
    assert_int_equal(avrr_clk_encode(k, a, &ca), AVRR_OK);
    assert_int_equal(avrr_clk_encode(k, b, &cb), AVRR_OK);
    return avrr_clk_dice(&ca, &cb);
}

static void test_deterministic(void **state)
{
    (void)state;
    avrr_clk_key *k = key_n(1);
    avrr_identity id;
    avrr_clk a, b;
    ident(&id, "Youssef", "El Amrani", NULL, "1990-03-14", AVRR_SEX_MALE);
    assert_int_equal(avrr_clk_encode(k, &id, &a), AVRR_OK);
    assert_int_equal(avrr_clk_encode(k, &id, &b), AVRR_OK);
    assert_memory_equal(a.bits, b.bits, sizeof a.bits);
    assert_int_equal(a.popcount, b.popcount);
    assert_true(a.popcount > 100 && a.popcount < 700);
    assert_int_equal(a.n_blocks, b.n_blocks);
    assert_memory_equal(a.block, b.block, sizeof a.block);
    assert_true(a.n_blocks >= 3);
    assert_true(avrr_clk_dice(&a, &b) == 1.0);
    avrr_clk_key_free(k);
}

static void test_keys_unrelated(void **state)
{
    (void)state;
    avrr_clk_key *k1 = key_n(1), *k2 = key_n(2);
    avrr_identity id;
    avrr_clk a, b;
    ident(&id, "Youssef", "El Amrani", NULL, "1990-03-14", AVRR_SEX_MALE);
    assert_int_equal(avrr_clk_encode(k1, &id, &a), AVRR_OK);
    assert_int_equal(avrr_clk_encode(k2, &id, &b), AVRR_OK);
    /* same identity, other key: no more agreement than two random filters
     * of this density (expected about popcount/1024) */
    double d = avrr_clk_dice(&a, &b);
    assert_true(d < 0.55);
    assert_int_equal(avrr_clk_blocks_shared(&a, &b), 0);
    avrr_clk_key_free(k1);
    avrr_clk_key_free(k2);
}

static void test_variants_high_unrelated_low(void **state)
{
    (void)state;
    avrr_clk_key *k = key_n(3);
    avrr_identity a, b, c, ar;
    ident(&a, "Mohammed", "Haddad", NULL, "1988-06-02", AVRR_SEX_MALE);
    ident(&b, "Muhammad", "Haddad", NULL, "1988-06-02", AVRR_SEX_MALE);
    ident(&c, "Tesfamariam", "Gebrehiwet", NULL, "1975-11-23", AVRR_SEX_FEMALE);
    double same = dice_of(k, &a, &b), other = dice_of(k, &a, &c);
    assert_true(same >= 0.75);
    assert_true(other <= 0.45);
    /* swapped given and family names: order-free */
    ident(&b, "Haddad", "Mohammed", NULL, "1988-06-02", AVRR_SEX_MALE);
    assert_true(dice_of(k, &a, &b) >= 0.95);
    /* Arabic script against its Latin spelling: the transliteration keys
     * and the date carry it */
    ident(&a, NULL, NULL, "Mohammed Haddad", "1988-06-02", AVRR_SEX_MALE);
    ident(&ar, NULL, NULL, "\xd9\x85\xd8\xad\xd9\x85\xd8\xaf \xd8\xad\xd8\xaf\xd8\xa7\xd8\xaf",
          "1988-06-02", AVRR_SEX_MALE);
    double script = dice_of(k, &a, &ar);
    assert_true(script > other + 0.15);
    assert_true(script >= 0.6);
    avrr_clk_key_free(k);
}

static int collect(void *ctx, size_t i, double d)
{
    double *out = ctx;
    out[i] = d;
    return 0;
}

static int collect_pair(void *ctx, size_t q, size_t i, double d)
{
    double *out = ctx;
    out[q * 300 + i] = d;
    return 0;
}

static void test_bulk_equals_scalar(void **state)
{
    (void)state;
    enum { N = 300, Q = 20 };
    avrr_clk *c = calloc(N, sizeof *c);
    double *got = malloc(N * sizeof *got), *gotb = malloc((size_t)Q * N * sizeof *gotb);
    avrr_clk_array arr;
    uint64_t s = 12345;
    assert_int_equal(avrr_clk_array_init(&arr, 4), AVRR_OK);
    for (size_t i = 0; i < N; i++) {
        unsigned density = 5 + (unsigned)(i % 90); /* percent */
        for (int w = 0; w < AVRR_CLK_WORDS; w++)
            for (int b = 0; b < 64; b++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                if ((s >> 33) % 100 < density)
                    c[i].bits[w] |= 1ull << b;
            }
        if (i % 50 == 7)
            memset(c[i].bits, 0, sizeof c[i].bits); /* empty filters too */
        unsigned p = 0;
        for (int w = 0; w < AVRR_CLK_WORDS; w++)
            p += (unsigned)__builtin_popcountll(c[i].bits[w]);
        c[i].popcount = (uint16_t)p;
        assert_int_equal(avrr_clk_array_push(&arr, &c[i]), AVRR_OK);
    }
    const double ts[] = {0.0, 0.3, 0.5, 0.8, 1.0};
    for (size_t ti = 0; ti < sizeof ts / sizeof *ts; ti++)
        for (size_t q = 0; q < N; q += 13) {
            for (size_t i = 0; i < N; i++)
                got[i] = -1;
            assert_int_equal(avrr_clk_dice_many(&c[q], arr.bits, arr.pop, N, ts[ti], collect, got),
                             AVRR_OK);
            for (size_t i = 0; i < N; i++) {
                double d = avrr_clk_dice(&c[q], &c[i]);
                if (d >= ts[ti])
                    assert_true(got[i] == d);
                else
                    assert_true(got[i] == -1);
            }
        }
    for (size_t i = 0; i < (size_t)Q * N; i++)
        gotb[i] = -1;
    assert_int_equal(avrr_clk_dice_batch(c, Q, arr.bits, arr.pop, N, 0.4, collect_pair, gotb),
                     AVRR_OK);
    for (size_t q = 0; q < Q; q++)
        for (size_t i = 0; i < N; i++) {
            double d = avrr_clk_dice(&c[q], &c[i]);
            assert_true(d >= 0.4 ? gotb[q * N + i] == d : gotb[q * N + i] == -1);
        }
    avrr_clk_array_free(&arr);
    free(c);
    free(got);
    free(gotb);
}

static int stop_first(void *ctx, size_t i, double d)
{
    (void)d;
    *(size_t *)ctx = i;
    return 1;
}

static void test_bulk_stop(void **state)
{
    (void)state;
    avrr_clk_key *k = key_n(4);
    avrr_identity id;
    avrr_clk c;
    avrr_clk_array arr;
    ident(&id, "Amina", "Benali", NULL, "1999-01-05", AVRR_SEX_FEMALE);
    assert_int_equal(avrr_clk_encode(k, &id, &c), AVRR_OK);
    assert_int_equal(avrr_clk_array_init(&arr, 0), AVRR_OK);
    for (int i = 0; i < 40; i++)
        assert_int_equal(avrr_clk_array_push(&arr, &c), AVRR_OK);
    size_t at = 99;
    assert_int_equal(avrr_clk_dice_many(&c, arr.bits, arr.pop, arr.n, 0.9, stop_first, &at),
                     AVRR_ELIMIT);
    assert_int_equal(at, 0);
    avrr_clk_array_free(&arr);
    avrr_clk_key_free(k);
}

static void test_key_files(void **state)
{
    (void)state;
    char path[] = "/tmp/avrr-clk-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    avrr_clk_key *k = NULL, *k2 = NULL;
    avrr_error e;
    assert_int_equal(avrr_clk_key_create(path, &k, &e), AVRR_OK);
    assert_int_equal(avrr_clk_key_create(path, NULL, &e), AVRR_EEXISTS);
    assert_int_equal(avrr_clk_key_load(path, &k2, &e), AVRR_OK);
    avrr_identity id;
    avrr_clk a, b;
    ident(&id, "Bilal", "Cherif", NULL, "1985", AVRR_SEX_MALE);
    assert_int_equal(avrr_clk_encode(k, &id, &a), AVRR_OK);
    assert_int_equal(avrr_clk_encode(k2, &id, &b), AVRR_OK);
    assert_memory_equal(a.bits, b.bits, sizeof a.bits);
    avrr_clk_key_free(k2);
    k2 = NULL;
    /* group- or world-readable: refused */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(avrr_clk_key_load(path, &k2, &e), AVRR_EINVALID);
    assert_null(k2);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(avrr_clk_key_load(path, &k2, &e), AVRR_EINVALID);
    /* a symbolic link: refused */
    char link[64];
    snprintf(link, sizeof link, "%s.lnk", path);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(avrr_clk_key_load(link, &k2, &e), AVRR_EINVALID);
    unlink(link);
    /* not a key */
    FILE *f = fopen(path, "w");
    fputs("not a key\n", f);
    fclose(f);
    assert_int_equal(avrr_clk_key_load(path, &k2, &e), AVRR_EINVALID);
    unlink(path);
    assert_int_equal(avrr_clk_key_load(path, &k2, &e), AVRR_EIO);
    /* short raw keys */
    uint8_t raw[16] = {0};
    assert_int_equal(avrr_clk_key_from_bytes(raw, sizeof raw, &k2), AVRR_EINVALID);
    avrr_clk_key_free(k);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    for (long n = 1; n < 50; n++) {
        avrr_clk_key *k = NULL;
        avrr_clk_array arr = {0};
        avrr_clk c;
        avrr_identity id;
        ident(&id, "Zineb", "Alaoui", NULL, "1993-02-28", AVRR_SEX_FEMALE);
        avrr_alloc_fail_after(n);
        uint8_t b[AVRR_CLK_KEY_BYTES] = {7};
        avrr_err r = avrr_clk_key_from_bytes(b, sizeof b, &k);
        if (r == AVRR_OK)
            r = avrr_clk_encode(k, &id, &c);
        if (r == AVRR_OK)
            r = avrr_clk_array_init(&arr, 1);
        for (int i = 0; r == AVRR_OK && i < 40; i++)
            r = avrr_clk_array_push(&arr, &c);
        avrr_alloc_fail_after(0);
        assert_true(r == AVRR_OK || r == AVRR_ENOMEM);
        avrr_clk_array_free(&arr);
        avrr_clk_key_free(k);
        if (r == AVRR_OK)
            return;
    }
    fail_msg("never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_keys_unrelated),
        cmocka_unit_test(test_variants_high_unrelated_low),
        cmocka_unit_test(test_bulk_equals_scalar),
        cmocka_unit_test(test_bulk_stop),
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
