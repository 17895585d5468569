"""Dictionary coder throughput: hyperscan vs Aho-Corasick vs a plain Python ``re`` alternation.

    PYTHONPATH=src .venv/bin/python benchmarks/dictionary.py --mb 100

Generates N MB (UTF-8 bytes of the original text; 1 MB = 10**6 bytes) of mixed English, Turkish,
Russian and Kazakh sentences with a fixed seed, most of them without a match, and a codebook of
about 250 patterns (words, phrases, wildcards, a few regexes) over 14 categories. It then times,
on one core:

- normalization (``normalize`` on every sentence), reported separately;
- the matching stage of each backend: ``DictionaryCoder.scan`` over already normalized sentences,
  in batches of about 1 MB as ``code`` uses them (candidate scan, ``re`` verification, sorting);
- the same matching done the naive way: one compiled alternation per category, ``finditer`` over
  every sentence (on the first ``--re-mb`` MB only: it is slow);
- ``code`` end to end with the hyperscan backend (normalization, matching, offset mapping);
- the alternatives, on the first ``--re-mb`` MB: raw hyperscan over one buffer (the coder's
  own database, match events only: the ceiling, on all of it), a hand-written pandas
  ``str.contains`` script with one ``re`` alternation per category, and spaCy's
  ``PhraseMatcher`` over the literal patterns (``pip install spacy``; skipped without it).

Throughput is the original text's MB per second of CPU time of this process (wall time is shown
too: on a shared machine it includes waiting). Peak RSS is ``ru_maxrss``. The generated corpus
is moved out of the garbage collector's way (``gc.freeze``), as a streaming run never holds it.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TypeVar

from secprio.codebook import load
from secprio.coders.base import Unit
from secprio.coders.dictionary import DictionaryCoder
from secprio.text.normalize import normalize

# Category -> language -> terms. A term becomes a word pattern, a stem* pattern or a phrase.
TERMS: dict[str, dict[str, list[str]]] = {
    "military_cooperation": {
        "en": ["military cooperation", "joint exercise*", "defen*e industr*", "armed forces",
               "military training", "interoperab*", "military-technical", "defence ministers"],
        "tr": ["askeri işbirliğ*", "ortak tatbikat*", "savunma sanayi*", "silahlı kuvvetler*"],
        "ru": ["военн* сотрудничеств*", "совместн* учени*", "оборонн* промышленност*"],
        "kk": ["әскери ынтымақтастық*", "бірлескен жаттығу*"],
    },
    "regional_integration": {
        "en": ["regional integration", "turkic world", "common market", "single window",
               "customs cooperation", "turkic unity", "integration process*"],
        "tr": ["bölgesel entegrasyon*", "türk dünyası*", "ortak pazar*", "türk birliğ*"],
        "ru": ["региональн* интеграци*", "тюркск* мир*", "общ* рын*"],
        "kk": ["түркі әлем*", "интеграция*"],
    },
    "economic_security": {
        "en": ["economic security", "supply chain*", "sanction*", "food security",
               "middle corridor", "trans-caspian", "investment fund*"],
        "tr": ["ekonomik güvenlik*", "tedarik zincir*", "yaptırım*", "gıda güvenliğ*",
               "orta koridor*"],
        "ru": ["экономическ* безопасност*", "санкци*", "продовольственн* безопасност*"],
        "kk": ["экономикалық қауіпсіздік*"],
    },
    "counter_terrorism": {
        "en": ["counter-terroris*", "counterterroris*", "fight against terror*", "deradicali*",
               "terrorist financing", "anti-terror*"],
        "tr": ["terörle mücadele*", "terörizmle mücadele*", "radikalleşmeyle mücadele*"],
        "ru": ["борьб* с терроризм*", "противодействи* терроризм*", "антитеррористическ*"],
        "kk": ["терроризмге қарсы*"],
    },
    "cybersecurity": {
        "en": ["cybersecurity", "cyber security", "cyber defen*e", "cyber*attack*",
               "information security", "critical infrastructure protection", "cert"],
        "tr": ["siber güvenlik*", "siber saldırı*", "bilgi güvenliğ*", "siber savunma*"],
        "ru": ["кибербезопасност*", "информационн* безопасност*", "кибератак*"],
        "kk": ["киберқауіпсіздік*", "ақпараттық қауіпсіздік*"],
    },
    "energy_security": {
        "en": ["energy security", "pipeline*", "natural gas", "oil export*", "energy corridor*",
               "electricity interconnect*", "renewable energy"],
        "tr": ["enerji güvenliğ*", "boru hatt*", "doğal gaz*", "enerji koridor*"],
        "ru": ["энергетическ* безопасност*", "газопровод*", "нефтепровод*", "природн* газ*"],
        "kk": ["энергетикалық қауіпсіздік*", "газ құбыр*"],
    },
    "border_security": {
        "en": ["border security", "border control", "border guard*", "smuggling",
               "illegal migration", "drug trafficking", "border management"],
        "tr": ["sınır güvenliğ*", "sınır kontrol*", "kaçakçılı*", "düzensiz göç*",
               "uyuşturucu kaçakçılığ*"],
        "ru": ["пограничн* безопасност*", "охран* границ*", "незаконн* миграци*", "наркотрафик*"],
        "kk": ["шекара қауіпсіздіг*", "шекара*"],
    },
    "south_caucasus_conflict": {
        "en": ["karabakh", "south caucasus", "armenia*", "zangezur", "ceasefire",
               "occupied territor*"],
        "tr": ["karabağ*", "güney kafkasya*", "ermenistan*", "ateşkes*", "işgal altı*"],
        "ru": ["карабах*", "южн* кавказ*", "армени*", "прекращени* огня"],
        "kk": ["қарабақ*"],
    },
    "russian_influence": {
        "en": ["russian influence", "moscow", "kremlin", "collective security treaty", "csto",
               "eurasian economic union", "russian pressure"],
        "tr": ["rusya etkisi*", "moskova*", "kremlin*", "avrasya ekonomik birliğ*"],
        "ru": ["российск* влияни*", "кремл*", "одкб", "евразийск* экономическ* союз*"],
        "kk": ["ресей ықпал*"],
    },
    "central_asian_instability": {
        "en": ["unrest", "instability", "afghanistan", "taliban", "january events", "mass riots",
               "state of emergency"],
        "tr": ["istikrarsızlı*", "afganistan*", "taliban*", "olağanüstü hal*", "ayaklanma*"],
        "ru": ["нестабильност*", "афганистан*", "талибан*", "массов* беспоряд*",
               "чрезвычайн* положени*"],
        "kk": ["қаңтар оқиғалар*", "тұрақсыздық*"],
    },
    "china_expansion": {
        "en": ["belt and road", "chinese investment*", "beijing", "debt trap", "xinjiang",
               "uyghur*"],
        "tr": ["kuşak ve yol", "çin yatırım*", "pekin*", "sincan*", "uygur*"],
        "ru": ["один пояс", "китайск* инвестици*", "пекин*", "синьцзян*"],
        "kk": ["қытай инвестиция*", "бір белдеу"],
    },
    "russia_ukraine_war": {
        "en": ["ukraine", "war in ukraine", "invasion of ukraine", "kyiv", "russia-ukraine",
               "black sea grain", "special military operation"],
        "tr": ["ukrayna*", "rusya-ukrayna*", "karadeniz tahıl*", "kiev*"],
        "ru": ["украин*", "специальн* военн* операци*", "киев*"],
        "kk": ["украина*"],
    },
    "cyber_hybrid_threats": {
        "en": ["hybrid threat*", "disinformation", "ransomware", "hacker*", "cyber threat*",
               "fake news", "propaganda"],
        "tr": ["hibrit tehdit*", "dezenformasyon*", "fidye yazılım*", "siber tehdit*"],
        "ru": ["гибридн* угроз*", "дезинформаци*", "хакер*", "киберугроз*"],
        "kk": ["жалған ақпарат*", "кибершабуыл*"],
    },
    "terrorism_transnational": {
        "en": ["terroris*", "extremis*", "foreign terrorist fighters", "isis", "daesh",
               "radicali*ation", "jihadi*"],
        "tr": ["terör*", "aşırıcılı*", "deaş", "yabancı terörist savaşçı*", "radikalleşme*"],
        "ru": ["терроризм*", "экстремизм*", "игил", "террорист*", "радикализаци*"],
        "kk": ["терроризм*", "экстремизм*", "лаңкес*"],
    },
}  # fmt: skip
REGEXES = {
    "military_cooperation": [r"\bjoint (?:military )?drills?\b",
                             r"\b(?:19|20)\d\d military exercise"],
    "regional_integration": [r"\bturkic (?:states|council|union)\b", r"\bots summit\b"],
    "economic_security": [r"\$\d+(?:\.\d+)? (?:million|billion)\b"],
    "cybersecurity": [r"\bcyber[- ]?(?:space|range|drill)s?\b"],
    "energy_security": [r"\b\d+ (?:bcm|billion cubic met(?:er|re)s)\b"],
    "terrorism_transnational": [r"\bterror(?:ist)? attacks? (?:in|on) \w+"],
}  # fmt: skip
# Realizations of some regexes, to inject into sentences.
REGEX_TEXT = ["joint military drills", "2021 military exercise", "Turkic States", "$4.5 billion",
              "cyber range", "10 bcm", "terrorist attack in Kabul"]  # fmt: skip
SUFFIXES = {
    "en": ["", "", "s", "ed", "ing", "ism", "ist", "al"],
    "tr": ["", "i", "ini", "ine", "inde", "ler", "lerin", "lerinin", "le", "de", "den"],
    "ru": ["", "а", "ом", "ой", "ы", "ии", "ию", "ского", "ая", "ых"],
    "kk": ["", "і", "ы", "ті", "ға", "дің", "тар", "лар", "ын"],
}
_FILLER = {
    "en": ("the of and to in a on for with by at from as that this was were is are will "
           "member states heads ministers summit meeting agreed discussed welcomed noted "
           "decided signed adopted declaration statement agenda culture education youth tourism "
           "trade transport logistics digital heritage language alphabet sports diaspora health "
           "agriculture science universities media archives museums festival year week council "
           "secretariat secretary general chairmanship presidency delegation visit hospitality "
           "software toward warm award boarder warranty terrace extreme extra gas station"),
    "tr": ("ve ile bir bu da de için olarak üye devletler devlet başkanları bakanlar zirve "
           "toplantı kabul etti görüştü memnuniyetle karşıladı kültür eğitim gençlik turizm "
           "ticaret ulaştırma lojistik dijital miras dil alfabe spor diaspora sağlık tarım bilim "
           "üniversiteler medya arşivler müzeler festival yıl hafta konsey sekreterlik genel "
           "sekreter dönem başkanlığı heyet ziyaret misafirperverlik ortak geleceğimiz"),
    "ru": ("и в на с по для от о что это было были является государства члены главы министры "
           "саммит встреча согласились обсудили приветствовали отметили решили подписали "
           "декларация заявление повестка культура образование молодежь туризм торговля "
           "транспорт логистика цифровой наследие язык алфавит спорт диаспора здравоохранение "
           "сельское хозяйство наука университеты медиа архивы музеи фестиваль год неделя "
           "совет секретариат генеральный секретарь председательство делегация визит"),
    "kk": ("және мен бір бұл үшін мүше мемлекеттер басшылары министрлер саммит кездесу "
           "келісті талқылады құптады мәдениет білім жастар туризм сауда көлік логистика "
           "цифрлық мұра тіл әліпби спорт денсаулық ауыл шаруашылығы ғылым университеттер "
           "мұрағат мұражай фестиваль жыл апта кеңес хатшылық бас хатшы төрағалық "
           "делегация"),
}  # fmt: skip
FILLER = {lang: words.split() for lang, words in _FILLER.items()}
T = TypeVar("T")
LANGS, WEIGHTS = ["en", "tr", "ru", "kk"], [50, 25, 15, 10]


def codebook_yaml() -> str:
    lines = ["name: benchmark", 'version: "1"', "categories:"]
    for cid, terms in TERMS.items():
        lines += [f"  - id: {cid}", "    kind: priority", f"    label: {cid}",
                  f"    definition: {cid}", "    patterns:"]  # fmt: skip
        for lang, patterns in terms.items():
            lines.append(f"      {lang}: [{', '.join(_quote(p) for p in patterns)}]")
        if cid in REGEXES:
            lines.append(f"      all: [{', '.join(_quote('re:' + r) for r in REGEXES[cid])}]")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sentences(mb: float, seed: int, match_rate: float) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    terms = {lang: [t for c in TERMS.values() for t in c.get(lang, [])] for lang in LANGS}
    texts: list[str] = []
    langs: list[str] = []
    size, target = 0, int(mb * 10**6)
    while size < target:
        lang = rng.choices(LANGS, WEIGHTS)[0]
        words = rng.choices(FILLER[lang], k=rng.randint(8, 26))
        if rng.random() < match_rate:
            term = rng.choice(terms[lang]) if rng.random() < 0.9 else rng.choice(REGEX_TEXT)
            words.insert(rng.randrange(len(words)), _realize(term, lang, rng))
        text = " ".join(words)
        text = text[0].upper() + text[1:] + rng.choice([".", ".", ".", ";", "!", "?"])
        texts.append(text)
        langs.append(lang)
        size += len(text.encode()) + 1
    return texts, langs


def _realize(term: str, lang: str, rng: random.Random) -> str:
    words = [w.replace("*", rng.choice(SUFFIXES[lang])) for w in term.split()]
    text = " ".join(words)
    return text.upper() if rng.random() < 0.1 else text.title() if rng.random() < 0.2 else text


def timed(fn: Callable[[], T]) -> tuple[float, float, T]:
    """CPU seconds of this process (what one core delivers, whatever else runs), wall seconds."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, out


def batches(texts: Sequence[str], size: int = 1 << 18) -> list[tuple[int, int]]:
    out, start, chars = [], 0, 0
    for i, text in enumerate(texts):
        chars += len(text)
        if chars >= size:
            out.append((start, i + 1))
            start, chars = i + 1, 0
    return out + ([(start, len(texts))] if start < len(texts) else [])


def match_stage(coder: DictionaryCoder, chunks: list[tuple[int, list[str], list[str]]]) -> dict:
    found = {}
    for start, texts, langs in chunks:
        for i, hits in coder.scan(texts, langs).items():
            found[start + i] = hits
    return found


def alternation_stage(coder: DictionaryCoder, norm: list[str]) -> int:
    by_category: dict[str, list[str]] = {}
    for e in coder.entries:
        by_category.setdefault(e.category, []).append(f"(?:{e.pattern.regex})")
    regexes = [re.compile("|".join(rx)) for rx in by_category.values()]
    coded = 0
    for text in norm:
        for rx in regexes:
            if any(m.end() > m.start() for m in rx.finditer(text)):
                coded += 1
    return coded


def raw_hyperscan_stage(coder: DictionaryCoder, norm: list[str]) -> int:
    """The ceiling: the coder's own hyperscan database over one buffer of every normalized
    sentence, counting match events only (no units, no verification, no spans)."""
    engine = coder._scanner  # the hyperscan backend's compiled database
    data = "\n".join(norm).encode("utf-8", "replace")
    events = 0

    def on_match(*_: object) -> None:
        nonlocal events
        events += 1

    engine.db.scan(data, match_event_handler=on_match, scratch=engine.db.scratch)
    return events


def spacy_stage(coder: DictionaryCoder, texts: list[str]) -> int | None:
    """spaCy's PhraseMatcher, as a spaCy user would write it: the literal patterns only
    (wildcards cut, regexes left out), lowercased, over the tokens of a blank multilingual
    pipeline; sentences with a match per category. None when spaCy is not installed."""
    try:
        import spacy
        from spacy.matcher import PhraseMatcher
    except ImportError:
        return None
    nlp = spacy.blank("xx")
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    for e in coder.entries:
        text = e.pattern.text
        if not text.startswith("re:"):
            matcher.add(e.category, [nlp.make_doc(text.replace("*", ""))])
    coded = 0
    for doc in nlp.pipe(texts, batch_size=1000):
        coded += len({m_id for m_id, _, _ in matcher(doc)})
    return coded


def pandas_stage(coder: DictionaryCoder, texts: list[str]) -> int:
    """The hand-written script: a pandas column of sentences and, per category, one
    case-insensitive ``re`` alternation of its patterns through ``str.contains``."""
    import pandas as pd

    by_category: dict[str, list[str]] = {}
    for e in coder.entries:
        by_category.setdefault(e.category, []).append(f"(?:{e.pattern.regex})")
    column = pd.Series(texts)
    return int(sum(column.str.contains("|".join(rx), case=False, regex=True).sum()
                   for rx in by_category.values()))  # fmt: skip


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mb", type=float, default=100, help="MB of text to generate (default 100)")
    ap.add_argument("--re-mb", type=float, default=10, help="MB for the naive re baseline")
    ap.add_argument("--match-rate", type=float, default=0.08, help="share of seeded sentences")
    ap.add_argument("--seed", type=int, default=20240101)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    _, wall, (texts, langs) = timed(lambda: sentences(args.mb, args.seed, args.match_rate))
    mb = sum(len(t.encode()) for t in texts) / 10**6
    print(f"generated {mb:.1f} MB, {len(texts):,} sentences in {wall:.1f}s")
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "codebook.yaml"
        path.write_text(codebook_yaml(), encoding="utf-8")
        codebook = load(path)
    patterns = [p for c in codebook.categories for ps in c.patterns.values() for p in ps]
    n_regex = sum(p.startswith("re:") for p in patterns)
    print(f"codebook: {len(codebook.categories)} categories, {len(patterns)} patterns "
          f"({n_regex} regexes)")  # fmt: skip

    cpu, wall, norm = timed(lambda: [normalize(t) for t in texts])
    rows = [("normalize (reported apart)", cpu, wall, mb, "")]
    chunks = [(a, norm[a:b], langs[a:b]) for a, b in batches(norm)]  # as code() batches
    units = [Unit(i, t, lang) for i, (t, lang) in enumerate(zip(texts, langs, strict=True))]
    # A pipeline streams its corpus; this script holds all of it. Keep the garbage collector
    # from walking the whole corpus on every collection, which a streaming run never pays.
    gc.freeze()
    results = {}
    for backend in ("hyperscan", "aho"):
        build, _, coder = timed(lambda b=backend: DictionaryCoder(codebook, backend=b, cache=False))
        cpu, wall, found = timed(lambda c=coder: match_stage(c, chunks))
        results[backend] = found
        note = f"compile {build:.2f}s; {len(found):,} sentences matched"
        rows.append((f"match: {backend}", cpu, wall, mb, note))
    assert results["hyperscan"] == results["aho"], "the backends disagree"

    cut = batches(texts, int(args.re_mb * 10**6))[0][1] if args.re_mb < mb else len(texts)
    re_mb = sum(len(t.encode()) for t in texts[:cut]) / 10**6
    cpu, wall, coded = timed(lambda: alternation_stage(coder, norm[:cut]))
    rows.append(("match: re alternation", cpu, wall, re_mb, f"{coded:,} codings (first part)"))

    hs = DictionaryCoder(codebook, backend="hyperscan", cache=False)
    cpu, wall, n = timed(lambda: sum(1 for _ in hs.code(units)))
    rows.append(("code() end to end: hyperscan", cpu, wall, mb, f"{n:,} codings"))
    cpu, wall, events = timed(lambda: raw_hyperscan_stage(hs, norm))
    rows.append(("raw hyperscan, one buffer", cpu, wall, mb, f"{events:,} match events (ceiling)"))
    cpu, wall, coded = timed(lambda: pandas_stage(hs, texts[:cut]))
    rows.append(("pandas str.contains + re", cpu, wall, re_mb, f"{coded:,} codings (first part)"))
    cpu, wall, found_sp = timed(lambda: spacy_stage(hs, texts[:cut]))
    if found_sp is None:
        print("spaCy PhraseMatcher: skipped (pip install spacy to compare)")
    else:
        note = f"{found_sp:,} codings, literal patterns only (first part)"
        rows.append(("spaCy PhraseMatcher", cpu, wall, re_mb, note))

    base = rows[1][3] / rows[1][1]
    print(f"\n{'stage':30} {'MB':>6} {'cpu s':>7} {'wall s':>7} {'MB/s cpu':>9} "
          f"{'vs hyperscan':>12}  note")  # fmt: skip
    for name, cpu, wall, size, note in rows:
        rate = size / cpu
        print(f"{name:30} {size:6.1f} {cpu:7.2f} {wall:7.2f} {rate:9.1f} {rate / base:11.3f}x  "
              f"{note}")  # fmt: skip
    print(
        f"\npeak RSS: {rss_mb():.0f} MB; load average: {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs (MB/s from CPU time, so other load matters less)"
    )


if __name__ == "__main__":
    main()
