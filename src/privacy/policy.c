/* policy.c: the role x action table of DESIGN.md section 2.
 *
 * caseworker: registers persons, cases and assistance of its own state;
 *   consults the whole registry, works its link queue, asks for and decides
 *   disclosures.
 * provider: records progress and delivered assistance on cases it handles:
 *   its own tenant's, and those referred to its tenant and accepted (the
 *   service finds the case through the referral; see process.c).
 * statistician: aggregated statistics only, small cells suppressed.
 * dpo: its tenant's audit log and data-subject requests.
 * admin: no personal data; tenants and keys are managed with the CLI. */
#include "policy.h"

#define C (1u << AVRR_ROLE_CASEWORKER)
#define P (1u << AVRR_ROLE_PROVIDER)
#define D (1u << AVRR_ROLE_DPO)
#define S (1u << AVRR_ROLE_STATISTICIAN)

static const unsigned allowed[AVRR_ACT__COUNT] = {
    [AVRR_ACT_PERSON_WRITE] = C,
    [AVRR_ACT_PERSON_READ] = C | P,
    [AVRR_ACT_CASE_WRITE] = C,
    [AVRR_ACT_CASE_STATUS] = C | P,
    [AVRR_ACT_CASE_READ] = C | P,
    [AVRR_ACT_ASSISTANCE_WRITE] = C | P,
    [AVRR_ACT_ASSISTANCE_READ] = C | P,
    [AVRR_ACT_CHECK] = C,
    [AVRR_ACT_LINK_READ] = C,
    [AVRR_ACT_LINK_RESOLVE] = C,
    [AVRR_ACT_DISCLOSURE] = C,
    [AVRR_ACT_AUDIT_READ] = D,
    /* Data-subject requests are handled by the controller's caseworkers
     * and its data-protection officer. */
    [AVRR_ACT_SUBJECT_RIGHTS] = C | D,
    /* Statisticians see all tenants with small cells suppressed; a
     * tenant's own caseworkers and dpo see its own figures in full. */
    [AVRR_ACT_STATS] = S | C | D,
    /* The return process: the state's caseworkers refer; the partner's
     * providers decide on referrals and do the work in the country of
     * return (counselling, plan, follow-ups), as the caseworkers may. */
    [AVRR_ACT_COUNSELLING] = C | P,
    [AVRR_ACT_REFERRAL_WRITE] = C,
    [AVRR_ACT_REFERRAL_DECIDE] = P,
    [AVRR_ACT_REFERRAL_READ] = C | P,
    [AVRR_ACT_PLAN] = C | P,
    [AVRR_ACT_FOLLOW_UP] = C | P,
};

static const char *const names[AVRR_ACT__COUNT] = {
    [AVRR_ACT_PERSON_WRITE] = "person_write",
    [AVRR_ACT_PERSON_READ] = "person_read",
    [AVRR_ACT_CASE_WRITE] = "case_write",
    [AVRR_ACT_CASE_STATUS] = "case_status",
    [AVRR_ACT_CASE_READ] = "case_read",
    [AVRR_ACT_ASSISTANCE_WRITE] = "assistance_write",
    [AVRR_ACT_ASSISTANCE_READ] = "assistance_read",
    [AVRR_ACT_CHECK] = "check",
    [AVRR_ACT_LINK_READ] = "link_read",
    [AVRR_ACT_LINK_RESOLVE] = "link_resolve",
    [AVRR_ACT_DISCLOSURE] = "disclosure",
    [AVRR_ACT_AUDIT_READ] = "audit_read",
    [AVRR_ACT_SUBJECT_RIGHTS] = "subject_rights",
    [AVRR_ACT_STATS] = "stats",
    [AVRR_ACT_COUNSELLING] = "counselling",
    [AVRR_ACT_REFERRAL_WRITE] = "referral_write",
    [AVRR_ACT_REFERRAL_DECIDE] = "referral_decide",
    [AVRR_ACT_REFERRAL_READ] = "referral_read",
    [AVRR_ACT_PLAN] = "plan",
    [AVRR_ACT_FOLLOW_UP] = "follow_up",
};

bool avrr_policy_allows(avrr_role role, avrr_action action)
{
    if ((unsigned)role >= AVRR_ROLE__COUNT || (unsigned)action >= AVRR_ACT__COUNT)
        return false;
    return (allowed[action] & (1u << role)) != 0;
}

const char *avrr_action_name(avrr_action action)
{
    return (unsigned)action < AVRR_ACT__COUNT ? names[action] : "unknown";
}
