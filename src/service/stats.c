/* stats.c: statistics of returns and assistance (the strategy's "better
 * data" pillar): counts and sums by one dimension, duplicates detected, and
 * a quarterly table in the shape of Eurostat's return statistics.
 *
 * The store yields one row per case and grant (no personal data); this file
 * groups them. Persons and cases are counted distinct per cell. For the
 * statistician role, who sees every tenant, a cell of fewer than
 * AVRR_STATS_MIN_PERSONS persons is suppressed, as national statistics
 * offices do, so that a figure cannot single out a returnee. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/service_int.h"

typedef enum dim {
    DIM_TENANT,
    DIM_DESTINATION,
    DIM_RETURN_TYPE,
    DIM_KIND,
    DIM_FUNDING,
    DIM_MONTH,
    DIM_QUARTER,
    DIM_EUROSTAT,
    DIM_SUSTAINABILITY, /* follow-up scores by quarter of the visit */
    DIM__COUNT
} dim;

static const char *const dim_names[DIM__COUNT] = {
    [DIM_TENANT] = "tenant",       [DIM_DESTINATION] = "destination",
    [DIM_RETURN_TYPE] = "return_type", [DIM_KIND] = "kind",
    [DIM_FUNDING] = "funding",     [DIM_MONTH] = "month",
    [DIM_QUARTER] = "quarter",     [DIM_EUROSTAT] = "eurostat",
    [DIM_SUSTAINABILITY] = "sustainability",
};

/* A cell while counting: ids seen, deduplicated at the end. */
typedef struct acc {
    avrr_stats_cell cell;
    int64_t *persons, *cases;
    size_t n_persons, n_cases, cap_persons, cap_cases;
    double sum_economic, sum_social, sum_psychosocial; /* by=sustainability */
} acc;

typedef struct grouping {
    dim by;
    int from, to; /* year*12+month bounds, 0: open */
    acc *cells;
    size_t n, cap;
    bool oom;
} grouping;

static bool push_id(int64_t **arr, size_t *n, size_t *cap, int64_t id)
{
    if (*n && (*arr)[*n - 1] == id)
        return true; /* rows come by case: the common repeat costs nothing */
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        int64_t *p = avrr_realloc(*arr, c * sizeof *p);
        if (!p)
            return false;
        *arr = p;
        *cap = c;
    }
    (*arr)[(*n)++] = id;
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t distinct(int64_t *arr, size_t n)
{
    if (n == 0)
        return 0;
    qsort(arr, n, sizeof *arr, cmp_i64);
    int64_t d = 1;
    for (size_t i = 1; i < n; i++)
        d += arr[i] != arr[i - 1];
    return d;
}

static bool departed(avrr_case_status s)
{
    return s == AVRR_CASE_DEPARTED || s == AVRR_CASE_REINTEGRATING || s == AVRR_CASE_COMPLETED;
}

/* The key of a row in the grouping's dimension; false when the row does
 * not count there (no assistance for kind/funding, not departed for the
 * Eurostat table). */
static bool row_key(const grouping *g, const avrr_stats_row *r, bool first_of_case, char *key,
                    size_t cap)
{
    const avrr_date *d = &r->opened_on;
    switch (g->by) {
    case DIM_TENANT: snprintf(key, cap, "%s", r->tenant); return true;
    case DIM_DESTINATION: snprintf(key, cap, "%s", r->destination[0] ? r->destination : "unknown"); return true;
    case DIM_RETURN_TYPE: snprintf(key, cap, "%s", avrr_return_type_name(r->return_type)); return true;
    case DIM_KIND:
        if (r->kind < 0)
            return false;
        snprintf(key, cap, "%s", avrr_assistance_kind_name(r->kind));
        return true;
    case DIM_FUNDING:
        if (r->funding < 0)
            return false;
        snprintf(key, cap, "%s", avrr_funding_name(r->funding));
        return true;
    case DIM_MONTH:
        if (d->precision < AVRR_DATE_MONTH)
            snprintf(key, cap, "unknown");
        else
            snprintf(key, cap, "%04d-%02d", d->year, d->month);
        return true;
    case DIM_QUARTER:
        if (d->precision < AVRR_DATE_MONTH)
            snprintf(key, cap, "unknown");
        else
            snprintf(key, cap, "%04d-Q%d", d->year, (d->month - 1) / 3 + 1);
        return true;
    case DIM_EUROSTAT:
        (void)first_of_case;
        if (!departed(r->status) || d->precision < AVRR_DATE_MONTH)
            return false;
        snprintf(key, cap, "%s,%04d-Q%d,%s,%s,%s", r->tenant, d->year, (d->month - 1) / 3 + 1,
                 r->destination[0] ? r->destination : "unknown",
                 avrr_return_type_name(r->return_type),
                 r->kind >= 0 ? "assisted" : "non_assisted");
        return true;
    default: return false;
    }
}

/* The cell of `key`, made when new; NULL (g->oom set) out of memory. */
static acc *cell_of(grouping *g, const char *key)
{
    size_t i = 0;
    while (i < g->n && strcmp(g->cells[i].cell.key, key) != 0)
        i++;
    if (i == g->n) {
        if (g->n == g->cap) {
            size_t c = g->cap ? g->cap * 2 : 32;
            acc *p = avrr_realloc(g->cells, c * sizeof *p);
            if (!p) {
                g->oom = true;
                return NULL;
            }
            g->cells = p;
            g->cap = c;
        }
        memset(&g->cells[i], 0, sizeof g->cells[i]);
        snprintf(g->cells[i].cell.key, sizeof g->cells[i].cell.key, "%s", key);
        g->n++;
    }
    return &g->cells[i];
}

static bool outside(const grouping *g, const avrr_date *d)
{
    if (!g->from && !g->to)
        return false;
    int m = d->precision >= AVRR_DATE_MONTH ? d->year * 12 + d->month : 0;
    return (g->from && m < g->from) || (g->to && m > g->to);
}

static int add_row(void *arg, const avrr_stats_row *r)
{
    grouping *g = arg;
    if (outside(g, &r->opened_on))
        return 0;
    char key[sizeof g->cells[0].cell.key];
    if (!row_key(g, r, true, key, sizeof key))
        return 0;
    acc *c = cell_of(g, key);
    if (!c)
        return 1;
    if (!push_id(&c->persons, &c->n_persons, &c->cap_persons, r->person_id) ||
        !push_id(&c->cases, &c->n_cases, &c->cap_cases, r->case_id)) {
        g->oom = true;
        return 1;
    }
    if (r->kind >= 0 && r->assistance_status != AVRR_ASSIST_CANCELLED) {
        c->cell.assistance++;
        c->cell.amount_cents += r->amount_cents;
    }
    return 0;
}

/* by=sustainability: one follow-up visit, in the quarter it was made. */
static int add_follow_up(void *arg, int64_t person_id, const avrr_follow_up *f)
{
    grouping *g = arg;
    const avrr_date *d = &f->visited_on;
    char key[sizeof g->cells[0].cell.key];
    if (outside(g, d))
        return 0;
    if (d->precision < AVRR_DATE_MONTH)
        snprintf(key, sizeof key, "unknown");
    else
        snprintf(key, sizeof key, "%04d-Q%d", d->year, (d->month - 1) / 3 + 1);
    acc *c = cell_of(g, key);
    if (!c)
        return 1;
    if (!push_id(&c->persons, &c->n_persons, &c->cap_persons, person_id) ||
        !push_id(&c->cases, &c->n_cases, &c->cap_cases, f->case_id)) {
        g->oom = true;
        return 1;
    }
    c->cell.visits++;
    c->sum_economic += f->economic;
    c->sum_social += f->social;
    c->sum_psychosocial += f->psychosocial;
    return 0;
}

static int cmp_cells(const void *a, const void *b)
{
    return strcmp(((const avrr_stats_cell *)a)->key, ((const avrr_stats_cell *)b)->key);
}

/* "YYYY-MM" as year*12+month; 0 for NULL. */
static avrr_err month_bound(const char *s, const char *field, int *out, avrr_error *e)
{
    avrr_date d;
    *out = 0;
    if (!s || !s[0])
        return AVRR_OK;
    avrr_err r = avrr_date_parse(s, &d, field, e);
    if (r != AVRR_OK)
        return r;
    if (d.precision != AVRR_DATE_MONTH)
        return avrr_error_set(e, AVRR_EINVALID, field, "%s must be YYYY-MM", field);
    *out = d.year * 12 + d.month;
    return AVRR_OK;
}

void avrr_stats_clear(avrr_stats *s)
{
    if (!s)
        return;
    avrr_free(s->rows);
    memset(s, 0, sizeof *s);
}

static avrr_err stats_impl(avrr_service *svc, const avrr_actor *a, const char *by,
                           const char *from, const char *to, avrr_stats *out, avrr_error *e)
{
    grouping g = {0};
    memset(out, 0, sizeof *out);
    avrr_err result = avrr__service_allow(a, AVRR_ACT_STATS, e);
    if (result != AVRR_OK)
        return result;
    g.by = DIM__COUNT;
    for (int d = 0; by && d < DIM__COUNT; d++)
        if (strcmp(by, dim_names[d]) == 0)
            g.by = (dim)d;
    if (g.by == DIM__COUNT)
        return avrr_error_set(e, AVRR_EINVALID, "by",
                              "by must be tenant, destination, return_type, kind, funding, "
                              "month, quarter, eurostat or sustainability");
    if ((result = month_bound(from, "from", &g.from, e)) != AVRR_OK ||
        (result = month_bound(to, "to", &g.to, e)) != AVRR_OK)
        return result;
    bool all = a->role == AVRR_ROLE_STATISTICIAN;
    bool suppress = all;
    const char *scope = all ? NULL : a->tenant;

    lock(svc);
    if (g.by == DIM_SUSTAINABILITY)
        result = svc->store->ops->follow_up_scan(svc->store, scope, add_follow_up, &g, e);
    else
        result = svc->store->ops->stats_scan(svc->store, scope, add_row, &g, e);
    if (result == AVRR_OK && g.oom)
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    if (result == AVRR_OK)
        result = svc->store->ops->link_stats(svc->store, scope, out->links, &out->red_persons,
                                             &out->red_amount_cents, e);
    unlock(svc);
    if (result == AVRR_OK && g.n && !(out->rows = avrr_calloc(g.n, sizeof *out->rows)))
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    for (size_t i = 0; i < g.n; i++) {
        if (result == AVRR_OK) {
            avrr_stats_cell *c = &out->rows[out->n_rows++];
            *c = g.cells[i].cell;
            c->persons = distinct(g.cells[i].persons, g.cells[i].n_persons);
            c->cases = distinct(g.cells[i].cases, g.cells[i].n_cases);
            if (c->visits > 0) {
                c->economic = g.cells[i].sum_economic / (double)c->visits;
                c->social = g.cells[i].sum_social / (double)c->visits;
                c->psychosocial = g.cells[i].sum_psychosocial / (double)c->visits;
            }
            if (suppress && c->persons < AVRR_STATS_MIN_PERSONS) {
                c->suppressed = true;
                c->persons = c->cases = c->assistance = c->amount_cents = -1;
                c->visits = -1;
                c->economic = c->social = c->psychosocial = -1;
            }
        }
        avrr_free(g.cells[i].persons);
        avrr_free(g.cells[i].cases);
    }
    avrr_free(g.cells);
    if (result != AVRR_OK) {
        avrr_stats_clear(out);
        return result;
    }
    if (out->n_rows > 1)
        qsort(out->rows, out->n_rows, sizeof *out->rows, cmp_cells);
    if (suppress && out->red_persons > 0 && out->red_persons < AVRR_STATS_MIN_PERSONS) {
        out->red_suppressed = true;
        out->red_persons = out->red_amount_cents = -1;
    }
    snprintf(out->by, sizeof out->by, "%s", dim_names[g.by]);
    return AVRR_OK;
}

avrr_err avrr_service_stats(avrr_service *svc, const avrr_actor *a, const char *by,
                            const char *from, const char *to, avrr_stats *out, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "stats.read", "stats");
    avrr_err result = sc.error ? sc.error : stats_impl(svc, a, by, from, to, out, e);
    result = avrr__audit_end(&sc, result, 0, e);
    if (result != AVRR_OK)
        avrr_stats_clear(out);
    return result;
}
