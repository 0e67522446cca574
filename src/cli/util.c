/* util.c: helpers shared by the CLI commands (see util.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/util.h"

void cli_error(const char *cmd, const avrr_error *e)
{
    const char *msg = e->message[0] ? e->message : avrr_strerror(e->code);
    if (e->field[0] && !strstr(msg, e->field))
        fprintf(stderr, "avrr %s: %s: %s\n", cmd, e->field, msg);
    else
        fprintf(stderr, "avrr %s: %s\n", cmd, msg);
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "avrr %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_usage(const char *cmd, const char *usage)
{
    fprintf(stderr, "usage: %s\nTry 'avrr %s --help'.\n", usage, cmd);
    return 2;
}

avrr_service *cli_open(const char *cmd, const char *db, bool create)
{
    avrr_service *svc = NULL;
    avrr_error e;
    avrr_error_clear(&e);
    if (!db)
        db = getenv("AVRR_DB");
    if (!db || !db[0]) {
        fprintf(stderr, "avrr %s: no registry given: use --db FILE (or set AVRR_DB)\n", cmd);
        return NULL;
    }
    if (avrr_service_open(db, create, &svc, &e) != AVRR_OK) {
        cli_error(cmd, &e);
        return NULL;
    }
    return svc;
}

bool cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long max,
                    long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < min || v > max) {
        fprintf(stderr, "avrr %s: %s must be a number from %ld to %ld (got '%s')\n", cmd, opt,
                min, max, s);
        return false;
    }
    *out = v;
    return true;
}
