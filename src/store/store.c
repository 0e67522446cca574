/* src/store/store.c: the backend-independent part of the store interface.
 *
 * avrr_store_open() picks a backend from the URI (and the data key from
 * AVRR_DATA_KEY), avrr_store_close() checks
 * the handle's magic before handing it back to its backend, and the
 * avrr_store_free_*() helpers free the arrays that list operations return.
 * Everything a backend needs on its own lives in its file (sqlite.c,
 * postgres.c).
 */
#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store/crypt.h"
#include "store/store.h"


/* True when uri names a PostgreSQL server (libpq's two URI schemes). */
static bool is_postgres_uri(const char *uri)
{
    static const char *const schemes[] = {"postgresql://", "postgres://"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        if (strncmp(uri, schemes[i], strlen(schemes[i])) == 0)
            return true;
    }
    return false;
}

avrr_err avrr_store_open(const char *uri, bool create, avrr_store **out,
                         avrr_error *e)
{
    avrr_store_options opt = {.create = create,
                              .data_key = getenv(AVRR_DATA_KEY_ENV)};
    return avrr_store_open_ex(uri, &opt, out, e);
}

avrr_err avrr_store_rekey(const char *uri, const char *old_key_path,
                          const char *new_key_path, int64_t *n_values,
                          avrr_error *e)
{
    avrr_store_options opt = {.create = false, .data_key = old_key_path};
    avrr_store *s = NULL;
    avrr_err result = avrr_store_open_ex(uri, &opt, &s, e);

    if (n_values != NULL)
        *n_values = 0;
    if (result != AVRR_OK)
        return result;
    if (s->ops->rekey == NULL)
        result = avrr_error_set(e, AVRR_EINVALID, "database",
                                "the %s backend cannot encrypt personal "
                                "fields",
                                s->ops->name);
    else
        result = s->ops->rekey(s, new_key_path, n_values, e);
    avrr_store_close(s);
    return result;
}

bool avrr_store_encrypted(avrr_store *s)
{
    return avrr__sqlite_encrypted(s);
}

avrr_err avrr_store_open_ex(const char *uri, const avrr_store_options *opt,
                            avrr_store **out, avrr_error *e)
{
    static const avrr_store_options none = {0};
    avrr_err result;

    if (out != NULL)
        *out = NULL;
    if (uri == NULL || uri[0] == '\0' || out == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "database",
                              "no registry location given");
    if (is_postgres_uri(uri))
        result = avrr__postgres_open(uri, opt != NULL ? opt : &none, out, e);
    else
        result = avrr__sqlite_open(uri, opt != NULL ? opt : &none, out, e);
    assert(result != AVRR_OK || (*out != NULL &&
                                 (*out)->magic == AVRR_STORE_MAGIC));
    return result;
}

void avrr_store_close(avrr_store *s)
{
    if (s == NULL)
        return;
    assert(s->magic == AVRR_STORE_MAGIC);
    if (s->magic != AVRR_STORE_MAGIC)
        return; /* closed twice or never opened: leave it alone */
    s->magic = 0;
    s->ops->close(s);
}

void avrr_store_free_persons(avrr_person *p, size_t n)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        avrr_person_clear(&p[i]);
    avrr_free(p);
}

void avrr_store_free_cases(avrr_case *c, size_t n)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        avrr_case_clear(&c[i]);
    avrr_free(c);
}

void avrr_store_free_assistance(avrr_assistance *a, size_t n)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        avrr_assistance_clear(&a[i]);
    avrr_free(a);
}

void avrr_store_free_tenants(avrr_tenant *t, size_t n)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        avrr_tenant_clear(&t[i]);
    avrr_free(t);
}

void avrr_store_free_links(avrr_link *l, size_t n)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        avrr_link_clear(&l[i]);
    avrr_free(l);
}

void avrr_store_free_disclosures(avrr_disclosure *d, size_t n)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        avrr_disclosure_clear(&d[i]);
    avrr_free(d);
}

void avrr_store_free_counselling(avrr_counselling *c, size_t n)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        avrr_counselling_clear(&c[i]);
    avrr_free(c);
}

void avrr_store_free_referrals(avrr_referral *r, size_t n)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        avrr_referral_clear(&r[i]);
    avrr_free(r);
}

void avrr_store_free_follow_ups(avrr_follow_up *f, size_t n)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        avrr_follow_up_clear(&f[i]);
    avrr_free(f);
}
