/* policy.h: who may do what (DESIGN.md section 2), deny by default.
 *
 * One table maps each role to the actions it may take; the service asks it
 * before every use case. Tenancy (own records only) is enforced separately
 * by the store's tenant-scoped queries. */
#ifndef AVRR_POLICY_H
#define AVRR_POLICY_H

#include <stdbool.h>

#include "avrr/core.h"

typedef enum avrr_action {
    AVRR_ACT_PERSON_WRITE,   /* register a person, add an alias */
    AVRR_ACT_PERSON_READ,    /* read own tenant's persons */
    AVRR_ACT_CASE_WRITE,     /* open a case */
    AVRR_ACT_CASE_STATUS,    /* move a case along its lifecycle */
    AVRR_ACT_CASE_READ,
    AVRR_ACT_ASSISTANCE_WRITE,
    AVRR_ACT_ASSISTANCE_READ,
    AVRR_ACT_CHECK,          /* consult the whole registry */
    AVRR_ACT_LINK_READ,      /* the tenant's link work queue */
    AVRR_ACT_LINK_RESOLVE,   /* decide a yellow link */
    AVRR_ACT_DISCLOSURE,     /* ask for, decide on, read disclosures */
    AVRR_ACT_AUDIT_READ,     /* read the tenant's audit events */
    AVRR_ACT_SUBJECT_RIGHTS, /* export, rectify, erase, restrict a person */
    AVRR_ACT_STATS,          /* aggregated statistics */
    AVRR_ACT_COUNSELLING,    /* record and read counselling sessions */
    AVRR_ACT_REFERRAL_WRITE, /* refer a case to a partner tenant */
    AVRR_ACT_REFERRAL_DECIDE,/* accept or decline a referral */
    AVRR_ACT_REFERRAL_READ,  /* referrals made or received */
    AVRR_ACT_PLAN,           /* write and read the reintegration plan */
    AVRR_ACT_FOLLOW_UP,      /* record and read follow-up visits */
    AVRR_ACT__COUNT
} avrr_action;

/* True when `role` may take `action`; false for anything not listed. */
bool avrr_policy_allows(avrr_role role, avrr_action action);

/* Short name of an action, for messages and audit ("person_write"). */
const char *avrr_action_name(avrr_action action);

#endif
