/* src/core/country.c: ISO 3166-1 country codes.
 *
 * The table holds exactly the 249 officially assigned entries of ISO 3166-1
 * (user-assigned codes such as XK/XKX for Kosovo are deliberately absent:
 * they differ between systems and would not round-trip). It is sorted by
 * alpha-3 for binary search; a second array of indexes sorted by alpha-2
 * serves alpha-2 look-ups. Both orders are checked by tests/unit/test_core.c.
 * Look-ups run per request: they copy at most three letters, upper-case them
 * and do one binary search (8 comparisons), without allocating.
 */
#include <stddef.h>
#include <string.h>

#include "avrr/core.h"

typedef struct country {
    char alpha3[4];
    char alpha2[3];
    const char *name; /* English short name, UTF-8 */
} country;

/* Sorted by alpha3 (strcmp order). */
static const country countries[] = {
    {"ABW", "AW", "Aruba"},
    {"AFG", "AF", "Afghanistan"},
    {"AGO", "AO", "Angola"},
    {"AIA", "AI", "Anguilla"},
    {"ALA", "AX", "Åland Islands"},
    {"ALB", "AL", "Albania"},
    {"AND", "AD", "Andorra"},
    {"ARE", "AE", "United Arab Emirates"},
    {"ARG", "AR", "Argentina"},
    {"ARM", "AM", "Armenia"},
    {"ASM", "AS", "American Samoa"},
    {"ATA", "AQ", "Antarctica"},
    {"ATF", "TF", "French Southern Territories"},
    {"ATG", "AG", "Antigua and Barbuda"},
    {"AUS", "AU", "Australia"},
    {"AUT", "AT", "Austria"},
    {"AZE", "AZ", "Azerbaijan"},
    {"BDI", "BI", "Burundi"},
    {"BEL", "BE", "Belgium"},
    {"BEN", "BJ", "Benin"},
    {"BES", "BQ", "Bonaire, Sint Eustatius and Saba"},
    {"BFA", "BF", "Burkina Faso"},
    {"BGD", "BD", "Bangladesh"},
    {"BGR", "BG", "Bulgaria"},
    {"BHR", "BH", "Bahrain"},
    {"BHS", "BS", "Bahamas"},
    {"BIH", "BA", "Bosnia and Herzegovina"},
    {"BLM", "BL", "Saint Barthélemy"},
    {"BLR", "BY", "Belarus"},
    {"BLZ", "BZ", "Belize"},
    {"BMU", "BM", "Bermuda"},
    {"BOL", "BO", "Bolivia, Plurinational State of"},
    {"BRA", "BR", "Brazil"},
    {"BRB", "BB", "Barbados"},
    {"BRN", "BN", "Brunei Darussalam"},
    {"BTN", "BT", "Bhutan"},
    {"BVT", "BV", "Bouvet Island"},
    {"BWA", "BW", "Botswana"},
    {"CAF", "CF", "Central African Republic"},
    {"CAN", "CA", "Canada"},
    {"CCK", "CC", "Cocos (Keeling) Islands"},
    {"CHE", "CH", "Switzerland"},
    {"CHL", "CL", "Chile"},
    {"CHN", "CN", "China"},
    {"CIV", "CI", "Côte d'Ivoire"},
    {"CMR", "CM", "Cameroon"},
    {"COD", "CD", "Congo, The Democratic Republic of the"},
    {"COG", "CG", "Congo"},
    {"COK", "CK", "Cook Islands"},
    {"COL", "CO", "Colombia"},
    {"COM", "KM", "Comoros"},
    {"CPV", "CV", "Cabo Verde"},
    {"CRI", "CR", "Costa Rica"},
    {"CUB", "CU", "Cuba"},
    {"CUW", "CW", "Curaçao"},
    {"CXR", "CX", "Christmas Island"},
    {"CYM", "KY", "Cayman Islands"},
    {"CYP", "CY", "Cyprus"},
    {"CZE", "CZ", "Czechia"},
    {"DEU", "DE", "Germany"},
    {"DJI", "DJ", "Djibouti"},
    {"DMA", "DM", "Dominica"},
    {"DNK", "DK", "Denmark"},
    {"DOM", "DO", "Dominican Republic"},
    {"DZA", "DZ", "Algeria"},
    {"ECU", "EC", "Ecuador"},
    {"EGY", "EG", "Egypt"},
    {"ERI", "ER", "Eritrea"},
    {"ESH", "EH", "Western Sahara"},
    {"ESP", "ES", "Spain"},
    {"EST", "EE", "Estonia"},
    {"ETH", "ET", "Ethiopia"},
    {"FIN", "FI", "Finland"},
    {"FJI", "FJ", "Fiji"},
    {"FLK", "FK", "Falkland Islands (Malvinas)"},
    {"FRA", "FR", "France"},
    {"FRO", "FO", "Faroe Islands"},
    {"FSM", "FM", "Micronesia, Federated States of"},
    {"GAB", "GA", "Gabon"},
    {"GBR", "GB", "United Kingdom"},
    {"GEO", "GE", "Georgia"},
    {"GGY", "GG", "Guernsey"},
    {"GHA", "GH", "Ghana"},
    {"GIB", "GI", "Gibraltar"},
    {"GIN", "GN", "Guinea"},
    {"GLP", "GP", "Guadeloupe"},
    {"GMB", "GM", "Gambia"},
    {"GNB", "GW", "Guinea-Bissau"},
    {"GNQ", "GQ", "Equatorial Guinea"},
    {"GRC", "GR", "Greece"},
    {"GRD", "GD", "Grenada"},
    {"GRL", "GL", "Greenland"},
    {"GTM", "GT", "Guatemala"},
    {"GUF", "GF", "French Guiana"},
    {"GUM", "GU", "Guam"},
    {"GUY", "GY", "Guyana"},
    {"HKG", "HK", "Hong Kong"},
    {"HMD", "HM", "Heard Island and McDonald Islands"},
    {"HND", "HN", "Honduras"},
    {"HRV", "HR", "Croatia"},
    {"HTI", "HT", "Haiti"},
    {"HUN", "HU", "Hungary"},
    {"IDN", "ID", "Indonesia"},
    {"IMN", "IM", "Isle of Man"},
    {"IND", "IN", "India"},
    {"IOT", "IO", "British Indian Ocean Territory"},
    {"IRL", "IE", "Ireland"},
    {"IRN", "IR", "Iran, Islamic Republic of"},
    {"IRQ", "IQ", "Iraq"},
    {"ISL", "IS", "Iceland"},
    {"ISR", "IL", "Israel"},
    {"ITA", "IT", "Italy"},
    {"JAM", "JM", "Jamaica"},
    {"JEY", "JE", "Jersey"},
    {"JOR", "JO", "Jordan"},
    {"JPN", "JP", "Japan"},
    {"KAZ", "KZ", "Kazakhstan"},
    {"KEN", "KE", "Kenya"},
    {"KGZ", "KG", "Kyrgyzstan"},
    {"KHM", "KH", "Cambodia"},
    {"KIR", "KI", "Kiribati"},
    {"KNA", "KN", "Saint Kitts and Nevis"},
    {"KOR", "KR", "Korea, Republic of"},
    {"KWT", "KW", "Kuwait"},
    {"LAO", "LA", "Lao People's Democratic Republic"},
    {"LBN", "LB", "Lebanon"},
    {"LBR", "LR", "Liberia"},
    {"LBY", "LY", "Libya"},
    {"LCA", "LC", "Saint Lucia"},
    {"LIE", "LI", "Liechtenstein"},
    {"LKA", "LK", "Sri Lanka"},
    {"LSO", "LS", "Lesotho"},
    {"LTU", "LT", "Lithuania"},
    {"LUX", "LU", "Luxembourg"},
    {"LVA", "LV", "Latvia"},
    {"MAC", "MO", "Macao"},
    {"MAF", "MF", "Saint Martin (French part)"},
    {"MAR", "MA", "Morocco"},
    {"MCO", "MC", "Monaco"},
    {"MDA", "MD", "Moldova, Republic of"},
    {"MDG", "MG", "Madagascar"},
    {"MDV", "MV", "Maldives"},
    {"MEX", "MX", "Mexico"},
    {"MHL", "MH", "Marshall Islands"},
    {"MKD", "MK", "North Macedonia"},
    {"MLI", "ML", "Mali"},
    {"MLT", "MT", "Malta"},
    {"MMR", "MM", "Myanmar"},
    {"MNE", "ME", "Montenegro"},
    {"MNG", "MN", "Mongolia"},
    {"MNP", "MP", "Northern Mariana Islands"},
    {"MOZ", "MZ", "Mozambique"},
    {"MRT", "MR", "Mauritania"},
    {"MSR", "MS", "Montserrat"},
    {"MTQ", "MQ", "Martinique"},
    {"MUS", "MU", "Mauritius"},
    {"MWI", "MW", "Malawi"},
    {"MYS", "MY", "Malaysia"},
    {"MYT", "YT", "Mayotte"},
    {"NAM", "NA", "Namibia"},
    {"NCL", "NC", "New Caledonia"},
    {"NER", "NE", "Niger"},
    {"NFK", "NF", "Norfolk Island"},
    {"NGA", "NG", "Nigeria"},
    {"NIC", "NI", "Nicaragua"},
    {"NIU", "NU", "Niue"},
    {"NLD", "NL", "Netherlands"},
    {"NOR", "NO", "Norway"},
    {"NPL", "NP", "Nepal"},
    {"NRU", "NR", "Nauru"},
    {"NZL", "NZ", "New Zealand"},
    {"OMN", "OM", "Oman"},
    {"PAK", "PK", "Pakistan"},
    {"PAN", "PA", "Panama"},
    {"PCN", "PN", "Pitcairn"},
    {"PER", "PE", "Peru"},
    {"PHL", "PH", "Philippines"},
    {"PLW", "PW", "Palau"},
    {"PNG", "PG", "Papua New Guinea"},
    {"POL", "PL", "Poland"},
    {"PRI", "PR", "Puerto Rico"},
    {"PRK", "KP", "Korea, Democratic People's Republic of"},
    {"PRT", "PT", "Portugal"},
    {"PRY", "PY", "Paraguay"},
    {"PSE", "PS", "Palestine, State of"},
    {"PYF", "PF", "French Polynesia"},
    {"QAT", "QA", "Qatar"},
    {"REU", "RE", "Réunion"},
    {"ROU", "RO", "Romania"},
    {"RUS", "RU", "Russian Federation"},
    {"RWA", "RW", "Rwanda"},
    {"SAU", "SA", "Saudi Arabia"},
    {"SDN", "SD", "Sudan"},
    {"SEN", "SN", "Senegal"},
    {"SGP", "SG", "Singapore"},
    {"SGS", "GS", "South Georgia and the South Sandwich Islands"},
    {"SHN", "SH", "Saint Helena, Ascension and Tristan da Cunha"},
    {"SJM", "SJ", "Svalbard and Jan Mayen"},
    {"SLB", "SB", "Solomon Islands"},
    {"SLE", "SL", "Sierra Leone"},
    {"SLV", "SV", "El Salvador"},
    {"SMR", "SM", "San Marino"},
    {"SOM", "SO", "Somalia"},
    {"SPM", "PM", "Saint Pierre and Miquelon"},
    {"SRB", "RS", "Serbia"},
    {"SSD", "SS", "South Sudan"},
    {"STP", "ST", "Sao Tome and Principe"},
    {"SUR", "SR", "Suriname"},
    {"SVK", "SK", "Slovakia"},
    {"SVN", "SI", "Slovenia"},
    {"SWE", "SE", "Sweden"},
    {"SWZ", "SZ", "Eswatini"},
    {"SXM", "SX", "Sint Maarten (Dutch part)"},
    {"SYC", "SC", "Seychelles"},
    {"SYR", "SY", "Syrian Arab Republic"},
    {"TCA", "TC", "Turks and Caicos Islands"},
    {"TCD", "TD", "Chad"},
    {"TGO", "TG", "Togo"},
    {"THA", "TH", "Thailand"},
    {"TJK", "TJ", "Tajikistan"},
    {"TKL", "TK", "Tokelau"},
    {"TKM", "TM", "Turkmenistan"},
    {"TLS", "TL", "Timor-Leste"},
    {"TON", "TO", "Tonga"},
    {"TTO", "TT", "Trinidad and Tobago"},
    {"TUN", "TN", "Tunisia"},
    {"TUR", "TR", "Türkiye"},
    {"TUV", "TV", "Tuvalu"},
    {"TWN", "TW", "Taiwan, Province of China"},
    {"TZA", "TZ", "Tanzania, United Republic of"},
    {"UGA", "UG", "Uganda"},
    {"UKR", "UA", "Ukraine"},
    {"UMI", "UM", "United States Minor Outlying Islands"},
    {"URY", "UY", "Uruguay"},
    {"USA", "US", "United States"},
    {"UZB", "UZ", "Uzbekistan"},
    {"VAT", "VA", "Holy See (Vatican City State)"},
    {"VCT", "VC", "Saint Vincent and the Grenadines"},
    {"VEN", "VE", "Venezuela, Bolivarian Republic of"},
    {"VGB", "VG", "Virgin Islands, British"},
    {"VIR", "VI", "Virgin Islands, U.S."},
    {"VNM", "VN", "Viet Nam"},
    {"VUT", "VU", "Vanuatu"},
    {"WLF", "WF", "Wallis and Futuna"},
    {"WSM", "WS", "Samoa"},
    {"YEM", "YE", "Yemen"},
    {"ZAF", "ZA", "South Africa"},
    {"ZMB", "ZM", "Zambia"},
    {"ZWE", "ZW", "Zimbabwe"},
};

#define N_COUNTRIES (sizeof countries / sizeof countries[0])

/* Indexes into countries[], sorted by alpha2. */
static const unsigned char by_alpha2[] = {
    6, 7, 1, 13, 3, 5, 9, 2, 11, 8, 10, 15, 14, 0, 4, 16, 26, 33, 22, 18, 21,
    23, 24, 17, 19, 27, 30, 34, 31, 20, 32, 25, 35, 36, 37, 28, 29, 39, 40,
    46, 38, 47, 41, 44, 48, 42, 45, 43, 49, 52, 53, 51, 54, 55, 57, 58, 59,
    60, 62, 61, 63, 64, 65, 70, 66, 68, 67, 69, 71, 72, 73, 74, 77, 76, 75,
    78, 79, 90, 80, 93, 81, 82, 83, 91, 86, 84, 85, 88, 89, 195, 92, 94, 87,
    95, 96, 97, 98, 99, 100, 101, 102, 106, 110, 103, 104, 105, 108, 107, 109,
    111, 113, 112, 114, 115, 117, 118, 119, 120, 50, 121, 181, 122, 123, 56,
    116, 124, 125, 128, 129, 130, 126, 131, 132, 133, 134, 127, 137, 138, 139,
    148, 136, 140, 143, 144, 145, 147, 149, 135, 150, 154, 152, 153, 146, 155,
    141, 156, 142, 157, 151, 159, 160, 161, 162, 163, 164, 166, 167, 168, 169,
    165, 170, 171, 173, 175, 185, 178, 176, 172, 179, 203, 174, 180, 184, 182,
    177, 183, 186, 187, 188, 204, 189, 190, 191, 198, 213, 192, 210, 194, 196,
    209, 197, 208, 199, 201, 193, 202, 207, 205, 206, 200, 212, 214, 211, 215,
    216, 12, 217, 218, 219, 220, 222, 221, 225, 223, 226, 224, 227, 228, 229,
    231, 230, 232, 234, 233, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244,
    245, 158, 246, 247, 248,
};

_Static_assert(N_COUNTRIES == 249, "ISO 3166-1 has 249 assigned entries");
_Static_assert(sizeof by_alpha2 == N_COUNTRIES, "one alpha-2 index per entry");

/* Copies code into key upper-cased when it is 2 or 3 ASCII letters; returns
 * the length, or 0 when code cannot be a country code. */
static size_t normalise(const char *code, char key[static 4])
{
    size_t n = 0;
    if (code == NULL)
        return 0;
    for (; code[n] != '\0'; n++) {
        char ch = code[n];
        if (n == 3)
            return 0;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        else if (ch < 'A' || ch > 'Z')
            return 0;
        key[n] = ch;
    }
    key[n] = '\0';
    return (n == 2 || n == 3) ? n : 0;
}

static const country *find(const char *code)
{
    char key[4];
    size_t n = normalise(code, key);
    size_t lo = 0, hi = N_COUNTRIES;

    if (n == 0)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const country *c =
            n == 3 ? &countries[mid] : &countries[by_alpha2[mid]];
        int cmp = strcmp(key, n == 3 ? c->alpha3 : c->alpha2);
        if (cmp == 0)
            return c;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *avrr_country_alpha3(const char *code)
{
    const country *c = find(code);
    return c != NULL ? c->alpha3 : NULL;
}

const char *avrr_country_alpha2(const char *code)
{
    const country *c = find(code);
    return c != NULL ? c->alpha2 : NULL;
}

const char *avrr_country_name(const char *code)
{
    const country *c = find(code);
    return c != NULL ? c->name : NULL;
}

size_t avrr_country_count(void)
{
    return N_COUNTRIES;
}
