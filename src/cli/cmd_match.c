/* cmd_match.c: `avrr dedup`, `avrr link` and `avrr train`, batch matching of
 * identity CSV files (DESIGN.md 5.7, section 7).
 *
 * Reads the identity column set with the shared identity reader (errors as
 * FILE:LINE:COLUMN), builds comparison records, runs the match layer's batch
 * (blocking, scoring, threads) and writes the pairs at or above the threshold
 * with their explanation, optionally the clusters. Progress and a summary go
 * to stderr. All matching rules live in src/match; this file only parses,
 * reads and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "avrr/csv.h"
#include "avrr/match.h"
#include "avrr/pseudo.h"
#include "cli/cli.h"
#include "cli/util.h"

typedef struct recset {
    avrr_match_rec **recs;
    char **ids;
    size_t n, cap;
} recset;

static void recset_free(recset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        avrr_match_rec_free(s->recs[i]);
        avrr_free(s->ids[i]);
    }
    avrr_free(s->recs);
    avrr_free(s->ids);
    memset(s, 0, sizeof *s);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Records are built (normalisation, name keys; or the keyed encoding) by
 * the run's threads while one thread parses: rows are parsed in chunks of
 * READ_CHUNK, then every thread builds records of the chunk. Records keep
 * the order of the rows, and a failure is reported at its row as before. */
#define READ_CHUNK 4096
/* Records a thread takes at a time from a chunk. */
#define BUILD_STEP 16

typedef struct builder {
    const avrr_pseudo_key *pk;
    avrr_identity id[READ_CHUNK];
    avrr_match_rec *rec[READ_CHUNK];
    avrr_err err[READ_CHUNK];
    unsigned long line[READ_CHUNK];
    char *rec_id[READ_CHUNK];
    size_t n;             /* rows in the chunk; changed only while busy == 0 */
    atomic_size_t next;   /* next row to build */
    unsigned long gen;    /* chunks published */
    int busy;             /* helpers inside the current chunk */
    bool quit;
    pthread_mutex_t mu;
    pthread_cond_t pub, left;
} builder;

static void build_some(builder *b)
{
    for (;;) {
        size_t k = atomic_fetch_add(&b->next, BUILD_STEP);
        if (k >= b->n)
            return;
        size_t e = k + BUILD_STEP < b->n ? k + BUILD_STEP : b->n;
        for (; k < e; k++) {
            b->rec[k] = NULL;
            b->err[k] = b->pk ? avrr_pseudo_encode(b->pk, &b->id[k], &b->rec[k])
                              : avrr_match_rec_new(&b->id[k], &b->rec[k]);
        }
    }
}

static void *builder_run(void *arg)
{
    builder *b = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->quit && b->gen == seen)
            pthread_cond_wait(&b->pub, &b->mu);
        if (b->quit)
            break;
        seen = b->gen;
        b->busy++;
        pthread_mutex_unlock(&b->mu);
        build_some(b);
        pthread_mutex_lock(&b->mu);
        if (--b->busy == 0)
            pthread_cond_broadcast(&b->left);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* Builds the records of rows 0..n with the helpers; returns when all are. */
static void build_chunk(builder *b, size_t n)
{
    pthread_mutex_lock(&b->mu);
    while (b->busy > 0) /* a late helper still in the last chunk */
        pthread_cond_wait(&b->left, &b->mu);
    b->n = n;
    atomic_store(&b->next, 0);
    b->gen++;
    pthread_cond_broadcast(&b->pub);
    pthread_mutex_unlock(&b->mu);
    build_some(b);
    pthread_mutex_lock(&b->mu);
    while (b->busy > 0)
        pthread_cond_wait(&b->left, &b->mu);
    pthread_mutex_unlock(&b->mu);
}

/* Builds the pending rows of b and appends them to s; frees the rows.
 * Returns 0, or prints the first failure and returns 1. */
static int flush_rows(const char *cmd, const char *path, builder *b,
                      size_t n, bool quiet, recset *s)
{
    int rc = 0;
    build_chunk(b, n);
    if (s->n + n > s->cap) {
        size_t nc = s->cap ? s->cap : 4096;
        while (nc < s->n + n)
            nc *= 2;
        avrr_match_rec **nr = avrr_realloc(s->recs, nc * sizeof *nr);
        if (nr)
            s->recs = nr;
        char **ni = avrr_realloc(s->ids, nc * sizeof *ni);
        if (ni)
            s->ids = ni;
        if (!nr || !ni) {
            cli_fail(cmd, "out of memory");
            rc = 1;
        } else {
            s->cap = nc;
        }
    }
    for (size_t k = 0; k < n; k++) {
        avrr_identity_clear(&b->id[k]);
        if (rc == 0 && (b->err[k] != AVRR_OK || !b->rec_id[k])) {
            cli_fail(cmd, "%s:%lu: %s", path, b->line[k],
                     avrr_strerror(b->err[k] != AVRR_OK ? b->err[k]
                                                        : AVRR_ENOMEM));
            rc = 1;
        }
        if (rc) {
            avrr_match_rec_free(b->rec[k]);
            avrr_free(b->rec_id[k]);
            continue;
        }
        s->recs[s->n] = b->rec[k];
        s->ids[s->n++] = b->rec_id[k];
        if (!quiet && s->n % 100000 == 0)
            fprintf(stderr, "avrr %s: %s: %zu records read\n", cmd, path,
                    s->n);
    }
    return rc;
}

/* Reads all identities of path into s, building their records with up to
 * `threads` threads (0: one per CPU). Returns 0 or prints the error and
 * returns 1. Bad rows are fatal unless skip_bad. */
static int read_file(const char *cmd, const char *path, bool skip_bad,
                     bool quiet, const avrr_pseudo_key *pk, int threads,
                     recset *s)
{
    int rc = 1;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    avrr_identity_reader *r = NULL;
    avrr_error e;
    avrr_err err;
    unsigned long bad = 0;
    double t0 = now();
    builder *b = NULL;
    pthread_t tid[64];
    int started = 0;
    size_t n = 0;

    avrr_error_clear(&e);
    if (!f)
        return cli_fail(cmd, "%s: cannot open: %s", path, strerror(errno));
    err = avrr_identity_reader_open(f, path, &r, &e);
    if (err == AVRR_ENOTFOUND) {
        rc = 0; /* empty file: no records */
        goto out;
    }
    if (err != AVRR_OK) {
        fprintf(stderr, "avrr %s: %s\n", cmd,
                e.message[0] ? e.message : avrr_strerror(err));
        goto out;
    }
    b = avrr_calloc(1, sizeof *b);
    if (!b) {
        cli_fail(cmd, "out of memory");
        goto out;
    }
    b->pk = pk;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->pub, NULL);
    pthread_cond_init(&b->left, NULL);
    if (threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (int)c : 1;
    }
    for (int t = 1; t < threads && t < 64; t++) {
        if (pthread_create(&tid[t], NULL, builder_run, b) != 0)
            break;
        started = t;
    }
    for (;;) {
        const char *rec_id = NULL;
        avrr_error_clear(&e);
        err = avrr_identity_reader_next(r, &b->id[n], &rec_id, &e);
        if (err == AVRR_ENOTFOUND)
            break;
        if (err != AVRR_OK) {
            fprintf(stderr, "avrr %s: %s\n", cmd,
                    e.message[0] ? e.message : avrr_strerror(err));
            if (!skip_bad || avrr_identity_reader_failed(r) ||
                err == AVRR_ENOMEM)
                goto out;
            bad++;
            continue;
        }
        b->rec_id[n] = avrr_strdup(rec_id ? rec_id : "");
        b->line[n] = avrr_identity_reader_line(r);
        if (++n == READ_CHUNK) {
            int fr = flush_rows(cmd, path, b, n, quiet, s);
            n = 0;
            if (fr)
                goto out;
        }
    }
    if (n > 0) {
        int fr = flush_rows(cmd, path, b, n, quiet, s);
        n = 0;
        if (fr)
            goto out;
    }
    if (!quiet)
        fprintf(stderr, "avrr %s: %s: %zu records read in %.1f s%s\n", cmd,
                path, s->n, now() - t0, bad ? " (bad rows skipped)" : "");
    rc = 0;
out:
    if (b) {
        for (size_t k = 0; k < n; k++) { /* parsed, not built */
            avrr_identity_clear(&b->id[k]);
            avrr_free(b->rec_id[k]);
        }
        pthread_mutex_lock(&b->mu);
        b->quit = true;
        pthread_cond_broadcast(&b->pub);
        pthread_mutex_unlock(&b->mu);
        for (int t = 1; t <= started; t++)
            pthread_join(tid[t], NULL);
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->pub);
        pthread_cond_destroy(&b->left);
        avrr_free(b);
    }
    avrr_identity_reader_close(r);
    if (f && f != stdin)
        fclose(f);
    return rc;
}

/* ---- output ------------------------------------------------------------------ */

/* Pairs are written as the batch reports them (it serialises the calls), so
 * that memory holds the records and the blocks, never the output: at a
 * million records the pairs above the threshold number in the tens of
 * millions. Only --clusters keeps a compact list of the pairs' indexes. */
typedef struct sink {
    FILE *f;
    char ob[1 << 16]; /* rows are put together here, written in big pieces */
    size_t on;
    char *const *ids;
    uint32_t *pairs; /* (i, j) of every written pair, for --clusters */
    size_t n, cap;
    bool keep;
    bool failed;     /* out of memory or write error */
    bool quiet;
    const char *cmd;
    double last;
} sink;

static void ob_flush(sink *s)
{
    if (s->on)
        fwrite(s->ob, 1, s->on, s->f);
    s->on = 0;
}

static void ob_put(sink *s, const char *p, size_t n)
{
    if (n > sizeof s->ob - s->on) {
        ob_flush(s);
        if (n > sizeof s->ob) {
            fwrite(p, 1, n, s->f);
            return;
        }
    }
    memcpy(s->ob + s->on, p, n);
    s->on += n;
}

static void ob_putc(sink *s, char c)
{
    if (s->on == sizeof s->ob)
        ob_flush(s);
    s->ob[s->on++] = c;
}

/* One CSV field, as avrr_csv_put writes it, into the row buffer */
static void ob_field(sink *s, const char *v)
{
    if (!strpbrk(v, ",\"\r\n")) {
        ob_put(s, v, strlen(v));
        return;
    }
    ob_putc(s, '"');
    for (; *v; v++) {
        if (*v == '"')
            ob_putc(s, '"');
        ob_putc(s, *v);
    }
    ob_putc(s, '"');
}

/* Writes x with d (3 or 6) decimals exactly as printf's "%.*f" does, without
 * printf's cost (at a million records the rows number tens of millions and
 * are written under the batch's lock): the scaled value is rounded in
 * integers unless it lies too near a half to be sure of printf's rounding of
 * the exact binary value, and then printf does it. */
static void put_fixed(sink *s, double x, int d)
{
    static const double scale[7] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    double v = fabs(x) * scale[d];
    double fl = floor(v), frac = v - fl;
    if (!(v < 1e15) || fabs(frac - 0.5) < 1e-6) {
        char t[64];
        int k = snprintf(t, sizeof t, "%.*f", d, x);
        ob_put(s, t, k > 0 && (size_t)k < sizeof t ? (size_t)k : 0);
        return;
    }
    unsigned long long r = (unsigned long long)fl + (frac > 0.5);
    char b[48];
    int n = 0;
    char *e = b + sizeof b;
    for (int k = 0; k < d; k++) {
        *--e = (char)('0' + r % 10);
        r /= 10;
    }
    *--e = '.';
    do {
        *--e = (char)('0' + r % 10);
        r /= 10;
    } while (r);
    if (signbit(x))
        *--e = '-';
    n = (int)(b + sizeof b - e);
    ob_put(s, e, (size_t)n);
}

static void put_header(FILE *f)
{
    fputs("rec_id_l,rec_id_r,probability,match_weight", f);
    for (int k = 0; k < AVRR_MF__COUNT; k++)
        fprintf(f, ",%s_level,%s_weight", avrr_match_field_name(k),
                avrr_match_field_name(k));
    fputs(",name_x_birth_date_weight", f);
    fputc('\n', f);
}

static int on_pair(void *ctx, size_t i, size_t j,
                   const avrr_match_explanation *x)
{
    sink *s = ctx;
    FILE *f = s->f;
    if (s->keep) {
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 65536;
            uint32_t *np = avrr_realloc(s->pairs, nc * 2 * sizeof *np);
            if (!np) {
                s->failed = true;
                return 1;
            }
            s->pairs = np;
            s->cap = nc;
        }
        s->pairs[2 * s->n] = (uint32_t)i;
        s->pairs[2 * s->n + 1] = (uint32_t)j;
        s->n++;
    }
    ob_field(s, s->ids[i]);
    ob_putc(s, ',');
    ob_field(s, s->ids[j]);
    ob_putc(s, ',');
    put_fixed(s, x->probability, 6);
    ob_putc(s, ',');
    put_fixed(s, x->weight, 3);
    for (int k = 0; k < AVRR_MF__COUNT; k++) {
        const char *ln = avrr_match_level_name(k, x->field[k].level);
        ob_putc(s, ',');
        ob_put(s, ln, strlen(ln));
        ob_putc(s, ',');
        put_fixed(s, (double)x->field[k].weight, 3);
    }
    ob_putc(s, ',');
    put_fixed(s, (double)x->name_x_birth_date_weight, 3);
    ob_putc(s, '\n');
    if (ferror(f)) {
        s->failed = true;
        return 1;
    }
    return 0;
}

static void on_progress(void *ctx, const char *stage, uint64_t done,
                        uint64_t total)
{
    sink *s = ctx;
    double t = now();
    if (s->quiet || t - s->last < 2.0)
        return;
    s->last = t;
    fprintf(stderr, "avrr %s: %s %3.0f%%\n", s->cmd, stage,
            total ? 100.0 * (double)done / (double)total : 100.0);
}

static int open_pairs(const char *cmd, const char *path, sink *s)
{
    s->f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!s->f)
        return cli_fail(cmd, "%s: cannot create: %s", path, strerror(errno));
    put_header(s->f);
    return 0;
}

static int close_pairs(const char *cmd, const char *path, sink *s)
{
    if (!s->f)
        return 0;
    ob_flush(s);
    int bad = ferror(s->f);
    if (s->f != stdout)
        bad |= fclose(s->f) != 0;
    else
        bad |= fflush(s->f) != 0;
    s->f = NULL;
    if (bad)
        return cli_fail(cmd, "%s: write failed", path);
    return 0;
}

static int write_clusters(const char *cmd, const char *path, const sink *s,
                          char *const *ids, size_t n, size_t n_left)
{
    int rc = 1;
    uint32_t *cl = avrr_malloc((n + 1) * sizeof *cl);
    FILE *f = NULL;
    if (!cl) {
        cli_fail(cmd, "out of memory");
        goto out;
    }
    if (avrr_match_cluster(n, s->pairs, s->n, cl) != AVRR_OK) {
        cli_fail(cmd, "clustering failed");
        goto out;
    }
    f = fopen(path, "w");
    if (!f) {
        cli_fail(cmd, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    fputs(n_left ? "source,rec_id,cluster\n" : "rec_id,cluster\n", f);
    for (size_t i = 0; i < n; i++) {
        if (n_left)
            fputs(i < n_left ? "left," : "right,", f);
        avrr_csv_put(f, ids[i], strlen(ids[i]));
        fputc(',', f);
        avrr_csv_put(f, ids[cl[i]], strlen(ids[cl[i]]));
        fputc('\n', f);
    }
    if (ferror(f)) {
        cli_fail(cmd, "%s: write failed", path);
        goto out;
    }
    rc = 0;
out:
    if (f && fclose(f) != 0 && rc == 0)
        rc = cli_fail(cmd, "%s: write failed", path);
    avrr_free(cl);
    return rc;
}

/* ---- the commands ---------------------------------------------------------------- */

typedef struct opts {
    const char *in, *left, *right, *out, *model, *clusters, *pseudo;
    double threshold;
    long threads, block_cap;
    bool quiet, skip_bad, adapt;
} opts;

static const char dedup_usage[] =
    "usage: avrr dedup --in FILE --out FILE [--threshold P] [--model FILE]\n"
    "                  [--clusters FILE] [--threads N] [--block-cap N]\n"
    "                  [--adapt] [--skip-bad] [--pseudonymise KEYFILE] [--quiet]\n";
static const char link_usage[] =
    "usage: avrr link --left FILE --right FILE --out FILE [--threshold P]\n"
    "                 [--model FILE] [--clusters FILE] [--threads N]\n"
    "                 [--block-cap N] [--adapt] [--skip-bad]\n"
    "                 [--pseudonymise KEYFILE] [--quiet]\n";
static const char train_usage[] =
    "usage: avrr train (--in FILE | --left FILE --right FILE) --out MODEL\n"
    "                  [--model START] [--skip-bad] [--quiet]\n";

static const char help_text[] =
    "\nInput: CSV with the columns rec_id,given_names,surname,full_name,sex,\n"
    "birth_date,nationality,birth_place,document_no and optionally address\n"
    "(other columns ignored). Output of dedup/link: a header\n"
    "rec_id_l,rec_id_r,probability,match_weight then per field its level and\n"
    "weight, then name_x_birth_date_weight (what the name and the birth date\n"
    "weigh together beyond their own weights: the model's joint cell, 0 when\n"
    "it has none), one row per pair with probability >= threshold (default 0.9),\n"
    "written as scored (in no particular order).\n"
    "--clusters writes rec_id,cluster (link: source,rec_id,cluster), the\n"
    "cluster named by its first record. --model reads a model written by\n"
    "`avrr train`; without it the shipped defaults are used. A model's\n"
    "prior holds for the number of records it was made for (defaults:\n"
    "10,000; trained: the training file's) and falls in proportion among\n"
    "more records (a link counts left and right). --adapt\n"
    "re-estimates u from random pairs and the prior from a sample of the\n"
    "candidates of this run. --block-cap N: blocks of more than N records\n"
    "are split by a second key (default 500; smaller is faster on very\n"
    "large files and may miss pairs). --skip-bad reports bad rows and goes on.\n"
    "--pseudonymise encodes every record under the secret key file first\n"
    "(per-field keyed encodings, include/avrr/pseudo.h) and matches only the\n"
    "encodings, as the pseudonymised index does.\n"
    "Progress and a summary go to stderr unless --quiet.\n";

static const char train_help[] =
    "\nEstimates a matching model from the identity CSV file(s) themselves\n"
    "(columns as for avrr dedup): u of every field from random pairs, m by\n"
    "expectation-maximisation over the blocked candidate pairs (names from\n"
    "pairs that agree on a date or document, other fields from pairs that\n"
    "share a document number where there are enough), nationality and birth\n"
    "place among namesakes. The prior stays the start model's (--model\n"
    "START, else the shipped defaults), with its population. Writes JSON\n"
    "for --model of avrr dedup and avrr link.\n"
    "Progress goes to stderr unless --quiet.\n";

/* Default threshold: 0.9, a pair nine times more likely the same person
 * than not; the benchmarks (docs/BENCHMARKS.md) put best F1 near it. */
#define DEFAULT_THRESHOLD 0.9

static int parse(int argc, char **argv, const char *usage, opts *o)
{
    static const struct option lo[] = {
        {"in", required_argument, NULL, 'i'},
        {"left", required_argument, NULL, 'l'},
        {"right", required_argument, NULL, 'r'},
        {"out", required_argument, NULL, 'o'},
        {"model", required_argument, NULL, 'm'},
        {"clusters", required_argument, NULL, 'c'},
        {"threshold", required_argument, NULL, 't'},
        {"threads", required_argument, NULL, 'j'},
        {"block-cap", required_argument, NULL, 'b'},
        {"quiet", no_argument, NULL, 'q'},
        {"skip-bad", no_argument, NULL, 's'},
        {"adapt", no_argument, NULL, 'a'},
        {"pseudonymise", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->threshold = DEFAULT_THRESHOLD;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'i': o->in = optarg; break;
        case 'l': o->left = optarg; break;
        case 'r': o->right = optarg; break;
        case 'o': o->out = optarg; break;
        case 'm': o->model = optarg; break;
        case 'c': o->clusters = optarg; break;
        case 'q': o->quiet = true; break;
        case 's': o->skip_bad = true; break;
        case 'a': o->adapt = true; break;
        case 'p': o->pseudo = optarg; break;
        case 'j':
            if (!cli_parse_long(argv[0], "--threads", optarg, 1, 64,
                                &o->threads))
                return 2;
            break;
        case 'b':
            if (!cli_parse_long(argv[0], "--block-cap", optarg, 2, 1000000,
                                &o->block_cap))
                return 2;
            break;
        case 't': {
            char *end = NULL;
            o->threshold = strtod(optarg, &end);
            if (!end || *end || !(o->threshold >= 0 && o->threshold <= 1)) {
                fprintf(stderr,
                        "avrr %s: --threshold wants a probability in [0, 1]\n",
                        argv[0]);
                return 2;
            }
            break;
        }
        case 'h':
            fputs(usage, stdout);
            fputs(usage == train_usage ? train_help : help_text, stdout);
            return 1;
        default:
            return cli_usage(argv[0], usage);
        }
    }
    if (optind < argc)
        return cli_usage(argv[0], usage);
    return 0;
}

static int run_batch(int argc, char **argv, bool link)
{
    const char *cmd = argv[0];
    const char *usage = link ? link_usage : dedup_usage;
    opts o;
    int rc = parse(argc, argv, usage, &o);
    if (rc == 1)
        return 0; /* --help */
    if (rc)
        return rc;
    if (!o.out || (link ? (!o.left || !o.right || o.in) : (!o.in || o.left ||
                                                           o.right)))
        return cli_usage(cmd, usage);

    recset s = {0};
    sink out = {.quiet = o.quiet, .cmd = cmd, .keep = o.clusters != NULL};
    avrr_match_model *model = NULL;
    avrr_pseudo_key *pk = NULL;
    size_t n_left = 0;
    rc = 1;
    if (o.pseudo) {
        avrr_error e;
        avrr_error_clear(&e);
        if (avrr_pseudo_key_load(o.pseudo, &pk, &e) != AVRR_OK) {
            fprintf(stderr, "avrr %s: %s\n", cmd, e.message);
            goto out;
        }
    }
    if (o.model) {
        avrr_error e;
        avrr_error_clear(&e);
        if (avrr_match_model_load(o.model, &model, &e) != AVRR_OK) {
            fprintf(stderr, "avrr %s: %s\n", cmd, e.message);
            goto out;
        }
    }
    if (link) {
        if (read_file(cmd, o.left, o.skip_bad, o.quiet, pk, (int)o.threads, &s))
            goto out;
        n_left = s.n;
        if (read_file(cmd, o.right, o.skip_bad, o.quiet, pk, (int)o.threads, &s))
            goto out;
        if (n_left == 0 || n_left == s.n) {
            rc = open_pairs(cmd, o.out, &out) ||
                 close_pairs(cmd, o.out, &out);
            goto out;
        }
    } else if (read_file(cmd, o.in, o.skip_bad, o.quiet, pk, (int)o.threads, &s)) {
        goto out;
    }
    out.ids = s.ids;
    if (open_pairs(cmd, o.out, &out))
        goto out;
    avrr_match_batch_opts bo = {.model = model,
                                .threshold = o.threshold,
                                .n_left = n_left,
                                .threads = (int)o.threads,
                                .block_cap = (size_t)o.block_cap,
                                .estimate_prior = o.adapt,
                                .on_pair = on_pair,
                                .on_progress = on_progress,
                                .ctx = &out};
    avrr_match_batch_stats st;
    avrr_err err = avrr_match_batch(s.recs, s.n, &bo, &st);
    if (err != AVRR_OK || out.failed) {
        if (out.failed && !ferror(out.f))
            cli_fail(cmd, "matching failed: %s", avrr_strerror(AVRR_ENOMEM));
        else if (!out.failed)
            cli_fail(cmd, "matching failed: %s", avrr_strerror(err));
        close_pairs(cmd, o.out, &out);
        goto out;
    }
    if (close_pairs(cmd, o.out, &out))
        goto out;
    if (o.clusters && write_clusters(cmd, o.clusters, &out, s.ids, s.n, n_left))
        goto out;
    if (!o.quiet) {
        double sc = st.seconds_scoring > 0 ? st.seconds_scoring : 1e-9;
        fprintf(stderr,
                "avrr %s: %zu records, %zu blocks (%zu split, %zu over the cap), "
                "%llu candidate pairs scored (%llu in full), %llu pairs >= %.3f; "
                "blocking %.2f s, scoring %.2f s (%.0f pairs/s)\n",
                cmd, st.records, st.blocks, st.blocks_split, st.blocks_capped,
                (unsigned long long)st.candidate_pairs,
                (unsigned long long)(st.candidate_pairs - st.pairs_bounded),
                (unsigned long long)st.pairs_out, o.threshold,
                st.seconds_blocking, st.seconds_scoring,
                (double)st.candidate_pairs / sc);
    }
    rc = 0;
out:
    if (out.f && out.f != stdout)
        fclose(out.f);
    avrr_free(out.pairs);
    recset_free(&s);
    avrr_match_model_free(model);
    avrr_pseudo_key_free(pk);
    return rc;
}

int avrr_cli_dedup(int argc, char **argv)
{
    return run_batch(argc, argv, false);
}

int avrr_cli_link(int argc, char **argv)
{
    return run_batch(argc, argv, true);
}

int avrr_cli_train(int argc, char **argv)
{
    const char *cmd = argv[0];
    opts o;
    int rc = parse(argc, argv, train_usage, &o);
    if (rc == 1)
        return 0;
    if (rc)
        return rc;
    bool link = o.left || o.right;
    if (!o.out || (link ? (!o.left || !o.right || o.in) : !o.in) ||
        o.clusters || o.pseudo)
        return cli_usage(cmd, train_usage);
    recset s = {0};
    avrr_match_model *start = NULL, *m = NULL;
    size_t n_left = 0;
    avrr_error e;
    avrr_error_clear(&e);
    rc = 1;
    if (o.model && avrr_match_model_load(o.model, &start, &e) != AVRR_OK) {
        fprintf(stderr, "avrr %s: %s\n", cmd, e.message);
        goto out;
    }
    if (link) {
        if (read_file(cmd, o.left, o.skip_bad, o.quiet, NULL, (int)o.threads, &s))
            goto out;
        n_left = s.n;
        if (read_file(cmd, o.right, o.skip_bad, o.quiet, NULL, (int)o.threads, &s))
            goto out;
        if (n_left == 0 || n_left == s.n) {
            cli_fail(cmd, "both files need records");
            goto out;
        }
    } else {
        if (read_file(cmd, o.in, o.skip_bad, o.quiet, NULL, (int)o.threads, &s))
            goto out;
        if (s.n < 2) {
            cli_fail(cmd, "%s: need at least two records", o.in);
            goto out;
        }
    }
    double t0 = now();
    avrr_err err = avrr_match_train(s.recs, s.n, n_left, start, 1, &m);
    if (err != AVRR_OK) {
        cli_fail(cmd, "training failed: %s", avrr_strerror(err));
        goto out;
    }
    if (avrr_match_model_save(m, o.out, &e) != AVRR_OK) {
        fprintf(stderr, "avrr %s: %s\n", cmd, e.message);
        goto out;
    }
    if (!o.quiet)
        fprintf(stderr, "avrr %s: model written to %s (%.1f s)\n", cmd, o.out,
                now() - t0);
    rc = 0;
out:
    recset_free(&s);
    avrr_match_model_free(start);
    avrr_match_model_free(m);
    return rc;
}
