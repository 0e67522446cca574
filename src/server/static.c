/* static.c: the web pages for caseworkers and analysts (web/), served as
 * static files under /app/ so that running them needs no build step.
 *
 * Only plain names are served: letters, digits, '-', '_', '.' and '/',
 * no dot at the start of a segment (so no "..", no hidden files), at most
 * 200 bytes, nothing under node_modules/; anything else is 404. Files are read whole (the pages are a
 * few hundred KB at most) and sent with a restrictive Content-Security-
 * Policy: scripts and styles only from this server. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/routes.h"

/* The largest file served: the biggest page asset (a chart library) is
 * about 200 KB; 4 MiB leaves room without letting a stray file fill RAM. */
#define STATIC_MAX_BYTES (4u << 20)

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".json", "application/json"},
    {".ico", "image/x-icon"},
};

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL; /* unknown kinds are not served */
}

static bool safe_path(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > 200)
        return false;
    bool segment_start = true;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == '/';
        if (!ok || (segment_start && (c == '.' || c == '/')))
            return false;
        segment_start = c == '/';
    }
    /* Development folders next to the pages are not part of them. */
    return !segment_start && strncmp(p, "node_modules/", 13) != 0 && !strstr(p, "/node_modules/");
}

bool avrr__static_serve(const char *web_root, const char *method, const char *url,
                        avrr_http_response *resp)
{
    const char *rel;
    if (!web_root || !web_root[0] || strcmp(method, "GET") != 0)
        return false;
    if (strcmp(url, "/") == 0 || strcmp(url, "/app") == 0 || strcmp(url, "/app/") == 0)
        rel = "index.html";
    else if (strncmp(url, "/app/", 5) == 0)
        rel = url + 5;
    else
        return false;

    resp->route = "GET /app/*";
    resp->route_index = AVRR_MAX_ROUTES;
    const char *type = safe_path(rel) ? content_type(rel) : NULL;
    char path[1024];
    int fd = -1;
    struct stat st;
    if (type && (size_t)snprintf(path, sizeof path, "%s/%s", web_root, rel) < sizeof path)
        fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (size_t)st.st_size > STATIC_MAX_BYTES) {
        if (fd >= 0)
            close(fd);
        resp->status = 404;
        resp->json = json_tokener_parse(
            "{\"error\":{\"code\":\"not_found\",\"field\":null,\"message\":\"no such page\"}}");
        return true;
    }
    char *buf = avrr_malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        avrr_free(buf);
        resp->status = 503;
        resp->json = NULL;
        return true;
    }
    resp->status = 200;
    resp->text = buf;
    resp->text_len = got;
    resp->content_type = type;
    return true;
}
