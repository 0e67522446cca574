/* walckpt.c: the SQLite write-ahead log checkpointed on a thread of its
 * own (avrr_service_background_checkpoints).
 *
 * By default SQLite checkpoints inside the commit that takes the log past
 * 1,000 pages: that request then copies the pages into the database file
 * and waits for two fsyncs (measured at 1M: the commit of one check in a
 * hundred took 10-40 ms instead of 0.2 ms, the largest part of the p99 of a
 * check). Here the registry's connection never checkpoints; a thread with a
 * connection of its own runs a PASSIVE checkpoint every interval (it copies
 * what no reader still needs and never blocks writers or readers).
 *
 * The log starts again from its beginning only when a writer begins while
 * every frame of it is in the database. Under a steady stream of writes
 * (checks are writes) a PASSIVE checkpoint never gets there: it copies the
 * frames that were there when it began, and while it waits for its fsyncs
 * the next commits append more. The log then grew without end (230 MB for
 * 4,000 checks at 1M), every commit appended to a growing file (new blocks,
 * new zeroed pages, and waits on the inode and its pages while the
 * checkpoint synced the same file: the commits of the slowest checks took
 * 1.5 ms of wall time for 0.2 ms of CPU). So once the log holds
 * WALCKPT_RESTART_FRAMES frames, the thread catches up under the store lock
 * (no writer of this service between): after a few unlocked rounds that
 * each copy what came during the one before, one more PASSIVE checkpoint
 * copies the few frames written since, and the next writer starts the log
 * again from its beginning (and syncs its header, as SQLite always does
 * then), writing over blocks the file already has. The store lock is held
 * for that last copy and its fsyncs (a few ms), once per
 * WALCKPT_RESTART_FRAMES frames of writes.
 *
 * Durability is what synchronous=NORMAL in WAL mode gives either way: a
 * committed transaction survives a crash of the process at once (it is in
 * the log), and a power loss may lose the transactions the log had not yet
 * synced: every checkpoint syncs the log first, so those of at most one
 * interval (plus the checkpoint's own time) instead of up to 1,000 pages of
 * writes. */
#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "service/service_int.h"

/* A log of this many frames (4 KiB pages: 32 MiB) is started again from its
 * beginning even when writes never pause. Each time costs the writers of the
 * service one wait of a few ms (the last copy and its fsyncs, then the log
 * header's sync in the next commit), so it should come seldom: at 1M a check
 * writes about 14 frames, so once in about 600 checks, well outside the p99.
 * A larger log costs only disk space (and the page cache it occupies). */
#define WALCKPT_RESTART_FRAMES 8192

/* Unlocked rounds at most before the locked one, and the frames a round
 * may leave to it (1 MiB: a copy into the page cache well under a ms, then
 * the two fsyncs). */
#define WALCKPT_CATCHUP_ROUNDS 4
#define WALCKPT_LOCKED_FRAMES 256

static bool passive(avrr_service *svc, int *log, int *done)
{
    *log = *done = 0;
    if (sqlite3_wal_checkpoint_v2(svc->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, log, done) !=
        SQLITE_OK)
        return false;
    svc->ckpt_runs++;
    return true;
}

static void checkpoint(avrr_service *svc)
{
    int log = 0, done = 0;
    /* `done == log` says only that the frames there when it began are
     * copied: the commits during its fsyncs are not */
    if (!passive(svc, &log, &done) || log < (int)svc->ckpt_restart_frames)
        return;
    /* The log is long. Each further round copies what came during the one
     * before (log grows by that much), and fewer frames take less time, so
     * the rounds shrink until the rest is small: what the locked round
     * copies and syncs while the writers wait. */
    for (int i = 0; i < WALCKPT_CATCHUP_ROUNDS; i++) {
        int before = log;
        if (!passive(svc, &log, &done))
            return;
        if (log - before <= WALCKPT_LOCKED_FRAMES)
            break;
    }
    /* the rest with no writer of this service in between, so that the next
     * writer starts the log again */
    lock(svc);
    if (passive(svc, &log, &done) && log > 0 && done == log)
        svc->ckpt_restarts++;
    unlock(svc);
}

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
        checkpoint(svc);
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
    svc->ckpt_restarts = 0;
    if (svc->ckpt_restart_frames == 0)
        svc->ckpt_restart_frames = WALCKPT_RESTART_FRAMES;
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
