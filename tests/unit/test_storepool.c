/* test_storepool.c: the store pool (avrr_service_store_pool, pool.c)
 * through the service API. On PostgreSQL a check runs on a pooled
 * connection: it completes while another thread holds the service's store
 * lock (which every check held before), and a pooled connection that the
 * server dropped is opened again by the next check. On SQLite the pool is
 * never opened and checks run as before. Run on PostgreSQL when
 * AVRR_TEST_BACKEND=postgresql (AVRR_TEST_PG_URI names the cluster; exit
 * 77 without it). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "avrr/service.h"
#include "service/service_int.h"

static const char *pg_uri; /* the cluster, when on PostgreSQL */

/* Runs one statement on a side connection to uri. */
static void pg_exec(const char *uri, const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to %s: %s", uri, PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* base with its database name replaced by db (scheme://auth/db?params). */
static void uri_with_db(const char *base, const char *db, char *out, size_t cap)
{
    const char *auth = strstr(base, "://");
    assert_non_null(auth);
    auth += 3;
    const char *query = strchr(auth, '?'), *path = strchr(auth, '/');
    if (!path || (query && path > query))
        path = query ? query : base + strlen(base);
    assert_true(snprintf(out, cap, "%.*s/%s%s", (int)(path - base), base, db,
                         query ? query : "") < (int)cap);
}

/* A new registry with tenants NL and BE, NL's person Tesfay Gebremariam,
 * the index loaded and a pool of 2; a as BE's caseworker. */
typedef struct registry {
    char dir[40], db[64], uri[600];
    avrr_service *svc;
    avrr_actor be;
} registry;

static void registry_open(registry *r)
{
    avrr_error e;
    snprintf(r->dir, sizeof r->dir, "/tmp/avrr-storepool-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    if (pg_uri) {
        char sql[128];
        snprintf(r->db, sizeof r->db, "avrr_sp_%ld_%u", (long)getpid(), (unsigned)rand());
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", r->db);
        pg_exec(pg_uri, sql);
        uri_with_db(pg_uri, r->db, r->uri, sizeof r->uri);
    } else {
        snprintf(r->uri, sizeof r->uri, "%s/registry.db", r->dir);
    }
    assert_int_equal(avrr_service_open(r->uri, true, &r->svc, &e), AVRR_OK);
    assert_int_equal(avrr_service_tenant_add(r->svc, "NL", "Netherlands", &e), AVRR_OK);
    assert_int_equal(avrr_service_tenant_add(r->svc, "BE", "Belgium", &e), AVRR_OK);
    avrr_actor nl;
    assert_int_equal(avrr_service_local_actor(r->svc, "NL", AVRR_ROLE_CASEWORKER, &nl, &e),
                     AVRR_OK);
    assert_int_equal(avrr_service_local_actor(r->svc, "BE", AVRR_ROLE_CASEWORKER, &r->be, &e),
                     AVRR_OK);
    avrr_identity id = {.given_names = "Tesfay", .surname = "Gebremariam"};
    avrr_person p = {.identities = &id, .n_identities = 1};
    assert_int_equal(avrr_service_person_register(r->svc, &nl, &p, &e), AVRR_OK);
    assert_int_equal(avrr_service_index_load(r->svc, &e), AVRR_OK);
    assert_int_equal(avrr_service_store_pool(r->svc, 2, &e), AVRR_OK);
}

static void registry_close(registry *r)
{
    avrr_service_close(r->svc);
    if (pg_uri) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", r->db);
        pg_exec(pg_uri, sql);
    } else {
        char path[128];
        static const char *const sfx[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/registry.db%s", r->dir, sfx[i]);
            unlink(path);
        }
    }
    rmdir(r->dir);
}

typedef struct check_job {
    registry *r;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    avrr_err rc;
    int64_t check_id;
} check_job;

static avrr_err one_check(registry *r, int64_t *check_id)
{
    avrr_identity id = {.given_names = "Tesfay", .surname = "Gebremariam"};
    avrr_check_request req = {.purpose = AVRR_PURPOSE_ASSISTANCE_DECISION,
                              .identities = &id, .n_identities = 1, .request_json = "{}"};
    avrr_check_result res;
    avrr_error e;
    avrr_err rc = avrr_service_check(r->svc, &r->be, &req, &res, &e);
    if (rc != AVRR_OK)
        fprintf(stderr, "test_storepool: check: %s: %s\n", avrr_strerror(rc), e.message);
    if (check_id)
        *check_id = rc == AVRR_OK ? res.check_id : 0;
    if (rc == AVRR_OK)
        assert_int_equal(res.n_hits, 1);
    avrr_check_result_clear(&res);
    return rc;
}

static void *run_check(void *arg)
{
    check_job *j = arg;
    int64_t id = 0;
    avrr_err rc = one_check(j->r, &id);
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->check_id = id;
    j->done = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* While this thread holds the store lock, a check on another thread
 * completes on PostgreSQL (its transaction needs only a pooled
 * connection); without the pool it would wait for the lock (on SQLite it
 * does, until the lock is released). */
static void test_check_runs_beside_the_store_lock(void **state)
{
    (void)state;
    registry r;
    registry_open(&r);
    avrr_store_pool_stats st;
    avrr_service_store_pool_stats(r.svc, &st);
    assert_int_equal(st.size, pg_uri ? 2 : 0);

    check_job j = {.r = &r};
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.cv, NULL);
    lock(r.svc);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_check, &j), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += pg_uri ? 30 : 1;
    pthread_mutex_lock(&j.mu);
    while (!j.done && pthread_cond_timedwait(&j.cv, &j.mu, &until) != ETIMEDOUT)
        ;
    bool done_under_lock = j.done;
    pthread_mutex_unlock(&j.mu);
    unlock(r.svc);
    pthread_join(t, NULL);
    assert_true(done_under_lock == (pg_uri != NULL));
    assert_int_equal(j.rc, AVRR_OK);
    assert_true(j.check_id > 0);
    pthread_cond_destroy(&j.cv);
    pthread_mutex_destroy(&j.mu);

    avrr_service_store_pool_stats(r.svc, &st);
    assert_int_equal(st.takes, pg_uri ? 1 : 0);
    int64_t n = 0;
    assert_int_equal(avrr_service_count(r.svc, "checks", &n, NULL), AVRR_OK);
    assert_int_equal(n, 1);
    registry_close(&r);
}

/* The server ends every connection of the registry (as a restart or an
 * operator would): the checks that find their pooled connection gone fail,
 * and the next takers open it again. */
static void test_lost_pooled_connections_are_opened_again(void **state)
{
    (void)state;
    if (!pg_uri)
        skip();
    registry r;
    registry_open(&r);
    int64_t id = 0;
    assert_int_equal(one_check(&r, &id), AVRR_OK); /* both connections used */
    assert_int_equal(one_check(&r, &id), AVRR_OK);
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' "
             "AND pid <> pg_backend_pid()",
             r.db);
    pg_exec(pg_uri, sql);
    int failed = 0, ok_after = 0;
    for (int i = 0; i < 8; i++) {
        avrr_err rc = one_check(&r, &id);
        if (rc == AVRR_OK)
            ok_after++;
        else
            failed++, ok_after = 0;
    }
    assert_true(failed >= 1 && failed <= 2); /* one a lost connection at most */
    assert_true(ok_after >= 6);
    avrr_store_pool_stats st;
    avrr_service_store_pool_stats(r.svc, &st);
    assert_int_equal(st.reopens, (unsigned long)failed);
    registry_close(&r);
}

int main(void)
{
    const char *backend = getenv("AVRR_TEST_BACKEND");
    if (backend && strcmp(backend, "postgresql") == 0) {
        pg_uri = getenv("AVRR_TEST_PG_URI");
        if (!pg_uri || !pg_uri[0]) {
            fprintf(stderr, "test_storepool: AVRR_TEST_PG_URI is not set: skipping the "
                            "PostgreSQL run\n");
            return 77;
        }
        srand((unsigned)getpid());
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_runs_beside_the_store_lock),
        cmocka_unit_test(test_lost_pooled_connections_are_opened_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
