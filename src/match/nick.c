/* nick.c: short forms of given names and the formal name each stands for.
 *
 * A registration takes the name a person gives: Tom, Bill, Sasha, Dima.
 * Spelling similarity cannot see that Bill is William or Dima Dmitri, so a
 * short form carries the name key of its formal name as its alternative key
 * (record.c): it blocks with the formal name and agrees with it like a
 * close spelling (compare.c), never like the same spelling. The list holds
 * the common English diminutives (the public benchmark files are English,
 * Scottish, Australian and American) and those of the origin groups of
 * returnees whose names have them (Russian and Ukrainian diminutives).
 * Short forms that stand for too many names to pick one (Jo, Abdo) or that
 * are names of their own in other languages (Jan, Hamada) are left out.
 * One formal name per short form: where a short form serves several (Alex,
 * Chris), the formal names share their name key (vowels are not part of
 * it: Aleksandr and Aleksandra both key LKSNDR) or the most common is kept.
 * Sorted by short form (bsearch); tests/unit/test_match.c checks the order.
 */
#include <stdlib.h>
#include <string.h>

#include "match_int.h"

static const avrr__nick nicks[] = {
    {"abe", "abraham"},       {"aggie", "agnes"},
    {"alec", "alexander"},    {"alex", "alexander"},
    {"alf", "alfred"},        {"alfie", "alfred"},
    {"andy", "andrew"},       {"annie", "ann"},
    {"archie", "archibald"},  {"art", "arthur"},
    {"bart", "bartholomew"},  {"becky", "rebecca"},
    {"ben", "benjamin"},      {"bert", "albert"},
    {"bertie", "albert"},     {"bess", "elizabeth"},
    {"bessie", "elizabeth"},  {"beth", "elizabeth"},
    {"betsy", "elizabeth"},   {"betty", "elizabeth"},
    {"bill", "william"},      {"billy", "william"},
    {"bob", "robert"},        {"bobby", "robert"},
    {"charlie", "charles"},   {"chas", "charles"},
    {"chris", "christopher"}, {"chuck", "charles"},
    {"dan", "daniel"},        {"danny", "daniel"},
    {"dave", "david"},        {"davy", "david"},
    {"dick", "richard"},      {"dima", "dmitri"},
    {"dolly", "dorothy"},     {"don", "donald"},
    {"dora", "dorothy"},      {"dot", "dorothy"},
    {"ed", "edward"},         {"eddie", "edward"},
    {"eddy", "edward"},       {"ellie", "eleanor"},
    {"fanny", "frances"},     {"fred", "frederick"},
    {"freddie", "frederick"}, {"freddy", "frederick"},
    {"gabe", "gabriel"},      {"gene", "eugene"},
    {"geo", "george"},        {"geoff", "geoffrey"},
    {"gerry", "gerald"},      {"gus", "augustus"},
    {"hal", "henry"},         {"hank", "henry"},
    {"harry", "henry"},       {"hattie", "harriet"},
    {"herb", "herbert"},      {"ike", "isaac"},
    {"izzy", "isabella"},     {"jack", "john"},
    {"jake", "jacob"},        {"jamie", "james"},
    {"jeff", "jeffrey"},      {"jem", "james"},
    {"jennie", "jane"},       {"jenny", "jennifer"},
    {"jerry", "gerald"},      {"jim", "james"},
    {"jimmy", "james"},       {"joe", "joseph"},
    {"joey", "joseph"},       {"johnny", "john"},
    {"jon", "jonathan"},      {"josh", "joshua"},
    {"kate", "katherine"},    {"katie", "katherine"},
    {"katya", "ekaterina"},   {"kitty", "katherine"},
    {"kolya", "nikolai"},     {"larry", "lawrence"},
    {"len", "leonard"},       {"lena", "elena"},
    {"lenny", "leonard"},     {"lew", "lewis"},
    {"libby", "elizabeth"},   {"lizzie", "elizabeth"},
    {"lizzy", "elizabeth"},   {"lou", "louis"},
    {"maggie", "margaret"},   {"marge", "margaret"},
    {"masha", "maria"},       {"mat", "matthew"},
    {"matt", "matthew"},      {"meg", "margaret"},
    {"mick", "michael"},      {"mickey", "michael"},
    {"mike", "michael"},      {"milly", "mildred"},
    {"misha", "mikhail"},     {"molly", "mary"},
    {"nancy", "ann"},         {"nastya", "anastasia"},
    {"nat", "nathaniel"},     {"natasha", "natalia"},
    {"ned", "edward"},        {"nell", "eleanor"},
    {"nellie", "eleanor"},    {"nick", "nicholas"},
    {"nico", "nikola"},       {"ollie", "oliver"},
    {"olya", "olga"},         {"pat", "patrick"},
    {"patsy", "patricia"},    {"peg", "margaret"},
    {"peggy", "margaret"},    {"pete", "peter"},
    {"phil", "philip"},       {"polly", "mary"},
    {"ray", "raymond"},       {"reg", "reginald"},
    {"rich", "richard"},      {"richie", "richard"},
    {"rick", "richard"},      {"rob", "robert"},
    {"robbie", "robert"},     {"ron", "ronald"},
    {"ronnie", "ronald"},     {"sal", "sarah"},
    {"sally", "sarah"},       {"sam", "samuel"},
    {"sammy", "samuel"},      {"sandy", "alexander"},
    {"sasha", "alexander"},   {"seryozha", "sergei"},
    {"stan", "stanley"},      {"steve", "stephen"},
    {"sue", "susan"},         {"susie", "susan"},
    {"sveta", "svetlana"},    {"tanya", "tatiana"},
    {"ted", "edward"},        {"teddy", "edward"},
    {"tess", "theresa"},      {"tilly", "matilda"},
    {"tim", "timothy"},       {"toby", "tobias"},
    {"tom", "thomas"},        {"tommie", "thomas"},
    {"tommy", "thomas"},      {"tony", "anthony"},
    {"trudy", "gertrude"},    {"vanya", "ivan"},
    {"vic", "victor"},        {"vince", "vincent"},
    {"volodya", "vladimir"},  {"wally", "walter"},
    {"walt", "walter"},       {"will", "william"},
    {"willie", "william"},    {"willy", "william"},
    {"yulya", "yulia"},       {"zhenya", "yevgeni"},
};

const avrr__nick *avrr__nick_table(size_t *n)
{
    *n = sizeof nicks / sizeof nicks[0];
    return nicks;
}

static int nick_cmp(const void *k, const void *e)
{
    const avrr__nick *ke = k, *ee = e;
    return strcmp(ke->short_form, ee->short_form);
}

const char *avrr__nick_formal(const char *t, size_t n)
{
    char buf[16];
    if (n < 2 || n >= sizeof buf)
        return NULL;
    memcpy(buf, t, n);
    buf[n] = '\0';
    avrr__nick key = {buf, NULL};
    const avrr__nick *hit = bsearch(&key, nicks, sizeof nicks / sizeof nicks[0],
                                    sizeof nicks[0], nick_cmp);
    return hit ? hit->formal : NULL;
}
