/* cli_shim.c: the three CLI helpers cmd_match.c uses, for bench/build.sh, which
 * builds the bench programs from src/core and src/match alone so that a
 * broken file elsewhere in the tree cannot stop a measurement. Same
 * behaviour as src/cli/util.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/util.h"

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
    fprintf(stderr, "avrr %s: wrong usage\n%s", cmd, usage);
    return 2;
}

bool cli_parse_long(const char *cmd, const char *opt, const char *s, long min,
                    long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || *end || v < min || v > max) {
        fprintf(stderr, "avrr %s: %s wants a number from %ld to %ld\n", cmd,
                opt, min, max);
        return false;
    }
    *out = v;
    return true;
}
