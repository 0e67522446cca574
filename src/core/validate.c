/* src/core/validate.c: the validation rules of the records in core.h.
 *
 * This is the one place where the rules live (DESIGN.md section 6: input is
 * untrusted); the HTTP handlers, the CSV import and the store all call these
 * functions rather than checking fields themselves. Validation stops at the
 * first problem and names it by its JSON field name ("documents[2].number"),
 * which the API returns in its 4xx body and the CLI prints with file, line
 * and column. It also canonicalises in place: country codes become upper-case
 * alpha-3, and optional strings that are empty or only blanks become NULL.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "avrr/core.h"

static bool is_blank(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s != ' ' && *s != '\t')
            return false;
    return true;
}

/* An optional text field: NULL, "" and all-blank become NULL; otherwise it
 * must pass avrr_text_check. */
static avrr_err opt_text(char **s, size_t max, const char *field,
                         avrr_error *e)
{
    if (*s == NULL)
        return AVRR_OK;
    if (is_blank(*s)) {
        avrr_free(*s);
        *s = NULL;
        return AVRR_OK;
    }
    return avrr_text_check(*s, max, field, e);
}

/* An optional country code stored in a char[4]: "" or a valid alpha-2 or
 * alpha-3 code, rewritten as upper-case alpha-3. */
static avrr_err opt_country(char code[static 4], const char *field,
                            avrr_error *e)
{
    const char *a3;

    if (memchr(code, '\0', 4) == NULL)
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "not an ISO 3166-1 country code");
    if (code[0] == '\0')
        return AVRR_OK;
    a3 = avrr_country_alpha3(code);
    if (a3 == NULL)
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "'%s' is not an ISO 3166-1 country code", code);
    memcpy(code, a3, 4);
    return AVRR_OK;
}

/* A date must be one that avrr_date_parse could have made: its canonical
 * text must parse back to the same parts. `day_only` allows only full or
 * unknown dates. Sets the placeholder flag of 01-01 dates. */
static avrr_err check_date(avrr_date *d, bool day_only, const char *field,
                           avrr_error *e)
{
    char buf[11];
    avrr_date back;

    if (d->precision == AVRR_DATE_UNKNOWN) {
        if (d->year != 0 || d->month != 0 || d->day != 0)
            return avrr_error_set(e, AVRR_EINVALID, field,
                                  "unknown date with parts set");
        d->placeholder = false;
        return AVRR_OK;
    }
    if (d->precision > AVRR_DATE_DAY)
        return avrr_error_set(e, AVRR_EINVALID, field, "bad date precision");
    if (day_only && d->precision != AVRR_DATE_DAY)
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "a full date YYYY-MM-DD is required");
    avrr_date_format(d, buf);
    if (buf[0] == '\0' || avrr_date_parse(buf, &back, field, NULL) != AVRR_OK ||
        back.precision != d->precision || back.year != d->year ||
        back.month != d->month || back.day != d->day)
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "date parts do not match its precision");
    if (d->precision == AVRR_DATE_DAY)
        d->placeholder = back.placeholder;
    return AVRR_OK;
}

avrr_err avrr_amount_check(int64_t cents, const char *field, avrr_error *e)
{
    if (cents < 0)
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "amount must not be negative");
    if (cents > AVRR_AMOUNT_MAX_CENTS)
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "amount above EUR 1,000,000.00 per grant");
    return AVRR_OK;
}

/* Tenant codes are 2..16 characters: out has room for 16 and the NUL. */
#define TENANT_MIN 2
#define TENANT_MAX 16

avrr_err avrr_tenant_code_check(const char *code, char out[static 17],
                                avrr_error *e)
{
    char buf[TENANT_MAX + 1];
    size_t n = 0;

    if (code == NULL || code[0] == '\0')
        return avrr_error_set(e, AVRR_EINVALID, "tenant", "missing");
    for (; code[n] != '\0'; n++) {
        char ch = code[n];
        if (n == TENANT_MAX)
            return avrr_error_set(e, AVRR_EINVALID, "tenant",
                                  "longer than %d characters", TENANT_MAX);
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-'))
            return avrr_error_set(e, AVRR_EINVALID, "tenant",
                                  "only letters, digits and '-' allowed");
        if (n == 0 && !(ch >= 'A' && ch <= 'Z'))
            return avrr_error_set(e, AVRR_EINVALID, "tenant",
                                  "must start with a letter");
        buf[n] = ch;
    }
    if (n < TENANT_MIN)
        return avrr_error_set(e, AVRR_EINVALID, "tenant",
                              "shorter than %d characters", TENANT_MIN);
    buf[n] = '\0';
    memcpy(out, buf, n + 1);
    return AVRR_OK;
}

avrr_err avrr_identity_validate(avrr_identity *id, avrr_error *e)
{
    avrr_err result;
    char field[48];

    if (id == NULL)
        return avrr_error_set(e, AVRR_EINVALID, NULL, "no identity");
    if ((result = opt_text(&id->given_names, AVRR_NAME_MAX, "given_names",
                           e)) != AVRR_OK ||
        (result = opt_text(&id->surname, AVRR_NAME_MAX, "surname", e)) !=
            AVRR_OK ||
        (result = opt_text(&id->full_name, AVRR_NAME_MAX, "full_name", e)) !=
            AVRR_OK)
        return result;
    if (id->given_names == NULL && id->surname == NULL &&
        id->full_name == NULL)
        return avrr_error_set(
            e, AVRR_EINVALID, "given_names",
            "at least one of given_names, surname, full_name is required");
    if ((unsigned)id->sex >= AVRR_SEX__COUNT)
        return avrr_error_set(e, AVRR_EINVALID, "sex", "unknown sex code");
    if ((result = check_date(&id->birth_date, false, "birth_date", e)) !=
            AVRR_OK ||
        (result = opt_country(id->nationality, "nationality", e)) !=
            AVRR_OK ||
        (result = opt_text(&id->birth_place, AVRR_TEXT_MAX, "birth_place",
                           e)) != AVRR_OK ||
        (result = opt_text(&id->address, AVRR_TEXT_MAX, "address", e)) !=
            AVRR_OK ||
        (result = opt_text(&id->national_ref, AVRR_CODE_MAX, "national_ref",
                           e)) != AVRR_OK ||
        (result = opt_text(&id->eurodac_ref, AVRR_CODE_MAX, "eurodac_ref",
                           e)) != AVRR_OK)
        return result;
    if (id->n_documents > AVRR_DOCUMENTS_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "documents",
                              "more than %d documents", AVRR_DOCUMENTS_MAX);
    if (id->n_documents > 0 && id->documents == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "documents", "missing");
    for (size_t i = 0; i < id->n_documents; i++) {
        avrr_document *d = &id->documents[i];
        snprintf(field, sizeof field, "documents[%zu].type", i);
        if ((result = opt_text(&d->type, AVRR_CODE_MAX, field, e)) != AVRR_OK)
            return result;
        snprintf(field, sizeof field, "documents[%zu].number", i);
        if ((result = opt_text(&d->number, AVRR_CODE_MAX, field, e)) !=
            AVRR_OK)
            return result;
        if (d->number == NULL)
            return avrr_error_set(e, AVRR_EINVALID, field,
                                  "a document needs a number");
        snprintf(field, sizeof field, "documents[%zu].country", i);
        if ((result = opt_country(d->country, field, e)) != AVRR_OK)
            return result;
    }
    return AVRR_OK;
}

avrr_err avrr_case_validate(avrr_case *c, avrr_error *e)
{
    avrr_err result;

    if (c == NULL)
        return avrr_error_set(e, AVRR_EINVALID, NULL, "no case");
    if (memchr(c->destination_country, '\0', 4) == NULL ||
        c->destination_country[0] == '\0')
        return avrr_error_set(e, AVRR_EINVALID, "destination_country",
                              "missing");
    if ((result = opt_country(c->destination_country, "destination_country",
                              e)) != AVRR_OK)
        return result;
    if ((unsigned)c->return_type >= AVRR_RETURN__COUNT)
        return avrr_error_set(e, AVRR_EINVALID, "return_type",
                              "unknown return type");
    if ((unsigned)c->status >= AVRR_CASE__COUNT)
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "unknown case status");
    if ((result = opt_text(&c->programme, AVRR_CODE_MAX, "programme", e)) !=
            AVRR_OK ||
        (result = check_date(&c->opened_on, true, "opened_on", e)) !=
            AVRR_OK ||
        (result = check_date(&c->closed_on, true, "closed_on", e)) != AVRR_OK)
        return result;
    if (c->opened_on.precision == AVRR_DATE_DAY &&
        c->closed_on.precision == AVRR_DATE_DAY &&
        avrr_date_days(&c->closed_on) < avrr_date_days(&c->opened_on))
        return avrr_error_set(e, AVRR_EINVALID, "closed_on",
                              "before opened_on");
    /* Records made before the family counts existed (and callers that do
     * not set them) mean one adult. */
    if (c->adults == 0 && c->minors == 0)
        c->adults = 1;
    if (c->adults < 0 || c->adults > AVRR_FAMILY_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "adults", "must be 0..%d",
                              AVRR_FAMILY_MAX);
    if (c->minors < 0 || c->minors > AVRR_FAMILY_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "minors", "must be 0..%d",
                              AVRR_FAMILY_MAX);
    return AVRR_OK;
}

avrr_err avrr_counselling_validate(avrr_counselling *c, avrr_error *e)
{
    avrr_err result;

    if (c == NULL)
        return avrr_error_set(e, AVRR_EINVALID, NULL, "no counselling");
    if ((result = check_date(&c->held_on, true, "held_on", e)) != AVRR_OK ||
        (result = opt_text(&c->counsellor, AVRR_NAME_MAX, "counsellor", e)) !=
            AVRR_OK ||
        (result = opt_text(&c->outcome, AVRR_TEXT_MAX, "outcome", e)) !=
            AVRR_OK)
        return result;
    if (c->counsellor == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "counsellor",
                              "counsellor is required");
    return AVRR_OK;
}

/* A score of the sustainability survey: a number in [0, 1] (NaN fails). */
static avrr_err check_score(double v, const char *field, avrr_error *e)
{
    if (!(v >= 0.0 && v <= 1.0))
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "a score must be between 0 and 1");
    return AVRR_OK;
}

avrr_err avrr_follow_up_validate(avrr_follow_up *f, avrr_error *e)
{
    avrr_err result;

    if (f == NULL)
        return avrr_error_set(e, AVRR_EINVALID, NULL, "no follow-up");
    if ((result = check_date(&f->visited_on, true, "visited_on", e)) !=
            AVRR_OK ||
        (result = check_score(f->economic, "economic", e)) != AVRR_OK ||
        (result = check_score(f->social, "social", e)) != AVRR_OK ||
        (result = check_score(f->psychosocial, "psychosocial", e)) !=
            AVRR_OK ||
        (result = opt_text(&f->note, AVRR_TEXT_MAX, "note", e)) != AVRR_OK)
        return result;
    return AVRR_OK;
}

avrr_err avrr_assistance_validate(avrr_assistance *a, avrr_error *e)
{
    avrr_err result;

    if (a == NULL)
        return avrr_error_set(e, AVRR_EINVALID, NULL, "no assistance");
    if ((unsigned)a->kind >= AVRR_KIND__COUNT)
        return avrr_error_set(e, AVRR_EINVALID, "kind",
                              "unknown assistance kind");
    if ((unsigned)a->funding >= AVRR_FUND__COUNT)
        return avrr_error_set(e, AVRR_EINVALID, "funding",
                              "unknown funding instrument");
    if ((unsigned)a->status >= AVRR_ASSIST__COUNT)
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "unknown assistance status");
    if ((result = avrr_amount_check(a->amount_cents, "amount_cents", e)) !=
            AVRR_OK ||
        (result = opt_text(&a->provider, AVRR_TEXT_MAX, "provider", e)) !=
            AVRR_OK ||
        (result = check_date(&a->granted_on, false, "granted_on", e)) !=
            AVRR_OK ||
        (result = check_date(&a->delivered_on, false, "delivered_on", e)) !=
            AVRR_OK)
        return result;
    if (a->granted_on.precision == AVRR_DATE_DAY &&
        a->delivered_on.precision == AVRR_DATE_DAY &&
        avrr_date_days(&a->delivered_on) < avrr_date_days(&a->granted_on))
        return avrr_error_set(e, AVRR_EINVALID, "delivered_on",
                              "before granted_on");
    if (a->status == AVRR_ASSIST_DELIVERED &&
        a->delivered_on.precision == AVRR_DATE_UNKNOWN)
        return avrr_error_set(e, AVRR_EINVALID, "delivered_on",
                              "required when status is delivered");
    return AVRR_OK;
}
