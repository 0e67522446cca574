/* cli.h: the subcommands of the `avrr` program.
 *
 * The CLI parses arguments and presents results; every rule lives in the
 * service layer (or, for batch matching, in the match layer). Each command
 * is `int avrr_cli_<name>(int argc, char **argv)` where argv[0] is the
 * command's own name; it returns the process exit status (0 ok, 1 failure,
 * 2 usage error) and answers --help on stdout.
 */
#ifndef AVRR_CLI_H
#define AVRR_CLI_H

#include <stdio.h>

typedef struct avrr_cli_command {
    const char *name;    /* "init", "tenant", "dedup" ... */
    const char *summary; /* one line for `avrr --help` */
    int (*run)(int argc, char **argv);
} avrr_cli_command;

/* Registry commands (cmd_registry.c, cmd_import.c, cmd_serve.c). */
int avrr_cli_init(int argc, char **argv);
int avrr_cli_tenant(int argc, char **argv);
int avrr_cli_key(int argc, char **argv);
int avrr_cli_serve(int argc, char **argv);
int avrr_cli_import(int argc, char **argv);
int avrr_cli_export(int argc, char **argv);
int avrr_cli_demo(int argc, char **argv);
int avrr_cli_purge(int argc, char **argv);
int avrr_cli_backup(int argc, char **argv);

/* Records from the command line (cmd_records.c). */
int avrr_cli_person(int argc, char **argv);
int avrr_cli_case(int argc, char **argv);
int avrr_cli_assistance(int argc, char **argv);
int avrr_cli_check(int argc, char **argv);
int avrr_cli_stats(int argc, char **argv);

/* Encryption at rest: a new data key (cmd_crypt.c). */
int avrr_cli_rekey(int argc, char **argv);

/* The audit log (cmd_audit.c). */
int avrr_cli_audit(int argc, char **argv);

/* Batch matching commands (cmd_match.c). */
int avrr_cli_dedup(int argc, char **argv);
int avrr_cli_link(int argc, char **argv);
int avrr_cli_train(int argc, char **argv);

/* The national node's side of the pseudonymised index (cmd_encode.c). */
int avrr_cli_encode(int argc, char **argv);

#endif
