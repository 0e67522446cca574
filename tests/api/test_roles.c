/* test_roles.c: the role x tenant x route matrix of DESIGN.md section 2,
 * walked through the real server. For every route, every role, and three
 * vantage points (the owning tenant, a tenant that is a party to the
 * record, an unrelated tenant), the answer must be exactly what the design
 * allows: deny by default (403), another tenant's record is 404, and the
 * allowed call succeeds. The expectations are written here from the design,
 * independently of src/privacy/policy.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "avrr/server.h"
#include "harness.h"

static harness H;
static const char *const TENANTS[] = {"NL", "BE", "DE"};
static const char *const ROLES[] = {"caseworker", "provider", "statistician", "dpo", "admin"};
static char keys[3][5][128];

#define CW (1u << 0)
#define PROV (1u << 1)
#define STAT (1u << 2)
#define DPO (1u << 3)
#define ADMIN (1u << 4)

/* Where the caller stands to the record the route names. */
enum vantage { OWNER, PARTY, STRANGER };

typedef struct route_case {
    const char *method, *pattern; /* as avrr_server_routes() lists it */
    const char *path, *body;      /* with $P $C $K $L $D $I placeholders */
    unsigned allowed;             /* roles the design allows */
    long ok;                      /* status of an allowed call by the owner */
    /* What an allowed role gets from each vantage point: the owner gets
     * `ok`; a party (the other tenant of a link or disclosure) and a
     * stranger get these. 0 means "same as ok" (the route acts on the
     * caller's own tenant, e.g. lists). */
    long party, stranger;
    int owner_tenant;             /* index into TENANTS of the owner */
} route_case;

/* The records one call acts on, made fresh for every call. */
typedef struct fixture {
    int64_t person, identity, kase, check, link, disclosure, referral;
    char ref[40];
} fixture;

static const route_case CASES[] = {
    {"GET", "/v1/me", "/v1/me", NULL, CW | PROV | STAT | DPO | ADMIN, 200, 0, 0, 0},
    {"POST", "/v1/persons", "/v1/persons", "{\"identities\":[{\"surname\":\"Haile\"}]}", CW, 201, 0, 0, 0},
    {"GET", "/v1/persons", "/v1/persons", NULL, CW | PROV, 200, 0, 0, 0},
    {"GET", "/v1/persons/{id}", "/v1/persons/$P", NULL, CW | PROV, 200, 404, 404, 0},
    {"DELETE", "/v1/persons/{id}", "/v1/persons/$P", NULL, CW | DPO, 200, 404, 404, 0},
    {"POST", "/v1/persons/{id}/identities", "/v1/persons/$P/identities",
     "{\"surname\":\"Hayle\"}", CW, 201, 404, 404, 0},
    {"PUT", "/v1/persons/{id}/identities/{identity_id}", "/v1/persons/$P/identities/$I",
     "{\"given_names\":\"Dawit\",\"surname\":\"Haile\"}", CW | DPO, 200, 404, 404, 0},
    {"GET", "/v1/persons/{id}/export", "/v1/persons/$P/export", NULL, CW | DPO, 200, 404, 404, 0},
    {"POST", "/v1/persons/{id}/restriction", "/v1/persons/$P/restriction",
     "{\"restricted\":true}", CW | DPO, 200, 404, 404, 0},
    {"POST", "/v1/cases", "/v1/cases",
     "{\"person_id\":$P,\"destination_country\":\"ERI\",\"return_type\":\"voluntary\"}", CW, 201,
     404, 404, 0},
    {"GET", "/v1/cases", "/v1/cases", NULL, CW | PROV, 200, 0, 0, 0},
    {"GET", "/v1/cases/{id}", "/v1/cases/$C", NULL, CW | PROV, 200, 404, 404, 0},
    {"POST", "/v1/cases/{id}/status", "/v1/cases/$C/status", "{\"status\":\"applied\"}",
     CW | PROV, 200, 404, 404, 0},
    {"POST", "/v1/cases/{id}/assistance", "/v1/cases/$C/assistance",
     "{\"kind\":\"ticket\",\"amount_cents\":30000,\"funding\":\"amif\"}", CW | PROV, 201, 404, 404, 0},
    {"GET", "/v1/cases/{id}/assistance", "/v1/cases/$C/assistance", NULL, CW | PROV, 200, 404, 404, 0},
    {"POST", "/v1/checks", "/v1/checks",
     "{\"purpose\":\"case_review\",\"identity\":{\"given_names\":\"Dawit\",\"surname\":\"Haile\"}}",
     CW, 201, 0, 0, 0},
    {"GET", "/v1/checks/{id}", "/v1/checks/$K", NULL, CW, 200, 404, 404, 0},
    {"POST", "/v1/checks/{id}/disclosures", "/v1/checks/$K/disclosures",
     "{\"person_ref\":\"$R\",\"reason\":\"verify\"}", CW, 201, 404, 404, 0},
    {"GET", "/v1/disclosures", "/v1/disclosures", NULL, CW, 200, 0, 0, 0},
    /* A disclosure: the requester (NL) owns the request, the record's
     * owner (BE) is the party; both may read it, only BE may decide. */
    {"GET", "/v1/disclosures/{id}", "/v1/disclosures/$D", NULL, CW, 200, 200, 404, 0},
    {"POST", "/v1/disclosures/{id}/decision", "/v1/disclosures/$D/decision",
     "{\"decision\":\"refuse\",\"reason\":\"no\"}", CW, 200, 403, 404, 1},
    {"GET", "/v1/links", "/v1/links", NULL, CW, 200, 0, 0, 0},
    {"GET", "/v1/links/{id}", "/v1/links/$L", NULL, CW, 200, 200, 404, 0},
    {"POST", "/v1/links/{id}/resolve", "/v1/links/$L/resolve",
     "{\"decision\":\"green\",\"reason\":\"different persons\"}", CW, 200, 200, 404, 0},
    {"GET", "/v1/audit", "/v1/audit", NULL, DPO, 200, 0, 0, 0},
    {"GET", "/v1/stats", "/v1/stats?by=kind", NULL, CW | DPO | STAT, 200, 0, 0, 0},
    /* The return process. The fixture's case is referred to BE, still
     * pending: BE's providers do not see the case yet (404 as party). */
    {"POST", "/v1/cases/{id}/counselling", "/v1/cases/$C/counselling",
     "{\"counsellor\":\"DT&V\",\"outcome\":\"considers return\"}", CW | PROV, 201, 404, 404, 0},
    {"GET", "/v1/cases/{id}/counselling", "/v1/cases/$C/counselling", NULL, CW | PROV, 200, 404,
     404, 0},
    {"POST", "/v1/cases/{id}/referrals", "/v1/cases/$C/referrals", "{\"partner\":\"DE\"}", CW,
     201, 404, 404, 0},
    {"PUT", "/v1/cases/{id}/plan", "/v1/cases/$C/plan",
     "{\"components\":\"shop\",\"amounts\":[{\"kind\":\"reintegration_business\","
     "\"amount_cents\":150000}]}", CW | PROV, 200, 404, 404, 0},
    {"GET", "/v1/cases/{id}/plan", "/v1/cases/$C/plan", NULL, CW | PROV, 200, 404, 404, 0},
    {"POST", "/v1/cases/{id}/follow-ups", "/v1/cases/$C/follow-ups",
     "{\"economic\":0.5,\"social\":0.6,\"psychosocial\":0.7}", CW | PROV, 201, 404, 404, 0},
    {"GET", "/v1/cases/{id}/follow-ups", "/v1/cases/$C/follow-ups", NULL, CW | PROV, 200, 404,
     404, 0},
    {"GET", "/v1/referrals", "/v1/referrals?status=pending", NULL, CW | PROV, 200, 0, 0, 0},
    /* A referral: the partner (BE) owns the decision; the referrer (NL)
     * sees the referral but may not decide it; DE knows nothing of it. */
    {"POST", "/v1/referrals/{id}/decision", "/v1/referrals/$F/decision",
     "{\"decision\":\"decline\",\"reason\":\"no capacity\"}", PROV, 200, 403, 404, 1},
};
#define N_CASES (sizeof CASES / sizeof CASES[0])

/* An NL person with a case; an NL check that finds a BE person, which
 * opens a link NL-BE; an NL disclosure request to BE. */
static void make_fixture(fixture *f)
{
    char body[256], path[96];
    memset(f, 0, sizeof *f);
    http_reply r;
    http(&H, "POST", "/v1/persons", keys[0][0],
         "{\"identities\":[{\"given_names\":\"Dawit\",\"surname\":\"Haile\",\"birth_date\":\"1991\"}]}",
         -1, &r);
    assert_int_equal(r.status, 201);
    f->person = jint(r.json, "id");
    f->identity = jint(r.json, "identities.0.id");
    http_reply_free(&r);
    snprintf(body, sizeof body,
             "{\"person_id\":%lld,\"destination_country\":\"ERI\",\"return_type\":\"voluntary\"}",
             (long long)f->person);
    f->kase = harness_post_id(&H, "/v1/cases", keys[0][0], body);
    http(&H, "POST", "/v1/checks", keys[0][0],
         "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Tesfamariam\","
         "\"surname\":\"Ghebremedhin\",\"birth_date\":\"1987-11-02\"}}", -1, &r);
    assert_int_equal(r.status, 201);
    f->check = jint(r.json, "id");
    f->link = jint(r.json, "hits.0.link.id");
    snprintf(f->ref, sizeof f->ref, "%s", jstr(r.json, "hits.0.person_ref") ? jstr(r.json, "hits.0.person_ref") : "");
    assert_string_equal(jstr(r.json, "hits.0.tenant"), "BE");
    http_reply_free(&r);
    snprintf(path, sizeof path, "/v1/checks/%lld/disclosures", (long long)f->check);
    snprintf(body, sizeof body, "{\"person_ref\":\"%s\",\"reason\":\"fixture\"}", f->ref);
    f->disclosure = harness_post_id(&H, path, keys[0][0], body);
    snprintf(path, sizeof path, "/v1/cases/%lld/referrals", (long long)f->kase);
    f->referral = harness_post_id(&H, path, keys[0][0], "{\"partner\":\"BE\"}");
}

static void expand(const char *in, const fixture *f, char *out, size_t cap)
{
    size_t o = 0;
    while (*in && o + 40 < cap) {
        if (*in == '$') {
            int64_t v = 0;
            switch (in[1]) {
            case 'P': v = f->person; break;
            case 'I': v = f->identity; break;
            case 'C': v = f->kase; break;
            case 'K': v = f->check; break;
            case 'L': v = f->link; break;
            case 'D': v = f->disclosure; break;
            case 'F': v = f->referral; break;
            case 'R': o += (size_t)snprintf(out + o, cap - o, "%s", f->ref); in += 2; continue;
            default: break;
            }
            o += (size_t)snprintf(out + o, cap - o, "%lld", (long long)v);
            in += 2;
        } else {
            out[o++] = *in++;
        }
    }
    out[o] = '\0';
}

static int setup(void **state)
{
    (void)state;
    harness_start(&H);
    const char *de[] = {"avrr", "tenant", "add", "--db", H.db, "--code", "DE", "--name", "Germany", NULL};
    if (harness_avrr(de, NULL, 0) != 0)
        return -1;
    for (int t = 0; t < 3; t++)
        for (int r = 0; r < 5; r++) {
            const char *argv[] = {"avrr", "key", "create", "--db", H.db, "--tenant", TENANTS[t],
                                  "--role", ROLES[r], NULL};
            if (harness_avrr(argv, keys[t][r], sizeof keys[t][r]) != 0)
                return -1;
        }
    /* The BE person every fixture's check finds. */
    http_reply rep;
    http(&H, "POST", "/v1/persons", keys[1][0],
         "{\"identities\":[{\"given_names\":\"Tesfamariam\",\"surname\":\"Ghebremedhin\","
         "\"birth_date\":\"1987-11-02\",\"sex\":\"m\",\"nationality\":\"ERI\"}]}", -1, &rep);
    int ok = rep.status == 201;
    http_reply_free(&rep);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&H);
    return 0;
}

static void test_matrix(void **state)
{
    (void)state;
    int failures = 0, calls = 0;
    for (size_t i = 0; i < N_CASES; i++) {
        const route_case *rc = &CASES[i];
        for (int role = 0; role < 5; role++) {
            for (int v = OWNER; v <= STRANGER; v++) {
                /* Owner: the record's owning tenant; party: the other tenant
                 * of the link/disclosure (BE, or NL when BE owns); stranger:
                 * DE, which has nothing to do with it. */
                int tenant = v == OWNER ? rc->owner_tenant
                             : v == PARTY ? (rc->owner_tenant == 0 ? 1 : 0)
                                          : 2;
                fixture f;
                make_fixture(&f);
                char path[256], body[512];
                expand(rc->path, &f, path, sizeof path);
                if (rc->body)
                    expand(rc->body, &f, body, sizeof body);
                long want;
                if (!(rc->allowed & (1u << role)))
                    want = 403;
                else if (v == OWNER)
                    want = rc->ok;
                else {
                    long alt = v == PARTY ? rc->party : rc->stranger;
                    want = alt ? alt : rc->ok;
                }
                http_reply r;
                http(&H, rc->method, path, keys[tenant][role], rc->body ? body : NULL, -1, &r);
                calls++;
                if (r.status != want) {
                    fprintf(stderr, "%s %s as %s %s (%s): %ld, want %ld: %s\n", rc->method, path,
                            TENANTS[tenant], ROLES[role],
                            v == OWNER ? "owner" : v == PARTY ? "party" : "stranger", r.status,
                            want, r.body ? r.body : "");
                    failures++;
                }
                http_reply_free(&r);
            }
        }
    }
    fprintf(stderr, "role matrix: %d calls\n", calls);
    assert_int_equal(failures, 0);
}

/* Every authenticated route of the server is in the matrix: a new route
 * cannot be added without stating who may use it. */
static void test_matrix_covers_every_route(void **state)
{
    (void)state;
    const char *const *routes = avrr_server_routes();
    for (size_t i = 0; routes[i]; i++) {
        if (strcmp(routes[i], "GET /healthz") == 0 || strcmp(routes[i], "GET /metrics") == 0)
            continue;
        bool found = false;
        for (size_t k = 0; k < N_CASES && !found; k++) {
            char name[160];
            snprintf(name, sizeof name, "%s %s", CASES[k].method, CASES[k].pattern);
            found = strcmp(name, routes[i]) == 0;
        }
        if (!found)
            fprintf(stderr, "route without a row in the role matrix: %s\n", routes[i]);
        assert_true(found);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_covers_every_route),
        cmocka_unit_test(test_matrix),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
