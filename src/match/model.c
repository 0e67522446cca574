/* model.c: the Fellegi-Sunter model: shipped defaults, file format, training.
 *
 * A model is, per field and level, m = P(level | same person) and
 * u = P(level | different persons), plus the prior P(same person) among the
 * candidate pairs that blocking produces. Training (avrr train) estimates u
 * from random pairs and m and the prior by expectation-maximisation over the
 * candidate pairs, the way Splink and fastLink do. The file is JSON:
 *   {"format":"avrr-match-model","version":1,"prior":0.02,"population":10000,
 *    "fields":{"name":{"levels":["exact",...],"m":[...],"u":[...]},...},
 *    "joint":{"name_x_birth_date":[{"name":"one_token","birth_date":"exact",
 *                                   "m":0.058,"u":3e-6},...]}}
 * "joint" is optional: a file without it (written before joint cells
 * existed) has none and scores every pair as it did.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "match_int.h"

/* Defaults, set by hand from the registration habits described in the issue
 * and checked against the trained models of docs/BENCHMARKS.md. Order of
 * levels as in match_int.h.
 *
 * The prior 0.002 is lower than the share of true pairs among candidates
 * (about 1 in 80 on the returnee generator, 1 in 20 on FEBRL) on purpose:
 * the weights of fields that go together in a population of namesakes (a
 * common name, one origin region, a placeholder date) add up as if they
 * were independent and overstate the evidence by about three bits. With
 * 0.002 the default threshold 0.9 sits near the best F1 on the returnee
 * generator and NCVR and costs FEBRL3 0.2 points of recall; measured in
 * docs/BENCHMARKS.md. `avrr train` estimates a data set's own prior.
 *
 * It holds for about 10,000 records (the best-F1 threshold of the returnee
 * generator's dedup sits at 3.0 bits for 9,743 records, 5.1 for 39,301 and
 * 6.9 for 156,678: one bit per doubling, docs/BENCHMARKS.md "Prior and
 * registry size"); among more records its odds fall in proportion. */
static const double def_prior = 0.002;
static const double def_m[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX] = {
    /* one token only: m 0.03, though a patronymic or an alias registered as
     * the family name makes it about 1 in 6 true pairs of the returnee
     * generator (avrr train finds 0.16): with 0.10 the returnees gain 0.3
     * points of F1 and NCVR loses 4 (its one-token pairs are relatives at
     * one address), docs/BENCHMARKS.md "Year apart" */
    {0.55, 0.18, 0.11, 0.10, 0.03, 0.03},      /* name */
    {0.36, 0.11, 0.08, 0.29, 0.05, 0.10, 0.009, 0.001}, /* birth date */
    {0.97, 0.03},                              /* sex */
    {0.83, 0.12, 0.05},                        /* nationality */
    {0.62, 0.28, 0.10},                        /* birth place */
    {0.65, 0.08, 0.07, 0.20},                  /* document */
    {0.60, 0.20, 0.10, 0.10},                  /* address */
};
static const double def_u[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX] = {
    /* two random returnees share a two-part name about 1 in 20,000 times */
    {4e-4, 3e-4, 2.5e-4, 6e-4, 0.03, 0.96855},
    /* 01-01 placeholders are common: both on 01-01 of one year ~ 1 in 250
     * random pairs, but among namesakes (the only pairs where it decides)
     * 1 in 20 on the returnee generator, 1 in 75 among other candidates:
     * the namesakes' u, 1 in 125, as for nationality below.
     * A year apart: 1 in 24 of random pairs born 1960-2006; with the same
     * day and month on two full dates about 1 in 7,000 (one of 336 days),
     * as rare as a one-digit slip. Two placeholders a year apart are what
     * estimated ages give two namesakes as often as one person (measured
     * on the returnee generator, docs/BENCHMARKS.md "Year apart"). */
    {1e-4, 8e-3, 1e-3, 0.02, 1.5e-4, 0.05, 0.15, 0.7707},
    {0.5, 0.5},
    /* nationality and birth place among namesakes, not random pairs: two
     * men called Mohammed Ali mostly come from one region (see namesake_u
     * in batch.c); agreement there is what decides between them */
    {0.15, 0.45, 0.40},
    {0.03, 0.02, 0.95},
    {1e-6, 1e-6, 1e-5, 0.999988},
    {1e-4, 2e-3, 0.03, 0.9679},
};

/* Joint cells of the name and the birth date (match_int.h): the m and u of
 * one name level and one date level together where the two fields are not
 * independent. The default m of one_token (0.03) is low because a single
 * shared name token is what relatives at one address have (NCVR: every
 * one-token candidate pair there has no birth date); among true pairs the
 * returnee generator has one token in 1 of 6 (a patronymic or an alias as
 * family name, avrr train finds m 0.16), and those keep their birth date as
 * often as the others. So where the date agrees as a person's own would
 * (the same full date, a one-digit slip or day and month swapped, a year
 * apart with the same day and month), the pair's m is that of
 * a person registered with another family name: 0.16 times the date
 * level's m, and u the product of the two u (two random persons share a
 * family name and a birth date independently). A placeholder or a
 * year-only date stays additive: one token with 01-01 of the same year is
 * what namesakes and relatives have (docs/BENCHMARKS.md "Joint cells"). */
#define DEF_ONE_TOKEN_M_JOINT 0.16
static const struct {
    int name, date;
} def_joint[] = {
    {NL_ONE, DL_EXACT},
    {NL_ONE, DL_TYPO},
    {NL_ONE, DL_YEAR1},
};

static void joint_derive(avrr_match_model *m)
{
    const double *wn = m->w[AVRR_MF_NAME], *wd = m->w[AVRR_MF_BIRTH_DATE];
    for (int l = 0; l < NL__N; l++)
        for (int d = 0; d < DL__N; d++) {
            m->jw[l][d] = 0;
            if (!m->jset[l][d])
                continue;
            double jm = m->jm[l][d] > 1e-12 ? m->jm[l][d] : 1e-12;
            double ju = m->ju[l][d] > 1e-12 ? m->ju[l][d] : 1e-12;
            m->jw[l][d] = log2(jm / ju) - wn[l] - wd[d];
        }
}

void avrr__match_model_derive(avrr_match_model *m)
{
    for (int f = 0; f < AVRR_MF__COUNT; f++)
        for (int l = 0; l < AVRR_MATCH_LEVELS_MAX; l++) {
            if (l >= avrr__mf_levels[f]) {
                m->w[f][l] = 0;
                m->lu[f][l] = 0;
                continue;
            }
            double mm = m->m[f][l] > 1e-9 ? m->m[f][l] : 1e-9;
            double uu = m->u[f][l] > 1e-9 ? m->u[f][l] : 1e-9;
            m->w[f][l] = log2(mm / uu);
            m->lu[f][l] = log2(uu);
        }
    joint_derive(m);
    avrr__match_model_set_records(m, m->records);
}

void avrr__match_model_set_records(avrr_match_model *m, double records)
{
    double p = m->prior;
    if (p < 1e-9)
        p = 1e-9;
    if (p > 1 - 1e-9)
        p = 1 - 1e-9;
    m->records = records;
    m->prior_w = log2(p / (1 - p));
    if (m->population > 0 && records > m->population)
        m->prior_w -= log2(records / m->population);
}

static avrr_match_model def_model;
static pthread_once_t def_once = PTHREAD_ONCE_INIT;

static void def_init(void)
{
    def_model.magic = AVRR__MODEL_MAGIC;
    def_model.prior = def_prior;
    def_model.population = AVRR__DEF_POPULATION;
    memcpy(def_model.m, def_m, sizeof def_m);
    memcpy(def_model.u, def_u, sizeof def_u);
    for (size_t k = 0; k < sizeof def_joint / sizeof def_joint[0]; k++) {
        int l = def_joint[k].name, d = def_joint[k].date;
        def_model.jset[l][d] = true;
        def_model.jm[l][d] = DEF_ONE_TOKEN_M_JOINT * def_m[AVRR_MF_BIRTH_DATE][d];
        def_model.ju[l][d] = def_u[AVRR_MF_NAME][l] * def_u[AVRR_MF_BIRTH_DATE][d];
    }
    avrr__match_model_derive(&def_model);
}

const avrr_match_model *avrr_match_model_default(void)
{
    pthread_once(&def_once, def_init);
    return &def_model;
}

avrr_err avrr_match_model_copy(const avrr_match_model *m,
                               avrr_match_model **out)
{
    *out = NULL;
    if (!m)
        m = avrr_match_model_default();
    avrr_match_model *c = avrr_malloc(sizeof *c);
    if (!c)
        return AVRR_ENOMEM;
    *c = *m;
    *out = c;
    return AVRR_OK;
}

void avrr_match_model_free(avrr_match_model *m)
{
    if (!m || m == &def_model)
        return;
    m->magic = 0;
    avrr_free(m);
}

/* ---- file format ------------------------------------------------------------ */

avrr_err avrr_match_model_save(const avrr_match_model *m, const char *path,
                               avrr_error *e)
{
    avrr_err result = AVRR_OK;
    json_object *root = json_object_new_object(), *fields = NULL;
    FILE *f = NULL;
    if (!root)
        return AVRR_ENOMEM;
    json_object_object_add(root, "format",
                           json_object_new_string("avrr-match-model"));
    json_object_object_add(root, "version", json_object_new_int(1));
    json_object_object_add(root, "prior", json_object_new_double(m->prior));
    if (m->population > 0)
        json_object_object_add(root, "population",
                               json_object_new_double(m->population));
    fields = json_object_new_object();
    json_object_object_add(root, "fields", fields);
    for (int k = 0; k < AVRR_MF__COUNT; k++) {
        json_object *fo = json_object_new_object();
        json_object *lv = json_object_new_array();
        json_object *ma = json_object_new_array();
        json_object *ua = json_object_new_array();
        for (int l = 0; l < avrr__mf_levels[k]; l++) {
            json_object_array_add(
                lv, json_object_new_string(avrr_match_level_name(k, l)));
            json_object_array_add(ma, json_object_new_double(m->m[k][l]));
            json_object_array_add(ua, json_object_new_double(m->u[k][l]));
        }
        json_object_object_add(fo, "levels", lv);
        json_object_object_add(fo, "m", ma);
        json_object_object_add(fo, "u", ua);
        json_object_object_add(fields, avrr_match_field_name(k), fo);
    }
    json_object *cells = json_object_new_array();
    for (int l = 0; l < NL__N; l++)
        for (int d = 0; d < DL__N; d++) {
            if (!m->jset[l][d])
                continue;
            json_object *c = json_object_new_object();
            json_object_object_add(c, "name", json_object_new_string(
                                                  avrr_match_level_name(AVRR_MF_NAME, l)));
            json_object_object_add(c, "birth_date",
                                   json_object_new_string(
                                       avrr_match_level_name(AVRR_MF_BIRTH_DATE, d)));
            json_object_object_add(c, "m", json_object_new_double(m->jm[l][d]));
            json_object_object_add(c, "u", json_object_new_double(m->ju[l][d]));
            json_object_array_add(cells, c);
        }
    json_object *joint = json_object_new_object();
    json_object_object_add(joint, "name_x_birth_date", cells);
    json_object_object_add(root, "joint", joint);
    const char *txt = json_object_to_json_string_ext(root,
                                                     JSON_C_TO_STRING_PRETTY);
    f = fopen(path, "w");
    if (!f) {
        result = avrr_error_set(e, AVRR_EIO, path, "%s: %s", path,
                                strerror(errno));
        goto out;
    }
    if (fputs(txt, f) < 0 || fputc('\n', f) < 0) {
        result = avrr_error_set(e, AVRR_EIO, path, "%s: write failed", path);
        goto out;
    }
out:
    if (f && fclose(f) != 0 && result == AVRR_OK)
        result = avrr_error_set(e, AVRR_EIO, path, "%s: %s", path,
                                strerror(errno));
    json_object_put(root);
    return result;
}

static bool read_array(json_object *fo, const char *name, double *v, int n);

/* The birth date levels of model files written before year_off_by_one was
 * split in two (full dates with the same day and month; a placeholder or a
 * year-only date): both new levels take the old level's m and u, so that an
 * old model scores every pair as it did. */
#define OLD_DATE_LEVELS 7

static bool old_date_levels(json_object *fo)
{
    static const char *const old[OLD_DATE_LEVELS] = {
        "exact", "exact_placeholder", "typo_or_swap", "same_year_imprecise",
        "year_off_by_one", "different", "far_apart"};
    json_object *a;
    if (!json_object_object_get_ex(fo, "levels", &a) ||
        !json_object_is_type(a, json_type_array) ||
        json_object_array_length(a) != OLD_DATE_LEVELS)
        return false;
    for (int i = 0; i < OLD_DATE_LEVELS; i++) {
        const char *nm =
            json_object_get_string(json_object_array_get_idx(a, (size_t)i));
        if (!nm || strcmp(nm, old[i]) != 0)
            return false;
    }
    return true;
}

static bool read_old_date(json_object *fo, const char *name, double *v)
{
    double o[OLD_DATE_LEVELS];
    if (!read_array(fo, name, o, OLD_DATE_LEVELS))
        return false;
    for (int i = 0, j = 0; i < DL__N; i++) {
        v[i] = o[j];
        if (i != DL_YEAR1)
            j++;
    }
    return true;
}

static bool read_array(json_object *fo, const char *name, double *v, int n)
{
    json_object *a;
    if (!json_object_object_get_ex(fo, name, &a) ||
        !json_object_is_type(a, json_type_array) ||
        (int)json_object_array_length(a) != n)
        return false;
    for (int i = 0; i < n; i++) {
        json_object *x = json_object_array_get_idx(a, (size_t)i);
        if (!json_object_is_type(x, json_type_double) &&
            !json_object_is_type(x, json_type_int))
            return false;
        v[i] = json_object_get_double(x);
        if (!(v[i] >= 0 && v[i] <= 1))
            return false;
    }
    return true;
}

static int level_of(int field, const char *name)
{
    for (int l = 0; name && l < avrr__mf_levels[field]; l++)
        if (strcmp(avrr_match_level_name(field, l), name) == 0)
            return l;
    return -1;
}

static bool read_prob(json_object *o, const char *key, double *v)
{
    json_object *x;
    if (!json_object_object_get_ex(o, key, &x) ||
        (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int)))
        return false;
    *v = json_object_get_double(x);
    return *v > 0 && *v <= 1;
}

/* One joint cell {"name":LEVEL,"birth_date":LEVEL,"m":M,"u":U}. */
static bool read_cell(json_object *c, int *l, int *d, double *jm, double *ju)
{
    json_object *x;
    if (!json_object_is_type(c, json_type_object))
        return false;
    *l = json_object_object_get_ex(c, "name", &x)
             ? level_of(AVRR_MF_NAME, json_object_get_string(x))
             : -1;
    *d = json_object_object_get_ex(c, "birth_date", &x)
             ? level_of(AVRR_MF_BIRTH_DATE, json_object_get_string(x))
             : -1;
    return *l >= 0 && *d >= 0 && read_prob(c, "m", jm) && read_prob(c, "u", ju);
}

avrr_err avrr_match_model_load(const char *path, avrr_match_model **out,
                               avrr_error *e)
{
    avrr_err result = AVRR_OK;
    avrr_match_model *m = NULL;
    json_object *root = NULL, *x, *fields;
    *out = NULL;
    root = json_object_from_file(path);
    if (!root) {
        result = avrr_error_set(e, AVRR_EINVALID, path,
                                "%s: cannot read a JSON model (%s)", path,
                                json_util_get_last_err());
        goto out;
    }
    if (!json_object_object_get_ex(root, "format", &x) ||
        strcmp(json_object_get_string(x), "avrr-match-model") != 0) {
        result = avrr_error_set(e, AVRR_EINVALID, path,
                                "%s: not an avrr match model", path);
        goto out;
    }
    result = avrr_match_model_copy(NULL, &m);
    if (result != AVRR_OK)
        goto out;
    if (json_object_object_get_ex(root, "prior", &x)) {
        m->prior = json_object_get_double(x);
        if (!(m->prior > 0 && m->prior < 1)) {
            result = avrr_error_set(e, AVRR_EINVALID, path,
                                    "%s: prior must be in (0, 1)", path);
            goto out;
        }
    }
    /* A file without a population (written before it existed, or by hand)
     * keeps its prior at any size. */
    m->population = 0;
    m->records = 0;
    if (json_object_object_get_ex(root, "population", &x)) {
        m->population = json_object_get_double(x);
        if (!(m->population >= 1 && m->population <= 1e12)) {
            result = avrr_error_set(e, AVRR_EINVALID, path,
                                    "%s: population must be a number of "
                                    "records (1 to 1e12)",
                                    path);
            goto out;
        }
    }
    if (json_object_object_get_ex(root, "fields", &fields)) {
        for (int k = 0; k < AVRR_MF__COUNT; k++) {
            json_object *fo;
            if (!json_object_object_get_ex(fields, avrr_match_field_name(k),
                                           &fo))
                continue; /* keep the default for a field not given */
            bool ok;
            if (k == AVRR_MF_BIRTH_DATE && old_date_levels(fo))
                ok = read_old_date(fo, "m", m->m[k]) &&
                     read_old_date(fo, "u", m->u[k]);
            else
                ok = read_array(fo, "m", m->m[k], avrr__mf_levels[k]) &&
                     read_array(fo, "u", m->u[k], avrr__mf_levels[k]);
            if (!ok) {
                result = avrr_error_set(
                    e, AVRR_EINVALID, path,
                    "%s: fields.%s needs m and u arrays of %d numbers in [0,1]",
                    path, avrr_match_field_name(k), avrr__mf_levels[k]);
                goto out;
            }
        }
    }
    /* joint cells: none unless the file has them (an older file scores as
     * it did) */
    memset(m->jset, 0, sizeof m->jset);
    if (json_object_object_get_ex(root, "joint", &x)) {
        json_object *cells;
        if (!json_object_object_get_ex(x, "name_x_birth_date", &cells) ||
            !json_object_is_type(cells, json_type_array)) {
            result = avrr_error_set(e, AVRR_EINVALID, path,
                                    "%s: joint needs a name_x_birth_date array", path);
            goto out;
        }
        for (size_t k = 0; k < json_object_array_length(cells); k++) {
            json_object *c = json_object_array_get_idx(cells, k);
            int l, d;
            double jm, ju;
            if (!read_cell(c, &l, &d, &jm, &ju)) {
                result = avrr_error_set(
                    e, AVRR_EINVALID, path,
                    "%s: joint.name_x_birth_date[%zu] needs a name level, a "
                    "birth_date level, and m and u in (0,1]",
                    path, k);
                goto out;
            }
            m->jset[l][d] = true;
            m->jm[l][d] = jm;
            m->ju[l][d] = ju;
        }
    }
    avrr__match_model_derive(m);
    *out = m;
    m = NULL;
out:
    avrr_match_model_free(m);
    if (root)
        json_object_put(root);
    return result;
}
