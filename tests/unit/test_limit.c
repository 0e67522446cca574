/* test_limit.c: the server's token buckets (src/server/limit.c) on a clock
 * the test sets: burst, refill, Retry-After, peek, keys of addresses, and a
 * flood of distinct clients that the fixed table absorbs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "server/limit.h"

static void test_burst_then_refill(void **state)
{
    (void)state;
    avrr__limiter *l = NULL;
    uint8_t k[AVRR__LIMIT_KEY], other[AVRR__LIMIT_KEY];
    unsigned wait = 0;
    /* 2 a second, bursts of 3. */
    assert_int_equal(avrr__limiter_new(2.0, 3.0, &l), AVRR_OK);
    avrr__limit_key_id(7, k);
    avrr__limit_key_id(8, other);
    double t = 100.0;
    for (int i = 0; i < 3; i++)
        assert_true(avrr__limiter_take(l, k, t, &wait));
    assert_false(avrr__limiter_take(l, k, t, &wait));
    assert_int_equal(wait, 1); /* half a second, rounded up */
    assert_false(avrr__limiter_peek(l, k, t + 0.4, NULL));
    assert_true(avrr__limiter_peek(l, k, t + 0.5, NULL));
    /* peek took nothing. */
    assert_true(avrr__limiter_peek(l, k, t + 0.5, NULL));
    assert_true(avrr__limiter_take(l, k, t + 0.5, NULL));
    assert_false(avrr__limiter_take(l, k, t + 0.5, NULL));
    /* Another key has its own bucket. */
    assert_true(avrr__limiter_take(l, other, t + 0.5, NULL));
    /* A long pause refills to the burst, not beyond. */
    for (int i = 0; i < 3; i++)
        assert_true(avrr__limiter_take(l, k, t + 1000.0, NULL));
    assert_false(avrr__limiter_take(l, k, t + 1000.0, NULL));
    avrr__limiter_free(l);
}

static void test_slow_rate_retry_after(void **state)
{
    (void)state;
    avrr__limiter *l = NULL;
    uint8_t k[AVRR__LIMIT_KEY];
    unsigned wait = 0;
    /* The failed-authentication shape: 20 a minute. */
    assert_int_equal(avrr__limiter_new(20.0 / 60.0, 20.0, &l), AVRR_OK);
    avrr__limit_key_id(1, k);
    for (int i = 0; i < 20; i++)
        assert_true(avrr__limiter_take(l, k, 10.0, NULL));
    assert_false(avrr__limiter_peek(l, k, 10.0, &wait));
    assert_int_equal(wait, 3);
    avrr__limiter_free(l);
}

static void test_address_keys(void **state)
{
    (void)state;
    uint8_t a[AVRR__LIMIT_KEY], b[AVRR__LIMIT_KEY];
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr);
    assert_true(avrr__limit_key_addr((struct sockaddr *)&v4, a));
    /* The same IPv4 address seen through an IPv6 socket. */
    inet_pton(AF_INET6, "::ffff:192.0.2.7", &v6.sin6_addr);
    assert_true(avrr__limit_key_addr((struct sockaddr *)&v6, b));
    assert_memory_equal(a, b, AVRR__LIMIT_KEY);
    /* Two addresses of one /64 are one client; another /64 is another. */
    inet_pton(AF_INET6, "2001:db8:1:2::1", &v6.sin6_addr);
    assert_true(avrr__limit_key_addr((struct sockaddr *)&v6, a));
    inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &v6.sin6_addr);
    assert_true(avrr__limit_key_addr((struct sockaddr *)&v6, b));
    assert_memory_equal(a, b, AVRR__LIMIT_KEY);
    inet_pton(AF_INET6, "2001:db8:1:3::1", &v6.sin6_addr);
    assert_true(avrr__limit_key_addr((struct sockaddr *)&v6, b));
    assert_memory_not_equal(a, b, AVRR__LIMIT_KEY);
    /* An API key id never equals an address. */
    memset(&v4.sin_addr, 0, sizeof v4.sin_addr);
    assert_true(avrr__limit_key_addr((struct sockaddr *)&v4, a));
    avrr__limit_key_id(0, b);
    assert_memory_not_equal(a, b, AVRR__LIMIT_KEY);
    struct sockaddr other = {.sa_family = AF_UNIX};
    assert_false(avrr__limit_key_addr(&other, a));
    assert_false(avrr__limit_key_addr(NULL, a));
}

/* A million distinct clients, none idle, pass through the fixed table, which
 * evicts the least recently seen; the latest client is still known, with
 * its bucket drained. */
static void test_flood_of_clients(void **state)
{
    (void)state;
    avrr__limiter *l = NULL;
    uint8_t k[AVRR__LIMIT_KEY];
    assert_int_equal(avrr__limiter_new(1.0, 1.0, &l), AVRR_OK);
    double t = 1.0;
    for (int64_t i = 1; i <= 1000000; i++) {
        avrr__limit_key_id(i, k);
        assert_true(avrr__limiter_take(l, k, t, NULL));
        t += 1e-7;
    }
    /* The latest client is still known and still drained. */
    assert_false(avrr__limiter_take(l, k, t, NULL));
    avrr__limiter_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_slow_rate_retry_after),
        cmocka_unit_test(test_address_keys),
        cmocka_unit_test(test_flood_of_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
