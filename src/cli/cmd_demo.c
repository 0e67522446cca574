/* cmd_demo.c: `avrr demo`: a registry to try avrr with, in one command.
 *
 * Makes tenants NL, BE, DE and IOM-NL, one API key per tenant (printed), and
 * a few hundred invented returnees from the main origin groups of voluntary
 * return, with aliases, cases and assistance. About one person in five is
 * registered by a second state under another romanisation of the same name
 * and often a placeholder birth date: the double support the registry
 * exists to detect. All names are invented combinations of common names. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/util.h"

/* A name with its common romanisations; index 0 is the usual English one. */
typedef struct variants {
    const char *v[4];
} variants;

typedef struct origin {
    const char *country; /* alpha-3 */
    const char *place;
    variants male[6];
    variants female[4];
    variants family[6];
} origin;

static const origin origins[] = {
    {"MAR", "Casablanca",
     {{{"Mohammed", "Muhammad", "Mohamed", "Mouhamed"}}, {{"Youssef", "Yusuf", "Joessef", "Youcef"}},
      {{"Abderrahmane", "Abdul Rahman", "Abd al-Rahman", "Abdelrahman"}}, {{"Hamza", "Hamsa", "Hamza", "Hamzah"}},
      {{"Rachid", "Rashid", "Rasjid", "Rachid"}}, {{"Karim", "Kareem", "Kerim", "Karim"}}},
     {{{"Fatima", "Fatma", "Fatiha", "Fadma"}}, {{"Khadija", "Khadidja", "Chadia", "Kadija"}},
      {{"Amina", "Ameena", "Amina", "Aminah"}}, {{"Naima", "Naeema", "Naïma", "Naima"}}},
     {{{"El Amrani", "Elamrani", "Al-Amrani", "Amrani"}}, {{"Benali", "Ben Ali", "Bin Ali", "Benali"}},
      {{"El Idrissi", "Idrissi", "Al Idrisi", "Elidrissi"}}, {{"Bouzid", "Bouzied", "Bu Zaid", "Bouzid"}},
      {{"Ouali", "Wali", "Ouali", "Oualy"}}, {{"Tahiri", "Tahiry", "Taheri", "Tahiri"}}}},
    {"AFG", "Herat",
     {{{"Ahmad", "Ahmed", "Achmad", "Ahmet"}}, {{"Mohammad", "Mohammed", "Muhammad", "Mohamad"}},
      {{"Abdul Qadir", "Abdulkadir", "Abdul Kader", "Abdelkader"}}, {{"Najibullah", "Najibulla", "Nadjibullah", "Najeebullah"}},
      {{"Hamid", "Hameed", "Hamed", "Hamid"}}, {{"Farid", "Fareed", "Ferid", "Farid"}}},
     {{{"Zahra", "Zahraa", "Sahra", "Zohra"}}, {{"Maryam", "Mariam", "Meryem", "Maryam"}},
      {{"Fereshta", "Fereshteh", "Freshta", "Fereshta"}}, {{"Shabnam", "Schabnam", "Shabnum", "Shabnam"}}},
     {{{"Ahmadzai", "Ahmadzay", "Ahmedzai", "Ahmadzai"}}, {{"Popal", "Popalzai", "Popal", "Popall"}},
      {{"Rahimi", "Rahimy", "Rahimi", "Raheemi"}}, {{"Hashimi", "Hashemi", "Haschemi", "Hashimy"}},
      {{"Karimi", "Karimy", "Kareemi", "Karimi"}}, {{"Sultani", "Soltani", "Sultany", "Sultani"}}}},
    {"IRQ", "Mosul",
     {{{"Ali", "Aly", "Ali", "Alee"}}, {{"Hussein", "Husain", "Hossein", "Hüseyin"}},
      {{"Omar", "Umar", "Omer", "Omar"}}, {{"Mustafa", "Moustafa", "Mostafa", "Mustapha"}},
      {{"Khalid", "Khaled", "Chalid", "Halid"}}, {{"Abbas", "Abas", "Abbas", "Abbass"}}},
     {{{"Noor", "Nour", "Nur", "Noer"}}, {{"Zainab", "Zaynab", "Zeinab", "Zainab"}},
      {{"Huda", "Hoda", "Houda", "Huda"}}, {{"Layla", "Leila", "Laila", "Leyla"}}},
     {{{"Al-Jubouri", "Aljuboori", "Al Jaburi", "Jubouri"}}, {{"Al-Obeidi", "Al Ubaydi", "Alobaidi", "Obeidi"}},
      {{"Hassan", "Hasan", "Hassan", "Hassen"}}, {{"Al-Tamimi", "Tamimi", "Al Tamimy", "Altamimi"}},
      {{"Kareem", "Karim", "Kerim", "Kareem"}}, {{"Saleh", "Salih", "Saleh", "Salah"}}}},
    {"ERI", "Asmara",
     {{{"Tesfamariam", "Tesfa Mariam", "Tesfamaryam", "Tesfamariam"}}, {{"Yohannes", "Johannes", "Yohanes", "Yohannis"}},
      {{"Mehari", "Mehary", "Meheri", "Mehari"}}, {{"Berhane", "Berhan", "Birhane", "Berhane"}},
      {{"Kidane", "Kidan", "Kidane", "Keedane"}}, {{"Dawit", "Dawitt", "Dawid", "Dawit"}}},
     {{{"Selam", "Salam", "Selamawit", "Selam"}}, {{"Helen", "Hellen", "Helina", "Helen"}},
      {{"Saba", "Sabah", "Saba", "Sabaa"}}, {{"Senait", "Senayt", "Sennait", "Senait"}}},
     {{{"Ghebremedhin", "Gebremedhin", "Ghebre Medhin", "Gebremedin"}}, {{"Haile", "Hayle", "Haile", "Haylay"}},
      {{"Tekle", "Tekleh", "Tecle", "Tekle"}}, {{"Woldu", "Weldu", "Woldu", "Wolde"}},
      {{"Habte", "Habtay", "Habte", "Hapte"}}, {{"Asfaha", "Asfaha", "Asfeha", "Asfaha"}}}},
    {"GEO", "Kutaisi",
     {{{"Giorgi", "Georgi", "Giorgio", "Gogi"}}, {{"Levan", "Lewan", "Levani", "Levan"}},
      {{"Davit", "David", "Dawit", "Datvi"}}, {{"Irakli", "Irakly", "Iraklii", "Irakli"}},
      {{"Nikoloz", "Nikolos", "Nika", "Nikoloz"}}, {{"Zurab", "Surab", "Zurabi", "Zurab"}}},
     {{{"Nino", "Nina", "Nino", "Ninno"}}, {{"Tamar", "Tamara", "Tamari", "Tamar"}},
      {{"Mariam", "Maryam", "Mariami", "Mariam"}}, {{"Ketevan", "Keti", "Ketewan", "Ketevan"}}},
     {{{"Beridze", "Beridse", "Beridze", "Beridzé"}}, {{"Kapanadze", "Kapanadse", "Kapanadze", "Kapanadzé"}},
      {{"Gelashvili", "Gelaschwili", "Gelashvily", "Gelashvili"}}, {{"Maisuradze", "Maisuradse", "Maisuradze", "Maisouradze"}},
      {{"Lomidze", "Lomidse", "Lomidze", "Lomidzé"}}, {{"Tsiklauri", "Ziklauri", "Tsiklaury", "Tsiklauri"}}}},
    {"UKR", "Kharkiv",
     {{{"Oleksandr", "Aleksandr", "Alexander", "Oleksander"}}, {{"Serhiy", "Sergei", "Sergiy", "Serhii"}},
      {{"Andriy", "Andrei", "Andrii", "Andrey"}}, {{"Mykola", "Nikolai", "Mikola", "Nikolay"}},
      {{"Volodymyr", "Vladimir", "Wolodymyr", "Volodimir"}}, {{"Yuriy", "Yuri", "Jurij", "Iurii"}}},
     {{{"Olena", "Elena", "Olena", "Helena"}}, {{"Natalia", "Nataliya", "Natalja", "Natalya"}},
      {{"Iryna", "Irina", "Iryna", "Irena"}}, {{"Tetiana", "Tatiana", "Tetyana", "Tatjana"}}},
     {{{"Shevchenko", "Schewtschenko", "Chevtchenko", "Shevchenko"}}, {{"Kovalenko", "Kowalenko", "Kovalenko", "Covalenco"}},
      {{"Bondarenko", "Bondarenko", "Bondarenco", "Bondarenko"}}, {{"Tkachenko", "Tkatschenko", "Tkachenko", "Tcacenco"}},
      {{"Kravchenko", "Krawtschenko", "Kravtchenko", "Kravchenko"}}, {{"Melnyk", "Melnik", "Mel'nyk", "Melnyk"}}}},
    {"NGA", "Lagos",
     {{{"Chukwuemeka", "Chukwuemeka", "Chukwu Emeka", "Chukwuemeke"}}, {{"Oluwaseun", "Oluseun", "Seun", "Oluwasheun"}},
      {{"Ibrahim", "Ibrahima", "Ebrahim", "Ibrahim"}}, {{"Emeka", "Emeke", "Emeka", "Emekah"}},
      {{"Tunde", "Babatunde", "Tunde", "Tundé"}}, {{"Musa", "Moussa", "Mousa", "Musa"}}},
     {{{"Ngozi", "Ngozie", "Ngozi", "Ngozy"}}, {{"Blessing", "Blessing", "Blessin", "Blessing"}},
      {{"Aisha", "Aishat", "Aicha", "Ayesha"}}, {{"Funmilayo", "Funmi", "Funmilola", "Funmilayo"}}},
     {{{"Okafor", "Okafo", "Okafor", "Okafour"}}, {{"Adeyemi", "Adeyemy", "Adeyemi", "Adeyemie"}},
      {{"Okonkwo", "Okonkwo", "Okonkow", "Okonkwoh"}}, {{"Bello", "Belo", "Bello", "Bellow"}},
      {{"Eze", "Ezeh", "Eze", "Ezé"}}, {{"Abubakar", "Aboubakar", "Abu Bakr", "Abubakar"}}}},
};
#define N_ORIGINS (sizeof origins / sizeof origins[0])

static const char *const states[] = {"NL", "BE", "DE"};

/* xorshift64*: a small, seedable generator; the demo must be reproducible. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}
static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }

typedef struct demo_person {
    const origin *o;
    bool female;
    unsigned given, family;
    int year, month, day;
} demo_person;

static void fill_identity(avrr_identity *id, const demo_person *dp, unsigned variant,
                          bool placeholder_date, bool swap_names)
{
    const variants *g = dp->female ? &dp->o->female[dp->given] : &dp->o->male[dp->given];
    const variants *f = &dp->o->family[dp->family];
    const char *given = g->v[variant % 4], *family = f->v[variant % 4];
    id->given_names = avrr_strdup(swap_names ? family : given);
    id->surname = avrr_strdup(swap_names ? given : family);
    id->sex = dp->female ? AVRR_SEX_FEMALE : AVRR_SEX_MALE;
    id->birth_date.year = (int16_t)dp->year;
    if (placeholder_date) {
        id->birth_date.month = 1;
        id->birth_date.day = 1;
        id->birth_date.placeholder = true;
    } else {
        id->birth_date.month = (int8_t)dp->month;
        id->birth_date.day = (int8_t)dp->day;
    }
    id->birth_date.precision = AVRR_DATE_DAY;
    memcpy(id->nationality, dp->o->country, 4);
    id->birth_place = avrr_strdup(dp->o->place);
}

static int add_case(avrr_service *svc, const avrr_actor *a, int64_t person_id,
                    const demo_person *dp, avrr_error *e)
{
    static const avrr_case_status path[] = {AVRR_CASE_COUNSELLED, AVRR_CASE_APPLIED,
                                            AVRR_CASE_APPROVED, AVRR_CASE_DEPARTED,
                                            AVRR_CASE_REINTEGRATING, AVRR_CASE_COMPLETED};
    avrr_case c = {0};
    c.person_id = person_id;
    memcpy(c.destination_country, dp->o->country, 4);
    c.return_type = pick(10) ? AVRR_RETURN_VOLUNTARY : AVRR_RETURN_FORCED;
    c.programme = avrr_strdup(pick(3) ? "national" : "eurp");
    c.opened_on = (avrr_date){.year = (int16_t)(2023 + pick(3)), .month = (int8_t)(1 + pick(12)),
                              .day = (int8_t)(1 + pick(28)), .precision = AVRR_DATE_DAY};
    if (avrr_service_case_open(svc, a, &c, e) != AVRR_OK) {
        avrr_case_clear(&c);
        return -1;
    }
    int64_t case_id = c.id;
    avrr_case_clear(&c);

    struct { avrr_assistance_kind kind; int64_t cents; bool cash; avrr_funding fund; } grants[] = {
        {AVRR_KIND_COUNSELLING, 0, false, AVRR_FUND_NATIONAL},
        {AVRR_KIND_TICKET, 35000 + 1000 * (int64_t)pick(40), false, AVRR_FUND_AMIF},
        {AVRR_KIND_POST_ARRIVAL, 61500, true, AVRR_FUND_AMIF},
        {AVRR_KIND_REINTEGRATION_BUSINESS, 100000 + 10000 * (int64_t)pick(11), false, AVRR_FUND_AMIF},
    };
    unsigned steps = 1 + pick(6), n_grants = steps >= 4 ? 4 : steps;
    for (unsigned i = 0; i < n_grants; i++) {
        avrr_assistance as = {0};
        as.kind = grants[i].kind;
        as.amount_cents = grants[i].cents;
        as.cash = grants[i].cash;
        as.funding = grants[i].fund;
        as.provider = avrr_strdup(i == 3 ? "IOM" : "DT&V");
        as.status = steps > 4 ? AVRR_ASSIST_DELIVERED : AVRR_ASSIST_GRANTED;
        if (as.status == AVRR_ASSIST_DELIVERED)
            as.delivered_on = (avrr_date){.year = 2026, .month = (int8_t)(1 + pick(10)),
                                          .day = (int8_t)(1 + pick(28)),
                                          .precision = AVRR_DATE_DAY};
        as.granted_on = (avrr_date){.year = 2025, .month = (int8_t)(1 + pick(12)),
                                    .day = (int8_t)(1 + pick(28)), .precision = AVRR_DATE_DAY};
        avrr_err err = avrr_service_assistance_add(svc, a, case_id, &as, NULL, e);
        avrr_assistance_clear(&as);
        if (err != AVRR_OK)
            return -1;
    }
    for (unsigned i = 1; i < steps && i < sizeof path / sizeof path[0]; i++) {
        avrr_case moved = {0};
        avrr_err err = avrr_service_case_set_status(svc, a, case_id,
                                                    avrr_case_status_name(path[i]), &moved, e);
        avrr_case_clear(&moved);
        if (err != AVRR_OK)
            return -1;
    }
    return 0;
}

static int register_demo(avrr_service *svc, const avrr_actor *a, const demo_person *dp,
                         unsigned variant, bool second_state, avrr_error *e)
{
    avrr_person p = {0};
    avrr_identity ids[3];
    memset(ids, 0, sizeof ids);
    unsigned n = 1 + (pick(4) == 0) + (pick(8) == 0);
    for (unsigned i = 0; i < n; i++)
        fill_identity(&ids[i], dp, variant + i, second_state ? pick(2) == 0 : i == 2, i == 1);
    p.identities = ids;
    p.n_identities = n;
    int rc = avrr_service_person_register(svc, a, &p, e) == AVRR_OK ? 0 : -1;
    if (rc == 0)
        rc = add_case(svc, a, p.id, dp, e);
    for (unsigned i = 0; i < n; i++)
        avrr_identity_clear(&ids[i]);
    return rc;
}

int avrr_cli_demo(int argc, char **argv)
{
    static const char *usage_line = "avrr demo --db FILE [--persons N] [--seed N]";
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"persons", required_argument, 0, 'n'},
                                         {"seed", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL;
    long persons = 300, seed = 2021120;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:n:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'n':
            if (!cli_parse_long("demo", "--persons", optarg, 1, 1000000, &persons))
                return 2;
            break;
        case 's':
            if (!cli_parse_long("demo", "--seed", optarg, 1, 0x7fffffffL, &seed))
                return 2;
            break;
        case 'h':
            printf("usage: %s\n\nCreates (or adds to) a registry with demo tenants NL, BE, DE and\n"
                   "IOM-NL, prints one new API key per tenant, and registers N invented\n"
                   "returnees (default 300) with aliases, cases and assistance; about one\n"
                   "in five is registered again by a second state under another spelling.\n",
                   usage_line);
            return 0;
        default: return cli_usage("demo", usage_line);
        }
    }
    if (optind != argc)
        return cli_usage("demo", usage_line);
    avrr_service *svc = cli_open("demo", db, true);
    if (!svc)
        return 1;
    rng_state = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 1;
    int rc = 1;
    avrr_error e;
    avrr_error_clear(&e);
    static const struct { const char *code, *name, *role; } tenants[] = {
        {"NL", "Netherlands: Repatriation and Departure Service (DT&V)", "caseworker"},
        {"BE", "Belgium: Fedasil", "caseworker"},
        {"DE", "Germany: BAMF", "caseworker"},
        {"IOM-NL", "IOM Netherlands", "provider"},
    };
    avrr_actor actors[3];
    for (size_t i = 0; i < sizeof tenants / sizeof tenants[0]; i++) {
        char *key = NULL;
        int64_t id;
        avrr_err err = avrr_service_tenant_add(svc, tenants[i].code, tenants[i].name, &e);
        if (err != AVRR_OK && err != AVRR_EEXISTS) {
            cli_error("demo", &e);
            goto out;
        }
        if (avrr_service_key_create(svc, tenants[i].code, tenants[i].role, "demo", &key, &id,
                                    &e) != AVRR_OK) {
            cli_error("demo", &e);
            goto out;
        }
        printf("API key for %-6s (%s): %s\n", tenants[i].code, tenants[i].role, key);
        avrr_free(key);
    }
    for (size_t s = 0; s < 3; s++)
        if (avrr_service_local_actor(svc, states[s], AVRR_ROLE_CASEWORKER, &actors[s], &e) != AVRR_OK) {
            cli_error("demo", &e);
            goto out;
        }
    for (long i = 0; i < persons; i++) {
        demo_person dp = {0};
        dp.o = &origins[pick(N_ORIGINS)];
        dp.female = pick(4) == 0;
        dp.given = pick(dp.female ? 4 : 6);
        dp.family = pick(6);
        dp.year = 1965 + (int)pick(40);
        dp.month = 1 + (int)pick(12);
        dp.day = 1 + (int)pick(28);
        unsigned first = pick(3);
        if (register_demo(svc, &actors[first], &dp, 0, false, &e) != 0) {
            cli_error("demo", &e);
            goto out;
        }
        if (pick(5) == 0) {
            unsigned second = (first + 1 + pick(2)) % 3;
            if (register_demo(svc, &actors[second], &dp, 1 + pick(3), true, &e) != 0) {
                cli_error("demo", &e);
                goto out;
            }
        }
    }
    int64_t n_persons = 0;
    avrr_service_count(svc, "persons", &n_persons, NULL);
    printf("demo registry %s: %lld persons\n", db, (long long)n_persons);
    rc = 0;
out:
    avrr_service_close(svc);
    return rc;
}
