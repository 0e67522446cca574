/* match_main.c: a stand-alone `avrr-match` program running the batch matching
 * commands (dedup, link, train) for the benchmarks, so that bench runs do not
 * depend on the main program's command table. Same code as `avrr dedup`. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: avrr-match dedup|link|train [OPTIONS]\n", stderr);
        return 2;
    }
    if (strcmp(argv[1], "dedup") == 0)
        return avrr_cli_dedup(argc - 1, argv + 1);
    if (strcmp(argv[1], "link") == 0)
        return avrr_cli_link(argc - 1, argv + 1);
    if (strcmp(argv[1], "train") == 0)
        return avrr_cli_train(argc - 1, argv + 1);
    fprintf(stderr, "avrr-match: unknown command '%s'\n", argv[1]);
    return 2;
}
