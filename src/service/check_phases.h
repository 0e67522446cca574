/* check_phases.h: where the time of a check goes, phase by phase, for the
 * latency bench (bench/check_latency/check_bench.c --phases). Off unless a
 * thread asks: then every check that thread runs adds its wall and CPU time
 * per phase to the caller's record (a branch on a thread-local pointer
 * otherwise). Not part of the service's interface. */
#ifndef AVRR_CHECK_PHASES_H
#define AVRR_CHECK_PHASES_H

#include <stddef.h>

enum {
    AVRR__CP_VALIDATE, /* role, purpose, identities; the caller's own person */
    AVRR__CP_MATCH,    /* index query and merge by person (no store lock) */
    AVRR__CP_LOCK,     /* waiting for the store lock, begin */
    AVRR__CP_VIEWS,    /* facts of the hit persons, hit views */
    AVRR__CP_JSON,     /* the response JSON kept with the check */
    AVRR__CP_ROW,      /* the check row, its hits and the yellow links of
                          strong hits on other tenants (one store call) */
    AVRR__CP_LINKS,    /* the answer with the check's id and links */
    AVRR__CP_AUDIT,    /* the audit event */
    AVRR__CP_COMMIT,   /* commit (a WAL checkpoint when one runs inside it) */
    AVRR__CP_AFTER,    /* after the commit: releasing the lock, freeing */
    AVRR__CP__N
};

extern const char *const avrr__cp_names[AVRR__CP__N];

typedef struct avrr__check_phases {
    double wall_us[AVRR__CP__N];
    double cpu_us[AVRR__CP__N];
    size_t candidates; /* distinct candidates of the index queries */
    size_t compared;   /* of them, compared in full */
    size_t persons;    /* hit persons */
} avrr__check_phases;

/* The checks of the calling thread add into *p from now on (zero it
 * between checks to see one at a time); NULL stops. */
void avrr__check_phases_record(avrr__check_phases *p);

#endif
