/* cmd_import.c: `avrr import` and `avrr export`.
 *
 * import reads persons from a CSV file with the identity columns of
 * DESIGN.md section 7 (one person per row) or from JSON lines (one person
 * per line, in the form POST /v1/persons takes). By default the file is one
 * transaction: every bad row is reported with FILE:LINE:COLUMN and nothing
 * is stored. With --skip-bad the good rows are stored and the bad ones are
 * written to a reject file in the input's own format, to be fixed and
 * imported again.
 *
 * export writes a tenant's persons, with their cases and assistance, as
 * JSON lines. */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avrr/csv.h"
#include "cli/cli.h"
#include "cli/util.h"
#include "service/codec.h"

/* Redraw the progress bar at most every this many rows: often enough to
 * look alive, rare enough to cost nothing against the inserts. */
#define PROGRESS_EVERY 500

typedef struct import_job {
    avrr_service *svc;
    avrr_actor actor;
    const char *path;
    FILE *in;
    FILE *reject;
    bool skip_bad;
    bool jsonl;
    bool progress;
    long long size;
    unsigned long rows, stored; /* rows: the reader thread's until it ends */
    _Atomic unsigned long bad;  /* the main thread's; progress reads it */
} import_job;

static void progress(import_job *job, bool done)
{
    if (!job->progress)
        return;
    long long pos = done ? job->size : (long long)ftello(job->in);
    int pct = job->size > 0 ? (int)(pos * 100 / job->size) : 100;
    if (pct > 100)
        pct = 100;
    char bar[41];
    int fill = pct * 40 / 100;
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(40 - fill));
    bar[40] = '\0';
    fprintf(stderr, "\r[%s] %3d%%  %lu rows  %lu bad", bar, pct, job->rows,
            atomic_load(&job->bad));
    if (done)
        fputc('\n', stderr);
    fflush(stderr);
}

static void csv_put_row(FILE *f, const avrr_csv *csv)
{
    for (size_t i = 0; i < avrr_csv_count(csv); i++) {
        size_t n;
        const char *s = avrr_csv_field(csv, i, &n);
        if (i)
            fputc(',', f);
        avrr_csv_put(f, s, n);
    }
    fputc('\n', f);
}

/* Copies the header record of the CSV at path into the reject file. */
static void reject_header(import_job *job)
{
    FILE *f = fopen(job->path, "r");
    avrr_csv *csv = NULL;
    avrr_error e;
    if (!f)
        return;
    if (avrr_csv_open(f, job->path, &csv) == AVRR_OK && avrr_csv_next(csv, &e) == AVRR_OK)
        csv_put_row(job->reject, csv);
    avrr_csv_close(csv);
    fclose(f);
}

/* A batch of rows handed to the service together
 * (avrr_service_person_register_many): on PostgreSQL the persons of a
 * batch go in with COPY, a few round trips for the whole batch instead of
 * several per person. Rows the file itself refused wait in the batch too,
 * so that messages and rejects come out in file order. 10,000 rather than
 * 1,000: PostgreSQL's COPY sets up a slot per buffered row (up to 1,000)
 * at a cost that grows with the slots already made, once per COPY, which
 * made a fifth of the server's time at 1,000 rows per COPY. */
#define BATCH_ROWS 10000

typedef struct batch_row {
    unsigned long line;
    long person;  /* index in batch.persons; -1: refused by the reader */
    char *msg;    /* the reader's message for a refused row */
    char *reject; /* the row as the reject file takes it (with --skip-bad) */
} batch_row;

typedef struct batch {
    batch_row rows[BATCH_ROWS];
    avrr_person persons[BATCH_ROWS];
    avrr_err rc[BATCH_ROWS];
    avrr_error err[BATCH_ROWS];
    size_t n_rows, n_persons;
} batch;

static void batch_clear(batch *b)
{
    for (size_t i = 0; i < b->n_rows; i++) {
        avrr_free(b->rows[i].msg);
        avrr_free(b->rows[i].reject);
    }
    for (size_t i = 0; i < b->n_persons; i++)
        avrr_person_clear(&b->persons[i]);
    b->n_rows = b->n_persons = 0;
}

/* The CSV row the reader is on, as the reject file takes it. */
static char *csv_row_text(const avrr_csv *csv)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    csv_put_row(f, csv);
    fclose(f);
    return buf;
}

static char *text_copy(const char *s, size_t n)
{
    char *t = avrr_malloc(n + 1);
    if (t) {
        memcpy(t, s, n);
        t[n] = '\0';
    }
    return t;
}

/* Stores the batch through the service and reports its rows in order. A
 * row the service refused (AVRR_EINVALID) is a bad row; any other failure
 * ends the import. */
static avrr_err batch_flush(import_job *job, batch *b, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    if (b->n_persons > 0)
        result = avrr_service_person_register_many(job->svc, &job->actor, b->persons,
                                                   b->n_persons, b->rc, b->err, e);
    for (size_t i = 0; result == AVRR_OK && i < b->n_rows; i++) {
        const batch_row *r = &b->rows[i];
        if (r->person >= 0) {
            avrr_err rc = b->rc[r->person];
            const avrr_error *re = &b->err[r->person];
            if (rc == AVRR_OK) {
                job->stored++;
                continue;
            }
            if (rc != AVRR_EINVALID) {
                *e = *re;
                result = rc;
                break;
            }
            /* A rule of the service (not of the file) refused the row. */
            if (job->jsonl)
                fprintf(stderr, "%s:%lu:1: %s%s%s\n", job->path, r->line, re->field,
                        re->field[0] ? ": " : "", re->message);
            else
                fprintf(stderr, "%s:%lu:1: %s: %s\n", job->path, r->line, re->field,
                        re->message);
        } else {
            fprintf(stderr, "%s\n", r->msg ? r->msg : "bad row");
        }
        job->bad++;
        if (job->reject && r->reject)
            fputs(r->reject, job->reject);
    }
    batch_clear(b);
    return result;
}

/* ---- the reader thread ----------------------------------------------------- */

/* The file is read, parsed and checked by a thread of its own, a batch
 * ahead of the main thread, which stores the batches in file order in the
 * import's transaction. On PostgreSQL the server's work on a batch (its
 * COPYs) and the reading of the next one then overlap instead of taking
 * turns. Batches go round between the two threads: FEED_BATCHES of them,
 * one being filled, one being stored, one ready, so that neither waits for
 * the other when their speeds vary from batch to batch. */
#define FEED_BATCHES 3

typedef struct feed {
    import_job *job;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch *all[FEED_BATCHES];
    batch *full[FEED_BATCHES]; /* filled, in file order from full_head */
    size_t full_head, n_full;
    batch *spare[FEED_BATCHES]; /* stored and cleared, for the reader */
    size_t n_spare;
    batch *cur;  /* the reader's batch being filled */
    bool done;   /* the reader has ended: result, err */
    bool cancel; /* the main thread has given up: the reader stops */
    avrr_err result;
    avrr_error err;
    avrr_err (*read)(struct feed *f, avrr_error *e);
} feed;

/* The reader's next empty batch; NULL when the import was given up. */
static batch *feed_spare(feed *f)
{
    batch *b = NULL;
    pthread_mutex_lock(&f->mu);
    while (f->n_spare == 0 && !f->cancel)
        pthread_cond_wait(&f->cv, &f->mu);
    if (!f->cancel)
        b = f->spare[--f->n_spare];
    pthread_mutex_unlock(&f->mu);
    return b;
}

static void feed_hand_over(feed *f, batch *b)
{
    pthread_mutex_lock(&f->mu);
    f->full[(f->full_head + f->n_full) % FEED_BATCHES] = b;
    f->n_full++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* Appends a row to the reader's batch: person (moved in, may be NULL for a
 * row the reader refused with msg), handing the batch over when full.
 * Fails only when the main thread gave up (AVRR_EINTERNAL: never shown, the
 * main thread's error is). */
static avrr_err feed_add(feed *f, unsigned long line, avrr_person *person, const char *msg,
                         char *reject, avrr_error *e)
{
    if (f->cur == NULL && (f->cur = feed_spare(f)) == NULL) {
        avrr_free(reject);
        if (person)
            avrr_person_clear(person);
        return avrr_error_set(e, AVRR_EINTERNAL, NULL, "import given up");
    }
    batch *b = f->cur;
    batch_row *r = &b->rows[b->n_rows++];
    r->line = line;
    r->reject = reject;
    r->msg = NULL;
    r->person = -1;
    if (person) {
        r->person = (long)b->n_persons;
        b->persons[b->n_persons++] = *person;
        memset(person, 0, sizeof *person);
    } else {
        r->msg = text_copy(msg, strlen(msg));
    }
    if (b->n_rows == BATCH_ROWS) {
        feed_hand_over(f, b);
        f->cur = NULL;
    }
    return AVRR_OK;
}

static void *feed_thread(void *arg)
{
    feed *f = arg;
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err result = f->read(f, &e);
    pthread_mutex_lock(&f->mu);
    if (f->cur && f->cur->n_rows > 0) {
        f->full[(f->full_head + f->n_full) % FEED_BATCHES] = f->cur;
        f->n_full++;
        f->cur = NULL;
    }
    f->result = result;
    f->err = e;
    f->done = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* Runs reader `read` in its own thread and stores its batches, in order, as
 * they come (the body of the import's transaction). The first error ends
 * the import: the main thread's (a batch the store refused) or the
 * reader's (the file could not be read); then nothing is stored. */
static avrr_err import_run(import_job *job, avrr_err (*read)(feed *f, avrr_error *e),
                           avrr_error *e)
{
    feed f = {.job = job, .read = read};
    avrr_err result = AVRR_OK;
    pthread_t tid;
    size_t made = 0;
    for (; made < FEED_BATCHES; made++) {
        f.all[made] = avrr_calloc(1, sizeof(batch));
        if (!f.all[made])
            break;
        f.spare[f.n_spare++] = f.all[made];
    }
    if (made < FEED_BATCHES) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
        goto out;
    }
    if (pthread_mutex_init(&f.mu, NULL) != 0) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, "cannot start the reader");
        goto out;
    }
    if (pthread_cond_init(&f.cv, NULL) != 0) {
        pthread_mutex_destroy(&f.mu);
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, "cannot start the reader");
        goto out;
    }
    if (pthread_create(&tid, NULL, feed_thread, &f) != 0) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, "cannot start the reader thread");
        goto destroy;
    }
    for (;;) {
        batch *b = NULL;
        pthread_mutex_lock(&f.mu);
        while (f.n_full == 0 && !f.done)
            pthread_cond_wait(&f.cv, &f.mu);
        if (f.n_full > 0) {
            b = f.full[f.full_head];
            f.full_head = (f.full_head + 1) % FEED_BATCHES;
            f.n_full--;
        }
        pthread_mutex_unlock(&f.mu);
        if (!b)
            break; /* the reader has ended and every batch is stored */
        result = batch_flush(job, b, e);
        pthread_mutex_lock(&f.mu);
        f.spare[f.n_spare++] = b;
        if (result != AVRR_OK)
            f.cancel = true;
        pthread_cond_broadcast(&f.cv);
        pthread_mutex_unlock(&f.mu);
        if (result != AVRR_OK)
            break;
    }
    pthread_join(tid, NULL);
    if (result == AVRR_OK && f.result != AVRR_OK) {
        result = f.result;
        *e = f.err;
    }
destroy:
    pthread_cond_destroy(&f.cv);
    pthread_mutex_destroy(&f.mu);
out:
    for (size_t i = 0; i < made; i++) {
        batch_clear(f.all[i]);
        avrr_free(f.all[i]);
    }
    return result;
}

/* The lines of in, read to the end and back to the start. */
static int64_t count_lines(FILE *in)
{
    char buf[1 << 16];
    size_t n;
    int64_t lines = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))) != NULL; p++)
            lines++;
    rewind(in);
    return lines;
}

/* The reader of a CSV file (runs in the reader thread). */
static avrr_err read_csv(feed *f, avrr_error *e)
{
    import_job *job = f->job;
    avrr_identity_reader *r = NULL;
    avrr_err result = avrr_identity_reader_open(job->in, job->path, &r, e);
    if (result != AVRR_OK)
        return result;
    for (;;) {
        avrr_identity id = {0};
        const char *rec_id = NULL;
        avrr_error row;
        avrr_error_clear(&row);
        result = avrr_identity_reader_next(r, &id, &rec_id, &row);
        if (result == AVRR_ENOTFOUND) {
            result = AVRR_OK;
            break;
        }
        char *reject = NULL;
        if (job->reject && (result == AVRR_OK ||
                            (result == AVRR_EINVALID && !avrr_identity_reader_failed(r))))
            reject = csv_row_text(avrr_identity_reader_csv(r));
        if (result == AVRR_OK) {
            job->rows++;
            avrr_person p = {0};
            if (rec_id && rec_id[0] && !id.national_ref) {
                /* The source system's record id is the identity's national reference. */
                id.national_ref = avrr_strdup(rec_id);
                if (!id.national_ref) {
                    avrr_identity_clear(&id);
                    avrr_free(reject);
                    result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
                    break;
                }
            }
            p.identities = avrr_malloc(sizeof *p.identities);
            if (!p.identities) {
                avrr_identity_clear(&id);
                avrr_free(reject);
                result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
                break;
            }
            p.identities[0] = id;
            p.n_identities = 1;
            result = feed_add(f, avrr_identity_reader_line(r), &p, NULL, reject, e);
            if (result != AVRR_OK)
                break;
        } else if (result == AVRR_EINVALID && !avrr_identity_reader_failed(r)) {
            job->rows++;
            result = feed_add(f, avrr_identity_reader_line(r), NULL, row.message, reject, e);
            if (result != AVRR_OK)
                break;
        } else {
            avrr_free(reject);
            *e = row;
            break;
        }
        if (job->rows % PROGRESS_EVERY == 0)
            progress(job, false);
    }
    avrr_identity_reader_close(r);
    return result;
}

static avrr_err import_csv(void *arg, avrr_error *e)
{
    import_job *job = arg;
    if (job->reject)
        reject_header(job);
    avrr_err result = import_run(job, read_csv, e);
    if (result == AVRR_OK && job->bad && !job->skip_bad)
        result = avrr_error_set(e, AVRR_EINVALID, NULL,
                                "%lu bad row(s) in %s: nothing was imported "
                                "(fix them, or use --skip-bad)",
                                atomic_load(&job->bad), job->path);
    return result;
}

/* The reader of a JSON lines file (runs in the reader thread). */
static avrr_err read_jsonl(feed *f, avrr_error *e)
{
    import_job *job = f->job;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    avrr_err result = AVRR_OK;

    while ((len = getline(&line, &cap, job->in)) != -1) {
        lineno++;
        size_t n = (size_t)len;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        job->rows++;
        avrr_person p = {0};
        json_object *o = NULL;
        avrr_error row;
        avrr_error_clear(&row);
        result = avrr_json_parse_object(line, n, &o, &row);
        if (result == AVRR_OK)
            result = avrr_codec_person_from_json(o, &p, &row);
        json_object_put(o);
        char *reject = NULL;
        if (job->reject) {
            reject = text_copy(line, n + 1);
            if (reject)
                reject[n] = '\n';
        }
        if (result == AVRR_OK) {
            result = feed_add(f, lineno, &p, NULL, reject, e);
        } else if (result == AVRR_EINVALID) {
            char msg[600];
            avrr_person_clear(&p);
            snprintf(msg, sizeof msg, "%s:%lu:1: %s%s%s", job->path, lineno, row.field,
                     row.field[0] ? ": " : "", row.message);
            result = feed_add(f, lineno, NULL, msg, reject, e);
        } else {
            avrr_person_clear(&p);
            avrr_free(reject);
            *e = row;
        }
        if (result != AVRR_OK)
            break;
        if (job->rows % PROGRESS_EVERY == 0)
            progress(job, false);
    }
    free(line);
    if (result == AVRR_OK && ferror(job->in))
        result = avrr_error_set(e, AVRR_EIO, NULL, "error reading %s", job->path);
    return result;
}

static avrr_err import_jsonl(void *arg, avrr_error *e)
{
    import_job *job = arg;
    avrr_err result = import_run(job, read_jsonl, e);
    if (result == AVRR_OK && job->bad && !job->skip_bad)
        result = avrr_error_set(e, AVRR_EINVALID, NULL,
                                "%lu bad line(s) in %s: nothing was imported "
                                "(fix them, or use --skip-bad)",
                                atomic_load(&job->bad), job->path);
    return result;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int avrr_cli_import(int argc, char **argv)
{
    static const char *usage_line =
        "avrr import --db FILE --tenant CODE [--format csv|jsonl] [--skip-bad] "
        "[--reject FILE] [--quiet] INPUT";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'},
                                         {"format", required_argument, 0, 'f'},
                                         {"skip-bad", no_argument, 0, 's'},
                                         {"reject", required_argument, 0, 'r'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *tenant = NULL, *format = NULL, *reject = NULL;
    bool quiet = false;
    import_job job = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:t:f:sr:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 't': tenant = optarg; break;
        case 'f': format = optarg; break;
        case 's': job.skip_bad = true; break;
        case 'r': reject = optarg; break;
        case 'q': quiet = true; break;
        case 'h':
            printf("usage: %s\n\n"
                   "Imports persons for a tenant, one person per CSV row or JSON line.\n\n"
                   "CSV columns (header required, any order, extra columns ignored):\n"
                   "  rec_id,given_names,surname,full_name,sex,birth_date,nationality,\n"
                   "  birth_place,document_no[,address]\n"
                   "birth_date is YYYY-MM-DD, YYYY-MM or YYYY, with 00 for unknown parts.\n"
                   "JSON lines: one object per line as POST /v1/persons takes it.\n\n"
                   "  --format csv|jsonl  default: from the file name (.jsonl/.ndjson: jsonl)\n"
                   "  --skip-bad          store the good rows; write bad ones to the reject file\n"
                   "  --reject FILE       where bad rows go (default INPUT.rejects)\n"
                   "  --quiet             no progress bar\n\n"
                   "Without --skip-bad the file is one transaction: any bad row and nothing\n"
                   "is stored. Every bad row is reported as FILE:LINE:COLUMN: field: reason.\n",
                   usage_line);
            return 0;
        default: return cli_usage("import", usage_line);
        }
    }
    if (!tenant || optind != argc - 1)
        return cli_usage("import", usage_line);
    job.path = argv[optind];
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0)
        return cli_fail("import", "--format must be csv or jsonl (got '%s')", format);
    job.jsonl = format ? strcmp(format, "jsonl") == 0
                       : (ends_with(job.path, ".jsonl") || ends_with(job.path, ".ndjson"));

    job.in = fopen(job.path, "r");
    if (!job.in)
        return cli_fail("import", "cannot open %s: %m", job.path);
    struct stat st = {0};
    job.size = fstat(fileno(job.in), &st) == 0 ? (long long)st.st_size : 0;
    job.progress = !quiet && isatty(STDERR_FILENO);

    int rc = 1;
    char reject_path[4096];
    avrr_error e;
    avrr_error_clear(&e);
    job.svc = cli_open("import", db, false);
    if (!job.svc)
        goto out;
    if (avrr_service_local_actor(job.svc, tenant, AVRR_ROLE_CASEWORKER, &job.actor, &e) != AVRR_OK) {
        cli_error("import", &e);
        goto out;
    }
    if (job.skip_bad) {
        snprintf(reject_path, sizeof reject_path, "%s", reject ? reject : "");
        if (!reject)
            snprintf(reject_path, sizeof reject_path, "%s.rejects", job.path);
        job.reject = fopen(reject_path, "w");
        if (!job.reject) {
            cli_fail("import", "cannot write reject file %s: %m", reject_path);
            goto out;
        }
    }
    /* The rows to come, roughly (lines; a quoted CSV field may hold more),
     * of a regular file (a pipe cannot be read twice): the store only
     * chooses its way of loading by it. */
    int64_t rows = S_ISREG(st.st_mode) ? count_lines(job.in) - (job.jsonl ? 0 : 1) : 0;
    avrr_err err = avrr_service_bulk_transaction(job.svc, rows,
                                                 job.jsonl ? import_jsonl : import_csv, &job, &e);
    progress(&job, true);
    if (err != AVRR_OK) {
        cli_error("import", &e);
        goto out;
    }
    printf("imported %lu person(s) for %s from %s", job.stored, job.actor.tenant, job.path);
    if (job.bad)
        printf("; %lu bad row(s) written to %s", job.bad, reject_path);
    printf("\n");
    rc = 0;
out:
    if (job.reject) {
        fclose(job.reject);
        if (rc != 0 || job.bad == 0)
            unlink(reject_path);
    }
    if (job.in)
        fclose(job.in);
    avrr_service_close(job.svc);
    return rc;
}

/* ---- export ------------------------------------------------------------------ */

static avrr_err export_person(avrr_service *svc, const avrr_actor *a, const avrr_person *p,
                              FILE *out, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    json_object *o = avrr_codec_person_to_json(p), *cases = json_object_new_array();
    avrr_page page = {0, AVRR_PAGE_MAX};
    if (!o || !cases) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
        goto out;
    }
    for (;;) {
        avrr_case *cs = NULL;
        size_t n = 0;
        int64_t next = 0;
        result = avrr_service_case_list(svc, a, p->id, page, &cs, &n, &next, e);
        for (size_t i = 0; result == AVRR_OK && i < n; i++) {
            avrr_assistance *as = NULL;
            size_t na = 0;
            json_object *cj = avrr_codec_case_to_json(&cs[i]), *aj = json_object_new_array();
            result = avrr_service_assistance_list(svc, a, cs[i].id, &as, &na, e);
            for (size_t k = 0; result == AVRR_OK && aj && k < na; k++)
                json_object_array_add(aj, avrr_codec_assistance_to_json(&as[k]));
            avrr_service_free_assistance(as, na);
            if (cj && aj) {
                json_object_object_add(cj, "assistance", aj);
                json_object_array_add(cases, cj);
            } else {
                json_object_put(cj);
                json_object_put(aj);
                if (result == AVRR_OK)
                    result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
            }
        }
        avrr_service_free_cases(cs, n);
        if (result != AVRR_OK || !next)
            break;
        page.after = next;
    }
    if (result == AVRR_OK) {
        json_object_object_add(o, "cases", cases);
        cases = NULL;
        fprintf(out, "%s\n",
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
    }
out:
    json_object_put(o);
    json_object_put(cases);
    return result;
}

int avrr_cli_export(int argc, char **argv)
{
    static const char *usage_line = "avrr export --db FILE --tenant CODE [--out FILE]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *tenant = NULL, *outpath = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:t:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 't': tenant = optarg; break;
        case 'o': outpath = optarg; break;
        case 'h':
            printf("usage: %s\n\nWrites every person of a tenant, with identities, cases and\n"
                   "assistance, as one JSON object per line (to stdout by default).\n",
                   usage_line);
            return 0;
        default: return cli_usage("export", usage_line);
        }
    }
    if (!tenant || optind != argc)
        return cli_usage("export", usage_line);
    avrr_service *svc = cli_open("export", db, false);
    if (!svc)
        return 1;
    int rc = 1;
    FILE *out = stdout;
    avrr_actor actor;
    avrr_error e;
    avrr_error_clear(&e);
    avrr_page page = {0, AVRR_PAGE_MAX};
    unsigned long count = 0;
    if (avrr_service_local_actor(svc, tenant, AVRR_ROLE_CASEWORKER, &actor, &e) != AVRR_OK) {
        cli_error("export", &e);
        goto out;
    }
    if (outpath && !(out = fopen(outpath, "w"))) {
        cli_fail("export", "cannot write %s: %m", outpath);
        out = NULL;
        goto out;
    }
    for (;;) {
        avrr_person *ps = NULL;
        size_t n = 0;
        int64_t next = 0;
        avrr_err err = avrr_service_person_list(svc, &actor, page, &ps, &n, &next, &e);
        for (size_t i = 0; err == AVRR_OK && i < n; i++, count++)
            err = export_person(svc, &actor, &ps[i], out, &e);
        avrr_service_free_persons(ps, n);
        if (err != AVRR_OK) {
            cli_error("export", &e);
            goto out;
        }
        if (!next)
            break;
        page.after = next;
    }
    if (fflush(out) != 0) {
        cli_fail("export", "write failed: %m");
        goto out;
    }
    fprintf(stderr, "exported %lu person(s) of %s\n", count, actor.tenant);
    rc = 0;
out:
    if (out && out != stdout)
        fclose(out);
    avrr_service_close(svc);
    return rc;
}
