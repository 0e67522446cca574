/* fuzz_route.c: the HTTP route matcher and the web-page path filter,
 * without a socket. avrr_route_dispatch is called with a method no route
 * has, so that any URL walks every pattern (match_path) and ends in 404 or
 * 405 without reaching a handler (handlers need a live connection); then
 * avrr__static_serve resolves the URL under a scratch web root holding one
 * page, and must never serve anything outside it. */
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "avrr/server.h"
#include "fuzz.h"
#include "server/routes.h"

static char web_root[64];

static char index_path[128];

static void cleanup(void)
{
    unlink(index_path);
    rmdir(web_root);
}

static void setup(void)
{
    snprintf(web_root, sizeof web_root, "/tmp/avrr-fuzz-web-XXXXXX");
    if (!mkdtemp(web_root))
        abort();
    snprintf(index_path, sizeof index_path, "%s/index.html", web_root);
    FILE *f = fopen(index_path, "w");
    if (!f)
        abort();
    fputs("<!doctype html><title>fuzz</title>", f);
    fclose(f);
    atexit(cleanup);
    (void)avrr_server_routes(); /* fills the route names dispatch reports */
}

static void response_free(avrr_http_response *r)
{
    json_object_put(r->json);
    avrr_free(r->text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!web_root[0])
        setup();
    char *url = fuzz_cstr(data, size);

    avrr_http_request req = {0};
    avrr_http_response resp = {0};
    req.method = "FUZZ";
    req.url = url;
    avrr_route_dispatch(&req, &resp);
    FUZZ_ASSERT(resp.status == 404 || resp.status == 405);
    FUZZ_ASSERT(resp.json != NULL && resp.route == NULL);
    response_free(&resp);

    memset(&resp, 0, sizeof resp);
    if (avrr__static_serve(web_root, "GET", url, &resp)) {
        FUZZ_ASSERT(resp.status == 200 || resp.status == 404 || resp.status == 503);
        /* The only file there is index.html: anything served is it. */
        if (resp.status == 200)
            FUZZ_ASSERT(resp.text_len == 34 && memcmp(resp.text, "<!doctype", 9) == 0);
    }
    response_free(&resp);
    free(url);
    return 0;
}
