/* record.c: lifecycle of the model records of core.h (clear and copy).
 * Validation lives in validate.c; storage in the store layer. */
#include <string.h>

#include "avrr/core.h"

static void free_str(char **s)
{
    avrr_free(*s);
    *s = NULL;
}

void avrr_identity_clear(avrr_identity *id)
{
    if (!id)
        return;
    free_str(&id->given_names);
    free_str(&id->surname);
    free_str(&id->full_name);
    free_str(&id->birth_place);
    free_str(&id->address);
    free_str(&id->national_ref);
    free_str(&id->eurodac_ref);
    for (size_t i = 0; i < id->n_documents; i++) {
        free_str(&id->documents[i].type);
        free_str(&id->documents[i].number);
    }
    avrr_free(id->documents);
    memset(id, 0, sizeof *id);
}

void avrr_person_clear(avrr_person *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_identities; i++)
        avrr_identity_clear(&p->identities[i]);
    avrr_free(p->identities);
    memset(p, 0, sizeof *p);
}

void avrr_case_clear(avrr_case *c)
{
    if (!c)
        return;
    free_str(&c->programme);
    memset(c, 0, sizeof *c);
}

void avrr_counselling_clear(avrr_counselling *c)
{
    if (!c)
        return;
    free_str(&c->counsellor);
    free_str(&c->outcome);
    memset(c, 0, sizeof *c);
}

void avrr_referral_clear(avrr_referral *r)
{
    if (!r)
        return;
    free_str(&r->reason);
    memset(r, 0, sizeof *r);
}

void avrr_plan_clear(avrr_plan *p)
{
    if (!p)
        return;
    free_str(&p->components);
    free_str(&p->amounts_json);
    memset(p, 0, sizeof *p);
}

void avrr_follow_up_clear(avrr_follow_up *f)
{
    if (!f)
        return;
    free_str(&f->note);
    memset(f, 0, sizeof *f);
}

void avrr_assistance_clear(avrr_assistance *a)
{
    if (!a)
        return;
    free_str(&a->provider);
    free_str(&a->programme);
    memset(a, 0, sizeof *a);
}

void avrr_tenant_clear(avrr_tenant *t)
{
    if (!t)
        return;
    free_str(&t->name);
    memset(t, 0, sizeof *t);
}

void avrr_identity_change_clear(avrr_identity_change *c)
{
    if (!c)
        return;
    free_str(&c->old_json);
    memset(c, 0, sizeof *c);
}

void avrr_check_clear(avrr_check *c)
{
    if (!c)
        return;
    free_str(&c->request_json);
    free_str(&c->response_json);
    avrr_free(c->hits);
    memset(c, 0, sizeof *c);
}

void avrr_link_clear(avrr_link *l)
{
    if (!l)
        return;
    free_str(&l->reason);
    memset(l, 0, sizeof *l);
}

void avrr_disclosure_clear(avrr_disclosure *d)
{
    if (!d)
        return;
    free_str(&d->reason);
    free_str(&d->decision_reason);
    memset(d, 0, sizeof *d);
}

/* Copies one optional string; returns false only when allocation failed. */
static bool copy_str(char **dst, const char *src)
{
    *dst = avrr_strdup(src);
    return !src || *dst;
}

avrr_err avrr_identity_copy(avrr_identity *dst, const avrr_identity *src)
{
    avrr_identity tmp = *src;
    tmp.given_names = tmp.surname = tmp.full_name = NULL;
    tmp.birth_place = tmp.address = tmp.national_ref = tmp.eurodac_ref = NULL;
    tmp.documents = NULL;
    tmp.n_documents = 0;

    if (!copy_str(&tmp.given_names, src->given_names) ||
        !copy_str(&tmp.surname, src->surname) ||
        !copy_str(&tmp.full_name, src->full_name) ||
        !copy_str(&tmp.birth_place, src->birth_place) ||
        !copy_str(&tmp.address, src->address) ||
        !copy_str(&tmp.national_ref, src->national_ref) ||
        !copy_str(&tmp.eurodac_ref, src->eurodac_ref))
        goto nomem;
    if (src->n_documents) {
        tmp.documents = avrr_calloc(src->n_documents, sizeof *tmp.documents);
        if (!tmp.documents)
            goto nomem;
        tmp.n_documents = src->n_documents;
        for (size_t i = 0; i < src->n_documents; i++) {
            avrr_document *d = &tmp.documents[i];
            memcpy(d->country, src->documents[i].country, sizeof d->country);
            if (!copy_str(&d->type, src->documents[i].type) ||
                !copy_str(&d->number, src->documents[i].number))
                goto nomem;
        }
    }
    *dst = tmp;
    return AVRR_OK;
nomem:
    avrr_identity_clear(&tmp);
    return AVRR_ENOMEM;
}
