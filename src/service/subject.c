/* subject.c: data-subject rights and retention (GDPR Art. 15-18 and the
 * storage limitation of Art. 5(1)(e); DESIGN.md section 6).
 *
 * Export gives everything held on a person; rectification keeps the
 * earlier version; erasure removes the personal data and keeps anonymous
 * statistics (the person row, cases, assistance), drops the identities
 * from the match index and checkpoints the database so that erased names
 * do not survive in its journal; restriction hides a person from other
 * tenants' checks. Retention applies the tenants' policies in one run. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "privacy/audit.h"
#include "service/codec.h"
#include "service/service_int.h"

/* ---- export ------------------------------------------------------------------ */

/* Adds items built by to_json from an array; false when out of memory. */
static bool add_array(json_object *o, const char *key, json_object *arr)
{
    if (!arr)
        return false;
    if (json_object_object_add(o, key, arr) != 0) {
        json_object_put(arr);
        return false;
    }
    return true;
}


/* The return process of one case for the data subject (GDPR Art. 15):
 * counselling, the plan, follow-ups, referrals are about the person too. */
static avrr_err process_to_json(avrr_service *svc, const char *tenant, int64_t case_id,
                                json_object *cj, avrr_error *e)
{
    avrr_counselling *cs = NULL;
    avrr_follow_up *fs = NULL;
    size_t nc = 0, nf = 0;
    avrr_plan plan = {0};
    json_object *ca = json_object_new_array(), *fa = json_object_new_array(), *pj = NULL;
    avrr_err result = svc->store->ops->counselling_list(svc->store, tenant, case_id, &cs, &nc, e);
    if (result == AVRR_OK)
        result = svc->store->ops->follow_up_list(svc->store, tenant, case_id, &fs, &nf, e);
    if (result == AVRR_OK) {
        result = svc->store->ops->plan_get(svc->store, tenant, case_id, &plan, NULL);
        if (result == AVRR_OK)
            pj = avrr_codec_plan_to_json(&plan);
        else if (result == AVRR_ENOTFOUND)
            result = AVRR_OK;
        else
            avrr_error_set(e, result, NULL, "reading the plan failed");
    }
    bool ok = ca && fa;
    for (size_t k = 0; ok && k < nc; k++)
        ok = json_object_array_add(ca, avrr_codec_counselling_to_json(&cs[k])) == 0;
    for (size_t k = 0; ok && k < nf; k++)
        ok = json_object_array_add(fa, avrr_codec_follow_up_to_json(&fs[k])) == 0;
    if (result == AVRR_OK && ok) {
        ok = json_object_object_add(cj, "counselling", ca) == 0;
        ca = NULL;
        ok = ok && json_object_object_add(cj, "follow_ups", fa) == 0;
        fa = NULL;
        ok = ok && json_object_object_add(cj, "plan", pj) == 0;
        pj = NULL;
    }
    if (result == AVRR_OK && !ok)
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    json_object_put(ca);
    json_object_put(fa);
    json_object_put(pj);
    avrr_plan_clear(&plan);
    avrr_store_free_counselling(cs, nc);
    avrr_store_free_follow_ups(fs, nf);
    return result;
}

static avrr_err export_impl(avrr_service *svc, const avrr_actor *a, int64_t person_id, char **json,
                            avrr_error *e)
{
    avrr_person p = {0};
    avrr_identity_change *hist = NULL;
    size_t n_hist = 0;
    avrr_case *cases = NULL;
    size_t n_cases = 0;
    avrr_link *links = NULL;
    size_t n_links = 0;
    json_object *o = NULL;
    *json = NULL;
    avrr_err result = avrr__service_allow(a, AVRR_ACT_SUBJECT_RIGHTS, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->person_get(svc->store, a->tenant, person_id, &p, e);
    if (result == AVRR_OK)
        result = svc->store->ops->identity_history(svc->store, a->tenant, person_id, &hist,
                                                   &n_hist, e);
    if (result == AVRR_OK)
        result = svc->store->ops->case_list(svc->store, a->tenant, person_id, 0, AVRR_PAGE_MAX,
                                            &cases, &n_cases, e);
    if (result == AVRR_OK)
        result = svc->store->ops->links_of_person(svc->store, person_id, &links, &n_links, e);
    if (result != AVRR_OK)
        goto out;
    o = avrr_codec_person_to_json(&p);
    json_object *arr = o ? json_object_new_array() : NULL;
    bool ok = o && arr;
    for (size_t i = 0; ok && i < n_hist; i++) {
        json_object *h = json_object_new_object();
        json_object *old = hist[i].old_json ? json_tokener_parse(hist[i].old_json) : NULL;
        ok = h && json_object_object_add(h, "identity_id",
                                         json_object_new_int64(hist[i].identity_id)) == 0 &&
             json_object_object_add(h, "changed_at", json_object_new_int64(hist[i].changed_at)) ==
                 0 &&
             json_object_object_add(h, "before", old) == 0 && json_object_array_add(arr, h) == 0;
        if (!ok)
            json_object_put(h);
    }
    ok = ok && add_array(o, "identity_history", arr);
    arr = ok ? json_object_new_array() : NULL;
    for (size_t i = 0; ok && arr && i < n_cases; i++) {
        avrr_assistance *as = NULL;
        size_t na = 0;
        json_object *cj = avrr_codec_case_to_json(&cases[i]), *aj = json_object_new_array();
        result = svc->store->ops->assistance_list(svc->store, a->tenant, cases[i].id, &as, &na, e);
        for (size_t k = 0; result == AVRR_OK && aj && k < na; k++)
            json_object_array_add(aj, avrr_codec_assistance_to_json(&as[k]));
        avrr_store_free_assistance(as, na);
        ok = result == AVRR_OK && cj && aj && json_object_object_add(cj, "assistance", aj) == 0;
        if (ok) {
            result = process_to_json(svc, a->tenant, cases[i].id, cj, e);
            ok = result == AVRR_OK;
        }
        if (!ok) {
            json_object_put(cj);
            if (aj && json_object_get_type(aj) == json_type_array && !cj)
                json_object_put(aj);
        } else {
            json_object_array_add(arr, cj);
        }
    }
    ok = ok && add_array(o, "cases", arr);
    arr = ok ? json_object_new_array() : NULL;
    for (size_t i = 0; ok && arr && i < n_links; i++) {
        char ref[33];
        bool a_side = links[i].person_a == person_id;
        avrr_service_person_ref(svc, a->tenant, a_side ? links[i].person_b : links[i].person_a,
                                ref);
        json_object_array_add(arr, avrr_codec_link_to_json(&links[i], a->tenant, ref));
    }
    ok = ok && add_array(o, "links", arr);
    if (result == AVRR_OK && !ok)
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    if (result == AVRR_OK) {
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
        *json = text ? avrr_strdup(text) : NULL;
        if (!*json)
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    }
out:
    unlock(svc);
    json_object_put(o);
    avrr_person_clear(&p);
    for (size_t i = 0; i < n_hist; i++)
        avrr_identity_change_clear(&hist[i]);
    avrr_free(hist);
    avrr_store_free_cases(cases, n_cases);
    avrr_store_free_links(links, n_links);
    return result;
}

avrr_err avrr_service_person_export(avrr_service *svc, const avrr_actor *a, int64_t person_id,
                                    char **json, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "person.export", "person");
    avrr_err result = sc.error ? sc.error : export_impl(svc, a, person_id, json, e);
    result = avrr__audit_end(&sc, result, person_id, e);
    if (result != AVRR_OK) {
        avrr_free(*json);
        *json = NULL;
    }
    return result;
}

/* ---- rectification ------------------------------------------------------------------- */

static avrr_err rectify_impl(avrr_service *svc, const avrr_actor *a, int64_t person_id,
                             int64_t identity_id, avrr_identity *id, avrr_error *e)
{
    avrr_person p = {0};
    char *old = NULL;
    avrr_err result = avrr__service_allow(a, AVRR_ACT_SUBJECT_RIGHTS, e);
    if (result == AVRR_OK)
        result = avrr_identity_validate(id, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->person_get(svc->store, a->tenant, person_id, &p, e);
    const avrr_identity *before = NULL;
    for (size_t i = 0; result == AVRR_OK && i < p.n_identities; i++)
        if (p.identities[i].id == identity_id)
            before = &p.identities[i];
    if (result == AVRR_OK && !before)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "identity_id", "no identity %lld on person %lld",
                                (long long)identity_id, (long long)person_id);
    if (result == AVRR_OK) {
        json_object *o = avrr_codec_identity_to_json(before);
        const char *text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE)
                             : NULL;
        old = text ? avrr_strdup(text) : NULL;
        json_object_put(o);
        if (!old)
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    }
    if (result == AVRR_OK) {
        id->id = identity_id;
        id->person_id = person_id;
        result = svc->store->ops->identity_rectify(svc->store, a->tenant, id, old, a->key_id, e);
    }
    unlock(svc);
    if (result == AVRR_OK) {
        /* The index follows: the old version out, the new one in. */
        pthread_rwlock_wrlock(&svc->index_lock);
        if (svc->index) {
            avrr_match_index_remove(svc->index, identity_id);
            result = avrr_match_index_add(svc->index, identity_id, person_id, a->tenant, id);
        }
        pthread_rwlock_unlock(&svc->index_lock);
    }
    avrr_free(old);
    avrr_person_clear(&p);
    return result;
}

avrr_err avrr_service_identity_rectify(avrr_service *svc, const avrr_actor *a,
                                       int64_t person_id, int64_t identity_id,
                                       avrr_identity *id, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "identity.rectify", "person");
    avrr_err result = sc.error ? sc.error : rectify_impl(svc, a, person_id, identity_id, id, e);
    return avrr__audit_end(&sc, result, person_id, e);
}

/* ---- erasure and restriction ------------------------------------------------------------ */

/* Erases one person of `tenant` (store lock held): store, then index. */
static avrr_err erase_person(avrr_service *svc, const char *tenant, int64_t person_id,
                             avrr_error *e)
{
    avrr_person p = {0};
    avrr_err result = svc->store->ops->person_get(svc->store, tenant, person_id, &p, e);
    if (result == AVRR_OK)
        result = svc->store->ops->person_erase(svc->store, tenant, person_id, e);
    if (result == AVRR_OK) {
        pthread_rwlock_wrlock(&svc->index_lock);
        for (size_t i = 0; svc->index && i < p.n_identities; i++)
            avrr_match_index_remove(svc->index, p.identities[i].id);
        pthread_rwlock_unlock(&svc->index_lock);
    }
    avrr_person_clear(&p);
    return result;
}

static avrr_err erase_impl(avrr_service *svc, const avrr_actor *a, int64_t person_id,
                           avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_SUBJECT_RIGHTS, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = erase_person(svc, a->tenant, person_id, e);
    unlock(svc);
    return result;
}

avrr_err avrr_service_person_erase(avrr_service *svc, const avrr_actor *a, int64_t person_id,
                                   avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "person.erase", "person");
    avrr_err result = sc.error ? sc.error : erase_impl(svc, a, person_id, e);
    result = avrr__audit_end(&sc, result, person_id, e);
    if (result == AVRR_OK) {
        /* After the commit: fold the journal into the database so that the
         * erased names leave the files (freed pages are zeroed by
         * secure_delete). A reader may hold the journal for a moment; the
         * next compaction (or purge) finishes the job then. */
        lock(svc);
        svc->store->ops->compact(svc->store, NULL);
        unlock(svc);
    }
    return result;
}

static avrr_err restrict_impl(avrr_service *svc, const avrr_actor *a, int64_t person_id,
                              bool restricted, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_SUBJECT_RIGHTS, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->person_set_restricted(svc->store, a->tenant, person_id, restricted, e);
    unlock(svc);
    return result;
}

avrr_err avrr_service_person_restrict(avrr_service *svc, const avrr_actor *a,
                                      int64_t person_id, bool restricted, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, restricted ? "person.restrict" : "person.unrestrict", "person");
    avrr_err result = sc.error ? sc.error : restrict_impl(svc, a, person_id, restricted, e);
    return avrr__audit_end(&sc, result, person_id, e);
}

/* ---- retention ----------------------------------------------------------------------------- */

/* today minus days, as "YYYY-MM-DD". */
static void days_before(const avrr_date *today, int days, char out[11])
{
    struct tm tm = {.tm_year = today->year - 1900, .tm_mon = today->month - 1,
                    .tm_mday = today->day - days, .tm_hour = 12};
    timegm(&tm); /* normalises the day count into a calendar date */
    avrr_date d = {.year = (int16_t)(tm.tm_year + 1900), .month = (int8_t)(tm.tm_mon + 1),
                   .day = (int8_t)tm.tm_mday, .precision = AVRR_DATE_DAY};
    avrr_date_format(&d, out);
}

static avrr_err purge_impl(avrr_service *svc, const char *today_text, avrr_purge_report *out,
                           avrr_error *e)
{
    avrr_tenant *tenants = NULL;
    size_t n_tenants = 0;
    avrr_date today = {0};
    memset(out, 0, sizeof *out);
    if (today_text) {
        avrr_err r = avrr_date_parse(today_text, &today, "today", e);
        if (r != AVRR_OK)
            return r;
        if (today.precision != AVRR_DATE_DAY)
            return avrr_error_set(e, AVRR_EINVALID, "today", "a full date is needed (YYYY-MM-DD)");
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        today = (avrr_date){.year = (int16_t)(tm.tm_year + 1900), .month = (int8_t)(tm.tm_mon + 1),
                            .day = (int8_t)tm.tm_mday, .precision = AVRR_DATE_DAY};
    }
    struct tm tm_today = {.tm_year = today.year - 1900, .tm_mon = today.month - 1,
                          .tm_mday = today.day, .tm_hour = 12};
    int64_t today_s = (int64_t)timegm(&tm_today);

    lock(svc);
    avrr_err result = svc->store->ops->tenant_list(svc->store, &tenants, &n_tenants, e);
    int longest_audit = 0;
    for (size_t t = 0; result == AVRR_OK && t < n_tenants; t++) {
        if (tenants[t].audit_retention_days > longest_audit)
            longest_audit = tenants[t].audit_retention_days;
        if (tenants[t].retention_days <= 0)
            continue;
        char cutoff[11];
        int64_t *ids = NULL;
        size_t n = 0;
        days_before(&today, tenants[t].retention_days, cutoff);
        result = svc->store->ops->persons_due(svc->store, tenants[t].code, cutoff, &ids, &n, e);
        for (size_t i = 0; result == AVRR_OK && i < n; i++) {
            result = erase_person(svc, tenants[t].code, ids[i], e);
            if (result == AVRR_OK) {
                avrr_actor retention = {0};
                memcpy(retention.tenant, tenants[t].code, sizeof retention.tenant);
                retention.role = AVRR_ROLE_ADMIN;
                snprintf(retention.purpose, sizeof retention.purpose, "retention");
                result = avrr__audit_event(svc, &retention, "person.erase", "person", ids[i],
                                           AVRR_OK, e);
                out->persons_erased++;
            }
        }
        avrr_free(ids);
        /* What requesters sent in checks is kept as long as their own
         * records are. */
        int64_t cleared = 0;
        if (result == AVRR_OK)
            result = svc->store->ops->checks_forget(svc->store,
                                                    today_s - (int64_t)tenants[t].retention_days * 86400,
                                                    &cleared, e);
        out->checks_forgotten += cleared;
    }
    /* One chain for all tenants: it keeps what the most demanding policy
     * needs (3 years by default). */
    if (result == AVRR_OK && longest_audit > 0)
        result = svc->store->ops->audit_purge(svc->store,
                                              (today_s - (int64_t)longest_audit * 86400) * 1000,
                                              &out->audit_events_removed, e);
    if (result == AVRR_OK)
        result = svc->store->ops->compact(svc->store, e);
    unlock(svc);
    avrr_store_free_tenants(tenants, n_tenants);
    return result;
}

avrr_err avrr_service_purge(avrr_service *svc, const char *today, avrr_purge_report *out,
                            avrr_error *e)
{
    avrr_err result = purge_impl(svc, today, out, e);
    avrr__audit_event(svc, NULL, "retention.purge", "registry", out->persons_erased, result, NULL);
    return result;
}

static avrr_err set_retention_impl(avrr_service *svc, const char *code, int days, int audit_days,
                                   avrr_error *e)
{
    avrr_tenant t = {0};
    char canon[17];
    if (days < 0 || days > 36500)
        return avrr_error_set(e, AVRR_EINVALID, "retention_days", "must be 0..36500");
    if (audit_days < 1 || audit_days > 36500)
        return avrr_error_set(e, AVRR_EINVALID, "audit_retention_days", "must be 1..36500");
    avrr_err result = avrr_tenant_code_check(code ? code : "", canon, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->tenant_get(svc->store, canon, &t, e);
    if (result == AVRR_OK) {
        t.retention_days = days;
        t.audit_retention_days = audit_days;
        result = svc->store->ops->tenant_update(svc->store, &t, e);
    }
    unlock(svc);
    avrr_tenant_clear(&t);
    return result;
}

avrr_err avrr_service_tenant_set_retention(avrr_service *svc, const char *code,
                                           int retention_days, int audit_retention_days,
                                           avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, NULL, "tenant.retention", "tenant");
    avrr_err result = sc.error ? sc.error : set_retention_impl(svc, code, retention_days, audit_retention_days, e);
    return avrr__audit_end(&sc, result, 0, e);
}
