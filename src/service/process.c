/* process.c: the return process (DESIGN.md 3): counselling sessions,
 * referral of a case to a reintegration partner in the country of return,
 * the reintegration plan and follow-up visits with sustainability scores.
 *
 * A referral is the one way a case crosses tenants: once the partner (a
 * provider tenant such as IOM-NL) accepts, its providers find the case
 * through avrr__case_access() and work on it under the owner's name (rows
 * keep tenant = the owner, the controller, and recorded_by = the partner).
 * Every other tenant still gets 404, as for a case that does not exist. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "service/service_int.h"

static void today(avrr_date *d)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    d->year = (int16_t)(tm.tm_year + 1900);
    d->month = (int8_t)(tm.tm_mon + 1);
    d->day = (int8_t)tm.tm_mday;
    d->precision = AVRR_DATE_DAY;
    d->placeholder = false;
}

avrr_err avrr__case_access(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                           avrr_case *out, avrr_error *e)
{
    char owner[17];
    avrr_err result = svc->store->ops->case_get(svc->store, a->tenant, case_id, out, e);
    if (result != AVRR_ENOTFOUND || a->role != AVRR_ROLE_PROVIDER)
        return result;
    /* Only an accepted referral opens the case; a pending or declined one
     * leaves it as invisible as any other tenant's. */
    if (svc->store->ops->referral_access(svc->store, a->tenant, case_id, 0, owner, NULL) !=
        AVRR_OK)
        return result; /* e still says "no case" */
    return svc->store->ops->case_get(svc->store, owner, case_id, out, e);
}

/* ---- counselling ---------------------------------------------------------- */

static avrr_err counselling_add_impl(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                                     avrr_counselling *c, avrr_error *e)
{
    avrr_case kase = {0};
    avrr_err result = avrr__service_allow(a, AVRR_ACT_COUNSELLING, e);
    if (result == AVRR_OK)
        result = avrr_counselling_validate(c, e);
    if (result != AVRR_OK)
        return result;
    if (c->held_on.precision == AVRR_DATE_UNKNOWN)
        today(&c->held_on);
    lock(svc);
    result = avrr__case_access(svc, a, case_id, &kase, e);
    if (result == AVRR_OK) {
        c->case_id = case_id;
        memcpy(c->tenant, kase.tenant, sizeof c->tenant);
        memcpy(c->recorded_by, a->tenant, sizeof c->recorded_by);
        result = svc->store->ops->counselling_insert(svc->store, c, e);
    }
    unlock(svc);
    avrr_case_clear(&kase);
    return result;
}

avrr_err avrr_service_counselling_add(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                                      avrr_counselling *c, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "counselling.create", "case");
    avrr_err result = sc.error ? sc.error : counselling_add_impl(svc, a, case_id, c, e);
    return avrr__audit_end(&sc, result, case_id, e);
}

static avrr_err counselling_list_impl(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                                      avrr_counselling **out, size_t *n, avrr_error *e)
{
    avrr_case kase = {0};
    avrr_err result = avrr__service_allow(a, AVRR_ACT_COUNSELLING, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = avrr__case_access(svc, a, case_id, &kase, e);
    if (result == AVRR_OK)
        result = svc->store->ops->counselling_list(svc->store, kase.tenant, case_id, out, n, e);
    unlock(svc);
    avrr_case_clear(&kase);
    return result;
}

avrr_err avrr_service_counselling_list(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                                       avrr_counselling **out, size_t *n, avrr_error *e)
{
    audit_scope sc;
    *out = NULL;
    *n = 0;
    avrr__audit_begin(&sc, svc, a, "counselling.list", "case");
    avrr_err result = sc.error ? sc.error : counselling_list_impl(svc, a, case_id, out, n, e);
    return avrr__audit_end(&sc, result, case_id, e);
}

/* ---- referrals ------------------------------------------------------------ */

static avrr_err referral_create_impl(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                                     const char *partner, avrr_referral *out, avrr_error *e)
{
    avrr_case kase = {0};
    avrr_tenant t = {0};
    avrr_err result = avrr__service_allow(a, AVRR_ACT_REFERRAL_WRITE, e);
    if (result != AVRR_OK)
        return result;
    memset(out, 0, sizeof *out);
    if (!partner)
        return avrr_error_set(e, AVRR_EINVALID, "partner", "partner is required");
    result = avrr_tenant_code_check(partner, out->partner, e);
    if (result != AVRR_OK) {
        avrr_error_prefix_field(e, "partner");
        return result;
    }
    lock(svc);
    /* Only the owner refers: a partner may not pass the case on. The case
     * is looked up first so that a stranger learns nothing (404). */
    result = svc->store->ops->case_get(svc->store, a->tenant, case_id, &kase, e);
    if (result == AVRR_OK && strcmp(out->partner, a->tenant) == 0)
        result = avrr_error_set(e, AVRR_EINVALID, "partner",
                                "a case is referred to another tenant");
    if (result == AVRR_OK && avrr_case_status_is_final(kase.status))
        result = avrr_error_set(e, AVRR_ECONFLICT, "case_id", "case %lld is %s",
                                (long long)case_id, avrr_case_status_name(kase.status));
    if (result == AVRR_OK) {
        result = svc->store->ops->tenant_get(svc->store, out->partner, &t, e);
        if (result == AVRR_ENOTFOUND)
            avrr_error_set(e, AVRR_ENOTFOUND, "partner", "no tenant %s", out->partner);
    }
    if (result == AVRR_OK) {
        out->case_id = case_id;
        memcpy(out->tenant, a->tenant, sizeof out->tenant);
        result = svc->store->ops->referral_insert(svc->store, out, e);
    }
    unlock(svc);
    avrr_tenant_clear(&t);
    avrr_case_clear(&kase);
    return result;
}

avrr_err avrr_service_referral_create(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                                      const char *partner, avrr_referral *out, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "referral.create", "case");
    avrr_err result =
        sc.error ? sc.error : referral_create_impl(svc, a, case_id, partner, out, e);
    return avrr__audit_end(&sc, result, case_id, e);
}

static avrr_err referral_decide_impl(avrr_service *svc, const avrr_actor *a, int64_t id,
                                     const char *decision, const char *reason,
                                     avrr_referral *out, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_REFERRAL_DECIDE, e);
    if (result != AVRR_OK)
        return result;
    avrr_referral_status to;
    if (decision && (strcasecmp(decision, "accept") == 0 || strcasecmp(decision, "accepted") == 0))
        to = AVRR_REFERRAL_ACCEPTED;
    else if (decision &&
             (strcasecmp(decision, "decline") == 0 || strcasecmp(decision, "declined") == 0))
        to = AVRR_REFERRAL_DECLINED;
    else
        return avrr_error_set(e, AVRR_EINVALID, "decision", "decision must be accept or decline");
    if (reason && (result = avrr_text_check(reason, AVRR_TEXT_MAX, "reason", e)) != AVRR_OK)
        return result;
    /* A refusal without a reason leaves the referring state guessing. */
    if (to == AVRR_REFERRAL_DECLINED && (!reason || !reason[0]))
        return avrr_error_set(e, AVRR_EINVALID, "reason", "a decline needs a reason");
    lock(svc);
    result = svc->store->ops->referral_get(svc->store, a->tenant, id, out, e);
    if (result == AVRR_OK && strcmp(out->partner, a->tenant) != 0)
        result = avrr_error_set(e, AVRR_EFORBIDDEN, "id",
                                "only the partner %s decides on this referral", out->partner);
    if (result == AVRR_OK) {
        out->status = to;
        avrr_free(out->reason);
        out->reason = avrr_strdup(reason);
        out->decided_key_id = a->key_id;
        if (reason && !out->reason)
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    }
    if (result == AVRR_OK)
        result = svc->store->ops->referral_decide(svc->store, out, e);
    unlock(svc);
    if (result != AVRR_OK)
        avrr_referral_clear(out);
    return result;
}

avrr_err avrr_service_referral_decide(avrr_service *svc, const avrr_actor *a, int64_t referral_id,
                                      const char *decision, const char *reason,
                                      avrr_referral *out, avrr_error *e)
{
    audit_scope sc;
    memset(out, 0, sizeof *out);
    avrr__audit_begin(&sc, svc, a, "referral.decide", "referral");
    avrr_err result = sc.error ? sc.error
                               : referral_decide_impl(svc, a, referral_id, decision, reason, out, e);
    return avrr__audit_end(&sc, result, referral_id, e);
}

static avrr_err referral_list_impl(avrr_service *svc, const avrr_actor *a, int status,
                                   avrr_page page, avrr_referral **out, size_t *n, int64_t *next,
                                   avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_REFERRAL_READ, e);
    if (result == AVRR_OK)
        result = avrr__service_page_check(&page, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->referral_list(svc->store, a->tenant, status, page.after,
                                            page.limit + 1, out, n, e);
    unlock(svc);
    if (result == AVRR_OK && *n > page.limit) {
        avrr_referral_clear(&(*out)[page.limit]);
        *n = page.limit;
        *next = (*out)[*n - 1].id;
    }
    return result;
}

avrr_err avrr_service_referral_list(avrr_service *svc, const avrr_actor *a, int status,
                                    avrr_page page, avrr_referral **out, size_t *n,
                                    int64_t *next, avrr_error *e)
{
    audit_scope sc;
    *out = NULL;
    *n = 0;
    *next = 0;
    avrr__audit_begin(&sc, svc, a, "referral.list", "referral");
    avrr_err result =
        sc.error ? sc.error : referral_list_impl(svc, a, status, page, out, n, next, e);
    return avrr__audit_end(&sc, result, 0, e);
}

/* ---- the reintegration plan ----------------------------------------------- */

static avrr_err plan_put_impl(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                              avrr_plan *p, avrr_error *e)
{
    avrr_case kase = {0};
    avrr_err result = avrr__service_allow(a, AVRR_ACT_PLAN, e);
    if (result != AVRR_OK)
        return result;
    if (p->components && (result = avrr_text_check(p->components, AVRR_TEXT_MAX * 8,
                                                   "components", e)) != AVRR_OK)
        return result;
    lock(svc);
    result = avrr__case_access(svc, a, case_id, &kase, e);
    if (result == AVRR_OK) {
        p->case_id = case_id;
        memcpy(p->tenant, kase.tenant, sizeof p->tenant);
        memcpy(p->recorded_by, a->tenant, sizeof p->recorded_by);
        result = svc->store->ops->plan_put(svc->store, p, e);
    }
    unlock(svc);
    avrr_case_clear(&kase);
    return result;
}

avrr_err avrr_service_plan_put(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                               avrr_plan *p, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "plan.update", "case");
    avrr_err result = sc.error ? sc.error : plan_put_impl(svc, a, case_id, p, e);
    return avrr__audit_end(&sc, result, case_id, e);
}

static avrr_err plan_get_impl(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                              avrr_plan *out, avrr_error *e)
{
    avrr_case kase = {0};
    avrr_err result = avrr__service_allow(a, AVRR_ACT_PLAN, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = avrr__case_access(svc, a, case_id, &kase, e);
    if (result == AVRR_OK) {
        result = svc->store->ops->plan_get(svc->store, kase.tenant, case_id, out, NULL);
        /* No plan yet is an empty plan: the case exists and is readable. */
        if (result == AVRR_ENOTFOUND) {
            memset(out, 0, sizeof *out);
            out->case_id = case_id;
            memcpy(out->tenant, kase.tenant, sizeof out->tenant);
            result = AVRR_OK;
        } else if (result != AVRR_OK) {
            avrr_error_set(e, result, NULL, "reading the plan failed");
        }
    }
    unlock(svc);
    avrr_case_clear(&kase);
    return result;
}

avrr_err avrr_service_plan_get(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                               avrr_plan *out, avrr_error *e)
{
    audit_scope sc;
    memset(out, 0, sizeof *out);
    avrr__audit_begin(&sc, svc, a, "plan.read", "case");
    avrr_err result = sc.error ? sc.error : plan_get_impl(svc, a, case_id, out, e);
    return avrr__audit_end(&sc, result, case_id, e);
}

/* ---- follow-up visits ----------------------------------------------------- */

static avrr_err follow_up_add_impl(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                                   avrr_follow_up *f, avrr_error *e)
{
    avrr_case kase = {0};
    avrr_err result = avrr__service_allow(a, AVRR_ACT_FOLLOW_UP, e);
    if (result == AVRR_OK)
        result = avrr_follow_up_validate(f, e);
    if (result != AVRR_OK)
        return result;
    if (f->visited_on.precision == AVRR_DATE_UNKNOWN)
        today(&f->visited_on);
    lock(svc);
    result = avrr__case_access(svc, a, case_id, &kase, e);
    if (result == AVRR_OK) {
        f->case_id = case_id;
        memcpy(f->tenant, kase.tenant, sizeof f->tenant);
        memcpy(f->recorded_by, a->tenant, sizeof f->recorded_by);
        result = svc->store->ops->follow_up_insert(svc->store, f, e);
    }
    unlock(svc);
    avrr_case_clear(&kase);
    return result;
}

avrr_err avrr_service_follow_up_add(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                                    avrr_follow_up *f, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "follow_up.create", "case");
    avrr_err result = sc.error ? sc.error : follow_up_add_impl(svc, a, case_id, f, e);
    return avrr__audit_end(&sc, result, case_id, e);
}

static avrr_err follow_up_list_impl(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                                    avrr_follow_up **out, size_t *n, avrr_error *e)
{
    avrr_case kase = {0};
    avrr_err result = avrr__service_allow(a, AVRR_ACT_FOLLOW_UP, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = avrr__case_access(svc, a, case_id, &kase, e);
    if (result == AVRR_OK)
        result = svc->store->ops->follow_up_list(svc->store, kase.tenant, case_id, out, n, e);
    unlock(svc);
    avrr_case_clear(&kase);
    return result;
}

avrr_err avrr_service_follow_up_list(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                                     avrr_follow_up **out, size_t *n, avrr_error *e)
{
    audit_scope sc;
    *out = NULL;
    *n = 0;
    avrr__audit_begin(&sc, svc, a, "follow_up.list", "case");
    avrr_err result = sc.error ? sc.error : follow_up_list_impl(svc, a, case_id, out, n, e);
    return avrr__audit_end(&sc, result, case_id, e);
}

void avrr_service_free_counselling(avrr_counselling *c, size_t n)
{
    avrr_store_free_counselling(c, n);
}

void avrr_service_free_referrals(avrr_referral *r, size_t n)
{
    avrr_store_free_referrals(r, n);
}

void avrr_service_free_follow_ups(avrr_follow_up *f, size_t n)
{
    avrr_store_free_follow_ups(f, n);
}
