/* walckpt.c: the SQLite write-ahead log checkpointed on a thread of its
 * own (avrr_service_background_checkpoints).
 *
 * By default SQLite checkpoints inside the commit that takes the log past
 * 1,000 pages: that request then copies the pages into the database file
 * and waits for two fsyncs (measured at 1M: the commit of one check in a
 * hundred took 10-40 ms instead of 0.2 ms, the largest part of the p99 of a
 * check). Here the registry's connection never checkpoints; a thread with a
 * connection of its own runs a PASSIVE checkpoint every interval (it copies
 * what no reader still needs and never blocks writers or readers), and the
 * next writer starts the log again from its beginning once all of it is
 * copied.
 *
 * Durability is what synchronous=NORMAL in WAL mode gives either way: a
 * committed transaction survives a crash of the process at once (it is in
 * the log), and a power loss may lose the transactions the log had not yet
 * synced: those since the last checkpoint, now at most one interval (plus
 * the checkpoint's own time) instead of up to 1,000 pages of writes. */
#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "service/service_int.h"

static void *run(void *arg)
{
    avrr_service *svc = arg;
    pthread_mutex_lock(&svc->ckpt_mu);
    while (!svc->ckpt_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(svc->ckpt_interval_ms % 1000) * 1000000L;
        until.tv_sec += (time_t)(svc->ckpt_interval_ms / 1000) + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        int rc = 0;
        while (!svc->ckpt_stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&svc->ckpt_cv, &svc->ckpt_mu, &until);
        if (svc->ckpt_stop)
            break;
        pthread_mutex_unlock(&svc->ckpt_mu);
        int log = 0, done = 0;
        if (sqlite3_wal_checkpoint_v2(svc->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
                                      &done) == SQLITE_OK)
            svc->ckpt_runs++;
        pthread_mutex_lock(&svc->ckpt_mu);
    }
    pthread_mutex_unlock(&svc->ckpt_mu);
    return NULL;
}

avrr_err avrr_service_background_checkpoints(avrr_service *svc, unsigned interval_ms,
                                             avrr_error *e)
{
    if (interval_ms == 0 || interval_ms > 60000)
        return avrr_error_set(e, AVRR_EINVALID, "interval", "1 to 60,000 ms");
    sqlite3 *db = avrr__sqlite_db(svc->store);
    if (!db || svc->ckpt_db)
        return AVRR_OK; /* PostgreSQL checkpoints by itself; already running */
    const char *path = sqlite3_db_filename(db, "main");
    if (!path || !path[0])
        return AVRR_OK; /* in memory: no log */
    sqlite3 *ck = NULL;
    int rc = sqlite3_open_v2(path, &ck, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        avrr_err r = avrr_error_set(e, AVRR_EDB, "database", "checkpoint connection: %s",
                                    ck ? sqlite3_errmsg(ck) : "out of memory");
        sqlite3_close(ck);
        return r;
    }
    sqlite3_busy_timeout(ck, 1000);
    /* a connection learns that the file is in WAL mode when it first reads
     * it; until then a checkpoint does nothing */
    sqlite3_exec(ck, "PRAGMA journal_mode", NULL, NULL, NULL);
    svc->ckpt_db = ck;
    svc->ckpt_interval_ms = interval_ms;
    svc->ckpt_stop = false;
    svc->ckpt_runs = 0;
    pthread_mutex_init(&svc->ckpt_mu, NULL);
    pthread_cond_init(&svc->ckpt_cv, NULL);
    if (pthread_create(&svc->ckpt_thread, NULL, run, svc) != 0) {
        pthread_cond_destroy(&svc->ckpt_cv);
        pthread_mutex_destroy(&svc->ckpt_mu);
        sqlite3_close(ck);
        svc->ckpt_db = NULL;
        return avrr_error_set(e, AVRR_EINTERNAL, NULL, "cannot start the checkpoint thread");
    }
    /* from now on, commits on the registry's connection do not checkpoint */
    lock(svc);
    sqlite3_wal_autocheckpoint(db, 0);
    unlock(svc);
    return AVRR_OK;
}

void avrr__walckpt_stop(avrr_service *svc)
{
    if (!svc->ckpt_db)
        return;
    pthread_mutex_lock(&svc->ckpt_mu);
    svc->ckpt_stop = true;
    pthread_cond_signal(&svc->ckpt_cv);
    pthread_mutex_unlock(&svc->ckpt_mu);
    pthread_join(svc->ckpt_thread, NULL);
    pthread_cond_destroy(&svc->ckpt_cv);
    pthread_mutex_destroy(&svc->ckpt_mu);
    sqlite3_close(svc->ckpt_db);
    svc->ckpt_db = NULL;
    /* the registry's connection checkpoints as usual again (and at close) */
    sqlite3 *db = avrr__sqlite_db(svc->store);
    if (db) {
        lock(svc);
        sqlite3_wal_autocheckpoint(db, 1000);
        unlock(svc);
    }
}

unsigned long avrr_service_checkpoint_runs(avrr_service *svc)
{
    return svc->ckpt_db ? svc->ckpt_runs : 0;
}
