#!/usr/bin/env python3
"""gen_returnees.py: synthetic returnee populations with ground truth.

Persons from seven origin groups (Maghreb, Middle East, Afghanistan/Iran,
Horn of Africa, West Africa, Balkans, former Soviet states), each registered
1-5 times by member states with that state's romanisation habits (Dutch oe/j,
French ou/dj/ch, German j/sch/ch, English), typos, given and family names
swapped, second given names dropped, the father's name as family name, the
name in original script, 01-01 and 00-00 placeholder dates, day and month
swapped, years one off, aliases, neighbouring nationalities claimed, document
numbers with OCR confusions. Hard negatives: siblings (same family name,
father, place, nearby birth dates), namesakes, and many different men called
Mohammed Ali born on 01-01 of nearby years.

Usage:
  gen_returnees.py dedup N OUT.csv [--seed S]      N persons, all registrations
  gen_returnees.py link N LEFT.csv RIGHT.csv [--seed S]
                     each person in LEFT and/or RIGHT (70 % each), one
                     registration per file
  gen_returnees.py speed N OUT.csv [--seed S]      N records (not persons),
                     same generator, for timing
Columns: the identity set of DESIGN.md section 7 plus `entity` (the truth).
"""
import csv
import random
import sys

# name: (latin base spelling, native script or None)
G = {
    "maghreb": dict(
        nat=["MAR", "DZA", "TUN", "LBY"], script="ar",
        male=[("mohammed", "محمد"), ("youssef", "يوسف"), ("ahmed", "أحمد"), ("karim", "كريم"),
              ("said", "سعيد"), ("khalid", "خالد"), ("abdelkader", "عبد القادر"), ("hamza", "حمزة"),
              ("rachid", "رشيد"), ("mustafa", "مصطفى"), ("hicham", "هشام"), ("nabil", "نبيل"),
              ("abderrahmane", "عبد الرحمن"), ("bilal", "بلال"), ("ismail", "إسماعيل"), ("jamal", "جمال"),
              ("omar", "عمر"), ("ali", "علي"), ("driss", "إدريس"), ("zakaria", "زكريا")],
        female=[("fatima", "فاطمة"), ("khadija", "خديجة"), ("amina", "أمينة"), ("nadia", "نادية"),
                ("samira", "سميرة"), ("salma", "سلمى"), ("zineb", "زينب"), ("houda", "هدى")],
        sur=[("el amrani", "العمراني"), ("benali", "بن علي"), ("bouzid", "بوزيد"), ("el idrissi", "الإدريسي"),
             ("haddad", "حداد"), ("mansouri", "المنصوري"), ("belkacem", "بلقاسم"), ("cherif", "شريف"),
             ("ziani", "زياني"), ("saidi", "السعيدي"), ("tahiri", "الطاهري"), ("bennani", "بناني"),
             ("alaoui", "العلوي"), ("ouazzani", "الوزاني"), ("berrada", "برادة"), ("chraibi", "الشرايبي"),
             ("lahlou", "لحلو"), ("fassi", "الفاسي"), ("kettani", "الكتاني"), ("benjelloun", "بنجلون")],
        places=["casablanca", "oujda", "nador", "tanger", "fes", "oran", "alger", "tunis", "sfax", "tripoli"]),
    "mideast": dict(
        nat=["SYR", "IRQ", "LBN", "JOR", "PSE"], script="ar",
        male=[("mohammed", "محمد"), ("ahmad", "أحمد"), ("hussein", "حسين"), ("ali", "علي"), ("omar", "عمر"),
              ("khaled", "خالد"), ("mahmoud", "محمود"), ("abdullah", "عبد الله"), ("ibrahim", "إبراهيم"),
              ("yousef", "يوسف"), ("hassan", "حسن"), ("mustafa", "مصطفى"), ("abdulrahman", "عبد الرحمن"),
              ("samer", "سامر"), ("firas", "فراس"), ("tarek", "طارق"), ("walid", "وليد"), ("qasim", "قاسم")],
        female=[("fatima", "فاطمة"), ("maryam", "مريم"), ("zainab", "زينب"), ("aisha", "عائشة"),
                ("noor", "نور"), ("rania", "رانيا"), ("layla", "ليلى"), ("huda", "هدى")],
        sur=[("al hassan", "الحسن"), ("al khatib", "الخطيب"), ("haddad", "حداد"), ("al ahmad", "الأحمد"),
             ("al jabouri", "الجبوري"), ("al tamimi", "التميمي"), ("khalil", "خليل"), ("saleh", "صالح"),
             ("nasser", "ناصر"), ("darwish", "درويش"), ("al masri", "المصري"), ("hamdan", "حمدان"),
             ("al rashid", "الرشيد"), ("othman", "عثمان"), ("qassem", "قاسم"), ("al shami", "الشامي"),
             ("ali", "علي"), ("mansour", "منصور"), ("yassin", "ياسين"), ("abbas", "عباس")],
        places=["aleppo", "damascus", "homs", "baghdad", "mosul", "basra", "beirut", "amman", "gaza", "idlib"]),
    "afgiran": dict(
        nat=["AFG", "IRN", "PAK"], script="ar",
        male=[("mohammad", "محمد"), ("ahmad", "احمد"), ("ali", "علی"), ("reza", "رضا"), ("hossein", "حسین"),
              ("abdul", None), ("ghulam", "غلام"), ("mahdi", "مهدی"), ("amir", "امیر"), ("jawad", "جواد"),
              ("farid", "فرید"), ("rahim", "رحیم"), ("nasir", "ناصر"), ("zabihullah", "ذبیح الله"),
              ("hamid", "حمید"), ("sayed", "سید"), ("mustafa", "مصطفی"), ("javad", "جواد")],
        female=[("fatemeh", "فاطمه"), ("zahra", "زهرا"), ("maryam", "مریم"), ("shabnam", "شبنم"),
                ("parwin", "پروین"), ("laila", "لیلا"), ("nargis", "نرگس"), ("roya", "رویا")],
        sur=[("ahmadi", "احمدی"), ("mohammadi", "محمدی"), ("hosseini", "حسینی"), ("rahimi", "رحیمی"),
             ("karimi", "کریمی"), ("popalzai", "پوپلزی"), ("noori", "نوری"), ("sultani", "سلطانی"),
             ("hashimi", "هاشمی"), ("rezaei", "رضایی"), ("jafari", "جعفری"), ("sadat", "سادات"),
             ("stanikzai", "استانکزی"), ("haidari", "حیدری"), ("akbari", "اکبری"), ("safi", "صافی"),
             ("wardak", "وردک"), ("ghafoori", "غفوری"), ("azizi", "عزیزی"), ("amiri", "امیری")],
        places=["kabul", "herat", "kandahar", "mazar i sharif", "jalalabad", "mashhad", "tehran", "quetta",
                "ghazni", "kunduz"]),
    "horn": dict(
        nat=["ERI", "ETH", "SOM", "SDN"], script="et",
        male=[("tesfay", "ተስፋይ"), ("yonas", "ዮናስ"), ("dawit", "ዳዊት"), ("mohamed", None), ("abdi", None),
              ("abdirahman", None), ("tekle", "ተኽለ"), ("haile", "ሃይለ"), ("mulugeta", "ሙሉጌታ"),
              ("biniam", "ቢንያም"), ("filmon", "ፊልሞን"), ("ahmed", None), ("hassan", None), ("osman", None),
              ("yohannes", "ዮሃንስ"), ("samuel", "ሳሙኤል"), ("mussie", "ሙሴ"), ("aman", "ኣማን")],
        female=[("hiwet", "ሕወት"), ("senait", "ሰናይት"), ("helen", "ሄለን"), ("saba", "ሳባ"),
                ("hodan", None), ("fadumo", None), ("asha", None), ("tsega", "ፀጋ")],
        sur=[("tesfamariam", "ተስፋማርያም"), ("gebremedhin", "ገብረመድህን"), ("tesfay", "ተስፋይ"),
             ("haile", "ሃይለ"), ("abraha", "ኣብርሃ"), ("kidane", "ኪዳነ"), ("ghebremichael", "ገብረሚካኤል"),
             ("tekle", "ተኽለ"), ("berhane", "በርሀነ"), ("woldu", "ወልዱ"), ("mohamed", None), ("ali", None),
             ("abdi", None), ("farah", None), ("warsame", None), ("hussein", None), ("osman", None),
             ("yusuf", None), ("omar", None), ("adan", None)],
        places=["asmara", "keren", "massawa", "addis ababa", "mekele", "mogadishu", "hargeisa",
                "khartoum", "kassala", "gondar"]),
    "westafrica": dict(
        nat=["GIN", "SEN", "MLI", "CIV", "GMB", "NGA", "GHA"], script=None,
        male=[("mamadou", None), ("ousmane", None), ("ibrahima", None), ("moussa", None), ("abdoulaye", None),
              ("amadou", None), ("sekou", None), ("lamine", None), ("alpha", None), ("boubacar", None),
              ("souleymane", None), ("modou", None), ("chinedu", None), ("emeka", None), ("kwame", None),
              ("kofi", None), ("yaya", None), ("bakary", None)],
        female=[("aminata", None), ("fatoumata", None), ("mariama", None), ("kadiatou", None),
                ("awa", None), ("aissatou", None), ("ngozi", None), ("abena", None)],
        sur=[("diallo", None), ("bah", None), ("barry", None), ("sow", None), ("traore", None),
             ("coulibaly", None), ("camara", None), ("keita", None), ("toure", None), ("diop", None),
             ("ndiaye", None), ("fofana", None), ("sylla", None), ("conde", None), ("okafor", None),
             ("mensah", None), ("jallow", None), ("ceesay", None), ("kone", None), ("sankare", None)],
        places=["conakry", "dakar", "bamako", "abidjan", "banjul", "lagos", "accra", "kankan",
                "touba", "kumasi"]),
    "balkans": dict(
        nat=["ALB", "SRB", "MNE", "MKD", "BIH"], script=None,
        male=[("arben", None), ("besnik", None), ("ardit", None), ("dritan", None), ("gentian", None),
              ("fatmir", None), ("milan", None), ("nikola", None), ("dragan", None), ("emir", None),
              ("adnan", None), ("edin", None), ("luan", None), ("blerim", None), ("valon", None),
              ("ilir", None), ("stefan", None), ("marko", None)],
        female=[("elira", None), ("blerta", None), ("arta", None), ("jelena", None),
                ("amra", None), ("merita", None), ("vesna", None), ("drita", None)],
        sur=[("hoxha", None), ("krasniqi", None), ("gashi", None), ("berisha", None), ("shala", None),
             ("morina", None), ("kelmendi", None), ("bytyqi", None), ("petrovic", None),
             ("jovanovic", None), ("nikolic", None), ("hodzic", None), ("begovic", None),
             ("dervishi", None), ("leka", None), ("rama", None), ("mehmeti", None), ("sadiku", None),
             ("ahmeti", None), ("osmani", None)],
        places=["tirana", "durres", "shkoder", "pristina", "prizren", "skopje", "tetovo", "sarajevo",
                "belgrade", "nis"]),
    "exsoviet": dict(
        nat=["RUS", "UKR", "GEO", "ARM", "AZE", "BLR", "MDA"], script="cy",
        male=[("aleksandr", "Александр"), ("sergei", "Сергей"), ("dmitri", "Дмитрий"), ("andrei", "Андрей"),
              ("mikhail", "Михаил"), ("vladimir", "Владимир"), ("yuri", "Юрий"), ("oleksandr", "Олександр"),
              ("giorgi", None), ("levan", None), ("armen", None), ("rustam", "Рустам"), ("ruslan", "Руслан"),
              ("timur", "Тимур"), ("nikolai", "Николай"), ("igor", "Игорь"), ("aslan", "Аслан"),
              ("zaur", "Заур")],
        female=[("olga", "Ольга"), ("tatiana", "Татьяна"), ("natalia", "Наталья"), ("elena", "Елена"),
                ("nino", None), ("anna", "Анна"), ("yulia", "Юлия"), ("svetlana", "Светлана")],
        sur=[("ivanov", "Иванов"), ("petrov", "Петров"), ("kuznetsov", "Кузнецов"), ("shevchenko", "Шевченко"),
             ("kovalenko", "Коваленко"), ("beridze", None), ("kapanadze", None), ("grigoryan", "Григорян"),
             ("aliyev", "Алиев"), ("mammadov", "Мамедов"), ("kadyrov", "Кадыров"), ("tsarnaev", "Царнаев"),
             ("smirnov", "Смирнов"), ("popov", "Попов"), ("bondarenko", "Бондаренко"), ("melnyk", "Мельник"),
             ("hakobyan", "Акопян"), ("gelashvili", None), ("umarov", "Умаров"), ("dudayev", "Дудаев")],
        places=["moscow", "grozny", "kyiv", "kharkiv", "tbilisi", "kutaisi", "yerevan", "baku",
                "minsk", "chisinau"]),
}
# Family names are also formed the way they are in each region, so that the
# pools are not unrealistically small: nisba (Ahmadi, Hassani), patronymic
# suffixes (-ov, -enko, -shvili, -yan; -ovic, -aj, -i).
SUFFIX = {"maghreb": ["i"], "mideast": ["i"], "afgiran": ["i", "zai"], "horn": [""],
          "westafrica": [""], "balkans": ["i", "aj", "ovic"], "exsoviet": ["ov", "enko", "shvili", "yan"]}
for _g, _d in G.items():
    extra = []
    for _m, _n in _d["male"]:
        if _m in ("abdul",):
            continue
        for _suf in SUFFIX[_g]:
            extra.append((_m + _suf, (_n + "ی") if (_n and _suf == "i" and _d["script"] == "ar") else
                          (_n if _suf == "" else None)))
    _d["sur"] = _d["sur"] + extra
# and from syllables of the region, so that a group has a few hundred family
# names with a long tail as real populations do (the first ones above stay
# the common ones)
SYL = {"maghreb": ["ben", "bou", "za", "ka", "ri", "mou", "ta", "ha", "di", "la", "ni", "sa", "fi", "ra"],
       "mideast": ["ha", "ka", "sa", "ma", "ri", "da", "wi", "ja", "ra", "ni", "zu", "ba", "fa", "qa"],
       "afgiran": ["za", "ka", "ra", "ha", "ma", "ni", "sha", "da", "ba", "gul", "ja", "pa", "wa", "ni"],
       "horn": ["ge", "bre", "tes", "fa", "ma", "ri", "ha", "go", "se", "la", "wol", "de", "ki", "ne"],
       "westafrica": ["ka", "ma", "ba", "do", "ko", "ne", "sa", "di", "fo", "ta", "ya", "ke", "bo", "se"],
       "balkans": ["ko", "va", "li", "ra", "be", "mi", "sha", "dri", "lu", "ne", "ho", "ta", "ze", "ki"],
       "exsoviet": ["ko", "va", "lenko", "rov", "shi", "dze", "ya", "mi", "ra", "sa", "go", "be", "tu", "ni"]}
_r = random.Random(7)
for _g, _d in G.items():
    seen = set(x[0] for x in _d["sur"])
    while len(seen) < 400:
        nm = "".join(_r.choice(SYL[_g]) for _ in range(_r.choice((2, 3, 3))))
        if nm not in seen:
            seen.add(nm)
            _d["sur"].append((nm, None))
GROUPS = list(G)
# Family names by rank r drawn with weight 1/(r + 3): the commonest name of a
# group carries about 6.5 % of its persons, the first twenty about 43 %, and
# the tail of a few hundred names the rest. Real populations are flatter
# (Ivanov, the commonest Russian name, about 1.4 %); this keeps the namesakes
# the issue asks for. Version 1 of this generator drew a Pareto(0.6) rank,
# which gave the commonest name a third of each group and lumped the
# distribution's tail (2.5 %) on the last name of the pool: 85 % of persons
# shared given and family name with someone else, 28 % also the birth year.
SUR_W = {}
for _g, _d in G.items():
    _acc, SUR_W[_g] = 0.0, []
    for _r in range(len(_d["sur"])):
        _acc += 1.0 / (_r + 3)
        SUR_W[_g].append(_acc)
# how returns are spread over origin groups (roughly the EU's return statistics)
GROUP_W = [0.24, 0.17, 0.16, 0.12, 0.13, 0.09, 0.09]

# a registering state's romanisation habits: ordered substring rewrites
STATES = {
    "NL": [("sh", "sj"), ("kh", "ch"), ("u", "oe"), ("y", "j"), ("j", "dj")],
    "BE": [("u", "ou"), ("sh", "ch"), ("j", "dj"), ("w", "ou")],
    "FR": [("u", "ou"), ("sh", "ch"), ("j", "dj"), ("ee", "i")],
    "DE": [("sh", "sch"), ("kh", "ch"), ("y", "j"), ("j", "dsch"), ("v", "w")],
    "AT": [("sh", "sch"), ("y", "j"), ("ou", "u")],
    "SE": [("sh", "sj"), ("y", "j"), ("u", "o")],
    "IT": [("sh", "sc"), ("k", "ch"), ("y", "i")],
    "ES": [("kh", "j"), ("y", "i"), ("sh", "ch")],
    "UK": [],
    "DK": [("y", "j"), ("ou", "u")],
}
STATE_LIST = list(STATES)

# vowel and doubling variation common to all romanisations of Arabic/Persian
VOWEL_SWAPS = [("e", "a"), ("a", "e"), ("ou", "u"), ("u", "o"), ("o", "u"), ("i", "e"), ("ee", "i")]

OCR = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8"}
NEIGH = {}
for g in G.values():
    for c in g["nat"]:
        NEIGH[c] = [x for x in g["nat"] if x != c]


def respell(name, state, rnd):
    if rnd.random() < 0.5:  # a state's clerk does not always apply its habits
        for a, b in STATES[state]:
            if a in name and rnd.random() < 0.7:
                name = name.replace(a, b, 1)
    if rnd.random() < 0.25:
        a, b = rnd.choice(VOWEL_SWAPS)
        i = name.find(a, 1)
        if i > 0:
            name = name[:i] + b + name[i + len(a):]
    if rnd.random() < 0.15:  # doubling or undoubling a consonant
        i = rnd.randrange(1, max(2, len(name) - 1))
        if i < len(name) and name[i].isalpha() and name[i] not in "aeiou":
            if i + 1 < len(name) and name[i + 1] == name[i]:
                name = name[:i] + name[i + 1:]
            else:
                name = name[:i] + name[i] + name[i:]
    return name


def typo(s, rnd):
    if len(s) < 3:
        return s
    i = rnd.randrange(1, len(s) - 1)
    k = rnd.random()
    if k < 0.3:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if k < 0.55:
        return s[:i] + s[i + 1:]
    if k < 0.8:
        return s[:i] + rnd.choice("aeiounrstlm") + s[i + 1:]
    return s[:i] + rnd.choice("aeiounrstlm") + s[i:]


def cap(s):
    return " ".join(w.capitalize() for w in s.split())


class Person:
    pass


def make_person(rnd, pid, group=None, sur=None, father=None, place=None, year=None, sex=None):
    p = Person()
    p.id = pid
    p.group = group or rnd.choices(GROUPS, GROUP_W)[0]
    g = G[p.group]
    p.sex = sex or ("m" if rnd.random() < 0.72 else "f")
    p.given = rnd.choice(g["male"] if p.sex == "m" else g["female"])
    p.given2 = rnd.choice(g["male"]) if rnd.random() < 0.3 else None
    p.father = father or rnd.choice(g["male"])
    # common family names are common: a Zipf draw over the pool (see SUR_W)
    p.sur = sur or rnd.choices(g["sur"], cum_weights=SUR_W[p.group])[0]
    p.nat = rnd.choice(g["nat"])
    p.place = place or rnd.choice(g["places"])
    p.year = year or rnd.randint(1960, 2006)
    p.month = rnd.randint(1, 12)
    p.day = rnd.randint(1, 28)
    # about a third of the persons do not know their exact birth date
    p.date_known = rnd.random() > 0.3
    p.doc = ("%s%07d" % (rnd.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + rnd.choice("ABCDEFGHJKLMNPRSTUVWXYZ"),
                          rnd.randrange(10 ** 7))) if rnd.random() < 0.6 else None
    p.alias = rnd.choice(g["male"] if p.sex == "m" else g["female"]) if rnd.random() < 0.05 else None
    return p


def registration(p, rnd, rec_id):
    state = rnd.choice(STATE_LIST)
    g = G[p.group]
    given = p.given
    if p.alias and rnd.random() < 0.5:
        given = p.alias
    gn = respell(given[0], state, rnd)
    if p.given2 and rnd.random() < 0.6:
        gn += " " + respell(p.given2[0], state, rnd)
    sur = p.sur
    if g["script"] == "ar" and rnd.random() < 0.12:
        sur = p.father  # the father's name registered as family name
    sn = respell(sur[0], state, rnd)
    if rnd.random() < 0.5 and sn.startswith(("el ", "al ")):
        sn = sn.replace(" ", "", 1) if rnd.random() < 0.5 else sn.replace("al ", "el ", 1)
    if rnd.random() < 0.06:
        gn = typo(gn, rnd)
    if rnd.random() < 0.06:
        sn = typo(sn, rnd)
    if rnd.random() < 0.06:
        gn, sn = sn, gn
    full = ""
    if g["script"] and rnd.random() < 0.25:
        natv = [x[1] for x in (given, sur)]
        if all(natv):
            full = " ".join(natv)
            if rnd.random() < 0.2:  # only the original script was recorded
                gn, sn = "", ""
    # birth date as registered
    y, m, d = p.year, p.month, p.day
    if not p.date_known:
        bd = "%04d-01-01" % y if rnd.random() < 0.6 else ("%04d" % y if rnd.random() < 0.5 else "%04d-00-00" % y)
        if rnd.random() < 0.15:
            bd = "%04d-01-01" % (y + rnd.choice((-1, 1)))
    else:
        k = rnd.random()
        if k < 0.70:
            bd = "%04d-%02d-%02d" % (y, m, d)
        elif k < 0.76 and d <= 12:
            bd = "%04d-%02d-%02d" % (y, d, m)
        elif k < 0.84:
            bd = "%04d-01-01" % y
        elif k < 0.88:
            bd = "%04d-%02d-%02d" % (y + rnd.choice((-1, 1)), m, d)
        elif k < 0.92:
            dd = min(28, max(1, d + rnd.choice((-1, 1, 10, -10))))
            bd = "%04d-%02d-%02d" % (y, m, dd)
        elif k < 0.96:
            bd = ""
        else:
            bd = "%04d" % y
    sex = p.sex if rnd.random() > 0.05 else ""
    nat = p.nat
    k = rnd.random()
    if k < 0.08 and NEIGH.get(nat):
        nat = rnd.choice(NEIGH[nat])
    elif k < 0.18:
        nat = ""
    place = cap(respell(p.place, state, rnd)) if rnd.random() < 0.6 else ""
    doc = ""
    if p.doc and rnd.random() < 0.6:
        doc = p.doc
        if rnd.random() < 0.08:
            i = rnd.randrange(len(doc))
            if doc[i] in OCR:
                doc = doc[:i] + OCR[doc[i]] + doc[i + 1:]
    elif rnd.random() < 0.25:  # a different document (laissez-passer, new passport)
        doc = "%s%07d" % (rnd.choice("LTX"), rnd.randrange(10 ** 7))
    return [rec_id, cap(gn), cap(sn), full, sex, bd, nat, place, doc, "", p.id]


def population(n, rnd, first=0):
    """n persons with sibling groups and namesakes among them."""
    persons = []
    pid = first
    while len(persons) < n:
        pid += 1
        k = rnd.random()
        if k < 0.06:
            # a family: 2-4 siblings
            base = make_person(rnd, "p%d" % pid)
            persons.append(base)
            for s in range(rnd.randint(1, 3)):
                pid += 1
                persons.append(make_person(rnd, "p%d" % pid, base.group, base.sur, base.father, base.place,
                                           base.year + rnd.randint(-6, 6)))
        elif k < 0.09:
            # Mohammed Ali born on 01-01 of a nearby year, a different man each time
            p = make_person(rnd, "p%d" % pid, rnd.choice(["maghreb", "mideast", "horn"]), sex="m",
                            year=rnd.randint(1988, 1993))
            p.given = ("mohammed", "محمد")
            p.given2 = None
            p.sur = ("ali", "علي")
            p.date_known = False
            persons.append(p)
        else:
            persons.append(make_person(rnd, "p%d" % pid))
    return persons[:n]


HEAD = ["rec_id", "given_names", "surname", "full_name", "sex", "birth_date", "nationality",
        "birth_place", "document_no", "address", "entity"]


def main():
    args = sys.argv[1:]
    seed = 1
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    rnd = random.Random(seed)
    mode, n = args[0], int(args[1])
    if mode in ("dedup", "speed"):
        with open(args[2], "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(HEAD)
            rid = 0
            # registrations per person: 1-5, most once or twice
            persons = population(n if mode == "dedup" else max(1, n * 10 // 21), rnd)
            for p in persons:
                for _ in range(rnd.choices((1, 2, 3, 4, 5), (0.45, 0.3, 0.13, 0.08, 0.04))[0]):
                    rid += 1
                    w.writerow(registration(p, rnd, "r%d" % rid))
                    if mode == "speed" and rid >= n:
                        return
            first = int(persons[-1].id[1:]) if persons else 0
            while mode == "speed" and rid < n:
                batch = population(1000, rnd, first)
                first = int(batch[-1].id[1:])
                for p in batch:
                    rid += 1
                    w.writerow(registration(p, rnd, "r%d" % rid))
                    if rid >= n:
                        return
    elif mode == "link":
        with open(args[2], "w", newline="") as fl, open(args[3], "w", newline="") as fr:
            wl, wr = csv.writer(fl), csv.writer(fr)
            wl.writerow(HEAD)
            wr.writerow(HEAD)
            rid = 0
            for p in population(n, rnd):
                if rnd.random() < 0.7:
                    rid += 1
                    wl.writerow(registration(p, rnd, "l%d" % rid))
                if rnd.random() < 0.7:
                    rid += 1
                    wr.writerow(registration(p, rnd, "r%d" % rid))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
