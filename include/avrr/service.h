/* avrr/service.h: the use cases of the registry (DESIGN.md section 4).
 *
 * Every rule about what may be stored and who may do it lives here, once;
 * the `avrr` command and the HTTP server are thin adapters over these
 * functions. A service owns one store and serialises access to it, so its
 * functions may be called from any number of threads.
 *
 * Tenancy: every function that takes an actor acts only on that actor's
 * tenant. Another tenant's record answers AVRR_ENOTFOUND, exactly like a
 * missing one, so that existence does not leak.
 *
 * Ownership: records passed in are validated and canonicalised in place
 * (country codes become alpha-3) and get their ids written back; they stay
 * the caller's. Records and arrays returned through out-parameters belong to
 * the caller: free records with the avrr_*_clear() functions of core.h and
 * arrays with avrr_service_free_*().
 *
 * Errors: functions return an avrr_err and fill *e (which may be NULL) with
 * the offending field and a message for humans.
 */
#ifndef AVRR_SERVICE_H
#define AVRR_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "avrr/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct avrr_service avrr_service;

/* Who is acting, as established by avrr_service_authenticate(). */
typedef struct avrr_actor {
    int64_t key_id;
    char tenant[17];
    avrr_role role;
} avrr_actor;

/* Opens the registry at db_uri. With create, a missing SQLite file is made
 * and migrated (avrr init); without, a missing registry is AVRR_ENOTFOUND. */
avrr_err avrr_service_open(const char *db_uri, bool create,
                           avrr_service **out, avrr_error *e);
void avrr_service_close(avrr_service *svc);

/* ---- operator functions (the CLI, run by whoever holds the database) ---- */

avrr_err avrr_service_tenant_add(avrr_service *svc, const char *code,
                                 const char *name, avrr_error *e);
avrr_err avrr_service_tenant_list(avrr_service *svc, avrr_tenant **out,
                                  size_t *n, avrr_error *e);

/* Makes a new API key for a tenant and role. *key_out receives the secret
 * (free with avrr_free); it is shown once and only its hash is stored. */
avrr_err avrr_service_key_create(avrr_service *svc, const char *tenant,
                                 const char *role, const char *label,
                                 char **key_out, int64_t *id_out,
                                 avrr_error *e);
/* Lists the keys (never their secrets) of one tenant, or of all when tenant
 * is NULL. Free *out with avrr_free. */
avrr_err avrr_service_key_list(avrr_service *svc, const char *tenant,
                               avrr_key_info **out, size_t *n,
                               avrr_error *e);
avrr_err avrr_service_key_revoke(avrr_service *svc, int64_t key_id,
                                 avrr_error *e);

/* Establishes the actor behind an API key; AVRR_EUNAUTHORIZED when the key
 * is unknown, malformed or revoked. */
avrr_err avrr_service_authenticate(avrr_service *svc, const char *key,
                                   avrr_actor *out, avrr_error *e);

/* The actor for an operator who works on the registry file directly (the
 * CLI's import and export): acts in `role` for `tenant`, which must exist. */
avrr_err avrr_service_local_actor(avrr_service *svc, const char *tenant,
                                  avrr_role role, avrr_actor *out,
                                  avrr_error *e);

/* ---- registry use cases ---------------------------------------------------- */

/* Registers a person with one or more identities (aliases are further
 * identities). Writes back p->id and each identity's id. */
avrr_err avrr_service_person_register(avrr_service *svc, const avrr_actor *a,
                                      avrr_person *p, avrr_error *e);
/* Adds an alias to an existing person. */
avrr_err avrr_service_identity_add(avrr_service *svc, const avrr_actor *a,
                                   int64_t person_id, avrr_identity *id,
                                   avrr_error *e);
avrr_err avrr_service_person_get(avrr_service *svc, const avrr_actor *a,
                                 int64_t person_id, avrr_person *out,
                                 avrr_error *e);

/* One page of a list: items with id > after, at most limit (1..1000, 0
 * means the default of 100). *next is the cursor for the following page, or
 * 0 when this page is the last. */
typedef struct avrr_page {
    int64_t after;
    size_t limit;
} avrr_page;
#define AVRR_PAGE_DEFAULT 100
#define AVRR_PAGE_MAX 1000

avrr_err avrr_service_person_list(avrr_service *svc, const avrr_actor *a,
                                  avrr_page page, avrr_person **out,
                                  size_t *n, int64_t *next, avrr_error *e);

/* Opens a case for a person of the actor's tenant. The status defaults to
 * counselled and opened_on to today when unknown. */
avrr_err avrr_service_case_open(avrr_service *svc, const avrr_actor *a,
                                avrr_case *c, avrr_error *e);
avrr_err avrr_service_case_get(avrr_service *svc, const avrr_actor *a,
                               int64_t case_id, avrr_case *out,
                               avrr_error *e);
/* Cases of the tenant, of one person when person_id > 0. */
avrr_err avrr_service_case_list(avrr_service *svc, const avrr_actor *a,
                                int64_t person_id, avrr_page page,
                                avrr_case **out, size_t *n, int64_t *next,
                                avrr_error *e);
/* Moves a case along its lifecycle (avrr_case_status_can_move); a move the
 * lifecycle does not allow is AVRR_ECONFLICT. *out gets the updated case. */
avrr_err avrr_service_case_set_status(avrr_service *svc, const avrr_actor *a,
                                      int64_t case_id, const char *status,
                                      avrr_case *out, avrr_error *e);

/* Records one grant of assistance on a case. A case in a final status
 * (completed, withdrawn, absconded) takes no new assistance (ECONFLICT). */
avrr_err avrr_service_assistance_add(avrr_service *svc, const avrr_actor *a,
                                     int64_t case_id, avrr_assistance *as,
                                     avrr_error *e);
avrr_err avrr_service_assistance_list(avrr_service *svc, const avrr_actor *a,
                                      int64_t case_id, avrr_assistance **out,
                                      size_t *n, avrr_error *e);

/* ---- bulk ----------------------------------------------------------------- */

/* Runs fn inside one store transaction on the actor's behalf: everything fn
 * registers through the service is kept only when fn returns AVRR_OK. Used
 * by `avrr import` so that a file is stored whole or not at all. */
avrr_err avrr_service_transaction(avrr_service *svc,
                                  avrr_err (*fn)(void *arg, avrr_error *e),
                                  void *arg, avrr_error *e);

/* Row counts for metrics and tests: table is one of "persons",
 * "identities", "cases", "assistance", "tenants", "api_keys". */
avrr_err avrr_service_count(avrr_service *svc, const char *table,
                            int64_t *out, avrr_error *e);

void avrr_service_free_persons(avrr_person *p, size_t n);
void avrr_service_free_cases(avrr_case *c, size_t n);
void avrr_service_free_assistance(avrr_assistance *as, size_t n);
void avrr_service_free_tenants(avrr_tenant *t, size_t n);

#ifdef __cplusplus
}
#endif
#endif
