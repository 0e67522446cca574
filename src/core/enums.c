/* src/core/enums.c: the wire codes of the enumerations in core.h.
 *
 * Each enumeration is one X-macro list of (constant, wire code), so that the
 * order of names can never drift from the order of the enum. Wire codes are
 * the lower-case snake_case of DESIGN.md section 3; parsing accepts any
 * letter case. The case lifecycle (which status may follow which) lives
 * here too, next to the names of the statuses.
 */
#include <stdbool.h>
#include <stddef.h>
#include <strings.h>

#include "avrr/core.h"

#define RETURN_TYPES(X)                                                       \
    X(AVRR_RETURN_VOLUNTARY, "voluntary")                                     \
    X(AVRR_RETURN_FORCED, "forced")

#define CASE_STATUSES(X)                                                      \
    X(AVRR_CASE_COUNSELLED, "counselled")                                     \
    X(AVRR_CASE_APPLIED, "applied")                                           \
    X(AVRR_CASE_APPROVED, "approved")                                         \
    X(AVRR_CASE_DEPARTED, "departed")                                         \
    X(AVRR_CASE_REINTEGRATING, "reintegrating")                               \
    X(AVRR_CASE_COMPLETED, "completed")                                       \
    X(AVRR_CASE_WITHDRAWN, "withdrawn")                                       \
    X(AVRR_CASE_ABSCONDED, "absconded")

#define ASSISTANCE_KINDS(X)                                                   \
    X(AVRR_KIND_COUNSELLING, "counselling")                                   \
    X(AVRR_KIND_TRAVEL_DOCUMENT, "travel_document")                           \
    X(AVRR_KIND_TICKET, "ticket")                                             \
    X(AVRR_KIND_CASH_ALLOWANCE, "cash_allowance")                             \
    X(AVRR_KIND_POST_ARRIVAL, "post_arrival")                                 \
    X(AVRR_KIND_REINTEGRATION_IN_KIND, "reintegration_in_kind")               \
    X(AVRR_KIND_REINTEGRATION_BUSINESS, "reintegration_business")             \
    X(AVRR_KIND_REINTEGRATION_HOUSING, "reintegration_housing")               \
    X(AVRR_KIND_REINTEGRATION_EDUCATION, "reintegration_education")           \
    X(AVRR_KIND_REINTEGRATION_MEDICAL, "reintegration_medical")               \
    X(AVRR_KIND_REINTEGRATION_PSYCHOSOCIAL, "reintegration_psychosocial")

#define FUNDINGS(X)                                                           \
    X(AVRR_FUND_AMIF, "amif")                                                 \
    X(AVRR_FUND_NDICI, "ndici")                                               \
    X(AVRR_FUND_IPA3, "ipa3")                                                 \
    X(AVRR_FUND_NATIONAL, "national")                                         \
    X(AVRR_FUND_FRONTEX, "frontex")

#define ASSISTANCE_STATUSES(X)                                                \
    X(AVRR_ASSIST_GRANTED, "granted")                                         \
    X(AVRR_ASSIST_DELIVERED, "delivered")                                     \
    X(AVRR_ASSIST_CANCELLED, "cancelled")

#define SEXES(X)                                                              \
    X(AVRR_SEX_UNKNOWN, "u")                                                  \
    X(AVRR_SEX_FEMALE, "f")                                                   \
    X(AVRR_SEX_MALE, "m")                                                     \
    X(AVRR_SEX_OTHER, "x")

#define ROLES(X)                                                              \
    X(AVRR_ROLE_CASEWORKER, "caseworker")                                     \
    X(AVRR_ROLE_PROVIDER, "provider")                                         \
    X(AVRR_ROLE_STATISTICIAN, "statistician")                                 \
    X(AVRR_ROLE_DPO, "dpo")                                                   \
    X(AVRR_ROLE_ADMIN, "admin")

#define DUPLICATE_POLICIES(X)                                                 \
    X(AVRR_DUPLICATE_WARN, "warn")                                            \
    X(AVRR_DUPLICATE_BLOCK, "block")

#define LINK_STATUSES(X)                                                      \
    X(AVRR_LINK_YELLOW, "yellow")                                             \
    X(AVRR_LINK_WHITE, "white")                                               \
    X(AVRR_LINK_GREEN, "green")                                               \
    X(AVRR_LINK_RED, "red")

#define PURPOSES(X)                                                           \
    X(AVRR_PURPOSE_ASSISTANCE_DECISION, "assistance_decision")                \
    X(AVRR_PURPOSE_RETURN_COUNSELLING, "return_counselling")                  \
    X(AVRR_PURPOSE_IDENTITY_VERIFICATION, "identity_verification")            \
    X(AVRR_PURPOSE_CASE_REVIEW, "case_review")

#define BANDS(X)                                                              \
    X(AVRR_BAND_STRONG, "strong")                                             \
    X(AVRR_BAND_POSSIBLE, "possible")

#define DISCLOSURE_STATUSES(X)                                                \
    X(AVRR_DISCLOSURE_PENDING, "pending")                                     \
    X(AVRR_DISCLOSURE_APPROVED, "approved")                                   \
    X(AVRR_DISCLOSURE_REFUSED, "refused")

#define REFERRAL_STATUSES(X)                                                  \
    X(AVRR_REFERRAL_PENDING, "pending")                                       \
    X(AVRR_REFERRAL_ACCEPTED, "accepted")                                     \
    X(AVRR_REFERRAL_DECLINED, "declined")

/* Designated initialisers put each name at its enum value. */
#define NAME_ENTRY(value, code) [value] = code,

static const char *const return_type_names[] = {RETURN_TYPES(NAME_ENTRY)};
static const char *const case_status_names[] = {CASE_STATUSES(NAME_ENTRY)};
static const char *const kind_names[] = {ASSISTANCE_KINDS(NAME_ENTRY)};
static const char *const funding_names[] = {FUNDINGS(NAME_ENTRY)};
static const char *const assist_status_names[] = {
    ASSISTANCE_STATUSES(NAME_ENTRY)};
static const char *const sex_names[] = {SEXES(NAME_ENTRY)};
static const char *const role_names[] = {ROLES(NAME_ENTRY)};
static const char *const duplicate_policy_names[] = {DUPLICATE_POLICIES(NAME_ENTRY)};
static const char *const link_status_names[] = {LINK_STATUSES(NAME_ENTRY)};
static const char *const purpose_names[] = {PURPOSES(NAME_ENTRY)};
static const char *const band_names[] = {BANDS(NAME_ENTRY)};
static const char *const disclosure_status_names[] = {DISCLOSURE_STATUSES(NAME_ENTRY)};
static const char *const referral_status_names[] = {REFERRAL_STATUSES(NAME_ENTRY)};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(COUNT(return_type_names) == AVRR_RETURN__COUNT, "names");
_Static_assert(COUNT(case_status_names) == AVRR_CASE__COUNT, "names");
_Static_assert(COUNT(kind_names) == AVRR_KIND__COUNT, "names");
_Static_assert(COUNT(funding_names) == AVRR_FUND__COUNT, "names");
_Static_assert(COUNT(assist_status_names) == AVRR_ASSIST__COUNT, "names");
_Static_assert(COUNT(sex_names) == AVRR_SEX__COUNT, "names");
_Static_assert(COUNT(role_names) == AVRR_ROLE__COUNT, "names");
_Static_assert(COUNT(duplicate_policy_names) == AVRR_DUPLICATE__COUNT, "names");
_Static_assert(COUNT(link_status_names) == AVRR_LINK__COUNT, "names");
_Static_assert(COUNT(purpose_names) == AVRR_PURPOSE__COUNT, "names");
_Static_assert(COUNT(band_names) == AVRR_BAND__COUNT, "names");
_Static_assert(COUNT(disclosure_status_names) == AVRR_DISCLOSURE__COUNT, "names");
_Static_assert(COUNT(referral_status_names) == AVRR_REFERRAL__COUNT, "names");

static int parse(const char *const *names, size_t n, const char *s)
{
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

static const char *name(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : NULL;
}

#define DEFINE_ENUM(prefix, table)                                            \
    int prefix##_parse(const char *s)                                         \
    {                                                                         \
        return parse(table, COUNT(table), s);                                 \
    }                                                                         \
    const char *prefix##_name(int v)                                          \
    {                                                                         \
        return name(table, COUNT(table), v);                                  \
    }

DEFINE_ENUM(avrr_return_type, return_type_names)
DEFINE_ENUM(avrr_case_status, case_status_names)
DEFINE_ENUM(avrr_assistance_kind, kind_names)
DEFINE_ENUM(avrr_funding, funding_names)
DEFINE_ENUM(avrr_assistance_status, assist_status_names)
DEFINE_ENUM(avrr_role, role_names)
DEFINE_ENUM(avrr_duplicate_policy, duplicate_policy_names)
DEFINE_ENUM(avrr_link_status, link_status_names)
DEFINE_ENUM(avrr_purpose, purpose_names)
DEFINE_ENUM(avrr_disclosure_status, disclosure_status_names)
DEFINE_ENUM(avrr_referral_status, referral_status_names)

const char *avrr_band_name(int v)
{
    return name(band_names, COUNT(band_names), v);
}

/* Sex also accepts the long words people type into spreadsheets. */
static const char *const sex_words[] = {
    [AVRR_SEX_UNKNOWN] = "unknown",
    [AVRR_SEX_FEMALE] = "female",
    [AVRR_SEX_MALE] = "male",
    [AVRR_SEX_OTHER] = "other",
};
_Static_assert(COUNT(sex_words) == AVRR_SEX__COUNT, "sex words");

int avrr_sex_parse(const char *s)
{
    int v = parse(sex_names, COUNT(sex_names), s);
    return v >= 0 ? v : parse(sex_words, COUNT(sex_words), s);
}

const char *avrr_sex_name(int v)
{
    return name(sex_names, COUNT(sex_names), v);
}

/* ---- case lifecycle ------------------------------------------------------ */

#define BIT(s) (1u << (s))
#define BEFORE_DEPARTURE_EXITS (BIT(AVRR_CASE_WITHDRAWN) | BIT(AVRR_CASE_ABSCONDED))

/* next[from] is the set of statuses a case may move to from `from`. */
static const unsigned next_status[AVRR_CASE__COUNT] = {
    [AVRR_CASE_COUNSELLED] = BIT(AVRR_CASE_APPLIED) | BEFORE_DEPARTURE_EXITS,
    [AVRR_CASE_APPLIED] = BIT(AVRR_CASE_APPROVED) | BEFORE_DEPARTURE_EXITS,
    [AVRR_CASE_APPROVED] = BIT(AVRR_CASE_DEPARTED) | BEFORE_DEPARTURE_EXITS,
    [AVRR_CASE_DEPARTED] =
        BIT(AVRR_CASE_REINTEGRATING) | BIT(AVRR_CASE_COMPLETED),
    [AVRR_CASE_REINTEGRATING] = BIT(AVRR_CASE_COMPLETED),
    [AVRR_CASE_COMPLETED] = 0,
    [AVRR_CASE_WITHDRAWN] = 0,
    [AVRR_CASE_ABSCONDED] = 0,
};

bool avrr_case_status_can_move(avrr_case_status from, avrr_case_status to)
{
    if ((unsigned)from >= AVRR_CASE__COUNT || (unsigned)to >= AVRR_CASE__COUNT)
        return false;
    return (next_status[from] & BIT(to)) != 0;
}

bool avrr_case_status_is_final(avrr_case_status s)
{
    return s == AVRR_CASE_COMPLETED || s == AVRR_CASE_WITHDRAWN ||
           s == AVRR_CASE_ABSCONDED;
}
