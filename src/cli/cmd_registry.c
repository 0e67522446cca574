/* cmd_registry.c: `avrr init`, `avrr tenant`, `avrr key`: the operator's
 * commands that set a registry up. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "store/crypt.h"

int avrr_cli_init(int argc, char **argv)
{
    static const char *usage_line = "avrr init --db FILE [--data-key KEYFILE]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"data-key", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *data_key = NULL;
    bool made = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'k': data_key = optarg; break;
        case 'h':
            printf("usage: %s\n\nCreates a new registry (an SQLite file) and applies the schema.\n"
                   "An existing registry is only brought up to date; nothing is lost.\n\n"
                   "  --db FILE           the registry file to create\n"
                   "  --data-key KEYFILE  encrypt the personal fields of the new registry with\n"
                   "                      this data key, made (mode 0600) when the file does not\n"
                   "                      exist. Keep it outside the database and back it up;\n"
                   "                      every later command finds it through AVRR_DATA_KEY.\n"
                   "                      (A registry created while AVRR_DATA_KEY is set is\n"
                   "                      encrypted too; to encrypt an existing registry use\n"
                   "                      avrr rekey.)\n", usage_line);
            return 0;
        default: return cli_usage("init", usage_line);
        }
    }
    if (optind != argc)
        return cli_usage("init", usage_line);
    if (data_key) {
        if (!data_key[0])
            return cli_usage("init", usage_line);
        if (access(data_key, F_OK) != 0 && errno == ENOENT) {
            avrr_data_key *k = NULL;
            avrr_error e;
            char id[17];
            avrr_error_clear(&e);
            if (avrr_data_key_create(data_key, &k, &e) != AVRR_OK) {
                cli_error("init", &e);
                return 1;
            }
            avrr_data_key_id_hex(k, id);
            avrr_data_key_free(k);
            made = true;
            printf("data key created: %s (key id %s)\n", data_key, id);
        }
        /* The store finds the key where every command does (store.h). */
        if (setenv(AVRR_DATA_KEY_ENV, data_key, 1) != 0) {
            if (made)
                unlink(data_key);
            return cli_fail("init", "cannot set %s: %m", AVRR_DATA_KEY_ENV);
        }
    }
    avrr_service *svc = cli_open("init", db, true);
    if (!svc) {
        if (made)
            unlink(data_key); /* no registry uses it */
        return 1;
    }
    avrr_service_close(svc);
    printf("registry ready: %s\n", db ? db : "");
    return 0;
}

static int tenant_add(int argc, char **argv)
{
    static const char *usage_line = "avrr tenant add --db FILE --code CODE --name NAME";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"code", required_argument, 0, 'c'},
                                         {"name", required_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *code = NULL, *name = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'c': code = optarg; break;
        case 'n': name = optarg; break;
        case 'h':
            printf("usage: %s\n\nAdds a tenant: a member state (NL, BE) or an organisation\n"
                   "(IOM-NL, FRONTEX). Codes are 2-16 letters, digits or '-'.\n", usage_line);
            return 0;
        default: return cli_usage("tenant add", usage_line);
        }
    }
    if (!code || !name || optind != argc)
        return cli_usage("tenant add", usage_line);
    avrr_service *svc = cli_open("tenant add", db, false);
    if (!svc)
        return 1;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 0;
    if (avrr_service_tenant_add(svc, code, name, &e) != AVRR_OK) {
        cli_error("tenant add", &e);
        rc = 1;
    } else {
        printf("tenant added: %s\n", code);
    }
    avrr_service_close(svc);
    return rc;
}

static int tenant_list(int argc, char **argv)
{
    static const char *usage_line = "avrr tenant list --db FILE";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'h': printf("usage: %s\n\nLists the tenants, one per line: CODE<TAB>NAME.\n", usage_line); return 0;
        default: return cli_usage("tenant list", usage_line);
        }
    }
    avrr_service *svc = cli_open("tenant list", db, false);
    if (!svc)
        return 1;
    avrr_tenant *t = NULL;
    size_t n = 0;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 0;
    if (avrr_service_tenant_list(svc, &t, &n, &e) != AVRR_OK) {
        cli_error("tenant list", &e);
        rc = 1;
    }
    for (size_t i = 0; i < n; i++)
        printf("%s\t%s\t%s\tretention %dd\taudit %dd\n", t[i].code, t[i].name ? t[i].name : "",
               avrr_duplicate_policy_name(t[i].duplicate_policy), t[i].retention_days,
               t[i].audit_retention_days);
    avrr_service_free_tenants(t, n);
    avrr_service_close(svc);
    return rc;
}

static int tenant_set(int argc, char **argv)
{
    static const char *usage_line =
        "avrr tenant set --db FILE --code CODE [--duplicate-policy warn|block]\n"
        "       [--retention-days N] [--audit-retention-days N]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"code", required_argument, 0, 'c'},
                                         {"duplicate-policy", required_argument, 0, 'p'},
                                         {"retention-days", required_argument, 0, 'r'},
                                         {"audit-retention-days", required_argument, 0, 'a'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *code = NULL, *policy = NULL;
    long retention = -1, audit_retention = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:p:r:a:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'c': code = optarg; break;
        case 'p': policy = optarg; break;
        case 'r':
            if (!cli_parse_long("tenant set", "--retention-days", optarg, 0, 36500, &retention))
                return 2;
            break;
        case 'a':
            if (!cli_parse_long("tenant set", "--audit-retention-days", optarg, 1, 36500,
                                &audit_retention))
                return 2;
            break;
        case 'h':
            printf("usage: %s\n\n"
                   "  --duplicate-policy warn|block  when assistance may be double support:\n"
                   "        201 with warnings (default) or 409 until a human resolves the link\n"
                   "  --retention-days N        erase personal data N days after a person's\n"
                   "        last case closed (default 730; 0 keeps it)\n"
                   "  --audit-retention-days N  keep audit events N days (default 1095)\n",
                   usage_line);
            return 0;
        default: return cli_usage("tenant set", usage_line);
        }
    }
    if (!code || optind != argc || (!policy && retention < 0 && audit_retention < 0))
        return cli_usage("tenant set", usage_line);
    avrr_service *svc = cli_open("tenant set", db, false);
    if (!svc)
        return 1;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 0;
    avrr_err err = AVRR_OK;
    if (policy)
        err = avrr_service_tenant_set_policy(svc, code, policy, &e);
    if (err == AVRR_OK && (retention >= 0 || audit_retention >= 0)) {
        avrr_tenant *t = NULL;
        size_t n = 0;
        int keep_r = AVRR_RETENTION_DAYS_DEFAULT, keep_a = AVRR_AUDIT_RETENTION_DAYS_DEFAULT;
        err = avrr_service_tenant_list(svc, &t, &n, &e);
        for (size_t i = 0; err == AVRR_OK && i < n; i++) {
            if (strcasecmp(t[i].code, code) == 0) {
                keep_r = t[i].retention_days;
                keep_a = t[i].audit_retention_days;
            }
        }
        avrr_service_free_tenants(t, n);
        if (err == AVRR_OK)
            err = avrr_service_tenant_set_retention(svc, code,
                                                    retention >= 0 ? (int)retention : keep_r,
                                                    audit_retention >= 0 ? (int)audit_retention
                                                                         : keep_a,
                                                    &e);
    }
    if (err != AVRR_OK) {
        cli_error("tenant set", &e);
        rc = 1;
    } else {
        printf("tenant %s updated\n", code);
    }
    avrr_service_close(svc);
    return rc;
}

/* Rule files are small documents; a bigger one is a wrong file. */
#define RULES_FILE_MAX 65536

static char *read_rules_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_fail("tenant rules", "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = avrr_malloc(RULES_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, RULES_FILE_MAX + 1, f) : 0;
    bool bad = !buf || ferror(f) || n > RULES_FILE_MAX;
    fclose(f);
    if (bad) {
        cli_fail("tenant rules", "cannot read %s (or it is over %d bytes)", path,
                 RULES_FILE_MAX);
        avrr_free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int tenant_rules(int argc, char **argv)
{
    static const char *usage_line =
        "avrr tenant rules --db FILE --code CODE (--file RULES.json | --show | --clear)";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"code", required_argument, 0, 'c'},
                                         {"file", required_argument, 0, 'f'},
                                         {"show", no_argument, 0, 's'},
                                         {"clear", no_argument, 0, 'x'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *code = NULL, *file = NULL;
    bool show = false, clear = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:f:sxh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'c': code = optarg; break;
        case 'f': file = optarg; break;
        case 's': show = true; break;
        case 'x': clear = true; break;
        case 'h':
            printf("usage: %s\n\n"
                   "Loads a state's eligibility rules and caps on assistance (JSON; see\n"
                   "docs/rules/nl.json), applied whenever assistance is added to its cases.\n"
                   "  --show   print the stored rules\n"
                   "  --clear  remove them (nothing is refused any more)\n",
                   usage_line);
            return 0;
        default: return cli_usage("tenant rules", usage_line);
        }
    }
    if (!code || optind != argc || (file != NULL) + show + clear != 1)
        return cli_usage("tenant rules", usage_line);
    char *json = NULL;
    if (file && !(json = read_rules_file(file)))
        return 1;
    avrr_service *svc = cli_open("tenant rules", db, false);
    if (!svc) {
        avrr_free(json);
        return 1;
    }
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err;
    if (show) {
        err = avrr_service_tenant_get_rules(svc, code, &json, &e);
        if (err == AVRR_OK)
            printf("%s\n", json ? json : "{}");
    } else {
        err = avrr_service_tenant_set_rules(svc, code, json, &e);
        if (err == AVRR_OK)
            printf("rules of %s %s\n", code, clear ? "cleared" : "loaded");
    }
    if (err != AVRR_OK)
        cli_error("tenant rules", &e);
    avrr_free(json);
    avrr_service_close(svc);
    return err == AVRR_OK ? 0 : 1;
}

int avrr_cli_tenant(int argc, char **argv)
{
    static const char *usage_line = "avrr tenant add|list|set|rules [OPTIONS]";
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return tenant_add(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return tenant_list(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "set") == 0)
        return tenant_set(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "rules") == 0)
        return tenant_rules(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s\n\n  add    add a tenant (avrr tenant add --help)\n"
               "  list   list the tenants\n  set    set a tenant's duplicate policy\n"
               "  rules  load a tenant's eligibility rules and caps\n", usage_line);
        return 0;
    }
    return cli_usage("tenant", usage_line);
}

static int key_create(int argc, char **argv)
{
    static const char *usage_line =
        "avrr key create --db FILE --tenant CODE --role ROLE [--label TEXT]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'},
                                         {"role", required_argument, 0, 'r'},
                                         {"label", required_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *tenant = NULL, *role = NULL, *label = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:t:r:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 't': tenant = optarg; break;
        case 'r': role = optarg; break;
        case 'l': label = optarg; break;
        case 'h':
            printf("usage: %s\n\nCreates an API key for a tenant and role (caseworker, provider,\n"
                   "statistician, dpo, admin). The key is printed once, alone on the last\n"
                   "line of standard output; the registry keeps only its hash.\n", usage_line);
            return 0;
        default: return cli_usage("key create", usage_line);
        }
    }
    if (!tenant || !role || optind != argc)
        return cli_usage("key create", usage_line);
    avrr_service *svc = cli_open("key create", db, false);
    if (!svc)
        return 1;
    char *key = NULL;
    int64_t id = 0;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 0;
    if (avrr_service_key_create(svc, tenant, role, label, &key, &id, &e) != AVRR_OK) {
        cli_error("key create", &e);
        rc = 1;
    } else {
        printf("key %lld for %s (%s); store it now, it is not shown again:\n%s\n",
               (long long)id, tenant, role, key);
        avrr_free(key);
    }
    avrr_service_close(svc);
    return rc;
}

static int key_revoke(int argc, char **argv)
{
    static const char *usage_line = "avrr key revoke --db FILE --id N";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"id", required_argument, 0, 'i'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *ids = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'i': ids = optarg; break;
        case 'h': printf("usage: %s\n\nRevokes an API key at once (its id is in `avrr key list`).\n", usage_line); return 0;
        default: return cli_usage("key revoke", usage_line);
        }
    }
    long id;
    if (!ids || optind != argc)
        return cli_usage("key revoke", usage_line);
    if (!cli_parse_long("key revoke", "--id", ids, 1, 0x7fffffffL, &id))
        return 2;
    avrr_service *svc = cli_open("key revoke", db, false);
    if (!svc)
        return 1;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 0;
    if (avrr_service_key_revoke(svc, id, &e) != AVRR_OK) {
        cli_error("key revoke", &e);
        rc = 1;
    } else {
        printf("key %ld revoked\n", id);
    }
    avrr_service_close(svc);
    return rc;
}

static int key_list(int argc, char **argv)
{
    static const char *usage_line = "avrr key list --db FILE [--tenant CODE]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *tenant = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 't': tenant = optarg; break;
        case 'h': printf("usage: %s\n\nLists keys: ID TENANT ROLE STATE LABEL (never the secret).\n", usage_line); return 0;
        default: return cli_usage("key list", usage_line);
        }
    }
    avrr_service *svc = cli_open("key list", db, false);
    if (!svc)
        return 1;
    avrr_key_info *k = NULL;
    size_t n = 0;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 0;
    if (avrr_service_key_list(svc, tenant, &k, &n, &e) != AVRR_OK) {
        cli_error("key list", &e);
        rc = 1;
    }
    for (size_t i = 0; i < n; i++)
        printf("%lld\t%s\t%s\t%s\t%s\n", (long long)k[i].id, k[i].tenant,
               avrr_role_name(k[i].role), k[i].revoked ? "revoked" : "active", k[i].label);
    avrr_free(k);
    avrr_service_close(svc);
    return rc;
}

int avrr_cli_key(int argc, char **argv)
{
    static const char *usage_line = "avrr key create|list|revoke [OPTIONS]";
    if (argc >= 2 && strcmp(argv[1], "create") == 0)
        return key_create(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
        return key_revoke(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return key_list(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s\n\n  create   make a key for a tenant and role\n"
               "  list     list keys\n  revoke   revoke a key\n", usage_line);
        return 0;
    }
    return cli_usage("key", usage_line);
}

int avrr_cli_purge(int argc, char **argv)
{
    static const char *usage_line = "avrr purge --db FILE [--today YYYY-MM-DD]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"today", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *today = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 't': today = optarg; break;
        case 'h':
            printf("usage: %s\n\n"
                   "Applies every tenant's retention policy (avrr tenant set --retention-days):\n"
                   "erases the personal data of persons whose cases all closed longer ago than\n"
                   "the tenant keeps them (cases and assistance stay as anonymous statistics),\n"
                   "forgets old check requests, removes audit events past their retention, and\n"
                   "compacts the database so erased data leave its files. The server runs this\n"
                   "daily. --today pretends another date (for tests and planning).\n",
                   usage_line);
            return 0;
        default: return cli_usage("purge", usage_line);
        }
    }
    if (optind != argc)
        return cli_usage("purge", usage_line);
    avrr_service *svc = cli_open("purge", db, false);
    if (!svc)
        return 1;
    avrr_purge_report r;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 0;
    if (avrr_service_purge(svc, today, &r, &e) != AVRR_OK) {
        cli_error("purge", &e);
        rc = 1;
    } else {
        printf("erased %lld person(s), forgot %lld check request(s), removed %lld audit event(s)\n",
               (long long)r.persons_erased, (long long)r.checks_forgotten,
               (long long)r.audit_events_removed);
    }
    avrr_service_close(svc);
    return rc;
}

int avrr_cli_backup(int argc, char **argv)
{
    static const char *usage_line = "avrr backup --db FILE --out FILE";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: %s\n\nCopies an SQLite registry into a new file (mode 0600) while servers\n"
                   "keep using it (SQLite's online backup). An encrypted registry stays\n"
                   "encrypted in the copy: keep its data key, separately. Restore by\n"
                   "stopping the servers and putting the copy in the registry's place.\n"
                   "PostgreSQL registries: pg_dump (docs/DEPLOY.md).\n", usage_line);
            return 0;
        default: return cli_usage("backup", usage_line);
        }
    }
    if (!out || optind != argc)
        return cli_usage("backup", usage_line);
    avrr_service *svc = cli_open("backup", db, false);
    if (!svc)
        return 1;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 0;
    if (avrr_service_backup(svc, out, &e) != AVRR_OK) {
        cli_error("backup", &e);
        rc = 1;
    } else {
        printf("registry copied to %s\n", out);
    }
    avrr_service_close(svc);
    return rc;
}
