/* avrr/core.h: the data model of the registry and its validation rules.
 *
 * This is the lowest layer (DESIGN.md section 4): country codes, dates with
 * precision, money, UTF-8 and length limits, the enumerations of the field
 * (return type, case status with its transitions, assistance kind, funding
 * instrument, roles) and the records themselves. Nothing here touches a
 * database, the network or the clock.
 *
 * Ownership: every char * field of a model struct is owned by the struct and
 * is either NULL or a NUL-terminated, valid UTF-8 heap string. The *_free()
 * functions free the fields and the arrays they own (not the struct itself
 * unless the name says so). Functions are thread-safe: they keep no state.
 */
#ifndef AVRR_CORE_H
#define AVRR_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "avrr/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ---------------------------------------------------------- */

/* Longest name field in bytes. Names in any script: 200 bytes of UTF-8 hold
 * at least 50 characters, more than any civil register prints. */
#define AVRR_NAME_MAX 200
/* Free-text fields (birth place, provider, programme, reasons). */
#define AVRR_TEXT_MAX 500
/* Codes and references (document numbers, national case numbers). */
#define AVRR_CODE_MAX 64
/* Aliases per person: enough for the worst real cases, small enough that a
 * single request cannot blow up the match index. */
#define AVRR_IDENTITIES_MAX 32
#define AVRR_DOCUMENTS_MAX 16

/* ---- strings ---------------------------------------------------------- */

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, no
 * code points above U+10FFFF) and contains no NUL or other C0 control byte
 * except tab. */
bool avrr_utf8_valid(const char *s, size_t n);

/* Number of code points in valid UTF-8 s[0..n). */
size_t avrr_utf8_len(const char *s, size_t n);

/* Checks a text field: valid UTF-8, at most max bytes, not only spaces.
 * On failure fills e with `field` and returns AVRR_EINVALID. */
avrr_err avrr_text_check(const char *s, size_t max, const char *field,
                         avrr_error *e);

/* ---- countries (ISO 3166-1) --------------------------------------------- */

/* Looks a country up by alpha-2 or alpha-3 code in any letter case.
 * Returns the canonical upper-case alpha-3 code (a static string) or NULL. */
const char *avrr_country_alpha3(const char *code);
/* The alpha-2 code of an alpha-3 or alpha-2 code, or NULL. */
const char *avrr_country_alpha2(const char *code);
/* The English short name, or NULL. */
const char *avrr_country_name(const char *code);
/* Number of entries in the table (249 officially assigned codes). */
size_t avrr_country_count(void);

/* ---- dates with precision ------------------------------------------------ */

typedef enum avrr_date_precision {
    AVRR_DATE_UNKNOWN = 0, /* nothing known */
    AVRR_DATE_YEAR = 1,    /* YYYY or YYYY-00-00 */
    AVRR_DATE_MONTH = 2,   /* YYYY-MM or YYYY-MM-00 */
    AVRR_DATE_DAY = 3      /* YYYY-MM-DD */
} avrr_date_precision;

typedef struct avrr_date {
    int16_t year;    /* 0 when unknown */
    int8_t month;    /* 1-12, 0 when unknown */
    int8_t day;      /* 1-31, 0 when unknown */
    uint8_t precision;   /* avrr_date_precision */
    bool placeholder;    /* a full date on 01-01 (or 00 parts given): likely
                            a placeholder for "only the year is known" */
} avrr_date;

/* Parses "YYYY-MM-DD", "YYYY-MM", "YYYY", with "00" for unknown parts, or
 * the empty string (unknown). Years 1850..2100; the day must exist in that
 * month. Sets placeholder for 01-01 and for 00 parts. */
avrr_err avrr_date_parse(const char *s, avrr_date *out, const char *field,
                         avrr_error *e);
/* Writes the canonical text ("1990-03-14", "1990-03", "1990", "") into buf
 * (at least 11 bytes). Returns buf. */
char *avrr_date_format(const avrr_date *d, char buf[static 11]);
/* Days since 1970-01-01 of a full date, for comparisons and windows. */
int32_t avrr_date_days(const avrr_date *d);

/* ---- money -------------------------------------------------------------- */

/* Amounts are integer euro cents; at most EUR 1,000,000.00 per grant. */
#define AVRR_AMOUNT_MAX_CENTS 100000000LL
avrr_err avrr_amount_check(int64_t cents, const char *field, avrr_error *e);

/* ---- enumerations --------------------------------------------------------- */

/* Each enumeration has a _parse (any letter case, returns -1 when unknown)
 * and a _name (the lower-case wire code, NULL when out of range). */

typedef enum avrr_return_type {
    AVRR_RETURN_VOLUNTARY,
    AVRR_RETURN_FORCED,
    AVRR_RETURN__COUNT
} avrr_return_type;
int avrr_return_type_parse(const char *s);
const char *avrr_return_type_name(int v);

typedef enum avrr_case_status {
    AVRR_CASE_COUNSELLED,
    AVRR_CASE_APPLIED,
    AVRR_CASE_APPROVED,
    AVRR_CASE_DEPARTED,
    AVRR_CASE_REINTEGRATING,
    AVRR_CASE_COMPLETED,
    AVRR_CASE_WITHDRAWN,
    AVRR_CASE_ABSCONDED,
    AVRR_CASE__COUNT
} avrr_case_status;
int avrr_case_status_parse(const char *s);
const char *avrr_case_status_name(int v);
/* True when a case may move from `from` to `to`. The lifecycle:
 * counselled -> applied -> approved -> departed -> reintegrating -> completed,
 * departed -> completed (no reintegration support), and withdrawn or
 * absconded from any state before departure. completed, withdrawn and
 * absconded are final. */
bool avrr_case_status_can_move(avrr_case_status from, avrr_case_status to);
/* True for completed, withdrawn and absconded. */
bool avrr_case_status_is_final(avrr_case_status s);

typedef enum avrr_assistance_kind {
    AVRR_KIND_COUNSELLING,
    AVRR_KIND_TRAVEL_DOCUMENT,
    AVRR_KIND_TICKET,
    AVRR_KIND_CASH_ALLOWANCE,
    AVRR_KIND_POST_ARRIVAL,
    AVRR_KIND_REINTEGRATION_IN_KIND,
    AVRR_KIND_REINTEGRATION_BUSINESS,
    AVRR_KIND_REINTEGRATION_HOUSING,
    AVRR_KIND_REINTEGRATION_EDUCATION,
    AVRR_KIND_REINTEGRATION_MEDICAL,
    AVRR_KIND_REINTEGRATION_PSYCHOSOCIAL,
    AVRR_KIND__COUNT
} avrr_assistance_kind;
int avrr_assistance_kind_parse(const char *s);
const char *avrr_assistance_kind_name(int v);

typedef enum avrr_funding {
    AVRR_FUND_AMIF,
    AVRR_FUND_NDICI,
    AVRR_FUND_IPA3,
    AVRR_FUND_NATIONAL,
    AVRR_FUND_FRONTEX,
    AVRR_FUND__COUNT
} avrr_funding;
int avrr_funding_parse(const char *s);
const char *avrr_funding_name(int v);

typedef enum avrr_assistance_status {
    AVRR_ASSIST_GRANTED,
    AVRR_ASSIST_DELIVERED,
    AVRR_ASSIST_CANCELLED,
    AVRR_ASSIST__COUNT
} avrr_assistance_status;
int avrr_assistance_status_parse(const char *s);
const char *avrr_assistance_status_name(int v);

typedef enum avrr_sex {
    AVRR_SEX_UNKNOWN, /* "u" or absent */
    AVRR_SEX_FEMALE,  /* "f" */
    AVRR_SEX_MALE,    /* "m" */
    AVRR_SEX_OTHER,   /* "x", as in ICAO 9303 passports */
    AVRR_SEX__COUNT
} avrr_sex;
/* Accepts f/m/x/u and female/male/other/unknown in any case. */
int avrr_sex_parse(const char *s);
const char *avrr_sex_name(int v);

typedef enum avrr_role {
    AVRR_ROLE_CASEWORKER,
    AVRR_ROLE_PROVIDER,
    AVRR_ROLE_STATISTICIAN,
    AVRR_ROLE_DPO,
    AVRR_ROLE_ADMIN,
    AVRR_ROLE__COUNT
} avrr_role;
int avrr_role_parse(const char *s);
const char *avrr_role_name(int v);

/* ---- records ------------------------------------------------------------- */

typedef struct avrr_document {
    char *type;    /* passport, id_card, travel_document, ... (free code) */
    char *number;  /* as printed */
    char country[4]; /* issuing country, alpha-3, "" when unknown */
} avrr_document;

typedef struct avrr_identity {
    int64_t id;        /* 0 until stored */
    int64_t person_id; /* 0 until stored */
    char *given_names;
    char *surname;
    char *full_name;   /* as written, any script */
    avrr_sex sex;
    avrr_date birth_date;
    char nationality[4]; /* alpha-3, "" when unknown */
    char *birth_place;
    char *address;       /* optional free text */
    char *national_ref;  /* national case number */
    char *eurodac_ref;   /* Eurodac reference */
    avrr_document *documents;
    size_t n_documents;
    int64_t created_at;  /* unix seconds, set by the store */
} avrr_identity;

typedef struct avrr_person {
    int64_t id;
    char tenant[17];
    bool restricted;      /* GDPR Art. 18: others see only "restricted" */
    int64_t erased_at;    /* unix seconds; 0 while personal data is held */
    int64_t created_at;
    avrr_identity *identities;
    size_t n_identities;
} avrr_person;

typedef struct avrr_case {
    int64_t id;
    int64_t person_id;
    char tenant[17];
    char destination_country[4];
    avrr_return_type return_type;
    char *programme;          /* "national", "eurp", ... free code */
    avrr_case_status status;
    avrr_date opened_on;
    avrr_date closed_on;      /* set when the case reaches a final status */
    int64_t created_at;
    int64_t updated_at;
    /* Family composition for the caps of a state's rules (rules.c): the
     * persons this return supports. 0 and 0 mean "not given" and become 1
     * adult, 0 minors on validation. */
    int32_t adults;
    int32_t minors;
} avrr_case;
/* A family larger than this is a typing error, not a household. */
#define AVRR_FAMILY_MAX 30

typedef struct avrr_assistance {
    int64_t id;
    int64_t case_id;
    char tenant[17];
    avrr_assistance_kind kind;
    int64_t amount_cents;
    bool cash;
    char *provider;
    avrr_funding funding;
    avrr_date granted_on;
    avrr_date delivered_on;
    avrr_assistance_status status;
    int64_t created_at;
    char *programme; /* read only: the case's programme, filled where the
                        store reports assistance across cases (hit summaries) */
} avrr_assistance;

/* ---- the return process (DESIGN.md 3) ------------------------------------ */

/* Every record below belongs to one case. `tenant` is the case's owner (the
 * controller); `recorded_by` the tenant that wrote it (the owner, or a
 * partner the case was referred to). */

/* A counselling session with the returnee. */
typedef struct avrr_counselling {
    int64_t id;
    int64_t case_id;
    char tenant[17];
    char recorded_by[17];
    avrr_date held_on;
    char *counsellor;   /* person or organisation, free text */
    char *outcome;      /* at most AVRR_TEXT_MAX bytes */
    int64_t created_at;
} avrr_counselling;

typedef enum avrr_referral_status {
    AVRR_REFERRAL_PENDING,
    AVRR_REFERRAL_ACCEPTED,
    AVRR_REFERRAL_DECLINED,
    AVRR_REFERRAL__COUNT
} avrr_referral_status;
int avrr_referral_status_parse(const char *s);
const char *avrr_referral_status_name(int v);

/* A case handed to a reintegration partner (a provider tenant in the
 * country of return), which accepts or declines. While accepted, the
 * partner's providers work on the case. */
typedef struct avrr_referral {
    int64_t id;
    int64_t case_id;
    char tenant[17];    /* the referring tenant, owner of the case */
    char partner[17];   /* the partner tenant */
    avrr_referral_status status;
    char *reason;       /* the partner's reason (required to decline) */
    int64_t decided_key_id;
    int64_t decided_at;
    int64_t created_at;
} avrr_referral;

/* The reintegration plan of a case (one per case, replaced as a whole):
 * free-text components and the planned amounts by kind. amounts_json is
 * the canonical JSON array [{"kind", "amount_cents"}] the service wrote. */
typedef struct avrr_plan {
    int64_t case_id;
    char tenant[17];
    char recorded_by[17];
    char *components;
    char *amounts_json;
    int64_t updated_at;
} avrr_plan;

/* A follow-up visit with the scores of IOM's reintegration sustainability
 * survey: economic, social and psychosocial dimensions, each 0..1. */
typedef struct avrr_follow_up {
    int64_t id;
    int64_t case_id;
    char tenant[17];
    char recorded_by[17];
    avrr_date visited_on;
    double economic;
    double social;
    double psychosocial;
    char *note;         /* optional, at most AVRR_TEXT_MAX bytes */
    int64_t created_at;
} avrr_follow_up;

/* Validation as for the records above (fields named as on the wire). */
avrr_err avrr_counselling_validate(avrr_counselling *c, avrr_error *e);
avrr_err avrr_follow_up_validate(avrr_follow_up *f, avrr_error *e);
void avrr_counselling_clear(avrr_counselling *c);
void avrr_referral_clear(avrr_referral *r);
void avrr_plan_clear(avrr_plan *p);
void avrr_follow_up_clear(avrr_follow_up *f);

/* What a tenant wants when assistance may be double support: a warning
 * in the 201 answer (the default), or 409 until a human resolves the link. */
typedef enum avrr_duplicate_policy {
    AVRR_DUPLICATE_WARN,
    AVRR_DUPLICATE_BLOCK,
    AVRR_DUPLICATE__COUNT
} avrr_duplicate_policy;
int avrr_duplicate_policy_parse(const char *s);
const char *avrr_duplicate_policy_name(int v);

typedef struct avrr_tenant {
    char code[17];   /* NL, BE, IOM-NL, FRONTEX: A-Z, 0-9, '-', 2..16 */
    char *name;
    avrr_duplicate_policy duplicate_policy;
    int32_t retention_days;       /* personal data erased this long after a
                                     person's last case closed; 0: never */
    int32_t audit_retention_days; /* audit events kept this long */
    int64_t created_at;
} avrr_tenant;

/* Defaults of a new tenant: two years of reintegration follow-up after the
 * case ends, then erasure; audit events three years (DESIGN.md 6). */
#define AVRR_RETENTION_DAYS_DEFAULT 730
#define AVRR_AUDIT_RETENTION_DAYS_DEFAULT 1095

/* One earlier version of an identity, kept when it is rectified (GDPR
 * Art. 16 with history). */
typedef struct avrr_identity_change {
    int64_t identity_id;
    int64_t changed_at;  /* unix seconds */
    int64_t key_id;      /* who rectified, 0 for the command line */
    char *old_json;      /* the identity before the change, as the API shows it */
} avrr_identity_change;
void avrr_identity_change_clear(avrr_identity_change *c);

/* ---- audit -------------------------------------------------------------------- */

/* One event of the tamper-evident audit log. hash = BLAKE2b-256(prev_hash ||
 * canonical bytes of the event); see src/privacy/audit.c. */
typedef struct avrr_audit_event {
    int64_t seq;            /* 1, 2, 3 ... without gaps */
    int64_t ts_ms;          /* unix milliseconds */
    int64_t key_id;         /* API key, 0 for the command line or unknown */
    char tenant[17];        /* acting tenant, "" when unknown */
    char role[16];          /* acting role, "" when unknown */
    char action[32];        /* "person.create", "check.create", "auth.failed" ... */
    char target_type[16];   /* "person", "case", "check", "link" ... or "" */
    int64_t target_id;
    char purpose[32];
    char request_id[40];
    char outcome[16];       /* "ok", or the error code ("forbidden", ...) */
    uint8_t prev_hash[32];
    uint8_t hash[32];
} avrr_audit_event;

/* A signed statement of the chain head (Ed25519). */
typedef struct avrr_audit_checkpoint {
    int64_t seq;
    uint8_t hash[32];
    int64_t ts_ms;
    uint8_t public_key[32];
    uint8_t signature[64];
} avrr_audit_checkpoint;

/* ---- consultation (checks, links, disclosures) ------------------------------ */

/* Link colours of the EU Multiple Identity Detector: yellow (to verify),
 * white (same person, legitimately), green (different persons), red (same
 * person under a false identity). Only a human moves a link off yellow. */
typedef enum avrr_link_status {
    AVRR_LINK_YELLOW,
    AVRR_LINK_WHITE,
    AVRR_LINK_GREEN,
    AVRR_LINK_RED,
    AVRR_LINK__COUNT
} avrr_link_status;
int avrr_link_status_parse(const char *s);
const char *avrr_link_status_name(int v);

/* Why a check was made. Access is bound to these purposes. */
typedef enum avrr_purpose {
    AVRR_PURPOSE_ASSISTANCE_DECISION,   /* before granting support */
    AVRR_PURPOSE_RETURN_COUNSELLING,    /* at intake / counselling */
    AVRR_PURPOSE_IDENTITY_VERIFICATION, /* verifying stated details */
    AVRR_PURPOSE_CASE_REVIEW,           /* reviewing an open case */
    AVRR_PURPOSE__COUNT
} avrr_purpose;
int avrr_purpose_parse(const char *s);
const char *avrr_purpose_name(int v);

/* Bands of a hit's probability (thresholds are configuration). */
typedef enum avrr_band {
    AVRR_BAND_STRONG,
    AVRR_BAND_POSSIBLE,
    AVRR_BAND__COUNT
} avrr_band;
const char *avrr_band_name(int v);

/* One person found by a check, as stored with the check. */
typedef struct avrr_check_hit {
    int64_t person_id;
    char tenant[17];
    char person_ref[33]; /* pseudonym shown to the requester */
    double probability;
    avrr_band band;
} avrr_check_hit;

/* One consultation: who asked, why, with what, what it found. */
typedef struct avrr_check {
    int64_t id;
    char tenant[17];     /* the requester */
    int64_t key_id;      /* the API key used, 0 for the command line */
    avrr_purpose purpose;
    int64_t person_id;   /* the requester's own person, 0 when not given */
    char *request_json;  /* the details sent, as received */
    char *response_json; /* the answer given */
    avrr_check_hit *hits;
    size_t n_hits;
    int64_t created_at;
} avrr_check;
void avrr_check_clear(avrr_check *c);

/* A possible identity between two persons (usually of different tenants).
 * person_a is the requester's side: 0 when a check was made without a
 * registered person of the requester's own. */
typedef struct avrr_link {
    int64_t id;
    int64_t person_a;
    char tenant_a[17];
    int64_t person_b;
    char tenant_b[17];
    int64_t check_id;    /* the check that opened it, 0 otherwise */
    char source[16];     /* "check", "registration", "assistance" */
    avrr_link_status status;
    double probability;
    char *reason;        /* the resolver's reason */
    char resolved_by[17];
    int64_t resolved_key_id;
    int64_t resolved_at;
    int64_t created_at;
} avrr_link;
void avrr_link_clear(avrr_link *l);

typedef enum avrr_disclosure_status {
    AVRR_DISCLOSURE_PENDING,
    AVRR_DISCLOSURE_APPROVED,
    AVRR_DISCLOSURE_REFUSED,
    AVRR_DISCLOSURE__COUNT
} avrr_disclosure_status;
int avrr_disclosure_status_parse(const char *s);
const char *avrr_disclosure_status_name(int v);

/* The second step of a check: the requester asks the owner for the
 * identity details behind one hit; the owner decides. */
typedef struct avrr_disclosure {
    int64_t id;
    int64_t check_id;
    char requester[17];
    int64_t requester_key_id;
    char owner[17];
    int64_t person_id;    /* the owner's person */
    char person_ref[33];
    char *reason;         /* why the requester asks */
    avrr_disclosure_status status;
    char *decision_reason;
    int64_t decided_key_id;
    int64_t decided_at;
    int64_t created_at;
} avrr_disclosure;
void avrr_disclosure_clear(avrr_disclosure *d);

/* An API key as the registry knows it: never the secret, only who holds it.
 * (The secret's hash stays inside the store.) */
typedef struct avrr_key_info {
    int64_t id;
    char tenant[17];
    avrr_role role;
    char label[65];
    bool revoked;
    int64_t created_at;
} avrr_key_info;

/* Tenant codes: 2 to 16 characters of A-Z, 0-9 and '-', starting with a
 * letter. Lower-case input is accepted and upper-cased into out. */
avrr_err avrr_tenant_code_check(const char *code, char out[static 17],
                                avrr_error *e);

/* Validation of whole records, the one place where these rules live. Each
 * fills e with the offending field (relative to the record, e.g.
 * "documents[0].number") and returns AVRR_EINVALID on the first problem.
 * Validation also canonicalises: country codes become alpha-3 upper case. */
avrr_err avrr_identity_validate(avrr_identity *id, avrr_error *e);
avrr_err avrr_case_validate(avrr_case *c, avrr_error *e);
avrr_err avrr_assistance_validate(avrr_assistance *a, avrr_error *e);

/* Free the owned fields; the struct memory itself stays with the caller.
 * Safe on zeroed structs and NULL. */
void avrr_identity_clear(avrr_identity *id);
void avrr_person_clear(avrr_person *p);
void avrr_case_clear(avrr_case *c);
void avrr_assistance_clear(avrr_assistance *a);
void avrr_tenant_clear(avrr_tenant *t);

/* Deep copy of src into *dst (which is overwritten). */
avrr_err avrr_identity_copy(avrr_identity *dst, const avrr_identity *src);

/* strdup that returns NULL for NULL and goes through avrr's allocator. */
char *avrr_strdup(const char *s);

/* ---- allocation ------------------------------------------------------------ */

/* All library allocations go through these, so that tests can make the Nth
 * allocation fail (a torture mode, as curl does). */
void *avrr_malloc(size_t n);
void *avrr_calloc(size_t count, size_t size);
void *avrr_realloc(void *p, size_t n);
void avrr_free(void *p);

/* n bytes (n > 0) for a large array scanned at random: aligned to 64 bytes,
 * or, when n >= huge_from, to 2 MiB and advised into transparent huge pages
 * before it is written (a random access then costs no page walk of its own).
 * Returns the aligned pointer and sets *raw to what avrr_free takes; NULL
 * when out of memory. */
void *avrr_malloc_huge(size_t n, size_t huge_from, void **raw);

/* Test hook: make the allocation numbered `n` (1-based, counted from this
 * call) and every later one fail; n == 0 switches failures off. Not
 * thread-safe; for tests only. */
void avrr_alloc_fail_after(long n);

#ifdef __cplusplus
}
#endif
#endif
