/* src/store/store.c: the backend-independent part of the store interface.
 *
 * avrr_store_open() picks a backend from the URI, avrr_store_close() checks
 * the handle's magic before handing it back to its backend, and the
 * avrr_store_free_*() helpers free the arrays that list operations return.
 * Everything a backend needs on its own lives in its file (sqlite.c).
 */
#include <assert.h>
#include <stddef.h>
#include <string.h>

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
    avrr_err result;

    if (out != NULL)
        *out = NULL;
    if (uri == NULL || uri[0] == '\0' || out == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "database",
                              "no registry location given");
    if (is_postgres_uri(uri))
        return avrr_error_set(e, AVRR_EINVALID, "database",
                              "PostgreSQL support is not built yet");

    result = avrr__sqlite_open(uri, create, out, e);
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
