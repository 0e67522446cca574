/* service.c: the registry's use cases, shared by the CLI and the HTTP API.
 *
 * Each public function: checks the actor's role against the policy,
 * validates and canonicalises its input (core), then talks to the store
 * under the service mutex. The mutex is recursive so that a bulk import can
 * hold one transaction open while it calls the ordinary use cases. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "privacy/audit.h"
#include "service/service_int.h"

/* API keys: "avrr_" + 43 characters of URL-safe base64 (32 random bytes).
 * 256 bits make guessing hopeless, so a fast keyed-free BLAKE2b hash is the
 * right way to store them (a password hash would only slow every request). */
#define KEY_PREFIX "avrr_"
#define KEY_RANDOM_BYTES 32


avrr_err avrr_service_open(const char *db_uri, bool create,
                           avrr_service **out, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    avrr_service *svc = NULL;
    pthread_mutexattr_t attr;

    *out = NULL;
    if (sodium_init() < 0)
        return avrr_error_set(e, AVRR_ECRYPTO, NULL, "libsodium failed to initialise");
    svc = avrr_calloc(1, sizeof *svc);
    if (!svc)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    result = avrr_store_open(db_uri, create, &svc->store, e);
    if (result != AVRR_OK)
        goto out;
    svc->uri = avrr_strdup(db_uri);
    if (!svc->uri) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
        goto out;
    }
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&svc->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_rwlock_init(&svc->index_lock, NULL);
    avrr_service_options_default(&svc->options);
    svc->magic = SERVICE_MAGIC;
    result = avrr__consult_init(svc, e);
    if (result != AVRR_OK) {
        avrr_service_close(svc);
        svc = NULL;
        goto out;
    }
    *out = svc;
    svc = NULL;
out:
    if (svc) {
        avrr_store_close(svc->store);
        avrr_free(svc->uri);
        avrr_free(svc);
    }
    return result;
}

void avrr_service_close(avrr_service *svc)
{
    if (!svc)
        return;
    if (svc->magic != SERVICE_MAGIC)
        return;
    avrr__walckpt_stop(svc);
    avrr__consult_close(svc);
    avrr__pool_close(svc);
    avrr_store_close(svc->store);
    avrr_free(svc->uri);
    pthread_rwlock_destroy(&svc->index_lock);
    pthread_mutex_destroy(&svc->lock);
    svc->magic = 0;
    avrr_free(svc);
}

static avrr_err deny(avrr_error *e, avrr_action act)
{
    return avrr_error_set(e, AVRR_EFORBIDDEN, NULL,
                          "this API key's role may not %s",
                          avrr_action_name(act));
}

avrr_err avrr__service_allow(const avrr_actor *a, avrr_action act, avrr_error *e)
{
    if (!a)
        return avrr_error_set(e, AVRR_EUNAUTHORIZED, NULL, NULL);
    return avrr_policy_allows(a->role, act) ? AVRR_OK : deny(e, act);
}

/* ---- operator functions -------------------------------------------------- */

static avrr_err tenant_add_impl(avrr_service *svc, const char *code,
                                 const char *name, avrr_error *e)
{
    avrr_tenant t = {0};
    avrr_err result = avrr_tenant_code_check(code ? code : "", t.code, e);
    if (result != AVRR_OK)
        return result;
    if (!name || !name[0])
        return avrr_error_set(e, AVRR_EINVALID, "name", "a tenant needs a name");
    result = avrr_text_check(name, AVRR_TEXT_MAX, "name", e);
    if (result != AVRR_OK)
        return result;
    t.name = (char *)name; /* only read by the store */
    t.retention_days = AVRR_RETENTION_DAYS_DEFAULT;
    t.audit_retention_days = AVRR_AUDIT_RETENTION_DAYS_DEFAULT;
    lock(svc);
    result = svc->store->ops->tenant_insert(svc->store, &t, e);
    unlock(svc);
    if (result == AVRR_EEXISTS)
        avrr_error_set(e, AVRR_EEXISTS, "code", "tenant %s exists already", t.code);
    return result;
}

avrr_err avrr_service_tenant_add(avrr_service *svc, const char *code,
                                 const char *name, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, NULL, "tenant.create", "tenant");
    avrr_err result = sc.error ? sc.error : tenant_add_impl(svc, code, name, e);
    return avrr__audit_end(&sc, result, 0, e);
}

static avrr_err tenant_list_impl(avrr_service *svc, avrr_tenant **out,
                                  size_t *n, avrr_error *e)
{
    lock(svc);
    avrr_err result = svc->store->ops->tenant_list(svc->store, out, n, e);
    unlock(svc);
    return result;
}

avrr_err avrr_service_tenant_list(avrr_service *svc, avrr_tenant **out,
                                  size_t *n, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, NULL, "tenant.list", "tenant");
    avrr_err result = sc.error ? sc.error : tenant_list_impl(svc, out, n, e);
    return avrr__audit_end(&sc, result, 0, e);
}

static void key_hash(const char *key, uint8_t hash[32])
{
    crypto_generichash(hash, 32, (const unsigned char *)key, strlen(key), NULL, 0);
}

static avrr_err key_create_impl(avrr_service *svc, const char *tenant,
                                 const char *role, const char *label,
                                 char **key_out, int64_t *id_out, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    avrr_tenant t = {0};
    char code[17];
    uint8_t random[KEY_RANDOM_BYTES], hash[32];
    size_t keylen = sizeof KEY_PREFIX - 1 +
                    sodium_base64_ENCODED_LEN(KEY_RANDOM_BYTES,
                                              sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *key = NULL;
    int r = role ? avrr_role_parse(role) : -1;

    *key_out = NULL;
    if (r < 0)
        return avrr_error_set(e, AVRR_EINVALID, "role",
                              "unknown role '%s' (caseworker, provider, statistician, dpo, admin)",
                              role ? role : "");
    result = avrr_tenant_code_check(tenant ? tenant : "", code, e);
    if (result != AVRR_OK)
        return result;
    if (label && (result = avrr_text_check(label, 64, "label", e)) != AVRR_OK)
        return result;
    key = avrr_malloc(keylen);
    if (!key)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    memcpy(key, KEY_PREFIX, sizeof KEY_PREFIX - 1);
    randombytes_buf(random, sizeof random);
    sodium_bin2base64(key + sizeof KEY_PREFIX - 1, keylen - (sizeof KEY_PREFIX - 1),
                      random, sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(random, sizeof random);
    key_hash(key, hash);

    lock(svc);
    result = svc->store->ops->tenant_get(svc->store, code, &t, e);
    if (result == AVRR_ENOTFOUND)
        avrr_error_set(e, AVRR_ENOTFOUND, "tenant", "no tenant %s (add it with `avrr tenant add`)", code);
    if (result == AVRR_OK)
        result = svc->store->ops->key_insert(svc->store, code, (avrr_role)r, hash,
                                             label ? label : "", id_out, e);
    unlock(svc);
    avrr_tenant_clear(&t);
    if (result != AVRR_OK) {
        sodium_memzero(key, keylen);
        avrr_free(key);
        return result;
    }
    *key_out = key;
    return AVRR_OK;
}

avrr_err avrr_service_key_create(avrr_service *svc, const char *tenant,
                                 const char *role, const char *label,
                                 char **key_out, int64_t *id_out, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, NULL, "key.create", "key");
    avrr_err result = sc.error ? sc.error : key_create_impl(svc, tenant, role, label, key_out, id_out, e);
    result = avrr__audit_end(&sc, result, result == AVRR_OK ? *id_out : 0, e);
    if (result != AVRR_OK && *key_out) { /* not stored after all: never shown */
        sodium_memzero(*key_out, strlen(*key_out));
        avrr_free(*key_out);
        *key_out = NULL;
    }
    return result;
}

static avrr_err key_list_impl(avrr_service *svc, const char *tenant,
                               avrr_key_info **out, size_t *n, avrr_error *e)
{
    lock(svc);
    avrr_err result = svc->store->ops->key_list(svc->store, tenant, out, n, e);
    unlock(svc);
    return result;
}

avrr_err avrr_service_key_list(avrr_service *svc, const char *tenant,
                               avrr_key_info **out, size_t *n, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, NULL, "key.list", "key");
    avrr_err result = sc.error ? sc.error : key_list_impl(svc, tenant, out, n, e);
    return avrr__audit_end(&sc, result, 0, e);
}

static avrr_err key_revoke_impl(avrr_service *svc, int64_t key_id, avrr_error *e)
{
    lock(svc);
    avrr_err result = svc->store->ops->key_revoke(svc->store, key_id, e);
    unlock(svc);
    return result;
}

avrr_err avrr_service_key_revoke(avrr_service *svc, int64_t key_id, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, NULL, "key.revoke", "key");
    avrr_err result = sc.error ? sc.error : key_revoke_impl(svc, key_id, e);
    return avrr__audit_end(&sc, result, key_id, e);
}

avrr_err avrr_service_authenticate(avrr_service *svc, const char *key,
                                   avrr_actor *out, avrr_error *e)
{
    avrr_key_info info;
    uint8_t hash[32];
    size_t n = key ? strlen(key) : 0;

    avrr_actor keep = *out; /* request id and purpose from the adapter */
    memset(out, 0, sizeof *out);
    memcpy(out->request_id, keep.request_id, sizeof out->request_id);
    memcpy(out->purpose, keep.purpose, sizeof out->purpose);
    avrr_err result = AVRR_OK;
    if (n < sizeof KEY_PREFIX || n > 128 || memcmp(key, KEY_PREFIX, sizeof KEY_PREFIX - 1) != 0) {
        result = avrr_error_set(e, AVRR_EUNAUTHORIZED, NULL, "missing or malformed API key");
    } else {
        key_hash(key, hash);
        /* Every request's first statement: on a pooled connection when
         * there is a pool (pool.c), so that requests do not queue for the
         * shared one before their checks run on the pool. */
        avrr_store *st = NULL;
        result = avrr__store_take(svc, &st, e);
        if (result == AVRR_OK) {
            result = st->ops->key_find(st, hash, &info, e);
            avrr__store_give(svc, st, result);
        }
        if (result == AVRR_ENOTFOUND)
            result = avrr_error_set(e, AVRR_EUNAUTHORIZED, NULL, "unknown or revoked API key");
    }
    if (result == AVRR_EUNAUTHORIZED) {
        /* Who tried is unknown; when and with which request is recorded. */
        avrr__audit_event(svc, out, "auth.failed", "", 0, result, NULL);
        out->role = 0;
    }
    if (result != AVRR_OK)
        return result;
    out->key_id = info.id;
    memcpy(out->tenant, info.tenant, sizeof out->tenant);
    out->role = info.role;
    return AVRR_OK;
}

avrr_err avrr_service_local_actor(avrr_service *svc, const char *tenant,
                                  avrr_role role, avrr_actor *out, avrr_error *e)
{
    avrr_tenant t = {0};
    memset(out, 0, sizeof *out);
    avrr_err result = avrr_tenant_code_check(tenant ? tenant : "", out->tenant, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->tenant_get(svc->store, out->tenant, &t, e);
    unlock(svc);
    avrr_tenant_clear(&t);
    if (result == AVRR_ENOTFOUND)
        avrr_error_set(e, AVRR_ENOTFOUND, "tenant", "no tenant %s (add it with `avrr tenant add`)",
                       out->tenant);
    out->role = role;
    return result;
}

/* ---- registry use cases ---------------------------------------------------- */

static avrr_err validate_identities(avrr_identity *ids, size_t n, avrr_error *e)
{
    char prefix[48];
    for (size_t i = 0; i < n; i++) {
        avrr_err result = avrr_identity_validate(&ids[i], e);
        if (result != AVRR_OK) {
            snprintf(prefix, sizeof prefix, "identities[%zu]", i);
            avrr_error_prefix_field(e, prefix);
            return result;
        }
    }
    return AVRR_OK;
}

/* The rules a person must meet to be registered by actor a, for one
 * registration and for a bulk import alike; on success p belongs to a's
 * tenant. */
static avrr_err person_check(const avrr_actor *a, avrr_person *p, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_PERSON_WRITE, e);
    if (result != AVRR_OK)
        return result;
    if (p->n_identities == 0)
        return avrr_error_set(e, AVRR_EINVALID, "identities",
                              "a person needs at least one identity");
    if (p->n_identities > AVRR_IDENTITIES_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "identities",
                              "at most %d identities per person", AVRR_IDENTITIES_MAX);
    result = validate_identities(p->identities, p->n_identities, e);
    if (result == AVRR_OK)
        memcpy(p->tenant, a->tenant, sizeof p->tenant);
    return result;
}

static avrr_err person_register_impl(avrr_service *svc, const avrr_actor *a,
                                      avrr_person *p, avrr_error *e)
{
    avrr_err result = person_check(a, p, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->person_insert(svc->store, p, e);
    unlock(svc);
    if (result == AVRR_OK)
        avrr__consult_after_register(svc, a, p->id, p->identities, p->n_identities, NULL);
    return result;
}

avrr_err avrr_service_person_register(avrr_service *svc, const avrr_actor *a,
                                      avrr_person *p, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "person.create", "person");
    avrr_err result = sc.error ? sc.error : person_register_impl(svc, a, p, e);
    return avrr__audit_end(&sc, result, p->id, e);
}

static void audit_fill(avrr_audit_event *ev, const avrr_actor *a, const char *action,
                       const char *target_type, int64_t target_id, avrr_err outcome);

avrr_err avrr_service_person_register_many(avrr_service *svc, const avrr_actor *a,
                                           avrr_person *ps, size_t n, avrr_err *row_rc,
                                           avrr_error *row_e, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    avrr_person **ok = avrr_calloc(n ? n : 1, sizeof *ok);
    avrr_audit_event *evs = avrr_calloc(n ? n : 1, sizeof *evs);
    size_t n_ok = 0;
    bool began = false;

    if (!ok || !evs) {
        avrr_free(ok);
        avrr_free(evs);
        return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    }
    /* The rules of person_register, row by row. */
    for (size_t i = 0; i < n; i++) {
        avrr_error_clear(&row_e[i]);
        ps[i].id = 0;
        row_rc[i] = person_check(a, &ps[i], &row_e[i]);
        if (row_rc[i] == AVRR_OK)
            ok[n_ok++] = &ps[i];
    }
    lock(svc);
    if (svc->txn_depth == 0) {
        result = svc->store->ops->begin(svc->store, NULL);
        if (result != AVRR_OK) {
            avrr_error_set(e, result, NULL, "the registry is busy or unavailable: try again");
            goto out;
        }
        began = true;
    }
    svc->txn_depth++;
    if (n_ok > 0) {
        if (svc->store->ops->person_insert_many) {
            result = svc->store->ops->person_insert_many(svc->store, ok, n_ok, e);
        } else {
            for (size_t i = 0; result == AVRR_OK && i < n_ok; i++)
                result = svc->store->ops->person_insert(svc->store, ok[i], e);
            if (result != AVRR_OK)
                for (size_t i = 0; i < n_ok; i++)
                    ok[i]->id = 0;
        }
    }
    for (size_t i = 0; result == AVRR_OK && i < n_ok; i++)
        avrr__consult_after_register(svc, a, ok[i]->id, ok[i]->identities,
                                     ok[i]->n_identities, NULL);
    /* One event per row, in row order: person.create with the person's id,
     * or the refusal, as person_register records them. */
    if (result == AVRR_OK) {
        for (size_t i = 0; i < n; i++)
            audit_fill(&evs[i], a, "person.create", "person", ps[i].id, row_rc[i]);
        result = avrr_audit_append_many(svc->store, evs, n, e);
    }
    svc->txn_depth--;
    if (began) {
        if (result == AVRR_OK)
            result = svc->store->ops->commit(svc->store, e);
        if (result != AVRR_OK)
            svc->store->ops->rollback(svc->store);
    }
out:
    if (result != AVRR_OK) {
        /* Nothing of the batch was stored: every row failed with it. The
         * failed attempts are events of their own, as person_register's. */
        for (size_t i = 0; i < n; i++) {
            ps[i].id = 0;
            if (row_rc[i] == AVRR_OK) {
                row_rc[i] = result;
                row_e[i] = *e;
            }
        }
        if (result != AVRR_ENOMEM)
            for (size_t i = 0; i < n; i++)
                avrr__audit_event(svc, a, "person.create", "person", 0, row_rc[i], NULL);
    }
    unlock(svc);
    avrr_free(ok);
    avrr_free(evs);
    return result;
}

static avrr_err identity_add_impl(avrr_service *svc, const avrr_actor *a,
                                   int64_t person_id, avrr_identity *id,
                                   avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_PERSON_WRITE, e);
    if (result != AVRR_OK)
        return result;
    result = avrr_identity_validate(id, e);
    if (result != AVRR_OK)
        return result;
    id->person_id = person_id;
    lock(svc);
    result = svc->store->ops->identity_insert(svc->store, a->tenant, id, e);
    unlock(svc);
    if (result == AVRR_OK)
        avrr__consult_after_register(svc, a, person_id, id, 1, NULL);
    return result;
}

avrr_err avrr_service_identity_add(avrr_service *svc, const avrr_actor *a,
                                   int64_t person_id, avrr_identity *id,
                                   avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "identity.create", "person");
    avrr_err result = sc.error ? sc.error : identity_add_impl(svc, a, person_id, id, e);
    return avrr__audit_end(&sc, result, person_id, e);
}

/* What a partner's provider sees of the person on a case referred to it
 * and accepted: enough to find and serve the returnee (the names and birth
 * date of the first identity), nothing else (data minimisation, GDPR Art.
 * 5(1)(c)). Aliases, documents, references and addresses stay with the
 * owner. ENOTFOUND (e untouched) when no such referral exists. */
static avrr_err referred_person(avrr_service *svc, const avrr_actor *a, int64_t person_id,
                                avrr_person *out, avrr_error *e)
{
    char owner[17];
    if (svc->store->ops->referral_access(svc->store, a->tenant, 0, person_id, owner, NULL) !=
        AVRR_OK)
        return AVRR_ENOTFOUND;
    avrr_err result = svc->store->ops->person_get(svc->store, owner, person_id, out, e);
    if (result != AVRR_OK)
        return result;
    for (size_t i = 1; i < out->n_identities; i++)
        avrr_identity_clear(&out->identities[i]);
    out->n_identities = out->n_identities > 0 ? 1 : 0;
    if (out->n_identities == 1) {
        avrr_identity *id = &out->identities[0];
        avrr_identity kept = {0};
        kept.id = id->id;
        kept.person_id = id->person_id;
        kept.given_names = id->given_names;
        kept.surname = id->surname;
        kept.full_name = id->full_name;
        kept.birth_date = id->birth_date;
        kept.created_at = id->created_at;
        id->given_names = id->surname = id->full_name = NULL;
        avrr_identity_clear(id);
        *id = kept;
    }
    return AVRR_OK;
}

static avrr_err person_get_impl(avrr_service *svc, const avrr_actor *a,
                                 int64_t person_id, avrr_person *out,
                                 avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_PERSON_READ, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->person_get(svc->store, a->tenant, person_id, out, e);
    if (result == AVRR_ENOTFOUND && a->role == AVRR_ROLE_PROVIDER)
        result = referred_person(svc, a, person_id, out, e);
    unlock(svc);
    return result;
}

avrr_err avrr_service_person_get(avrr_service *svc, const avrr_actor *a,
                                 int64_t person_id, avrr_person *out,
                                 avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "person.read", "person");
    avrr_err result = sc.error ? sc.error : person_get_impl(svc, a, person_id, out, e);
    return avrr__audit_end(&sc, result, person_id, e);
}

/* Normalises a page request; returns the number of rows to ask the store for
 * (one more than the page, to learn whether another page follows). */
avrr_err avrr__service_page_check(avrr_page *page, avrr_error *e)
{
    if (page->limit == 0)
        page->limit = AVRR_PAGE_DEFAULT;
    if (page->limit > AVRR_PAGE_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "limit", "limit must be 1..%d", AVRR_PAGE_MAX);
    if (page->after < 0)
        return avrr_error_set(e, AVRR_EINVALID, "after", "after must not be negative");
    return AVRR_OK;
}

static avrr_err person_list_impl(avrr_service *svc, const avrr_actor *a,
                                  avrr_page page, avrr_person **out,
                                  size_t *n, int64_t *next, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_PERSON_READ, e);
    if (result == AVRR_OK)
        result = avrr__service_page_check(&page, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->person_list(svc->store, a->tenant, page.after,
                                          page.limit + 1, out, n, e);
    unlock(svc);
    *next = 0;
    if (result == AVRR_OK && *n > page.limit) {
        avrr_person_clear(&(*out)[page.limit]);
        *n = page.limit;
        *next = (*out)[*n - 1].id;
    }
    return result;
}

avrr_err avrr_service_person_list(avrr_service *svc, const avrr_actor *a,
                                  avrr_page page, avrr_person **out,
                                  size_t *n, int64_t *next, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "person.list", "person");
    avrr_err result = sc.error ? sc.error : person_list_impl(svc, a, page, out, n, next, e);
    return avrr__audit_end(&sc, result, 0, e);
}

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

static avrr_err case_open_impl(avrr_service *svc, const avrr_actor *a,
                                avrr_case *c, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_CASE_WRITE, e);
    if (result != AVRR_OK)
        return result;
    if (c->person_id <= 0)
        return avrr_error_set(e, AVRR_EINVALID, "person_id", "person_id is required");
    result = avrr_case_validate(c, e);
    if (result != AVRR_OK)
        return result;
    if (avrr_case_status_is_final(c->status))
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "a case cannot be opened in final status %s",
                              avrr_case_status_name(c->status));
    if (c->opened_on.precision == AVRR_DATE_UNKNOWN)
        today(&c->opened_on);
    memcpy(c->tenant, a->tenant, sizeof c->tenant);
    lock(svc);
    result = svc->store->ops->case_insert(svc->store, c, e);
    unlock(svc);
    if (result == AVRR_ENOTFOUND)
        avrr_error_set(e, AVRR_ENOTFOUND, "person_id", "no person %lld",
                       (long long)c->person_id);
    return result;
}

avrr_err avrr_service_case_open(avrr_service *svc, const avrr_actor *a,
                                avrr_case *c, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "case.create", "case");
    avrr_err result = sc.error ? sc.error : case_open_impl(svc, a, c, e);
    return avrr__audit_end(&sc, result, c->id, e);
}

static avrr_err case_get_impl(avrr_service *svc, const avrr_actor *a,
                               int64_t case_id, avrr_case *out, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_CASE_READ, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = avrr__case_access(svc, a, case_id, out, e);
    unlock(svc);
    return result;
}

avrr_err avrr_service_case_get(avrr_service *svc, const avrr_actor *a,
                               int64_t case_id, avrr_case *out, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "case.read", "case");
    avrr_err result = sc.error ? sc.error : case_get_impl(svc, a, case_id, out, e);
    return avrr__audit_end(&sc, result, case_id, e);
}

static avrr_err case_list_impl(avrr_service *svc, const avrr_actor *a,
                                int64_t person_id, avrr_page page,
                                avrr_case **out, size_t *n, int64_t *next,
                                avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_CASE_READ, e);
    if (result == AVRR_OK)
        result = avrr__service_page_check(&page, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->case_list(svc->store, a->tenant, person_id, page.after,
                                        page.limit + 1, out, n, e);
    unlock(svc);
    *next = 0;
    if (result == AVRR_OK && *n > page.limit) {
        avrr_case_clear(&(*out)[page.limit]);
        *n = page.limit;
        *next = (*out)[*n - 1].id;
    }
    return result;
}

avrr_err avrr_service_case_list(avrr_service *svc, const avrr_actor *a,
                                int64_t person_id, avrr_page page,
                                avrr_case **out, size_t *n, int64_t *next,
                                avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "case.list", "case");
    avrr_err result = sc.error ? sc.error : case_list_impl(svc, a, person_id, page, out, n, next, e);
    return avrr__audit_end(&sc, result, 0, e);
}

static avrr_err case_set_status_impl(avrr_service *svc, const avrr_actor *a,
                                      int64_t case_id, const char *status,
                                      avrr_case *out, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_CASE_STATUS, e);
    if (result != AVRR_OK)
        return result;
    int to = status ? avrr_case_status_parse(status) : -1;
    if (to < 0)
        return avrr_error_set(e, AVRR_EINVALID, "status", "unknown case status '%s'",
                              status ? status : "");
    lock(svc);
    /* A partner's provider moves a referred case along too (departed,
     * reintegrating, completed); the update is made in the owner's name. */
    result = avrr__case_access(svc, a, case_id, out, e);
    if (result == AVRR_OK && !avrr_case_status_can_move(out->status, (avrr_case_status)to))
        result = avrr_error_set(e, AVRR_ECONFLICT, "status",
                                "a case cannot move from %s to %s",
                                avrr_case_status_name(out->status),
                                avrr_case_status_name(to));
    if (result == AVRR_OK) {
        out->status = (avrr_case_status)to;
        if (avrr_case_status_is_final(out->status))
            today(&out->closed_on);
        result = svc->store->ops->case_update(svc->store, out, e);
    }
    unlock(svc);
    if (result != AVRR_OK)
        avrr_case_clear(out);
    return result;
}

avrr_err avrr_service_case_set_status(avrr_service *svc, const avrr_actor *a,
                                      int64_t case_id, const char *status,
                                      avrr_case *out, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "case.status", "case");
    avrr_err result = sc.error ? sc.error : case_set_status_impl(svc, a, case_id, status, out, e);
    return avrr__audit_end(&sc, result, case_id, e);
}

static avrr_err assistance_add_impl(avrr_service *svc, const avrr_actor *a,
                                     int64_t case_id, avrr_assistance *as,
                                     avrr_check_result *warnings, avrr_error *e)
{
    avrr_case c = {0};
    avrr_err result = avrr__service_allow(a, AVRR_ACT_ASSISTANCE_WRITE, e);
    if (result != AVRR_OK)
        return result;
    result = avrr_assistance_validate(as, e);
    if (result != AVRR_OK)
        return result;
    if (as->granted_on.precision == AVRR_DATE_UNKNOWN)
        today(&as->granted_on);
    as->case_id = case_id;
    lock(svc);
    /* A provider of the partner a case was referred to records what it
     * delivered; the grant stays the owner's (the state that pays). */
    result = avrr__case_access(svc, a, case_id, &c, e);
    if (result == AVRR_OK && avrr_case_status_is_final(c.status))
        result = avrr_error_set(e, AVRR_ECONFLICT, "case_id",
                                "case %lld is %s and takes no new assistance",
                                (long long)case_id, avrr_case_status_name(c.status));
    if (result == AVRR_OK) {
        memcpy(as->tenant, c.tenant, sizeof as->tenant);
        result = avrr__rules_check(svc, &c, as, e);
    }
    unlock(svc);
    /* The guard runs outside the store lock (it takes the index lock);
     * the case cannot change owner meanwhile. */
    /* On a referred case the guard runs for the owner, whose person it is
     * and whose duplicate policy applies; the links it opens land in the
     * owner's queue. The partner gets no hit details about other tenants'
     * persons (they are the owner's to see). */
    bool partner = result == AVRR_OK && strcmp(c.tenant, a->tenant) != 0;
    avrr_actor owner = {0};
    if (partner) {
        owner = *a;
        memcpy(owner.tenant, c.tenant, sizeof owner.tenant);
        owner.role = AVRR_ROLE_CASEWORKER;
    }
    if (result == AVRR_OK)
        result = avrr__consult_guard(svc, partner ? &owner : a, c.person_id, &as->granted_on,
                                     partner ? NULL : warnings, e);
    if (result == AVRR_OK) {
        lock(svc);
        result = svc->store->ops->assistance_insert(svc->store, as, e);
        unlock(svc);
    }
    avrr_case_clear(&c);
    return result;
}

avrr_err avrr_service_assistance_add(avrr_service *svc, const avrr_actor *a,
                                     int64_t case_id, avrr_assistance *as,
                                     avrr_check_result *warnings, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "assistance.create", "assistance");
    avrr_err result = sc.error ? sc.error : assistance_add_impl(svc, a, case_id, as, warnings, e);
    return avrr__audit_end(&sc, result, as->id, e);
}

static avrr_err assistance_list_impl(avrr_service *svc, const avrr_actor *a,
                                      int64_t case_id, avrr_assistance **out,
                                      size_t *n, avrr_error *e)
{
    avrr_case c = {0};
    avrr_err result = avrr__service_allow(a, AVRR_ACT_ASSISTANCE_READ, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    /* The case lookup makes another tenant's case a 404, not an empty list. */
    result = avrr__case_access(svc, a, case_id, &c, e);
    if (result == AVRR_OK)
        result = svc->store->ops->assistance_list(svc->store, c.tenant, case_id, out, n, e);
    unlock(svc);
    avrr_case_clear(&c);
    return result;
}

avrr_err avrr_service_assistance_list(avrr_service *svc, const avrr_actor *a,
                                      int64_t case_id, avrr_assistance **out,
                                      size_t *n, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "assistance.list", "case");
    avrr_err result = sc.error ? sc.error : assistance_list_impl(svc, a, case_id, out, n, e);
    return avrr__audit_end(&sc, result, case_id, e);
}

/* ---- bulk ----------------------------------------------------------------- */

avrr_err avrr_service_transaction(avrr_service *svc,
                                  avrr_err (*fn)(void *arg, avrr_error *e),
                                  void *arg, avrr_error *e)
{
    lock(svc);
    avrr_err result = svc->store->ops->begin(svc->store, e);
    if (result == AVRR_OK) {
        svc->txn_depth++; /* use cases inside join this transaction */
        result = fn(arg, e);
        svc->txn_depth--;
        if (result == AVRR_OK)
            result = svc->store->ops->commit(svc->store, e);
        if (result != AVRR_OK)
            svc->store->ops->rollback(svc->store);
    }
    unlock(svc);
    return result;
}

avrr_err avrr_service_bulk_transaction(avrr_service *svc, int64_t rows,
                                       avrr_err (*fn)(void *arg, avrr_error *e),
                                       void *arg, avrr_error *e)
{
    const avrr_store_ops *ops = svc->store->ops;
    lock(svc);
    avrr_err result = ops->begin(svc->store, e);
    if (result == AVRR_OK) {
        svc->txn_depth++; /* use cases inside join this transaction */
        if (ops->bulk_begin)
            result = ops->bulk_begin(svc->store, rows, e);
        if (result == AVRR_OK)
            result = fn(arg, e);
        if (result == AVRR_OK && ops->bulk_end)
            result = ops->bulk_end(svc->store, e);
        svc->txn_depth--;
        if (result == AVRR_OK)
            result = ops->commit(svc->store, e);
        if (result != AVRR_OK)
            ops->rollback(svc->store);
    }
    unlock(svc);
    return result;
}

avrr_err avrr_service_count(avrr_service *svc, const char *table, int64_t *out,
                            avrr_error *e)
{
    lock(svc);
    avrr_err result = svc->store->ops->count(svc->store, table, out, e);
    unlock(svc);
    return result;
}

void avrr_service_free_persons(avrr_person *p, size_t n) { avrr_store_free_persons(p, n); }
void avrr_service_free_cases(avrr_case *c, size_t n) { avrr_store_free_cases(c, n); }
void avrr_service_free_assistance(avrr_assistance *as, size_t n) { avrr_store_free_assistance(as, n); }
void avrr_service_free_tenants(avrr_tenant *t, size_t n) { avrr_store_free_tenants(t, n); }
void avrr_service_free_links(avrr_link *l, size_t n) { avrr_store_free_links(l, n); }
void avrr_service_free_disclosures(avrr_disclosure *d, size_t n) { avrr_store_free_disclosures(d, n); }

/* ---- audit scopes ------------------------------------------------------------ */

/* snprintf(dst, cap, "%s", src) without printf's machinery (a bulk import
 * fills six of these per row); NULL as "". */
static void put_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Fills an event of the actor (NULL: the operator) without appending it. */
static void audit_fill(avrr_audit_event *ev, const avrr_actor *a, const char *action,
                       const char *target_type, int64_t target_id, avrr_err outcome)
{
    memset(ev, 0, sizeof *ev);
    if (a) {
        ev->key_id = a->key_id;
        memcpy(ev->tenant, a->tenant, sizeof ev->tenant);
        /* No key and no tenant: a failed authentication, role unknown. */
        put_str(ev->role, sizeof ev->role,
                a->key_id || a->tenant[0] ? avrr_role_name(a->role) : "");
        put_str(ev->purpose, sizeof ev->purpose, a->purpose);
        put_str(ev->request_id, sizeof ev->request_id, a->request_id);
    } else {
        /* The operator at the command line, who holds the database file. */
        put_str(ev->role, sizeof ev->role, "operator");
    }
    put_str(ev->action, sizeof ev->action, action);
    put_str(ev->target_type, sizeof ev->target_type, target_type ? target_type : "");
    ev->target_id = target_id;
    put_str(ev->outcome, sizeof ev->outcome, avrr_errname(outcome));
}

avrr_err avrr__audit_event(avrr_service *svc, const avrr_actor *a, const char *action,
                           const char *target_type, int64_t target_id, avrr_err outcome,
                           avrr_error *e)
{
    lock(svc);
    avrr_err result = avrr__audit_event_on(svc->store, a, action, target_type, target_id,
                                           outcome, e);
    unlock(svc);
    return result;
}

avrr_err avrr__audit_event_on(avrr_store *st, const avrr_actor *a, const char *action,
                              const char *target_type, int64_t target_id, avrr_err outcome,
                              avrr_error *e)
{
    avrr_audit_event ev;
    audit_fill(&ev, a, action, target_type, target_id, outcome);
    return avrr_audit_append(st, &ev, e);
}

void avrr__audit_begin(audit_scope *sc, avrr_service *svc, const avrr_actor *a,
                       const char *action, const char *target_type)
{
    sc->svc = svc;
    sc->actor = a;
    sc->action = action;
    sc->target_type = target_type;
    lock(svc);
    sc->error = AVRR_OK;
    sc->began = svc->txn_depth == 0;
    if (sc->began) {
        /* Without its transaction a write could be stored without its audit
         * event: then the use case does not run at all. */
        sc->error = svc->store->ops->begin(svc->store, NULL);
        sc->began = sc->error == AVRR_OK;
    }
    svc->txn_depth++;
}

avrr_err avrr__audit_end(audit_scope *sc, avrr_err result, int64_t target_id, avrr_error *e)
{
    avrr_service *svc = sc->svc;
    bool audit_failed = false;
    if (sc->error != AVRR_OK)
        result = avrr_error_set(e, sc->error, NULL,
                                "the registry is busy or unavailable: try again");
    if (result == AVRR_OK) {
        result = avrr__audit_event(svc, sc->actor, sc->action, sc->target_type, target_id,
                                   AVRR_OK, e);
        audit_failed = result != AVRR_OK;
    }
    svc->txn_depth--;
    if (sc->began) {
        if (result == AVRR_OK)
            result = svc->store->ops->commit(svc->store, e);
        if (result != AVRR_OK)
            svc->store->ops->rollback(svc->store);
    }
    unlock(svc);
    /* A refused or failed attempt is an event too, in its own transaction
     * (the use case's writes, if any, were rolled back). */
    if (result != AVRR_OK && !audit_failed && result != AVRR_ENOMEM)
        avrr__audit_event(svc, sc->actor, sc->action, sc->target_type, target_id, result, NULL);
    return result;
}
