/* harness.c: see harness.h. */
#include "harness.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

void harness_start(harness *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->dir, sizeof h->dir, "/tmp/avrr-api-XXXXXX");
    if (!mkdtemp(h->dir)) {
        perror("mkdtemp");
        exit(1);
    }
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

    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(bin(), "avrr", "serve", "--db", h->db, "--listen", "127.0.0.1:0", "--quiet",
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    h->pid = pid;
    FILE *f = fdopen(fds[0], "r");
    char line[512] = "";
    if (!fgets(line, sizeof line, f) ||
        sscanf(line, "avrr: serving http://127.0.0.1:%u/", &h->port) != 1) {
        fprintf(stderr, "harness: server did not start: '%s'\n", line);
        kill(pid, SIGKILL);
        exit(1);
    }
    fclose(f);
    curl_global_init(CURL_GLOBAL_DEFAULT);
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

void http(harness *h, const char *method, const char *path, const char *key,
          const char *body, long body_len, http_reply *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    char url[512], auth[200];
    struct curl_slist *hdr = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", h->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
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
