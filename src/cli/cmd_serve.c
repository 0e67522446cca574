/* cmd_serve.c: `avrr serve`: runs the HTTP/JSON API until SIGINT or SIGTERM.
 *
 * Settings come from a config file (--config; "key = value" lines, '#'
 * comments) and are overridden by options on the command line. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "avrr/server.h"
#include "privacy/audit.h"
#include "cli/cli.h"
#include "cli/util.h"

typedef struct serve_config {
    char db[1024];
    char listen[128];
    long threads;
    long store_pool; /* PostgreSQL: connections of the checks' own */
    long body_limit;
    long log_requests;
    char audit_key[1024];
    char data_key[1024]; /* overrides AVRR_DATA_KEY */
    char web_root[1024];
    long checkpoint_seconds;
    char tls_cert[1024];
    char tls_key[1024];
    long rate_limit;
    long rate_burst;
    long auth_fail_limit;
    long pseudonymised_index;    /* 1: the index holds only keyed encodings */
    char pseudonym_key_file[1024];
    char match_model[1024];      /* a model file of avrr train; "" defaults */
    avrr_service_options options;
} serve_config;

/* Per API key, 50 requests a second with bursts of 100: a caseworker's
 * screen makes a few requests per action and a national node's batch of
 * checks a few dozen a second, while one key cannot starve the others of
 * the worker threads. 20 failed authentications a minute per address: a
 * mistyped key is retried a handful of times, and key guessing goes no
 * faster than one try every 3 seconds. */
#define DEFAULT_RATE_LIMIT 50
#define DEFAULT_RATE_BURST 100
#define DEFAULT_AUTH_FAIL_LIMIT 20

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Reads the config file; errors name FILE:LINE. */
static int read_config(const char *path, serve_config *cfg)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_fail("serve", "cannot open config %s: %m", path);
    char line[1200];
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = cli_fail("serve", "%s:%u: expected 'key = value'", path, lineno);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (strcmp(key, "db") == 0) {
            snprintf(cfg->db, sizeof cfg->db, "%s", val);
        } else if (strcmp(key, "listen") == 0) {
            snprintf(cfg->listen, sizeof cfg->listen, "%s", val);
        } else if (strcmp(key, "threads") == 0) {
            if (!cli_parse_long("serve", "threads", val, 1, 256, &cfg->threads))
                rc = cli_fail("serve", "%s:%u: bad threads value", path, lineno);
        } else if (strcmp(key, "store_pool") == 0) {
            if (!cli_parse_long("serve", "store_pool", val, 0, AVRR_STORE_POOL_MAX,
                                &cfg->store_pool))
                rc = cli_fail("serve", "%s:%u: bad store_pool value (0 to %d)", path, lineno,
                              AVRR_STORE_POOL_MAX);
        } else if (strcmp(key, "body_limit") == 0) {
            if (!cli_parse_long("serve", "body_limit", val, 1024, 64L << 20, &cfg->body_limit))
                rc = cli_fail("serve", "%s:%u: bad body_limit value", path, lineno);
        } else if (strcmp(key, "strong_threshold") == 0 ||
                   strcmp(key, "possible_threshold") == 0) {
            char *end;
            double v = strtod(val, &end);
            if (end == val || *end || !(v > 0.0 && v <= 1.0))
                rc = cli_fail("serve", "%s:%u: %s must be a number in (0, 1]", path, lineno, key);
            else if (key[0] == 's')
                cfg->options.strong_threshold = v;
            else
                cfg->options.possible_threshold = v;
        } else if (strcmp(key, "duplicate_window_days") == 0) {
            long v;
            if (!cli_parse_long("serve", key, val, 0, 36500, &v))
                rc = cli_fail("serve", "%s:%u: bad duplicate_window_days", path, lineno);
            else
                cfg->options.duplicate_window_days = (int)v;
        } else if (strcmp(key, "web_root") == 0) {
            snprintf(cfg->web_root, sizeof cfg->web_root, "%s", val);
        } else if (strcmp(key, "audit_key") == 0) {
            snprintf(cfg->audit_key, sizeof cfg->audit_key, "%s", val);
        } else if (strcmp(key, "pseudonymised_index") == 0) {
            if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
                cfg->pseudonymised_index = 1;
            else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
                cfg->pseudonymised_index = 0;
            else
                rc = cli_fail("serve", "%s:%u: pseudonymised_index wants true or false", path,
                              lineno);
        } else if (strcmp(key, "match_model") == 0) {
            snprintf(cfg->match_model, sizeof cfg->match_model, "%s", val);
        } else if (strcmp(key, "pseudonym_key_file") == 0) {
            snprintf(cfg->pseudonym_key_file, sizeof cfg->pseudonym_key_file, "%s", val);
        } else if (strcmp(key, "data_key") == 0) {
            snprintf(cfg->data_key, sizeof cfg->data_key, "%s", val);
        } else if (strcmp(key, "audit_checkpoint_seconds") == 0) {
            if (!cli_parse_long("serve", key, val, 1, 86400, &cfg->checkpoint_seconds))
                rc = cli_fail("serve", "%s:%u: bad audit_checkpoint_seconds", path, lineno);
        } else if (strcmp(key, "tls_cert") == 0) {
            snprintf(cfg->tls_cert, sizeof cfg->tls_cert, "%s", val);
        } else if (strcmp(key, "tls_key") == 0) {
            snprintf(cfg->tls_key, sizeof cfg->tls_key, "%s", val);
        } else if (strcmp(key, "rate_limit") == 0) {
            if (!cli_parse_long("serve", key, val, 0, 1000000, &cfg->rate_limit))
                rc = cli_fail("serve", "%s:%u: bad rate_limit (requests a second, 0: none)", path,
                              lineno);
        } else if (strcmp(key, "rate_burst") == 0) {
            if (!cli_parse_long("serve", key, val, 0, 1000000, &cfg->rate_burst))
                rc = cli_fail("serve", "%s:%u: bad rate_burst", path, lineno);
        } else if (strcmp(key, "auth_fail_limit") == 0) {
            if (!cli_parse_long("serve", key, val, 0, 100000, &cfg->auth_fail_limit))
                rc = cli_fail("serve", "%s:%u: bad auth_fail_limit (failures a minute, 0: none)",
                              path, lineno);
        } else if (strcmp(key, "log_requests") == 0) {
            if (!cli_parse_long("serve", "log_requests", val, 0, 1, &cfg->log_requests))
                rc = cli_fail("serve", "%s:%u: log_requests must be 0 or 1", path, lineno);
        } else {
            rc = cli_fail("serve", "%s:%u: unknown setting '%s'", path, lineno, key);
        }
    }
    fclose(f);
    return rc;
}

/* How often the index learns of registrations made through other servers
 * on the same database: 4 times a second keeps a check on any server within
 * the 1 s the deployment promises, for a scan of a few hundred rows. */
#define SYNC_INTERVAL_MS 250

/* Retention once a day: erasure deadlines are counted in days. */
#define PURGE_INTERVAL_S (24 * 3600)

static void purge(avrr_service *svc)
{
    avrr_purge_report r;
    avrr_error e;
    avrr_error_clear(&e);
    if (avrr_service_purge(svc, NULL, &r, &e) != AVRR_OK)
        fprintf(stderr, "{\"level\":\"error\",\"event\":\"retention\",\"message\":\"%s\"}\n",
                e.message);
    else
        fprintf(stderr,
                "{\"level\":\"info\",\"event\":\"retention\",\"persons_erased\":%lld,"
                "\"audit_events_removed\":%lld,\"checks_forgotten\":%lld}\n",
                (long long)r.persons_erased, (long long)r.audit_events_removed,
                (long long)r.checks_forgotten);
}

static void checkpoint(avrr_service *svc, const char *key_file)
{
    avrr_error e;
    int64_t seq = 0;
    avrr_error_clear(&e);
    if (avrr_service_audit_checkpoint(svc, key_file, &seq, &e) != AVRR_OK)
        fprintf(stderr, "{\"level\":\"error\",\"event\":\"audit_checkpoint\",\"message\":\"%s\"}\n",
                e.message);
    else if (seq)
        fprintf(stderr, "{\"level\":\"info\",\"event\":\"audit_checkpoint\",\"seq\":%lld}\n",
                (long long)seq);
}

int avrr_cli_serve(int argc, char **argv)
{
    static const char *usage_line =
        "avrr serve --db FILE [--listen HOST:PORT] [--threads N] [--store-pool N]\n"
        "           [--config FILE] [--tls-cert FILE --tls-key FILE] [--rate-limit N]\n"
        "           [--web-root DIR] [--quiet]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"threads", required_argument, 0, 't'},
                                         {"store-pool", required_argument, 0, 'p'},
                                         {"config", required_argument, 0, 'c'},
                                         {"tls-cert", required_argument, 0, 'C'},
                                         {"tls-key", required_argument, 0, 'K'},
                                         {"rate-limit", required_argument, 0, 'r'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"web-root", required_argument, 0, 'w'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    /* Checkpoints every 5 minutes: a rewrite of the log can hide at most the
     * last few minutes, at the cost of one signature per interval. */
    /* A pooled connection per worker thread (the default 4): the checks
     * the workers run at once never wait for one. */
    serve_config cfg = {.listen = "127.0.0.1:8080", .threads = 4, .store_pool = 4,
                        .log_requests = 1,
                        .checkpoint_seconds = 300, .rate_limit = DEFAULT_RATE_LIMIT,
                        .rate_burst = DEFAULT_RATE_BURST,
                        .auth_fail_limit = DEFAULT_AUTH_FAIL_LIMIT};
    avrr_service_options_default(&cfg.options);
    const char *db = NULL, *listen = NULL, *config = NULL, *web = NULL;
    const char *tls_cert = NULL, *tls_key = NULL;
    long rate_limit = -1;
    long threads = 0, store_pool = -1;
    bool quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:l:t:p:c:C:K:r:qw:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'l': listen = optarg; break;
        case 't':
            if (!cli_parse_long("serve", "--threads", optarg, 1, 256, &threads))
                return 2;
            break;
        case 'p':
            if (!cli_parse_long("serve", "--store-pool", optarg, 0, AVRR_STORE_POOL_MAX,
                                &store_pool))
                return 2;
            break;
        case 'c': config = optarg; break;
        case 'C': tls_cert = optarg; break;
        case 'K': tls_key = optarg; break;
        case 'r':
            if (!cli_parse_long("serve", "--rate-limit", optarg, 0, 1000000, &rate_limit))
                return 2;
            break;
        case 'q': quiet = true; break;
        case 'w': web = optarg; break;
        case 'h':
            printf("usage: %s\n\n"
                   "Serves the HTTP/JSON API (docs/openapi.yaml) until SIGINT or SIGTERM.\n\n"
                   "  --db FILE          the registry\n"
                   "  --listen HOST:PORT address to bind (default 127.0.0.1:8080; port 0: any free)\n"
                   "  --threads N        worker threads (default 4)\n"
                   "  --store-pool N     PostgreSQL: connections of the checks' own, so that\n"
                   "                     checks overlap their round trips to the server\n"
                   "                     (default 4, at most %d; 0: checks share the one\n"
                   "                     connection of the other requests; SQLite: ignored)\n"
                   "  --config FILE      settings file, one 'key = value' per line: db, listen,\n"
                   "                     threads, store_pool, body_limit, log_requests,\n"
                   "                     strong_threshold (0.9), possible_threshold (0.5),\n"
                   "                     duplicate_window_days (730), pseudonymised_index\n"
                   "                     (true: the match index\n"
                   "                     holds only keyed encodings; checks may send\n"
                   "                     encoded_identity) with pseudonym_key_file (made by\n"
                   "                     avrr encode key), match_model (a model file of\n"
                   "                     avrr train; default: the shipped model),\n"
                   "                     audit_key (Ed25519 key file for signed\n"
                   "                     checkpoints, see avrr audit key), data_key (key\n"
                   "                     file of an encrypted registry; default\n"
                   "                     AVRR_DATA_KEY, see avrr rekey),\n"
                   "                     audit_checkpoint_seconds (300), web_root (folder\n"
                   "                     of the web pages, served under /app/), tls_cert,\n"
                   "                     tls_key, rate_limit (50 requests/s per API key;\n"
                   "                     0: none), rate_burst (100), auth_fail_limit (20\n"
                   "                     failed authentications per client address a\n"
                   "                     minute; 0: none)\n"
                   "  --tls-cert FILE    serve HTTPS with this PEM certificate (chain)\n"
                   "  --tls-key FILE     and this PEM private key (mode 600 or stricter)\n"
                   "  --rate-limit N     requests/s per API key (default 50; 0: none)\n"
                   "  --quiet            no request log on stderr\n"
                   "  --web-root DIR     serve the web pages in DIR under /app/\n\n"
                   "Prints 'avrr: serving http[s]://HOST:PORT/' on stdout once it serves.\n"
                   "Over a rate limit the answer is 429 with a Retry-After header.\n"
                   "Request logs are JSON lines on stderr.\n", usage_line, AVRR_STORE_POOL_MAX);
            return 0;
        default: return cli_usage("serve", usage_line);
        }
    }
    if (optind != argc)
        return cli_usage("serve", usage_line);
    if (config && read_config(config, &cfg) != 0)
        return 1;
    if (db)
        snprintf(cfg.db, sizeof cfg.db, "%s", db);
    if (listen)
        snprintf(cfg.listen, sizeof cfg.listen, "%s", listen);
    if (threads)
        cfg.threads = threads;
    if (store_pool >= 0)
        cfg.store_pool = store_pool;
    if (quiet)
        cfg.log_requests = 0;
    if (web)
        snprintf(cfg.web_root, sizeof cfg.web_root, "%s", web);
    if (tls_cert)
        snprintf(cfg.tls_cert, sizeof cfg.tls_cert, "%s", tls_cert);
    if (tls_key)
        snprintf(cfg.tls_key, sizeof cfg.tls_key, "%s", tls_key);
    if (rate_limit >= 0)
        cfg.rate_limit = rate_limit;
    /* Checked before the registry is opened and indexed, which can take a
     * while; the server checks the files themselves when it starts. */
    if (!cfg.tls_cert[0] != !cfg.tls_key[0])
        return cli_fail("serve", "tls_cert and tls_key go together: set both or neither");

    /* The store finds the data key through AVRR_DATA_KEY (store.h). */
    if (cfg.data_key[0] && setenv("AVRR_DATA_KEY", cfg.data_key, 1) != 0)
        return cli_fail("serve", "cannot set AVRR_DATA_KEY: %m");
    avrr_service *svc = cli_open("serve", cfg.db[0] ? cfg.db : NULL, false);
    if (!svc)
        return 1;
    avrr_error e;
    avrr_error_clear(&e);
    /* The match index is built before the first request, so that the first
     * check is as fast as the others and registrations open links. */
    uint8_t probe_key[64];
    if (cfg.audit_key[0] && avrr_audit_key_load(cfg.audit_key, probe_key, &e) != AVRR_OK) {
        cli_error("serve", &e);
        avrr_service_close(svc);
        return 1;
    }
    sodium_memzero(probe_key, sizeof probe_key);
    if (cfg.pseudonymised_index && !cfg.pseudonym_key_file[0]) {
        avrr_service_close(svc);
        return cli_fail("serve", "pseudonym_key_file: pseudonymised_index needs it (make "
                                 "one with: avrr encode key --out FILE)");
    }
    if (cfg.pseudonymised_index &&
        avrr_service_set_pseudonymised(svc, cfg.pseudonym_key_file, &e) != AVRR_OK) {
        cli_error("serve", &e);
        avrr_service_close(svc);
        return 1;
    }
    if (cfg.match_model[0] &&
        avrr_service_set_match_model(svc, cfg.match_model, &e) != AVRR_OK) {
        cli_error("serve", &e);
        avrr_service_close(svc);
        return 1;
    }
    if (avrr_service_configure(svc, &cfg.options, &e) != AVRR_OK ||
        avrr_service_store_pool(svc, (unsigned)cfg.store_pool, &e) != AVRR_OK ||
        avrr_service_index_load(svc, &e) != AVRR_OK) {
        cli_error("serve", &e);
        avrr_service_close(svc);
        return 1;
    }

    /* Block the stop signals in every thread (the server's threads inherit
     * this mask) and wait for them here. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* WAL checkpoints off the request path (walckpt.c). Its thread starts
     * after the mask, like the server's: a stop signal delivered to a
     * thread that does not block it kills the process (status 15, seen
     * under valgrind) instead of stopping it cleanly. */
    if (avrr_service_background_checkpoints(svc, 200, &e) != AVRR_OK) {
        cli_error("serve", &e);
        avrr_service_close(svc);
        return 1;
    }

    avrr_server_config sc = {.listen = cfg.listen,
                             .threads = (unsigned)cfg.threads,
                             .body_max = (size_t)cfg.body_limit,
                             .log_requests = (int)cfg.log_requests,
                             .web_root = cfg.web_root[0] ? cfg.web_root : NULL,
                             .tls_cert = cfg.tls_cert[0] ? cfg.tls_cert : NULL,
                             .tls_key = cfg.tls_key[0] ? cfg.tls_key : NULL,
                             .rate_limit = (unsigned)cfg.rate_limit,
                             .rate_burst = (unsigned)cfg.rate_burst,
                             .auth_fail_limit = (unsigned)cfg.auth_fail_limit};
    /* The first retention run before the first request, then daily. */
    purge(svc);
    avrr_server *srv = NULL;
    if (avrr_server_start(svc, &sc, &srv, &e) != AVRR_OK) {
        cli_error("serve", &e);
        avrr_service_close(svc);
        return 1;
    }
    char host[128];
    snprintf(host, sizeof host, "%s", cfg.listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    printf("avrr: serving %s://%s:%u/ (registry %s)\n", avrr_server_tls(srv) ? "https" : "http",
           host, avrr_server_port(srv), cfg.db);
    fflush(stdout);

    /* Wait for a stop signal; between signals, sign the audit chain's head
     * at every interval (and once more after the last request). */
    int sig;
    time_t next_purge = time(NULL) + PURGE_INTERVAL_S;
    time_t next_checkpoint = time(NULL) + cfg.checkpoint_seconds;
    for (;;) {
        struct timespec wait = {.tv_sec = 0, .tv_nsec = SYNC_INTERVAL_MS * 1000000L};
        sig = sigtimedwait(&stop, NULL, &wait);
        if (sig > 0)
            break;
        /* Registrations made through other servers on the same database. */
        avrr_error se;
        if (avrr_service_index_sync(svc, &se) != AVRR_OK)
            fprintf(stderr, "{\"level\":\"error\",\"event\":\"index_sync\",\"message\":\"%s\"}\n",
                    se.message);
        time_t now = time(NULL);
        if (cfg.audit_key[0] && now >= next_checkpoint) {
            checkpoint(svc, cfg.audit_key);
            next_checkpoint = now + cfg.checkpoint_seconds;
        }
        if (now >= next_purge) {
            purge(svc);
            next_purge = now + PURGE_INTERVAL_S;
        }
    }
    fprintf(stderr, "{\"level\":\"info\",\"event\":\"shutdown\",\"signal\":%d}\n", sig);
    avrr_server_stop(srv);
    if (cfg.audit_key[0])
        checkpoint(svc, cfg.audit_key);
    avrr_service_close(svc);
    return 0;
}
