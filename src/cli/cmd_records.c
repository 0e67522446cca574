/* cmd_records.c: `avrr person`, `avrr case`, `avrr assistance`: the
 * registry's records from the command line, for an operator working on the
 * registry file for one tenant. Each action is one service call; records
 * are read as JSON (the API's form) and printed as JSON. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "service/codec.h"

/* Options every action takes. */
typedef struct common {
    const char *db, *tenant;
} common;

static void print_json(json_object *o)
{
    if (!o) {
        fputs("avrr: out of memory\n", stderr);
        return;
    }
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

/* Reads a whole JSON object from a file ("-" for stdin). */
static int read_json_file(const char *cmd, const char *path, json_object **out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return cli_fail(cmd, "cannot open %s: %m", path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (8u << 20)) {
                free(buf);
                if (f != stdin)
                    fclose(f);
                return cli_fail(cmd, "%s: larger than 8 MiB", path);
            }
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                if (f != stdin)
                    fclose(f);
                return cli_fail(cmd, "out of memory");
            }
            buf = p;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n == 0)
            break;
    }
    if (f != stdin)
        fclose(f);
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_json_parse_object(buf ? buf : "", len, out, &e);
    free(buf);
    if (err != AVRR_OK) {
        fprintf(stderr, "avrr %s: %s: %s\n", cmd, path, e.message);
        return 1;
    }
    return 0;
}

static avrr_service *open_as(const char *cmd, const common *c, avrr_actor *actor)
{
    if (!c->tenant) {
        fprintf(stderr, "avrr %s: --tenant CODE is required\n", cmd);
        return NULL;
    }
    avrr_service *svc = cli_open(cmd, c->db, false);
    avrr_error e;
    avrr_error_clear(&e);
    if (svc && avrr_service_local_actor(svc, c->tenant, AVRR_ROLE_CASEWORKER, actor, &e) != AVRR_OK) {
        cli_error(cmd, &e);
        avrr_service_close(svc);
        return NULL;
    }
    return svc;
}

static bool id_arg(const char *cmd, const char *opt, const char *s, int64_t *out)
{
    long v;
    if (!s) {
        fprintf(stderr, "avrr %s: %s is required\n", cmd, opt);
        return false;
    }
    if (!cli_parse_long(cmd, opt, s, 1, 0x7fffffffL, &v))
        return false;
    *out = v;
    return true;
}

/* ---- person --------------------------------------------------------------- */

int avrr_cli_person(int argc, char **argv)
{
    static const char *usage_line =
        "avrr person add|alias|show|list|export|erase|restrict|unrestrict --db FILE --tenant CODE\n"
        "       [--id N] [JSON-FILE|-]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'},
                                         {"id", required_argument, 0, 'i'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    if (argc < 2)
        return cli_usage("person", usage_line);
    const char *action = argv[1];
    common c = {0};
    const char *ids = NULL;
    int ch;
    optind = 1;
    if (action[0] == '-')
        action = ""; /* options straight away: only --help makes sense */
    else {
        argc--;
        argv++;
    }
    while ((ch = getopt_long(argc, argv, "d:t:i:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': c.db = optarg; break;
        case 't': c.tenant = optarg; break;
        case 'i': ids = optarg; break;
        case 'h':
            printf("usage: %s\n\n"
                   "  add   JSON      register a person: {\"identities\":[{...},{...}]}\n"
                   "  alias --id N JSON  add an identity (alias) to person N\n"
                   "  show  --id N    print person N\n"
                   "  list            print the tenant's persons (first 1000)\n"
                   "  export --id N   everything held on person N (data-subject access)\n"
                   "  erase --id N    erase person N's personal data (cases stay, anonymous)\n"
                   "  restrict --id N / unrestrict --id N   restrict processing (others'\n"
                   "                  checks show only \"restricted: contact the owner\")\n\n"
                   "JSON is a file in the form of the HTTP API (docs/openapi.yaml), or - for\n"
                   "standard input. Results are printed as JSON.\n", usage_line);
            return 0;
        default: return cli_usage("person", usage_line);
        }
    }
    bool takes_json = strcmp(action, "add") == 0 || strcmp(action, "alias") == 0;
    static const char *const actions[] = {"add", "alias", "show", "list", "export",
                                          "erase", "restrict", "unrestrict", NULL};
    bool known = false;
    for (const char *const *k = actions; *k && !known; k++)
        known = strcmp(*k, action) == 0;
    if (!known)
        return cli_usage("person", usage_line);
    if ((takes_json && optind != argc - 1) || (!takes_json && optind != argc))
        return cli_usage("person", usage_line);
    int64_t id = 0;
    if (strcmp(action, "add") != 0 && strcmp(action, "list") != 0 &&
        !id_arg("person", "--id", ids, &id))
        return 2;

    json_object *in = NULL;
    if (takes_json && read_json_file("person", argv[optind], &in) != 0)
        return 1;
    avrr_actor actor;
    avrr_service *svc = open_as("person", &c, &actor);
    if (!svc) {
        json_object_put(in);
        return 1;
    }
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = AVRR_OK;
    if (strcmp(action, "add") == 0) {
        avrr_person p = {0};
        err = avrr_codec_person_from_json(in, &p, &e);
        if (err == AVRR_OK)
            err = avrr_service_person_register(svc, &actor, &p, &e);
        if (err == AVRR_OK)
            print_json(avrr_codec_person_to_json(&p));
        avrr_person_clear(&p);
    } else if (strcmp(action, "alias") == 0) {
        avrr_identity ident = {0};
        err = avrr_codec_identity_from_json(in, &ident, &e);
        if (err == AVRR_OK)
            err = avrr_service_identity_add(svc, &actor, id, &ident, &e);
        if (err == AVRR_OK)
            print_json(avrr_codec_identity_to_json(&ident));
        avrr_identity_clear(&ident);
    } else if (strcmp(action, "show") == 0) {
        avrr_person p = {0};
        err = avrr_service_person_get(svc, &actor, id, &p, &e);
        if (err == AVRR_OK)
            print_json(avrr_codec_person_to_json(&p));
        avrr_person_clear(&p);
    } else if (strcmp(action, "export") == 0) {
        char *json = NULL;
        err = avrr_service_person_export(svc, &actor, id, &json, &e);
        if (err == AVRR_OK)
            puts(json);
        avrr_free(json);
    } else if (strcmp(action, "erase") == 0) {
        err = avrr_service_person_erase(svc, &actor, id, &e);
        if (err == AVRR_OK)
            printf("person %lld erased\n", (long long)id);
    } else if (strcmp(action, "restrict") == 0 || strcmp(action, "unrestrict") == 0) {
        bool on = strcmp(action, "restrict") == 0;
        err = avrr_service_person_restrict(svc, &actor, id, on, &e);
        if (err == AVRR_OK)
            printf("person %lld %s\n", (long long)id, on ? "restricted" : "unrestricted");
    } else {
        avrr_person *ps = NULL;
        size_t n = 0;
        int64_t next = 0;
        avrr_page page = {0, AVRR_PAGE_MAX};
        err = avrr_service_person_list(svc, &actor, page, &ps, &n, &next, &e);
        for (size_t i = 0; err == AVRR_OK && i < n; i++)
            print_json(avrr_codec_person_to_json(&ps[i]));
        avrr_service_free_persons(ps, n);
    }
    if (err != AVRR_OK)
        cli_error("person", &e);
    json_object_put(in);
    avrr_service_close(svc);
    return err == AVRR_OK ? 0 : 1;
}

/* ---- case ------------------------------------------------------------------- */

int avrr_cli_case(int argc, char **argv)
{
    static const char *usage_line =
        "avrr case open|status|show|list --db FILE --tenant CODE [options]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'},
                                         {"person", required_argument, 0, 'p'},
                                         {"id", required_argument, 0, 'i'},
                                         {"destination", required_argument, 0, 'D'},
                                         {"return-type", required_argument, 0, 'r'},
                                         {"programme", required_argument, 0, 'g'},
                                         {"status", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    if (argc < 2)
        return cli_usage("case", usage_line);
    const char *action = argv[1];
    common c = {0};
    const char *person = NULL, *ids = NULL, *dest = NULL, *rtype = "voluntary",
               *programme = NULL, *status = NULL;
    int ch;
    optind = 1;
    if (action[0] == '-')
        action = ""; /* options straight away: only --help makes sense */
    else {
        argc--;
        argv++;
    }
    while ((ch = getopt_long(argc, argv, "d:t:p:i:D:r:g:s:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': c.db = optarg; break;
        case 't': c.tenant = optarg; break;
        case 'p': person = optarg; break;
        case 'i': ids = optarg; break;
        case 'D': dest = optarg; break;
        case 'r': rtype = optarg; break;
        case 'g': programme = optarg; break;
        case 's': status = optarg; break;
        case 'h':
            printf("usage: %s\n\n"
                   "  open   --person N --destination CC [--return-type voluntary|forced]\n"
                   "         [--programme national|eurp|...]   open a return case\n"
                   "  status --id N --status S   move case N (counselled, applied, approved,\n"
                   "         departed, reintegrating, completed, withdrawn, absconded)\n"
                   "  show   --id N              print case N\n"
                   "  list   [--person N]        print the tenant's cases\n", usage_line);
            return 0;
        default: return cli_usage("case", usage_line);
        }
    }
    if (optind != argc)
        return cli_usage("case", usage_line);
    int64_t id = 0, person_id = 0;
    if (strcmp(action, "open") == 0) {
        if (!id_arg("case", "--person", person, &person_id))
            return 2;
        if (!dest)
            return cli_usage("case", usage_line);
    } else if (strcmp(action, "status") == 0 || strcmp(action, "show") == 0) {
        if (!id_arg("case", "--id", ids, &id))
            return 2;
        if (strcmp(action, "status") == 0 && !status)
            return cli_usage("case", usage_line);
    } else if (strcmp(action, "list") == 0) {
        if (person && !id_arg("case", "--person", person, &person_id))
            return 2;
    } else {
        return cli_usage("case", usage_line);
    }
    avrr_actor actor;
    avrr_service *svc = open_as("case", &c, &actor);
    if (!svc)
        return 1;
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = AVRR_OK;
    avrr_case cs = {0};
    if (strcmp(action, "open") == 0) {
        /* The same decoding as the HTTP API, so options and JSON agree. */
        json_object *o = json_object_new_object();
        if (!o) {
            err = avrr_error_set(&e, AVRR_ENOMEM, NULL, NULL);
        } else {
            json_object_object_add(o, "person_id", json_object_new_int64(person_id));
            json_object_object_add(o, "destination_country", json_object_new_string(dest));
            json_object_object_add(o, "return_type", json_object_new_string(rtype));
            if (programme)
                json_object_object_add(o, "programme", json_object_new_string(programme));
            err = avrr_codec_case_from_json(o, &cs, &e);
            json_object_put(o);
        }
        if (err == AVRR_OK)
            err = avrr_service_case_open(svc, &actor, &cs, &e);
        if (err == AVRR_OK)
            print_json(avrr_codec_case_to_json(&cs));
    } else if (strcmp(action, "status") == 0) {
        err = avrr_service_case_set_status(svc, &actor, id, status, &cs, &e);
        if (err == AVRR_OK)
            print_json(avrr_codec_case_to_json(&cs));
    } else if (strcmp(action, "show") == 0) {
        err = avrr_service_case_get(svc, &actor, id, &cs, &e);
        if (err == AVRR_OK)
            print_json(avrr_codec_case_to_json(&cs));
    } else {
        avrr_case *list = NULL;
        size_t n = 0;
        int64_t next = 0;
        avrr_page page = {0, AVRR_PAGE_MAX};
        err = avrr_service_case_list(svc, &actor, person_id, page, &list, &n, &next, &e);
        for (size_t i = 0; err == AVRR_OK && i < n; i++)
            print_json(avrr_codec_case_to_json(&list[i]));
        avrr_service_free_cases(list, n);
    }
    avrr_case_clear(&cs);
    if (err != AVRR_OK)
        cli_error("case", &e);
    avrr_service_close(svc);
    return err == AVRR_OK ? 0 : 1;
}

/* ---- assistance --------------------------------------------------------------- */

int avrr_cli_assistance(int argc, char **argv)
{
    static const char *usage_line =
        "avrr assistance add|list --db FILE --tenant CODE --case N [options]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'},
                                         {"case", required_argument, 0, 'c'},
                                         {"kind", required_argument, 0, 'k'},
                                         {"amount-cents", required_argument, 0, 'a'},
                                         {"cash", no_argument, 0, 'C'},
                                         {"provider", required_argument, 0, 'p'},
                                         {"funding", required_argument, 0, 'f'},
                                         {"granted-on", required_argument, 0, 'g'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    if (argc < 2)
        return cli_usage("assistance", usage_line);
    const char *action = argv[1];
    common c = {0};
    const char *cases = NULL, *kind = NULL, *amount = "0", *provider = NULL, *funding = NULL,
               *granted = NULL;
    bool cash = false;
    int ch;
    optind = 1;
    if (action[0] == '-')
        action = ""; /* options straight away: only --help makes sense */
    else {
        argc--;
        argv++;
    }
    while ((ch = getopt_long(argc, argv, "d:t:c:k:a:Cp:f:g:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': c.db = optarg; break;
        case 't': c.tenant = optarg; break;
        case 'c': cases = optarg; break;
        case 'k': kind = optarg; break;
        case 'a': amount = optarg; break;
        case 'C': cash = true; break;
        case 'p': provider = optarg; break;
        case 'f': funding = optarg; break;
        case 'g': granted = optarg; break;
        case 'h':
            printf("usage: %s\n\n"
                   "  add  --case N --kind KIND --funding FUND [--amount-cents N] [--cash]\n"
                   "       [--provider NAME] [--granted-on YYYY-MM-DD]   record a grant\n"
                   "  list --case N                                     print the grants\n\n"
                   "KIND: counselling, travel_document, ticket, cash_allowance, post_arrival,\n"
                   "reintegration_in_kind, reintegration_business, reintegration_housing,\n"
                   "reintegration_education, reintegration_medical, reintegration_psychosocial.\n"
                   "FUND: amif, ndici, ipa3, national, frontex.\n", usage_line);
            return 0;
        default: return cli_usage("assistance", usage_line);
        }
    }
    int64_t case_id = 0;
    long amount_cents = 0;
    if (optind != argc || (strcmp(action, "add") && strcmp(action, "list")))
        return cli_usage("assistance", usage_line);
    if (!id_arg("assistance", "--case", cases, &case_id))
        return 2;
    if (strcmp(action, "add") == 0) {
        if (!kind || !funding)
            return cli_usage("assistance", usage_line);
        if (!cli_parse_long("assistance", "--amount-cents", amount, 0, 100000000L, &amount_cents))
            return 2;
    }
    avrr_actor actor;
    avrr_service *svc = open_as("assistance", &c, &actor);
    if (!svc)
        return 1;
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = AVRR_OK;
    if (strcmp(action, "add") == 0) {
        avrr_assistance a = {0};
        json_object *o = json_object_new_object();
        if (!o) {
            err = avrr_error_set(&e, AVRR_ENOMEM, NULL, NULL);
        } else {
            json_object_object_add(o, "kind", json_object_new_string(kind));
            json_object_object_add(o, "amount_cents", json_object_new_int64(amount_cents));
            json_object_object_add(o, "cash", json_object_new_boolean(cash));
            json_object_object_add(o, "funding", json_object_new_string(funding));
            if (provider)
                json_object_object_add(o, "provider", json_object_new_string(provider));
            if (granted)
                json_object_object_add(o, "granted_on", json_object_new_string(granted));
            err = avrr_codec_assistance_from_json(o, &a, &e);
            json_object_put(o);
        }
        if (err == AVRR_OK)
            err = avrr_service_assistance_add(svc, &actor, case_id, &a, NULL, &e);
        if (err == AVRR_OK)
            print_json(avrr_codec_assistance_to_json(&a));
        avrr_assistance_clear(&a);
    } else {
        avrr_assistance *list = NULL;
        size_t n = 0;
        err = avrr_service_assistance_list(svc, &actor, case_id, &list, &n, &e);
        for (size_t i = 0; err == AVRR_OK && i < n; i++)
            print_json(avrr_codec_assistance_to_json(&list[i]));
        avrr_service_free_assistance(list, n);
    }
    if (err != AVRR_OK)
        cli_error("assistance", &e);
    avrr_service_close(svc);
    return err == AVRR_OK ? 0 : 1;
}

/* ---- check -------------------------------------------------------------------- */

int avrr_cli_check(int argc, char **argv)
{
    static const char *usage_line =
        "avrr check --db FILE --tenant CODE [--pseudonym-key FILE] REQUEST-JSON|-";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'},
                                         {"pseudonym-key", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    common c = {0};
    const char *pseudonym_key = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:t:p:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': c.db = optarg; break;
        case 't': c.tenant = optarg; break;
        case 'p': pseudonym_key = optarg; break;
        case 'h':
            printf("usage: %s\n\n"
                   "Consults the whole registry for a person, as POST /v1/checks does, and\n"
                   "prints the hits as JSON. The request is a file (or - for stdin):\n"
                   "  {\"purpose\": \"assistance_decision\", \"identity\": {...},\n"
                   "   \"aliases\": [{...}], \"person_id\": N}\n"
                   "Purposes: assistance_decision, return_counselling, identity_verification,\n"
                   "case_review. Hits on other tenants carry no personal details; the check\n"
                   "is recorded and opens yellow links like one made through the API.\n\n"
                   "  --pseudonym-key FILE  match as a server in pseudonymised mode does\n"
                   "                        (pseudonym_key_file): the index holds only keyed\n"
                   "                        encodings, and the request may give\n"
                   "                        \"encoded_identity\" (from avrr encode) instead\n"
                   "                        of \"identity\"\n",
                   usage_line);
            return 0;
        default: return cli_usage("check", usage_line);
        }
    }
    if (optind != argc - 1)
        return cli_usage("check", usage_line);
    json_object *in = NULL;
    if (read_json_file("check", argv[optind], &in) != 0)
        return 1;
    avrr_actor actor;
    avrr_service *svc = open_as("check", &c, &actor);
    if (!svc) {
        json_object_put(in);
        return 1;
    }
    avrr_check_request req = {0};
    avrr_check_result res = {0};
    avrr_error e;
    avrr_error_clear(&e);
    req.request_json = json_object_to_json_string_ext(in, JSON_C_TO_STRING_PLAIN);
    avrr_err err = pseudonym_key ? avrr_service_set_pseudonymised(svc, pseudonym_key, &e)
                                 : AVRR_OK;
    if (err == AVRR_OK)
        err = avrr_codec_check_request_from_json(in, &req, &e);
    if (err == AVRR_OK)
        err = avrr_service_check(svc, &actor, &req, &res, &e);
    if (err == AVRR_OK)
        print_json(avrr_codec_check_result_to_json(&res));
    else
        cli_error("check", &e);
    avrr_check_result_clear(&res);
    avrr_codec_check_request_clear(&req);
    json_object_put(in);
    avrr_service_close(svc);
    return err == AVRR_OK ? 0 : 1;
}

/* ---- statistics ------------------------------------------------------------------ */

int avrr_cli_stats(int argc, char **argv)
{
    static const char *usage_line =
        "avrr stats --db FILE --tenant CODE [--role statistician|caseworker] [--by DIM]\n"
        "       [--from YYYY-MM] [--to YYYY-MM] [--csv]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'},
                                         {"role", required_argument, 0, 'r'},
                                         {"by", required_argument, 0, 'b'},
                                         {"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 'u'},
                                         {"csv", no_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    common c = {0};
    const char *role = "statistician", *by = "destination", *from = NULL, *to = NULL;
    bool csv = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:t:r:b:f:u:ch", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': c.db = optarg; break;
        case 't': c.tenant = optarg; break;
        case 'r': role = optarg; break;
        case 'b': by = optarg; break;
        case 'f': from = optarg; break;
        case 'u': to = optarg; break;
        case 'c': csv = true; break;
        case 'h':
            printf("usage: %s\n\n"
                   "Counts and sums of returns and assistance by one dimension: tenant,\n"
                   "destination, return_type, kind, funding, month, quarter, or eurostat (the\n"
                   "quarterly table of departures in Eurostat's shape). As a statistician (the\n"
                   "default) every tenant is counted and cells under 5 persons are suppressed;\n"
                   "as a caseworker, only --tenant's own figures, in full.\n", usage_line);
            return 0;
        default: return cli_usage("stats", usage_line);
        }
    }
    if (optind != argc || !c.tenant)
        return cli_usage("stats", usage_line);
    int r = avrr_role_parse(role);
    if (r < 0)
        return cli_fail("stats", "unknown role '%s'", role);
    avrr_service *svc = cli_open("stats", c.db, false);
    if (!svc)
        return 1;
    avrr_actor actor;
    avrr_stats st;
    avrr_error e;
    avrr_error_clear(&e);
    int rc = 1;
    if (avrr_service_local_actor(svc, c.tenant, (avrr_role)r, &actor, &e) != AVRR_OK ||
        avrr_service_stats(svc, &actor, by, from, to, &st, &e) != AVRR_OK) {
        cli_error("stats", &e);
        goto out;
    }
    if (csv) {
        char *text = avrr_codec_stats_to_csv(&st);
        if (text)
            fputs(text, stdout);
        avrr_free(text);
    } else {
        print_json(avrr_codec_stats_to_json(&st));
    }
    avrr_stats_clear(&st);
    rc = 0;
out:
    avrr_service_close(svc);
    return rc;
}
