"""Normalization, language identification and segmentation on real words of each language."""

from __future__ import annotations

import random
import time
import unicodedata

import pytest

from secprio.text import detect, identify, normalize, offset_map, original_span, segment
from secprio.text.language import _by_letters
from secprio.text.normalize import (
    _TABLE,
    SHORT,
    _digraphs,
    _fast_offsets,
    _offsets,
    _translate_long,
)

# ~15-word sentences: the member states reaffirm their commitment to regional security.
SENTENCES = {
    "en": "The member states reaffirmed their commitment to strengthening regional security and "
    "cooperation against terrorism and extremism.",
    "tr": "Üye devletler, bölgesel güvenliğin güçlendirilmesine ve terörizm ile aşırıcılığa karşı "
    "işbirliğine olan bağlılıklarını yeniden teyit ettiler.",
    "az": "Üzv dövlətlər regional təhlükəsizliyin möhkəmləndirilməsinə və terrorizm ilə "
    "ekstremizmə qarşı əməkdaşlığa sadiqliklərini bir daha təsdiq etdilər.",
    "kk": "Мүше мемлекеттер өңірлік қауіпсіздікті нығайтуға және терроризм мен экстремизмге "
    "қарсы ынтымақтастыққа адалдығын тағы да растады.",
    "ky": "Мүчө мамлекеттер аймактык коопсуздукту чыңдоого жана терроризм менен экстремизмге "
    "каршы кызматташтыкка берилгендигин дагы бир жолу ырасташты.",
    "uz": "A'zo davlatlar mintaqaviy xavfsizlikni mustahkamlash hamda terrorizm va ekstremizmga "
    "qarshi hamkorlikka sodiqliklarini yana bir bor tasdiqladilar.",
    "tk": "Agza döwletler sebitleýin howpsuzlygy berkitmäge we terrorçylyga hem ekstremizme garşy "
    "hyzmatdaşlyga ygrarlydyklaryny ýene bir gezek tassykladylar.",
    "ru": "Государства-члены вновь подтвердили свою приверженность укреплению региональной "
    "безопасности и сотрудничеству в борьбе с терроризмом и экстремизмом.",
}


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_language_of_a_sentence(lang: str) -> None:
    guess = identify(SENTENCES[lang])
    assert guess.lang == lang
    assert 0.5 < guess.confidence <= 1.0


def test_uzbek_cyrillic_and_empty_text() -> None:
    assert (
        detect(
            "Аъзо давлатлар минтақавий хавфсизликни мустаҳкамлаш ҳамда терроризмга қарши "
            "ҳамкорликка содиқликларини яна бир бор тасдиқладилар."
        )
        == "uz"
    )
    assert identify("") == ("und", 0.0)
    assert detect("  2022 — 11 … ") == "und"


def test_kazakh_kyrgyz_uzbek_letters_break_ties() -> None:
    assert _by_letters("Қазақстан мен Қырғызстан әскери ынтымақтастық") == "kk"
    assert _by_letters("Кыргызстан менен Түркия аскердик кызматташтык") == "ky"
    assert _by_letters("Ўзбекистон ва Қозоғистон ҳамкорлиги") == "uz"
    assert _by_letters("Астана саммит") == ""


@pytest.mark.parametrize(
    ("cased", "folded"),
    [
        ("İSTANBUL", "istanbul"),
        ("İstanbul", "istanbul"),
        ("ISPARTA", "isparta"),
        ("Isparta", "isparta"),
        ("Iğdır", "iğdir"),
        ("IĞDIR", "iğdir"),
        ("ığdır", "iğdir"),
        ("INTERNATIONAL", "international"),
        ("International", "international"),
    ],
)
def test_turkish_and_english_case_variants_meet(cased: str, folded: str) -> None:
    assert normalize(cased) == folded


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("қауіпсіздік", "qauipsizdik"),  # Kazakh: security
        ("Қауіпсіздік", "Qauipsizdik"),
        ("коопсуздук", "koopsuzduk"),  # Kyrgyz
        ("хавфсизлик", "xavfsizlik"),  # Uzbek
        ("терроризм", "terrorizm"),  # Russian
        ("Ўзбекистон", "Oʻzbekiston"),  # Uzbek ў and Latin oʻ meet as CTA ö
        ("ҒАЛАБА", "gʻalaba"),
        ("әскери ынтымақтастық", "əskeri ıntımaqtastıq"),  # ы is CTA ı; ı folds to i
        ("Азәрбајҹан", "Azərbaycan"),  # Azerbaijani Cyrillic ә ј ҹ
        ("Түркменистан", "Türkmenistan"),
        ("ұлттық", "ūlttıq"),  # Kazakh ұ is the CTA's new ū
    ],
)
def test_latin_pattern_matches_cyrillic_spelling(cyrillic: str, latin: str) -> None:
    assert normalize(cyrillic) == normalize(latin)


def test_russian_multiletter_and_dropped_letters() -> None:
    assert normalize("Щит, цель, юг, Ёлка, объект, связь") == "şçit, tsel, yug, yolka, obekt, svyaz"


def test_latin_folds_and_ascii_untouched() -> None:
    assert normalize("millî güvenlik") == normalize("milli güvenlik")
    assert normalize("Türkmenistanyň ýurdy") == "türkmenistanyñ yurdy"
    assert normalize("Qazaqstan Respublikasınıñ") == normalize("Қазақстан Республикасының")
    assert normalize("China and Shanghai") == "china and shanghai"  # ASCII: lower case only
    assert normalize("counter\u2010terrorism\u00a0policy") == "counter-terrorism policy"


def test_normalize_is_idempotent_and_nfc() -> None:
    text = SENTENCES["kk"] + " İĞDIR O‘zbekiston щ " + unicodedata.normalize("NFD", "Ğüç")
    once = normalize(text)
    assert normalize(once) == once
    assert once.endswith("ğüç")


def _random_text(rng: random.Random, n: int) -> str:
    alphabet = (
        "abcIİıi ĞğŞş.,\n'‘ʻʼ`ЩщЁёЮюЯяЦцЪъЬьқҚңӘәұІіЎўҳ\u00ad\u0307\u0301\u00a0\ufdd0ΣΟς𐐀😀ア"
    )
    return "".join(rng.choice(alphabet) for _ in range(n))


def test_short_and_long_paths_agree() -> None:
    rng = random.Random(7)
    for n in (5, SHORT - 1, SHORT, 3 * SHORT):
        text = unicodedata.normalize("NFC", _random_text(rng, n))
        assert _digraphs(text.translate(_TABLE)) == _digraphs(_translate_long(text))


def test_offset_map_round_trip() -> None:
    rng = random.Random(11)
    for text in [_random_text(rng, 300) for _ in range(20)] + [SENTENCES["ru"]]:
        norm = normalize(text)
        omap = offset_map(text)
        assert len(omap) == len(norm) + 1 and omap[-1] == len(text)
        assert omap == sorted(omap)
    text = "Борьба с терроризмом: щит Ўзбекистона."
    norm = normalize(text)
    for word in ("terrorizmom", "şçit", "özbekistona"):
        start = norm.index(word)
        a, b = original_span(offset_map(text), start, start + len(word))
        assert normalize(text[a:b]) == word


def test_the_fast_offset_map_is_the_slow_one() -> None:
    """The fast offset map (NFC text, no ʻ) is the character loop's, for every BMP code point
    after a letter that becomes one (ш → ş) or two (щ → şç), and for random mixed text; it
    declines the rest."""
    rng = random.Random(13)
    texts = [f"{c}{chr(cp)}x" for c in "шщ" for cp in range(0x80, 0x10000)]  # one, two letters
    texts += ["ğ\u0307 ş", "İstanbul’da", "ş 😀"]
    texts += [unicodedata.normalize("NFC", _random_text(rng, n)) for n in range(1, 400, 3)]
    taken = 0
    for text in texts:
        fast = _fast_offsets(text)
        if fast is not None:
            taken += 1
            assert fast == _offsets(text), ascii(text)
    assert taken > len(texts) // 2  # the fast path is the common one
    for declined in ("g\u0306 ş", "oʻzbek ş", "щ 😀"):  # not NFC, a digraph, щ beyond the BMP
        assert _fast_offsets(declined) is None, declined


def test_offset_map_on_decomposed_text() -> None:
    text = unicodedata.normalize("NFD", "Güvenlik işbirliği — Ўзбекистон")
    norm = normalize(text)
    omap = offset_map(text)
    start = norm.index("işbirliği")
    a, b = original_span(omap, start, start + len("işbirliği"))
    assert unicodedata.normalize("NFC", text[a:b]) == "işbirliği"


def test_segment_offsets_abbreviations_and_points() -> None:
    text = (
        "SAMARKAND DECLARATION\n"
        "The heads of state met on 11 Nov. 2022 in Samarkand. Mr. Erdoğan and Dr. Aliyev of "
        "the U.S.-style forum spoke, e.g. on art. 5. Growth was 2.5 per cent.\n\n"
        "1. We reaffirm our commitment to peace. We condemn terrorism!\n"
        '2. We welcome the "Turkic World Vision 2040." It guides our work.\n\n'
        "В 2022 г. Казахстан председательствовал. Обсудили энергетику и т.д. Саммит прошел.\n\n"
        "2019 ж. Бакуде саммит өтті, т.б. Келесі жиын Алматыда."
    )
    segs = segment(text)
    sentences = [text[s.start : s.end] for s in segs if s.kind == "sentence"]
    assert sentences == [
        "SAMARKAND DECLARATION",
        "The heads of state met on 11 Nov. 2022 in Samarkand.",
        "Mr. Erdoğan and Dr. Aliyev of the U.S.-style forum spoke, e.g. on art. 5.",
        "Growth was 2.5 per cent.",
        "1. We reaffirm our commitment to peace.",
        "We condemn terrorism!",
        '2. We welcome the "Turkic World Vision 2040."',
        "It guides our work.",
        "В 2022 г. Казахстан председательствовал.",
        "Обсудили энергетику и т.д.",
        "Саммит прошел.",
        "2019 ж. Бакуде саммит өтті, т.б.",
        "Келесі жиын Алматыда.",
    ]
    paragraphs = [s for s in segs if s.kind == "paragraph"]
    assert [p.index for p in paragraphs] == [0, 1, 2, 3]
    for s in segs:
        assert text[s.start : s.end] == text[s.start : s.end].strip()
        if s.kind == "sentence":
            para = paragraphs[s.paragraph]
            assert para.start <= s.start < s.end <= para.end
    assert [s.index for s in segs if s.kind == "sentence"] == list(range(len(sentences)))


def test_segment_wrapped_lines_lists_and_ordinals() -> None:
    text = (
        "The Parties agreed to strengthen cooperation in the fields of security, defence\n"
        "industry and the fight against terrorism. They also agreed:\n"
        "- to hold joint exercises;\n"
        "- to exchange information.\n\n"
        "Türk Devletleri Teşkilatı'nın 9. Zirvesi Semerkant'ta yapıldı. Liderler görüştü."
    )
    sentences = [text[s.start : s.end] for s in segment(text, lang="tr") if s.kind == "sentence"]
    assert sentences == [
        "The Parties agreed to strengthen cooperation in the fields of security, defence\n"
        "industry and the fight against terrorism.",
        "They also agreed:",
        "- to hold joint exercises;",
        "- to exchange information.",
        "Türk Devletleri Teşkilatı'nın 9. Zirvesi Semerkant'ta yapıldı.",
        "Liderler görüştü.",
    ]


def test_segment_quotes_and_empty_text() -> None:
    text = 'He said: "We are ready." Then he left. «Мы готовы», — сказал он. Все ушли.'
    sentences = [text[s.start : s.end] for s in segment(text) if s.kind == "sentence"]
    assert sentences == [
        'He said: "We are ready."',
        "Then he left.",
        "«Мы готовы», — сказал он.",
        "Все ушли.",
    ]
    assert segment("") == []
    assert segment("\n\n  \n* * *\n") == []


@pytest.mark.slow
def test_normalize_throughput() -> None:
    block = "".join(SENTENCES.values()) + " "
    text = block * (50_000_000 // len(block))
    megabytes = len(text.encode()) / 1e6
    start = time.perf_counter()
    normalize(text)
    rate = megabytes / (time.perf_counter() - start)
    print(f"normalize: {megabytes:.0f} MB of mixed Latin/Cyrillic at {rate:.0f} MB/s")
    assert rate > 10
