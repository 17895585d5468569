"""The dictionary coder's fast paths give what the straightforward reading gives: negation
checked once per sentence for its cue words, text normalized a batch at a time, identity
offset maps as ranges, candidate pairs in numpy, and the whole coder against a per-sentence
oracle (every pattern's regex on every sentence, the straightforward negation, the evidence
built as before) on the OTS pack's codebook and sentences in every language of the region.

The reference negation is the one before the fast path (commit 22c451d), kept unchanged."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from secprio.codebook.load import load
from secprio.coders.base import Coding, Unit
from secprio.coders.dictionary import MAX_SPANS, DictionaryCoder
from secprio.text.negation import _AFTER, _BEFORE, WINDOW, negated, negated_spans
from secprio.text.normalize import normalize, normalize_many, offset_map, original_span, span_map

PACK = Path(__file__).resolve().parent.parent / "src" / "secprio" / "packs" / "ots"
LANGS = ("en", "tr", "ru", "az", "kk", "ky", "uz", "tk")

# -- the reference negation ------------------------------------------------------------------
_CLAUSE = re.compile(r"[.;:!?,()\[\]«»\"“”]")


def _compile(cues: str, *, before: bool) -> re.Pattern[str]:
    if before:
        return re.compile(rf"(?:^|\W)(?:{cues})\W+(?:\w+\W+){{0,{WINDOW}}}$")
    return re.compile(rf"^\W*(?:\w+\W+){{0,1}}(?:{cues})(?:\W|$)")


_PRE = {lang: _compile(c, before=True) for lang, c in _BEFORE.items()}
_POST = {lang: _compile(c, before=False) for lang, c in _AFTER.items()}


def _languages(lang: str) -> list[str]:
    key = lang.strip().lower().replace("_", "-").split("-")[0]
    return [key] if key in _BEFORE or key in _AFTER else list(_BEFORE)


def ref_negated(text: str, start: int, end: int, lang: str = "") -> bool:
    left = text[max(0, start - 80) : start]
    cut = max((m.end() for m in _CLAUSE.finditer(left)), default=0)
    left = left[cut:]
    right = text[end : end + 40]
    stop = _CLAUSE.search(right)
    right = right[: stop.start()] if stop else right
    for key in _languages(lang):
        pre, post = _PRE.get(key), _POST.get(key)
        if (pre and pre.search(" " + left)) or (post and post.search(right)):
            return True
    return False


# -- sentences written for this test ----------------------------------------------------------
SENTENCES = {
    "en": [
        "The heads of state agreed to deepen military cooperation and hold joint exercises.",
        "No military alliance is formed, and there is no collective defence obligation.",
        "The treaty does not establish a military alliance; terrorism remains a threat.",
        "Energy security, cybersecurity and border security were discussed at length.",
        "They cannot deny that drug trafficking and illegal migration grew. Non-aligned states.",
        "Without energy security there is no economic security, said the minister of energy.",
    ],
    "tr": [
        "Üye devletler enerji güvenliği alanında işbirliğini güçlendirme kararı aldı.",
        "Bu belge bir askeri ittifak değildir, ortak savunma yükümlülüğü de yoktur.",
        "Hiçbir askeri yükümlülük doğmuyor; terörizm ve aşırıcılıkla mücadele sürüyor.",
        "Siber güvenlik konusunda ortak bir çalışma planı hazırlanacak.",
    ],
    "ru": [
        "Стороны обсудили вопросы региональной безопасности и борьбы с терроризмом.",
        "Договор не создаёт военного союза, но укрепляет энергетическую безопасность.",
        "Никакого военного сотрудничества без согласия сторон. Кибербезопасность важна.",
    ],
    "az": [
        "Dövlət başçıları hərbi əməkdaşlığı dərinləşdirməyə razılaşdılar.",
        "Bu sənəd hərbi ittifaq deyil, heç bir hərbi öhdəlik yaratmır.",
        "Terrorizm və ekstremizm bütün region üçün təhlükə olaraq qalır.",
    ],
    "kk": [
        "Мемлекет басшылары әскери ынтымақтастықты тереңдетуге келісті.",
        "Бұл құжат әскери одақ емес, ешқандай әскери міндеттеме жоқ.",
        "Терроризм мен экстремизм бүкіл аймақ үшін қауіп болып қала береді.",
    ],
    "ky": [
        "Тараптар аскердик кызматташтыкты тереңдетүүгө макул болушту.",
        "Бул документ аскердик союз эмес, эч кандай милдеттенме жок.",
        "Чек ара коопсуздугу жана терроризмге каршы күрөш талкууланды.",
    ],
    "uz": [
        "Tomonlar harbiy hamkorlikni chuqurlashtirishga kelishib oldilar.",
        "Bu hujjat harbiy ittifoq emas, hech qanday harbiy majburiyat yoʻq.",
        "Энергетика хавфсизлиги ва терроризмга қарши курашиш муҳокама қилинди.",
    ],
    "tk": [
        "Taraplar harby hyzmatdaşlygy çuňlaşdyrmaga ylalaşdylar.",
        "Bu resminama harby bileleşik däl, hiç hili harby borçnama ýok.",
        "Energiýa howpsuzlygy we terrorçylyga garşy göreş ara alnyp maslahatlaşyldy.",
    ],
}


def _units(n: int, seed: int) -> list[Unit]:
    """Sentences and runs of two or three of them (more matches per unit), in their own
    language, in another one, or with no language (every language's cues and patterns)."""
    rng = random.Random(seed)
    units = []
    for i in range(n):
        lang = rng.choice(LANGS)
        parts = [rng.choice(SENTENCES[rng.choice((lang, lang, rng.choice(LANGS)))])
                 for _ in range(rng.randint(1, 3))]  # fmt: skip
        text = " ".join(parts)
        if rng.random() < 0.1:
            text = unicodedata.normalize("NFD", text)
        units.append(Unit(i, text, rng.choice((lang, lang, lang, "", "fr", lang.upper()))))
    return units


def ref_code(coder: DictionaryCoder, units: Sequence[Unit]) -> Iterator[Coding]:
    """The dictionary coder read literally: every pattern of the unit's language on the
    unit's prepared text, the straightforward negation of each match, and the coding of
    each category as the coder made it before the fast paths."""
    keys = {e.lang for e in coder.entries} - {"all"}
    for unit in units:
        text = coder.prepare(unit.text)
        key = unit.lang.strip().lower().replace("_", "-").split("-")[0]
        entries = [e for e in coder.entries if key not in keys or e.lang in ("all", key)]
        hits = sorted(
            ((m.start(), m.end(), e.index) for e in entries for m in e.regex.finditer(text)
             if m.end() > m.start()),
            key=lambda h: (h[0], h[0] - h[1], h[2]),
        )  # fmt: skip
        by_category: dict[str, list[tuple[int, int, int]]] = {}
        for hit in hits:
            if not ref_negated(text, hit[0], hit[1], unit.lang):
                by_category.setdefault(coder.entries[hit[2]].category, []).append(hit)
        omap = offset_map(unit.text)
        for category in coder.codebook.ids():
            if category not in by_category:
                continue
            chosen = by_category[category]
            start, end, k = chosen[0]
            patterns = list(dict.fromkeys(coder.entries[h[2]].pattern.text for h in chosen))
            spans = sorted({original_span(omap, a, b) for a, b, _ in chosen})[:MAX_SPANS]
            evidence = {"matches": len({h[:2] for h in chosen}), "patterns": patterns[:5],
                        "spans": [list(x) for x in spans]}  # fmt: skip
            yield Coding(unit.id, category, coder.name, coder.version, 1.0,
                         coder.entries[k].pattern.text, *original_span(omap, start, end),
                         evidence=evidence)  # fmt: skip


@pytest.fixture(scope="module")
def pack_coder() -> DictionaryCoder:
    return DictionaryCoder(load(PACK / "codebook.yaml"), batch_chars=4000)


# -- the tests --------------------------------------------------------------------------------
def test_negation_is_the_reference_on_every_match_and_window() -> None:
    rng = random.Random(5)
    cues = [w for c in [*_BEFORE.values(), *_AFTER.values()]
            for w in re.sub(r"\\\w\*|\?|\\W\?", "", c).split("|")]  # fmt: skip
    texts = [normalize(s) for ss in SENTENCES.values() for s in ss]
    for _ in range(400):  # cues spliced in at random places, near and far from the match
        words = rng.choice(texts).split(" ")
        for _ in range(rng.randint(1, 4)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(cues))
        texts.append(" ".join(words))
    checked = negatives = 0
    for text in texts:
        for lang in (*LANGS, "", "xx", "TR-tr"):
            spans = [(m.start(), m.end()) for m in re.finditer(r"\w+(?: \w+)?", text)]
            expected = [ref_negated(text, a, b, lang) for a, b in spans]
            assert negated_spans(text, spans, lang) == expected, (text, lang)
            assert [negated(text, a, b, lang) for a, b in spans] == expected
            checked += len(spans)
            negatives += sum(expected)
    assert negatives > 1000 and checked - negatives > 1000  # both answers are exercised


def test_normalize_many_is_normalize_one_by_one() -> None:
    rng = random.Random(9)
    alphabet = "abcIİıi ĞğŞş.,\n'‘ʻʼЩщЁёқҚңӘәұІіЎўҳ\u00ad\u0307\u0301\u00a0\u2028ΣςOoGg😀"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
             for _ in range(300)]  # fmt: skip
    texts += [s for ss in SENTENCES.values() for s in ss] + ["", "ascii only", "oʻ", "g‘"]
    texts += [unicodedata.normalize("NFD", t) for t in texts[:50]]
    assert normalize_many(texts) == [normalize(t) for t in texts]
    assert normalize_many(["ascii", "only"]) == ["ascii", "only"]
    with_nul = ["a\x00b", "Щ\x00", "\x00"]  # one by one: a NUL inside would split wrongly
    assert normalize_many(with_nul) == [normalize(t) for t in with_nul]
    assert normalize_many([]) == []


def test_span_map_is_the_offset_map() -> None:
    texts = [s for ss in SENTENCES.values() for s in ss]
    texts += ["ascii", "", "щит", "oʻzbek", "İstanbul", unicodedata.normalize("NFD", "Güç")]
    for text in texts:
        fast, slow = span_map(text), offset_map(text)
        assert list(fast) == slow, text
        for a in range(len(slow)):
            for b in range(a, min(len(slow), a + 6)):
                assert original_span(fast, a, b) == original_span(slow, a, b)
    assert isinstance(span_map("ascii text"), range)


@pytest.mark.parametrize("backend", ["auto", "aho"])
def test_the_coder_is_the_per_sentence_oracle(pack_coder: DictionaryCoder, backend: str) -> None:
    coder = pack_coder if backend == "auto" else DictionaryCoder(
        pack_coder.codebook, backend="aho", batch_chars=4000)  # fmt: skip
    units = _units(1500, seed=11)
    got = list(coder.code(units))
    assert got == list(ref_code(coder, units))
    langs = {units[c.unit_id].lang for c in got}
    assert set(LANGS) <= langs  # every language is coded
    assert sum(int(str(c.evidence["matches"])) > 1 for c in got) > 50  # several per category
    negated_cues = ("değil", "deyil", "емес", "эмес", "emas", "däl", "no military")
    assert any(cue in u.text for u in units for cue in negated_cues)


def test_the_oracle_sees_negation(pack_coder: DictionaryCoder) -> None:
    """The oracle is not vacuous: the negated sentences lose codings that the same sentences
    without their cue have."""
    plain = Unit(0, "The treaty establishes a military alliance.", "en")
    negated_unit = Unit(1, "The treaty does not establish a military alliance.", "en")
    assert list(ref_code(pack_coder, [plain])) and not list(ref_code(pack_coder, [negated_unit]))
    assert list(pack_coder.code([plain, negated_unit])) == list(
        ref_code(pack_coder, [plain, negated_unit])
    )
