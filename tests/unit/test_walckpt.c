/* test_walckpt.c: SQLite checkpoints on a thread of their own
 * (avrr_service_background_checkpoints, src/service/walckpt.c): the
 * registry's connection no longer checkpoints inside commits, the thread
 * keeps the write-ahead log from growing (also when writes never pause),
 * and what was committed is in the registry after a reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "avrr/service.h"
#include "service/service_int.h"

static long autocheckpoint_of(avrr_service *svc)
{
    sqlite3 *db = avrr__sqlite_db(svc->store);
    sqlite3_stmt *st = NULL;
    assert_non_null(db);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA wal_autocheckpoint", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long v = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* A new registry in a folder of its own, with tenant NL and its caseworker. */
typedef struct scratch {
    char dir[32], db[128], wal[140];
} scratch;

static avrr_service *scratch_open(scratch *sc, avrr_actor *a)
{
    avrr_service *svc = NULL;
    avrr_error e;
    snprintf(sc->dir, sizeof sc->dir, "/tmp/avrr-walckpt-XXXXXX");
    assert_non_null(mkdtemp(sc->dir));
    snprintf(sc->db, sizeof sc->db, "%s/registry.db", sc->dir);
    snprintf(sc->wal, sizeof sc->wal, "%s-wal", sc->db);
    assert_int_equal(avrr_service_open(sc->db, true, &svc, &e), AVRR_OK);
    assert_int_equal(avrr_service_tenant_add(svc, "NL", "Netherlands", &e), AVRR_OK);
    assert_int_equal(avrr_service_local_actor(svc, "NL", AVRR_ROLE_CASEWORKER, a, &e), AVRR_OK);
    return svc;
}

static void scratch_remove(scratch *sc)
{
    char shm[140];
    snprintf(shm, sizeof shm, "%s-shm", sc->db);
    unlink(sc->wal);
    unlink(shm);
    unlink(sc->db);
    rmdir(sc->dir);
}

enum { ROUNDS = 30, PER_ROUND = 100 };

/* Registers ROUNDS x PER_ROUND persons, a round at a time, pausing between
 * rounds; returns the largest size the log reached. */
static long register_rounds(avrr_service *svc, const avrr_actor *a, const char *wal)
{
    static char names[PER_ROUND][32];
    long largest = 0;
    for (int r = 0; r < ROUNDS; r++) {
        avrr_person ps[PER_ROUND];
        avrr_identity ids[PER_ROUND];
        avrr_err rc[PER_ROUND];
        avrr_error re[PER_ROUND], e;
        memset(ps, 0, sizeof ps);
        memset(ids, 0, sizeof ids);
        for (int i = 0; i < PER_ROUND; i++) {
            snprintf(names[i], sizeof names[i], "Person%05d", r * PER_ROUND + i);
            ids[i].given_names = names[i];
            ids[i].surname = "Amrani";
            ps[i].identities = &ids[i];
            ps[i].n_identities = 1;
        }
        assert_int_equal(avrr_service_person_register_many(svc, a, ps, PER_ROUND, rc, re, &e),
                         AVRR_OK);
        for (int i = 0; i < PER_ROUND; i++)
            assert_int_equal(rc[i], AVRR_OK);
        long w = file_size(wal);
        largest = w > largest ? w : largest;
        /* let the thread run twice more (however busy the machine): then a
         * checkpoint began after this round's commit and copied it all */
        unsigned long runs = avrr_service_checkpoint_runs(svc);
        for (int t = 0; t < 1000 && avrr_service_checkpoint_runs(svc) < runs + 2; t++)
            nap_ms(10);
        assert_true(avrr_service_checkpoint_runs(svc) >= runs + 2);
    }
    return largest;
}

static void test_background_checkpoints(void **state)
{
    (void)state;
    scratch sc;
    avrr_error e;
    avrr_actor a;
    avrr_service *svc = scratch_open(&sc, &a);
    const char *db = sc.db, *wal = sc.wal;
    assert_int_equal(avrr_service_background_checkpoints(svc, 0, &e), AVRR_EINVALID);
    assert_int_not_equal(autocheckpoint_of(svc), 0); /* SQLite's default: in commits */
    assert_int_equal(avrr_service_checkpoint_runs(svc), 0);

    assert_int_equal(avrr_service_background_checkpoints(svc, 20, &e), AVRR_OK);
    assert_int_equal(avrr_service_background_checkpoints(svc, 20, &e), AVRR_OK); /* once */
    assert_int_equal(autocheckpoint_of(svc), 0); /* commits no longer checkpoint */
    long largest = register_rounds(svc, &a, wal);
    nap_ms(100);
    assert_true(avrr_service_checkpoint_runs(svc) > 0);
    /* The thread copied the log into the database while the rounds went
     * on, so the log started again from its beginning: it never held much
     * more than a round or two of writes, against the whole registry
     * without a checkpoint. */
    long dbsize = file_size(db);
    assert_true(dbsize > 0);
    if (largest * 2 >= dbsize)
        fail_msg("log reached %ld bytes, database %ld", largest, dbsize);
    int64_t n = 0;
    assert_int_equal(avrr_service_count(svc, "persons", &n, &e), AVRR_OK);
    assert_int_equal(n, ROUNDS * PER_ROUND);
    avrr_service_close(svc);

    /* reopened: everything committed is there, and the new connection
     * checkpoints in its commits again until asked otherwise */
    assert_int_equal(avrr_service_open(db, false, &svc, &e), AVRR_OK);
    assert_int_equal(avrr_service_count(svc, "persons", &n, &e), AVRR_OK);
    assert_int_equal(n, ROUNDS * PER_ROUND);
    assert_int_not_equal(autocheckpoint_of(svc), 0);
    avrr_service_close(svc);
    scratch_remove(&sc);
}

enum { STREAM = 2000, STREAM_FRAMES = 64 };

/* What the registry's connection wrote into its log, commit by commit (a WAL
 * hook: SQLite gives the frames in the log after each commit). */
typedef struct wal_seen {
    long total;   /* frames written */
    long largest; /* the longest the log was */
    long last;
    int restarts; /* commits that started the log again */
} wal_seen;

static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    wal_seen *w = arg;
    if (frames < w->last) {
        w->restarts++;
        w->total += frames;
    } else {
        w->total += frames - w->last;
    }
    w->last = frames;
    w->largest = frames > w->largest ? frames : w->largest;
    return SQLITE_OK;
}

/* Writes that never wait for the thread: a PASSIVE checkpoint alone never
 * copied the whole log (the next commits came while it waited for its
 * fsyncs), so the log never started again from its beginning and grew with
 * every commit. The thread now copies the rest under the store lock once the
 * log holds ckpt_restart_frames frames, and the log starts again. */
static void test_log_restarts_under_steady_writes(void **state)
{
    (void)state;
    scratch sc;
    avrr_error e;
    avrr_actor a;
    avrr_service *svc = scratch_open(&sc, &a);
    const char *db = sc.db;
    wal_seen seen = {0};
    svc->ckpt_restart_frames = STREAM_FRAMES; /* 256 KiB instead of 32 MiB */
    assert_int_equal(avrr_service_background_checkpoints(svc, 2, &e), AVRR_OK);
    /* after it: starting the thread turned SQLite's own hook off */
    sqlite3_wal_hook(avrr__sqlite_db(svc->store), on_commit, &seen);
    for (int i = 0; i < STREAM; i++) {
        char name[32];
        snprintf(name, sizeof name, "Stream%05d", i);
        avrr_identity id = {.given_names = name, .surname = "Haddad"};
        avrr_person p = {.identities = &id, .n_identities = 1};
        assert_int_equal(avrr_service_person_register(svc, &a, &p, &e), AVRR_OK);
        /* a pause outside the store lock, as a server has between the
         * writes of its requests (far shorter than a checkpoint's fsyncs) */
        struct timespec t = {0, 200000L};
        nanosleep(&t, NULL);
    }
    /* Without the catch-up no commit started the log again and it held
     * every frame written (about 12,000 here). Now it starts again each
     * time the thread has caught up: a few times at least, however slow
     * the fsyncs, and it never holds more than a part of the writes. */
    if (svc->ckpt_restarts < 2 || seen.restarts < 2 || seen.largest * 4 > seen.total)
        fail_msg("%lu catch-ups, %d restarts; log of %ld frames at most, %ld written",
                 (unsigned long)svc->ckpt_restarts, seen.restarts, seen.largest, seen.total);
    int64_t n = 0;
    assert_int_equal(avrr_service_count(svc, "persons", &n, &e), AVRR_OK);
    assert_int_equal(n, STREAM);
    avrr_service_close(svc);
    assert_int_equal(avrr_service_open(db, false, &svc, &e), AVRR_OK);
    assert_int_equal(avrr_service_count(svc, "persons", &n, &e), AVRR_OK);
    assert_int_equal(n, STREAM);
    avrr_service_close(svc);
    scratch_remove(&sc);
}

int main(void)
{
    unsetenv("AVRR_DATA_KEY");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_background_checkpoints),
        cmocka_unit_test(test_log_restarts_under_steady_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
