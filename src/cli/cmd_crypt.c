/* cmd_crypt.c: `avrr rekey`: re-encrypts a registry's personal fields under
 * a new data key, or encrypts a plain registry for the first time
 * (src/store/crypt.h). An operator's command on the file, like `init`: it
 * talks to the store directly, and records one audit event. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "privacy/audit.h"
#include "store/crypt.h"
#include "store/store.h"

/* Loads the key at path, first making it when it does not exist (*made). */
static avrr_err key_get(const char *path, bool *made, char id[17], avrr_error *e)
{
    avrr_data_key *k = NULL;
    avrr_err result;

    *made = false;
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        result = avrr_data_key_create(path, &k, e);
        *made = result == AVRR_OK;
    } else {
        result = avrr_data_key_load(path, &k, e);
    }
    if (result == AVRR_OK)
        avrr_data_key_id_hex(k, id);
    avrr_data_key_free(k);
    return result;
}

int avrr_cli_rekey(int argc, char **argv)
{
    static const char *usage_line =
        "avrr rekey --db FILE [--data-key OLD] --new-data-key NEW";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"data-key", required_argument, 0, 'k'},
                                         {"new-data-key", required_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *old_key = NULL, *new_key = NULL;
    avrr_store_options opt = {0};
    avrr_store *s = NULL;
    avrr_error e;
    bool made = false;
    char id[17] = "";
    int64_t n = 0;
    int c, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "d:k:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'k': old_key = optarg; break;
        case 'n': new_key = optarg; break;
        case 'h':
            printf("usage: %s\n\n"
                   "Re-encrypts every personal field of the registry under a new data key in\n"
                   "one transaction, records the new key id, then rewrites the file and empties\n"
                   "the WAL so that no old ciphertext stays behind. Afterwards only the new key\n"
                   "opens the registry: point AVRR_DATA_KEY at it. A plain registry is\n"
                   "encrypted for the first time.\n\n"
                   "  --db FILE           the registry (or AVRR_DB)\n"
                   "  --data-key OLD      its current key file (default: AVRR_DATA_KEY; none\n"
                   "                      for a plain registry)\n"
                   "  --new-data-key NEW  the new key file; made (mode 0600) when it does not\n"
                   "                      exist. Keep it outside the database, and back it up:\n"
                   "                      without it the personal data cannot be read.\n\n"
                   "Stop `avrr serve` first: the rewrite needs the file to itself.\n",
                   usage_line);
            return 0;
        default: return cli_usage("rekey", usage_line);
        }
    }
    if (!new_key || optind != argc)
        return cli_usage("rekey", usage_line);
    if (!db)
        db = getenv("AVRR_DB");
    if (!db || !db[0])
        return cli_fail("rekey", "no registry given: use --db FILE (or set AVRR_DB)");
    if (!old_key)
        old_key = getenv(AVRR_DATA_KEY_ENV);
    if (old_key && !old_key[0])
        old_key = NULL;
    if (old_key && strcmp(old_key, new_key) == 0)
        return cli_fail("rekey", "the new data key must be another file than the old one");

    avrr_error_clear(&e);
    if (key_get(new_key, &made, id, &e) != AVRR_OK) {
        cli_error("rekey", &e);
        return 1;
    }
    if (made)
        printf("data key created: %s (key id %s)\n", new_key, id);
    opt.data_key = old_key;
    if (avrr_store_open_ex(db, &opt, &s, &e) != AVRR_OK) {
        cli_error("rekey", &e);
        goto out;
    }
    if (s->ops->rekey == NULL) {
        fprintf(stderr, "avrr rekey: the %s backend cannot encrypt personal fields\n",
                s->ops->name);
        goto out;
    }
    if (s->ops->rekey(s, new_key, &n, &e) != AVRR_OK) {
        cli_error("rekey", &e);
        /* Keep the new key whenever the registry names it now. */
        char *in_use = NULL;
        avrr_error ignored;
        if (made && s->ops->meta_get(s, "data_key_id", &in_use, &ignored) == AVRR_OK &&
            strcmp(in_use, id) == 0)
            made = false;
        avrr_free(in_use);
        goto out;
    }
    /* The operator, who holds the files, re-keyed the registry. */
    avrr_audit_event ev;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.role, sizeof ev.role, "operator");
    snprintf(ev.action, sizeof ev.action, "data.rekey");
    snprintf(ev.target_type, sizeof ev.target_type, "registry");
    snprintf(ev.outcome, sizeof ev.outcome, "%s", avrr_errname(AVRR_OK));
    if (avrr_audit_append(s, &ev, &e) != AVRR_OK) {
        /* The data are re-encrypted already: say so, but fail. */
        cli_error("rekey", &e);
        fprintf(stderr, "avrr rekey: the registry IS re-encrypted under %s\n", new_key);
        made = false;
        goto out;
    }
    printf("registry %s re-encrypted under data key %s (%s): %lld values\n"
           "the old key no longer opens it; set AVRR_DATA_KEY=%s\n",
           db, id, new_key, (long long)n, new_key);
    rc = 0;
out:
    avrr_store_close(s);
    /* A key made for a rekey that did not happen would only confuse. */
    if (rc != 0 && made)
        unlink(new_key);
    return rc;
}
