/* harness.c: see harness.h. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "avrr/service.h"

static const char *bin(void)
{
    const char *b = getenv("AVRR_BIN");
    if (!b) {
        fprintf(stderr, "harness: AVRR_BIN is not set\n");
        exit(1);
    }
    return b;
}

int harness_avrr(const char *const *argv, char *last_line, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        /* A test program that dies (a failed assertion, a crash, a teardown
         * that returns early) takes its servers with it: none is left
         * running after the suite (one was, under valgrind). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(bin(), (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[1024];
    if (last_line && cap)
        last_line[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (last_line && line[0])
            snprintf(last_line, cap, "%s", line);
    }
    fclose(f);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "harness: %s failed (%d)\n", what, rc);
        exit(1);
    }
}

static void make_key(harness *h, const char *tenant, const char *role, char *out, size_t cap)
{
    const char *argv[] = {"avrr", "key", "create", "--db", h->db, "--tenant", tenant,
                          "--role", role, NULL};
    must(harness_avrr(argv, out, cap), "key create");
}

/* ---- PostgreSQL: a database per harness ---------------------------------- */

/* The maintenance URI when the tests run on PostgreSQL, else NULL; exits 77
 * (skipped) for the PostgreSQL variant without a cluster. */
static const char *pg_uri(void)
{
    const char *backend = getenv("AVRR_TEST_BACKEND");
    const char *uri = getenv("AVRR_TEST_PG_URI");
    bool pg = backend && backend[0] ? strcmp(backend, "postgresql") == 0 : uri != NULL;
    if (!pg)
        return NULL;
    if (!uri || !uri[0]) {
        fprintf(stderr, "harness: AVRR_TEST_PG_URI is not set: skipping the PostgreSQL run "
                        "(make test starts a cluster with scripts/pg-test-cluster.sh)\n");
        exit(77);
    }
    return uri;
}

/* Runs one statement of the harness's own on the maintenance database. */
static void pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(pg_uri());
    PGresult *r = NULL;
    if (PQstatus(c) == CONNECTION_OK)
        r = PQexec(c, sql);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        exit(1);
    }
    PQclear(r);
    PQfinish(c);
}

/* A fresh database (its name made here: CREATE DATABASE takes no
 * parameters) and its URI: the maintenance URI with the database name
 * replaced, scheme://[userinfo@][host][:port][/dbname][?params]. */
static void pg_create(harness *h)
{
    static unsigned serial;
    const char *base = pg_uri();
    const char *auth = strstr(base, "://");
    char sql[128];
    if (!auth) {
        fprintf(stderr, "harness: AVRR_TEST_PG_URI is not a URI\n");
        exit(1);
    }
    auth += 3;
    const char *query = strchr(auth, '?');
    const char *path = strchr(auth, '/');
    if (!path || (query && path > query))
        path = query ? query : base + strlen(base);
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    snprintf(h->pg_db, sizeof h->pg_db, "avrr_t_%ld_%u_%u", (long)getpid(), serial++,
             (unsigned)rand());
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", h->pg_db);
    pg_admin(sql);
    if (snprintf(h->db, sizeof h->db, "%.*s/%s%s", (int)(path - base), base, h->pg_db,
                 query ? query : "") >= (int)sizeof h->db) {
        fprintf(stderr, "harness: AVRR_TEST_PG_URI is too long\n");
        exit(1);
    }
}

void harness_prepare(harness *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->dir, sizeof h->dir, "/tmp/avrr-api-XXXXXX");
    if (!mkdtemp(h->dir)) {
        perror("mkdtemp");
        exit(1);
    }
    if (pg_uri())
        pg_create(h);
    else
        snprintf(h->db, sizeof h->db, "%s/registry.db", h->dir);
    const char *init[] = {"avrr", "init", "--db", h->db, NULL};
    must(harness_avrr(init, NULL, 0), "init");
    const char *nl[] = {"avrr", "tenant", "add", "--db", h->db, "--code", "NL", "--name",
                        "Netherlands", NULL};
    must(harness_avrr(nl, NULL, 0), "tenant add NL");
    const char *be[] = {"avrr", "tenant", "add", "--db", h->db, "--code", "BE", "--name",
                        "Belgium", NULL};
    must(harness_avrr(be, NULL, 0), "tenant add BE");
    make_key(h, "NL", "caseworker", h->key_nl, sizeof h->key_nl);
    make_key(h, "BE", "caseworker", h->key_be, sizeof h->key_be);
    make_key(h, "NL", "statistician", h->key_nl_stat, sizeof h->key_nl_stat);
    make_key(h, "NL", "provider", h->key_nl_prov, sizeof h->key_nl_prov);
    make_key(h, "NL", "dpo", h->key_nl_dpo, sizeof h->key_nl_dpo);
}

/* Runs the server program with argv, behind the words of AVRR_SERVER_WRAPPER
 * when it is set (tests/valgrind.sh sets "valgrind --error-exitcode=1 ...").
 * Only returns when exec fails. */
static void exec_server(const char *const *argv)
{
    const char *wrap = getenv("AVRR_SERVER_WRAPPER");
    char *words = wrap && wrap[0] ? strdup(wrap) : NULL;
    if (!words) {
        execv(bin(), (char *const *)argv);
        return;
    }
    char *full[64], *save = NULL;
    size_t k = 0;
    for (char *w = strtok_r(words, " ", &save); w && k < 24; w = strtok_r(NULL, " ", &save))
        full[k++] = w;
    full[k++] = (char *)bin();
    for (size_t i = 1; argv[i] && k + 1 < sizeof full / sizeof full[0]; i++)
        full[k++] = (char *)argv[i];
    full[k] = NULL;
    execvp(full[0], full);
}

void harness_serve(harness *h, const char *const *extra)
{
    const char *argv[32] = {"avrr", "serve", "--db", h->db, "--listen", "127.0.0.1:0",
                            "--quiet"};
    size_t n = 7;
    for (size_t i = 0; extra && extra[i]; i++) {
        if (n + 1 >= sizeof argv / sizeof argv[0]) {
            fprintf(stderr, "harness: too many serve arguments\n");
            exit(1);
        }
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        /* A test program that dies (a failed assertion, a crash, a teardown
         * that returns early) takes its servers with it: none is left
         * running after the suite (one was, under valgrind). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        exec_server(argv);
        _exit(127);
    }
    close(fds[1]);
    h->pid = pid;
    FILE *f = fdopen(fds[0], "r");
    char line[512] = "", scheme[8] = "";
    if (!fgets(line, sizeof line, f) ||
        sscanf(line, "avrr: serving %5[a-z]://127.0.0.1:%u/", scheme, &h->port) != 2) {
        fprintf(stderr, "harness: server did not start: '%s'\n", line);
        kill(pid, SIGKILL);
        exit(1);
    }
    h->tls = strcmp(scheme, "https") == 0;
    fclose(f);
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void harness_start(harness *h)
{
    /* These tests make hundreds of requests a second with one key to test
     * the API's answers, not its limits: test_transport.c tests those. */
    static const char *const no_rate_limit[] = {"--rate-limit", "0", NULL};
    harness_prepare(h);
    harness_serve(h, no_rate_limit);
}

void harness_stop(harness *h)
{
    int status = 0;
    kill(h->pid, SIGTERM);
    waitpid(h->pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "harness: server exited badly (status %d)\n", status);
        exit(1);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "harness: could not remove %s\n", h->dir);
    if (h->pg_db[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", h->pg_db);
        pg_admin(sql);
    }
    curl_global_cleanup();
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    http_reply *r = arg;
    size_t add = size * n;
    char *b = realloc(r->body, r->len + add + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, add);
    r->body = b;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

/* Keeps the Retry-After header (the rate limits' answer). */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    http_reply *r = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        const char *v = p + sizeof name - 1;
        size_t vn = len - (sizeof name - 1);
        while (vn && (*v == ' ' || *v == '\t')) {
            v++;
            vn--;
        }
        while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
            vn--;
        snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)vn, v);
    }
    return len;
}

void http(harness *h, const char *method, const char *path, const char *key,
          const char *body, long body_len, http_reply *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    char url[512], auth[200];
    struct curl_slist *hdr = NULL;
    snprintf(url, sizeof url, "%s://127.0.0.1:%u%s", h->tls ? "https" : "http", h->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (h->cafile[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, h->cafile);
    if (h->local_addr[0])
        curl_easy_setopt(c, CURLOPT_INTERFACE, h->local_addr);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        hdr = curl_slist_append(hdr, auth);
    }
    hdr = curl_slist_append(hdr, "Expect:");
    if (body) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(body_len < 0 ? (long)strlen(body) : body_len));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    else
        r->status = -1;
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    if (r->body)
        r->json = json_tokener_parse(r->body);
}

void http_reply_free(http_reply *r)
{
    free(r->body);
    json_object_put(r->json);
    memset(r, 0, sizeof *r);
}

int64_t harness_post_id(harness *h, const char *path, const char *key, const char *body)
{
    http_reply r;
    http(h, "POST", path, key, body, -1, &r);
    if (r.status != 201) {
        fprintf(stderr, "POST %s: %ld %s\n", path, r.status, r.body ? r.body : "");
        fail();
    }
    int64_t id = jint(r.json, "id");
    http_reply_free(&r);
    return id;
}

int64_t harness_count(harness *h, const char *table)
{
    avrr_service *svc = NULL;
    int64_t n = -1;
    if (avrr_service_open(h->db, false, &svc, NULL) != AVRR_OK)
        return -1;
    if (avrr_service_count(svc, table, &n, NULL) != AVRR_OK)
        n = -1;
    avrr_service_close(svc);
    return n;
}

static json_object *jpath(json_object *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *part = strtok_r(buf, ".", &save); part && o; part = strtok_r(NULL, ".", &save)) {
        json_object *next = NULL;
        if (json_object_is_type(o, json_type_array)) {
            o = json_object_array_get_idx(o, (size_t)strtol(part, NULL, 10));
            continue;
        }
        if (!json_object_object_get_ex(o, part, &next))
            return NULL;
        o = next;
    }
    return o;
}

const char *jstr(json_object *o, const char *path)
{
    json_object *v = jpath(o, path);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int64_t jint(json_object *o, const char *path)
{
    json_object *v = jpath(o, path);
    return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}
