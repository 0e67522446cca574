/* cmd_encode.c: `avrr encode`, the national node's side of the pseudonymised
 * index (DESIGN.md 5, "Pseudonymised mode": a national node encodes before
 * it sends).
 *
 *   avrr encode key --out FILE      a new pseudonym key file (0600)
 *   avrr encode --key FILE --in IDENTITIES.csv|.jsonl [--out FILE]
 *
 * The second form reads identities with the readers `avrr import` uses (the
 * identity CSV columns, or JSON lines of identity objects as a check's
 * "identity" takes them) and writes, per identity, its rec_id and its
 * encoded form (avrr_pseudo_to_wire), which POST /v1/checks takes as
 * "encoded_identity" from a server whose index is pseudonymised under the
 * same key. Bad rows are reported as FILE:LINE:COLUMN; without --skip-bad
 * any bad row means no output at all, as with `avrr import`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avrr/csv.h"
#include "avrr/pseudo.h"
#include "cli/cli.h"
#include "cli/util.h"
#include "service/codec.h"

typedef struct encode_job {
    const char *path;       /* the input's name for messages */
    FILE *in;
    FILE *out;              /* a temporary file until everything is good */
    const avrr_pseudo_key *key;
    bool skip_bad;
    unsigned long rows, bad;
} encode_job;

/* Encodes one good identity and writes its row; a refusal of the encoder
 * (a name with no letters left after normalisation, say) is a bad row,
 * reported at line:1. Returns AVRR_EINVALID for a bad row, AVRR_ENOMEM. */
static avrr_err encode_one(encode_job *job, unsigned long line, const char *rec_id,
                           const avrr_identity *id)
{
    avrr_match_rec *rec = NULL;
    char *wire = NULL;
    avrr_err result = avrr_pseudo_encode(job->key, id, &rec);
    if (result == AVRR_OK)
        result = avrr_pseudo_to_wire(rec, &wire);
    avrr_match_rec_free(rec);
    if (result == AVRR_ENOMEM)
        return result;
    if (result != AVRR_OK) {
        fprintf(stderr, "%s:%lu:1: cannot encode this identity: %s\n", job->path, line,
                avrr_strerror(result));
        return AVRR_EINVALID;
    }
    avrr_csv_put(job->out, rec_id, strlen(rec_id));
    fputc(',', job->out);
    fputs(wire, job->out);
    fputc('\n', job->out);
    avrr_free(wire);
    return AVRR_OK;
}

static avrr_err encode_csv(encode_job *job, avrr_error *e)
{
    avrr_identity_reader *r = NULL;
    avrr_err result = avrr_identity_reader_open(job->in, job->path, &r, e);
    if (result == AVRR_ENOTFOUND)
        return avrr_error_set(e, AVRR_EINVALID, NULL, "%s:1:1: the file is empty", job->path);
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
        if (result == AVRR_OK) {
            job->rows++;
            result = encode_one(job, avrr_identity_reader_line(r), rec_id ? rec_id : "", &id);
            avrr_identity_clear(&id);
            if (result == AVRR_EINVALID) {
                job->bad++;
                result = AVRR_OK;
            }
            if (result != AVRR_OK) {
                avrr_error_set(e, result, NULL, NULL);
                break;
            }
        } else if (result == AVRR_EINVALID && !avrr_identity_reader_failed(r)) {
            /* The reader's message is FILE:LINE:COLUMN: column: reason. */
            job->rows++;
            job->bad++;
            fprintf(stderr, "%s\n", row.message);
        } else {
            *e = row;
            break;
        }
    }
    avrr_identity_reader_close(r);
    return result;
}

static avrr_err encode_jsonl(encode_job *job, avrr_error *e)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    avrr_err result = AVRR_OK;
    while (result == AVRR_OK && (len = getline(&line, &cap, job->in)) != -1) {
        lineno++;
        size_t n = (size_t)len;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        job->rows++;
        avrr_identity id = {0};
        json_object *o = NULL, *v = NULL;
        char *rec_id = NULL, numbered[24];
        avrr_error row;
        avrr_error_clear(&row);
        avrr_err rc = avrr_json_parse_object(line, n, &o, &row);
        /* rec_id is the line's own name for the identity, not a field of it. */
        if (rc == AVRR_OK && json_object_object_get_ex(o, "rec_id", &v)) {
            if (!json_object_is_type(v, json_type_string)) {
                rc = avrr_error_set(&row, AVRR_EINVALID, "rec_id", "must be a string");
            } else if (!(rec_id = avrr_strdup(json_object_get_string(v)))) {
                rc = avrr_error_set(&row, AVRR_ENOMEM, NULL, NULL);
            } else {
                json_object_object_del(o, "rec_id");
            }
        }
        if (rc == AVRR_OK)
            rc = avrr_codec_identity_from_json(o, &id, &row);
        if (rc == AVRR_OK)
            rc = avrr_identity_validate(&id, &row);
        json_object_put(o);
        if (rc == AVRR_OK) {
            snprintf(numbered, sizeof numbered, "%lu", lineno);
            const char *name = rec_id ? rec_id : id.national_ref ? id.national_ref : numbered;
            rc = encode_one(job, lineno, name, &id);
            if (rc == AVRR_EINVALID)
                job->bad++;
            else if (rc != AVRR_OK)
                result = avrr_error_set(e, rc, NULL, NULL);
        } else if (rc == AVRR_EINVALID) {
            job->bad++;
            fprintf(stderr, "%s:%lu:1: %s%s%s\n", job->path, lineno, row.field,
                    row.field[0] ? ": " : "", row.message);
        } else {
            *e = row;
            result = rc;
        }
        avrr_identity_clear(&id);
        avrr_free(rec_id);
    }
    free(line);
    if (result == AVRR_OK && ferror(job->in))
        result = avrr_error_set(e, AVRR_EIO, NULL, "error reading %s", job->path);
    return result;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Copies the finished temporary output to stdout. */
static int copy_out(FILE *tmp)
{
    char buf[65536];
    size_t n;
    rewind(tmp);
    while ((n = fread(buf, 1, sizeof buf, tmp)) > 0)
        if (fwrite(buf, 1, n, stdout) != n)
            return -1;
    return ferror(tmp) || fflush(stdout) != 0 ? -1 : 0;
}

static int encode_key(int argc, char **argv)
{
    static const char *usage_line = "avrr encode key --out FILE";
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: %s\n\n"
                   "Makes a new pseudonym key: 32 random bytes (libsodium) as 64 hex digits\n"
                   "in a new file readable by its owner only (mode 0600); an existing file\n"
                   "is never overwritten. The member states share this secret; the central\n"
                   "server's config names it (pseudonymised_index = true, pseudonym_key_file\n"
                   "= FILE) and each national node encodes with it (avrr encode --key FILE).\n"
                   "Keep it outside the database and out of backups of it.\n",
                   usage_line);
            return 0;
        default: return cli_usage("encode key", usage_line);
        }
    }
    if (!out || optind != argc)
        return cli_usage("encode key", usage_line);
    avrr_error e;
    avrr_error_clear(&e);
    if (avrr_pseudo_key_create(out, NULL, &e) != AVRR_OK) {
        cli_error("encode key", &e);
        return 1;
    }
    printf("pseudonym key written to %s\n", out);
    return 0;
}

int avrr_cli_encode(int argc, char **argv)
{
    static const char *usage_line =
        "avrr encode --key FILE --in IDENTITIES [--format csv|jsonl] [--out FILE] "
        "[--skip-bad]\n"
        "       avrr encode key --out FILE";
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                         {"in", required_argument, 0, 'i'},
                                         {"out", required_argument, 0, 'o'},
                                         {"format", required_argument, 0, 'f'},
                                         {"skip-bad", no_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    if (argc >= 2 && strcmp(argv[1], "key") == 0)
        return encode_key(argc - 1, argv + 1);
    const char *key_path = NULL, *in = NULL, *out = NULL, *format = NULL;
    encode_job job = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:i:o:f:sh", opts, NULL)) != -1) {
        switch (c) {
        case 'k': key_path = optarg; break;
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'f': format = optarg; break;
        case 's': job.skip_bad = true; break;
        case 'h':
            printf("usage: %s\n\n"
                   "The national node's side of the pseudonymised index: encodes identities\n"
                   "under the pseudonym key (per-field keyed Bloom filters and keyed hashes,\n"
                   "include/avrr/pseudo.h) so that only the encodings leave the node.\n\n"
                   "Input (- for stdin), as avrr import reads it:\n"
                   "  CSV with the columns rec_id,given_names,surname,full_name,sex,\n"
                   "  birth_date,nationality,birth_place,document_no[,address], or\n"
                   "  JSON lines, one identity object per line as a check's \"identity\"\n"
                   "  takes it, with an optional \"rec_id\" (default: national_ref, else\n"
                   "  the line number).\n"
                   "Output (default stdout): CSV with the header rec_id,encoded_identity and\n"
                   "one row per identity; encoded_identity is what POST /v1/checks takes\n"
                   "instead of identity from a server in pseudonymised mode with the same\n"
                   "key:\n"
                   "  {\"purpose\": \"assistance_decision\", \"encoded_identity\": \"...\"}\n\n"
                   "  --key FILE          the pseudonym key (see avrr encode key)\n"
                   "  --format csv|jsonl  default: from the file name (.jsonl/.ndjson: jsonl)\n"
                   "  --out FILE          where the rows go; written only when all is well\n"
                   "  --skip-bad          encode the good rows, report the bad ones\n\n"
                   "Bad rows are reported as FILE:LINE:COLUMN: message; without --skip-bad\n"
                   "any bad row means no output and exit status 1.\n",
                   usage_line);
            return 0;
        default: return cli_usage("encode", usage_line);
        }
    }
    if (!key_path || !in || optind != argc)
        return cli_usage("encode", usage_line);
    bool jsonl;
    if (format)
        jsonl = strcmp(format, "jsonl") == 0;
    else
        jsonl = ends_with(in, ".jsonl") || ends_with(in, ".ndjson");
    if (format && !jsonl && strcmp(format, "csv") != 0)
        return cli_fail("encode", "--format: unknown format '%s' (csv or jsonl)", format);

    avrr_pseudo_key *key = NULL;
    avrr_error e;
    avrr_error_clear(&e);
    char tmp_path[4096] = "";
    int rc = 1;
    if (avrr_pseudo_key_load(key_path, &key, &e) != AVRR_OK) {
        cli_error("encode", &e);
        return 1;
    }
    job.key = key;
    job.path = in;
    job.in = strcmp(in, "-") == 0 ? stdin : fopen(in, "r");
    if (!job.in) {
        cli_fail("encode", "cannot open %s: %m", in);
        goto out;
    }
    if (out) {
        /* Beside the output, so that the final rename stays on one file
         * system; mkstemp makes it 0600 like the key. */
        if (snprintf(tmp_path, sizeof tmp_path, "%s.XXXXXX", out) >= (int)sizeof tmp_path) {
            cli_fail("encode", "--out: the path is too long");
            goto out;
        }
        int fd = mkstemp(tmp_path);
        if (fd < 0 || !(job.out = fdopen(fd, "w+"))) {
            if (fd >= 0)
                close(fd);
            cli_fail("encode", "cannot create a file beside %s: %m", out);
            tmp_path[0] = '\0';
            goto out;
        }
    } else if (!(job.out = tmpfile())) {
        cli_fail("encode", "cannot create a temporary file: %m");
        goto out;
    }
    fputs("rec_id,encoded_identity\n", job.out);
    avrr_err err = jsonl ? encode_jsonl(&job, &e) : encode_csv(&job, &e);
    if (err != AVRR_OK) {
        cli_error("encode", &e);
        goto out;
    }
    if (job.bad && !job.skip_bad) {
        cli_fail("encode", "%lu bad row(s) in %s: nothing was written (fix them, or use "
                           "--skip-bad)", job.bad, in);
        goto out;
    }
    if (fflush(job.out) != 0 || ferror(job.out)) {
        cli_fail("encode", "cannot write the output: %m");
        goto out;
    }
    if (out) {
        if (fclose(job.out) != 0) {
            job.out = NULL;
            cli_fail("encode", "cannot write %s: %m", out);
            goto out;
        }
        job.out = NULL;
        if (rename(tmp_path, out) != 0) {
            cli_fail("encode", "cannot write %s: %m", out);
            goto out;
        }
        tmp_path[0] = '\0';
    } else if (copy_out(job.out) != 0) {
        cli_fail("encode", "cannot write to stdout: %m");
        goto out;
    }
    fprintf(stderr, "avrr encode: %lu identities encoded%s", job.rows - job.bad,
            job.bad ? "" : "\n");
    if (job.bad)
        fprintf(stderr, ", %lu bad row(s) skipped\n", job.bad);
    rc = 0;
out:
    if (job.out)
        fclose(job.out);
    if (tmp_path[0])
        unlink(tmp_path);
    if (job.in && job.in != stdin)
        fclose(job.in);
    avrr_pseudo_key_free(key);
    return rc;
}
