/* audit_service.c: the audit log's use cases: the dpo's reading of it,
 * verification and signed checkpoints (the chain itself: privacy/audit.c). */
#include <sodium.h>
#include <string.h>

#include "privacy/audit.h"
#include "service/service_int.h"

static avrr_err audit_list_impl(avrr_service *svc, const avrr_actor *a, avrr_page page,
                                avrr_audit_event **out, size_t *n, int64_t *next,
                                avrr_error *e)
{
    *out = NULL;
    *n = 0;
    *next = 0;
    avrr_err result = avrr__service_allow(a, AVRR_ACT_AUDIT_READ, e);
    if (result == AVRR_OK)
        result = avrr__service_page_check(&page, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->audit_list(svc->store, a->tenant, page.after, page.limit + 1, out,
                                         n, e);
    unlock(svc);
    if (result == AVRR_OK && *n > page.limit) {
        *n = page.limit;
        *next = (*out)[*n - 1].seq;
    }
    return result;
}

avrr_err avrr_service_audit_list(avrr_service *svc, const avrr_actor *a, avrr_page page,
                                 avrr_audit_event **out, size_t *n, int64_t *next,
                                 avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "audit.read", "audit");
    avrr_err result = sc.error ? sc.error : audit_list_impl(svc, a, page, out, n, next, e);
    result = avrr__audit_end(&sc, result, 0, e);
    if (result != AVRR_OK) {
        avrr_free(*out);
        *out = NULL;
        *n = 0;
    }
    return result;
}

avrr_err avrr_service_audit_verify(avrr_service *svc, const uint8_t *trusted_key,
                                   avrr_audit_summary *out, avrr_error *e)
{
    avrr_audit_report r;
    memset(out, 0, sizeof *out);
    lock(svc);
    avrr_err result = avrr_audit_verify(svc->store, trusted_key, &r, e);
    unlock(svc);
    if (result != AVRR_OK)
        return result;
    out->events = r.events;
    out->first_seq = r.first_seq;
    out->last_seq = r.last_seq;
    out->checkpoints = r.checkpoints;
    out->bad_seq = r.bad_seq;
    memcpy(out->problem, r.problem, sizeof out->problem);
    return AVRR_OK;
}

avrr_err avrr_service_audit_checkpoint(avrr_service *svc, const char *key_file, int64_t *seq,
                                       avrr_error *e)
{
    uint8_t sk[64];
    avrr_audit_checkpoint cp;
    *seq = 0;
    avrr_err result = avrr_audit_key_load(key_file, sk, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = avrr_audit_sign_head(svc->store, sk, &cp, e);
    unlock(svc);
    sodium_memzero(sk, sizeof sk);
    if (result == AVRR_OK)
        *seq = cp.seq;
    return result;
}

static avrr_err backup_impl(avrr_service *svc, const char *path, avrr_error *e)
{
    lock(svc);
    avrr_err result = svc->store->ops->backup(svc->store, path, e);
    unlock(svc);
    return result;
}

avrr_err avrr_service_backup(avrr_service *svc, const char *path, avrr_error *e)
{
    /* The event goes into the registry after the copy: the backup's own log
     * ends just before its making, which is what it contained. */
    avrr_err result = backup_impl(svc, path, e);
    avrr__audit_event(svc, NULL, "registry.backup", "registry", 0, result, NULL);
    return result;
}
