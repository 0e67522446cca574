/* util.h: small helpers shared by the CLI commands: option parsing glue,
 * opening the registry, printing errors. Presentation only. */
#ifndef AVRR_CLI_UTIL_H
#define AVRR_CLI_UTIL_H

#include <stdbool.h>
#include <stdio.h>

#include "avrr/service.h"

/* Prints "avrr CMD: message" (and the field when set) on stderr. */
void cli_error(const char *cmd, const avrr_error *e);
/* Prints "avrr CMD: <formatted>" on stderr and returns 1. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the usage hint for a wrong invocation and returns 2. */
int cli_usage(const char *cmd, const char *usage);
/* Opens the registry named by --db (or AVRR_DB); prints the error and
 * returns NULL on failure. */
avrr_service *cli_open(const char *cmd, const char *db, bool create);
/* Parses a positive integer argument; false (with a message) when it is
 * not one. */
bool cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long max,
                    long *out);

#endif
