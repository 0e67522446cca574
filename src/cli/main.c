/* main.c: the `avrr` program: finds the subcommand and hands over. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const avrr_cli_command commands[] = {
    {"init", "create a new, empty registry", avrr_cli_init},
    {"tenant", "add or list tenants (member states, organisations)", avrr_cli_tenant},
    {"key", "create, list or revoke API keys", avrr_cli_key},
    {"person", "register persons and aliases, show and list them", avrr_cli_person},
    {"case", "open return cases, move them along, show and list them", avrr_cli_case},
    {"assistance", "record assistance on a case and list it", avrr_cli_assistance},
    {"check", "consult the whole registry for a person (hit / no hit)", avrr_cli_check},
    {"stats", "counts and sums of returns and assistance; Eurostat table", avrr_cli_stats},
    {"dedup", "find the same person twice in one identity CSV file", avrr_cli_dedup},
    {"link", "find the same persons across two identity CSV files", avrr_cli_link},
    {"train", "estimate matching parameters from data into a model file", avrr_cli_train},
    {"encode", "encode identities for a pseudonymised index; make its key", avrr_cli_encode},
    {"import", "import persons from CSV or JSON lines", avrr_cli_import},
    {"export", "export a tenant's persons, cases and assistance as JSON lines", avrr_cli_export},
    {"audit", "verify the audit log, sign its head, list events", avrr_cli_audit},
    {"purge", "apply retention: erase expired personal data, old audit events", avrr_cli_purge},
    {"rekey", "re-encrypt personal fields under a new data key", avrr_cli_rekey},
    {"backup", "copy an SQLite registry while it is in use", avrr_cli_backup},
    {"serve", "run the HTTP/JSON API", avrr_cli_serve},
    {"demo", "fill a new registry with demo tenants, keys and persons", avrr_cli_demo},
};

static void usage(FILE *f)
{
    fputs("usage: avrr COMMAND [OPTIONS]\n\n"
          "A registry for assisted voluntary return and reintegration (AVRR).\n\n"
          "Commands:\n", f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fputs("\nRun 'avrr COMMAND --help' for a command's options; 'man avrr' for more.\n"
          "The registry is named by --db FILE on every command, or by AVRR_DB.\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("avrr 0.1.0");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "avrr: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
