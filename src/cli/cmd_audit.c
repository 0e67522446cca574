/* cmd_audit.c: `avrr audit`: what a data-protection officer does with the
 * audit log from the command line: verify it, make a signing key, sign
 * the head, list events. */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "avrr/service.h"
#include "cli/cli.h"
#include "cli/util.h"
#include "privacy/audit.h"
#include "service/codec.h"

/* Reads a public key given as 64 hex characters or as a file holding them. */
static bool read_public_key(const char *arg, uint8_t pk[32])
{
    char hex[80] = "";
    size_t bin = 0;
    if (strlen(arg) == 64) {
        snprintf(hex, sizeof hex, "%s", arg);
    } else {
        FILE *f = fopen(arg, "r");
        if (!f || !fgets(hex, sizeof hex, f)) {
            if (f)
                fclose(f);
            return false;
        }
        fclose(f);
        hex[strcspn(hex, "\r\n")] = '\0';
    }
    return sodium_hex2bin(pk, 32, hex, strlen(hex), NULL, &bin, NULL) == 0 && bin == 32;
}

static int audit_verify(int argc, char **argv)
{
    static const char *usage_line = "avrr audit verify --db FILE [--public-key HEX|FILE]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"public-key", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *key = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'k': key = optarg; break;
        case 'h':
            printf("usage: %s\n\nChecks every audit event's hash chain and every signed checkpoint.\n"
                   "Exits 0 when the log holds; 1 naming the first bad event when an event\n"
                   "was changed, deleted, inserted or reordered. With --public-key, every\n"
                   "checkpoint must be signed by that key (the server's audit key).\n",
                   usage_line);
            return 0;
        default: return cli_usage("audit verify", usage_line);
        }
    }
    if (optind != argc)
        return cli_usage("audit verify", usage_line);
    uint8_t pk[32];
    if (key && !read_public_key(key, pk))
        return cli_fail("audit verify", "--public-key: not 64 hex characters or a file of them");
    avrr_service *svc = cli_open("audit verify", db, false);
    if (!svc)
        return 1;
    avrr_audit_summary s;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 1;
    if (avrr_service_audit_verify(svc, key ? pk : NULL, &s, &e) != AVRR_OK) {
        cli_error("audit verify", &e);
    } else if (s.bad_seq) {
        fprintf(stderr, "avrr audit verify: FAILED at event %lld: %s\n", (long long)s.bad_seq,
                s.problem);
        printf("bad event: %lld\n", (long long)s.bad_seq);
    } else {
        printf("audit log verified: %lld event(s) (%lld..%lld), %lld signed checkpoint(s)\n",
               (long long)s.events, (long long)s.first_seq, (long long)s.last_seq,
               (long long)s.checkpoints);
        rc = 0;
    }
    avrr_service_close(svc);
    return rc;
}

static int audit_key(int argc, char **argv)
{
    static const char *usage_line = "avrr audit key --out FILE";
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
            printf("usage: %s\n\nMakes an Ed25519 key for signing audit checkpoints, in a new file\n"
                   "readable by its owner only. Keep it outside the database (the server's\n"
                   "config names it: audit_key = FILE). Prints the public key, which\n"
                   "`avrr audit verify --public-key` takes.\n", usage_line);
            return 0;
        default: return cli_usage("audit key", usage_line);
        }
    }
    if (!out || optind != argc)
        return cli_usage("audit key", usage_line);
    if (sodium_init() < 0)
        return cli_fail("audit key", "libsodium failed to initialise");
    uint8_t pk[32];
    char hex[65];
    avrr_error e;
    avrr_error_clear(&e);
    if (avrr_audit_key_create(out, pk, &e) != AVRR_OK) {
        cli_error("audit key", &e);
        return 1;
    }
    sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
    printf("audit signing key written to %s; public key:\n%s\n", out, hex);
    return 0;
}

static int audit_checkpoint(int argc, char **argv)
{
    static const char *usage_line = "avrr audit checkpoint --db FILE --key FILE";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"key", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *key = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'k': key = optarg; break;
        case 'h':
            printf("usage: %s\n\nSigns the head of the audit chain now (the server does it at\n"
                   "intervals and when it stops).\n", usage_line);
            return 0;
        default: return cli_usage("audit checkpoint", usage_line);
        }
    }
    if (!key || optind != argc)
        return cli_usage("audit checkpoint", usage_line);
    avrr_service *svc = cli_open("audit checkpoint", db, false);
    if (!svc)
        return 1;
    int64_t seq = 0;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 0;
    if (avrr_service_audit_checkpoint(svc, key, &seq, &e) != AVRR_OK) {
        cli_error("audit checkpoint", &e);
        rc = 1;
    } else if (seq) {
        printf("signed the audit chain up to event %lld\n", (long long)seq);
    } else {
        printf("nothing new to sign\n");
    }
    avrr_service_close(svc);
    return rc;
}

static int audit_list(int argc, char **argv)
{
    static const char *usage_line = "avrr audit list --db FILE --tenant CODE [--after SEQ]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'},
                                         {"after", required_argument, 0, 'a'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *tenant = NULL;
    long after = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:t:a:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 't': tenant = optarg; break;
        case 'a':
            if (!cli_parse_long("audit list", "--after", optarg, 0, 0x7fffffffL, &after))
                return 2;
            break;
        case 'h':
            printf("usage: %s\n\nPrints a tenant's audit events as JSON lines, as its dpo sees them\n"
                   "through GET /v1/audit (reading them is itself an audit event).\n", usage_line);
            return 0;
        default: return cli_usage("audit list", usage_line);
        }
    }
    if (!tenant || optind != argc)
        return cli_usage("audit list", usage_line);
    avrr_service *svc = cli_open("audit list", db, false);
    if (!svc)
        return 1;
    avrr_actor actor;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 1;
    if (avrr_service_local_actor(svc, tenant, AVRR_ROLE_DPO, &actor, &e) != AVRR_OK) {
        cli_error("audit list", &e);
        goto out;
    }
    avrr_page page = {after, AVRR_PAGE_MAX};
    for (;;) {
        avrr_audit_event *ev = NULL;
        size_t n = 0;
        int64_t next = 0;
        if (avrr_service_audit_list(svc, &actor, page, &ev, &n, &next, &e) != AVRR_OK) {
            cli_error("audit list", &e);
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            json_object *o = avrr_codec_audit_event_to_json(&ev[i]);
            puts(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE)
                   : "{}");
            json_object_put(o);
        }
        avrr_free(ev);
        if (!next)
            break;
        page.after = next;
    }
    rc = 0;
out:
    avrr_service_close(svc);
    return rc;
}

int avrr_cli_audit(int argc, char **argv)
{
    static const char *usage_line = "avrr audit verify|key|checkpoint|list [OPTIONS]";
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return audit_verify(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "key") == 0)
        return audit_key(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "checkpoint") == 0)
        return audit_checkpoint(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return audit_list(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s\n\n  verify       check the hash chain and signed checkpoints\n"
               "  key          make an Ed25519 signing key for checkpoints\n"
               "  checkpoint   sign the chain head now\n"
               "  list         print a tenant's events\n", usage_line);
        return 0;
    }
    return cli_usage("audit", usage_line);
}
