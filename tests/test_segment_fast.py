"""The fast segmenter is the straightforward one: the same paragraphs and sentences (kind,
index, offsets, paragraph) on texts in every language of the region, on random texts made of
the hard cases (abbreviations, initials, ordinals, list points, quotes, ellipses, headings,
line wraps), and on scale.py's generated documents.

The reference below is the segmenter as it was before the fast path (commit 22c451d), kept
here unchanged as the oracle: a change to the rules changes both, on purpose."""

from __future__ import annotations

import pickle
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from secprio.model import Segment, Segments
from secprio.text.segment import (
    ABBREVIATIONS,
    CLOSING,
    ORDINAL_LANGS,
    columns,
    iter_segments,
    segment,
)

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_END = re.compile(r"(?<![.!?…])[.!?…]++[\"'”’»)\]]*+(?=\s+(\S))")
_STARTER = re.compile(r"[\"'“‘«(\[—–•*-]|\w")
_LIST_MARKER = re.compile(
    r"[^\S\n]*(?:[-–—•*▪●○·]|\(?\d{1,3}(?:\.\d{1,3})*[.)]|\(?[a-zа-я]\)|[IVXLC]{1,6}\.)\s+"
)
_DOTTED = re.compile(r"(?:\w\.)+\w")
_NUMBER = re.compile(r"\(?(?:\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,6})")


def ref_segment(text: str, *, lang: str = "") -> list[Segment]:
    """Paragraphs, each followed by its sentences; ``text[s.start:s.end]`` is trimmed text."""
    return list(ref_iter_segments(text, lang=lang))


def ref_iter_segments(text: str, *, lang: str = "") -> Iterator[Segment]:
    """The segments of ``segment``, one at a time (a caller can stop at a limit)."""
    n_sentences = 0
    for p_index, (p_start, p_end) in enumerate(paragraphs(text)):
        yield Segment("paragraph", p_index, p_start, p_end, p_index)
        for start, end in sentences(text, p_start, p_end, lang=lang):
            yield Segment("sentence", n_sentences, start, end, p_index)
            n_sentences += 1


def paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """Trimmed spans of the blank-line separated paragraphs that contain a letter or digit."""
    pos = 0
    for brk in _PARAGRAPH_BREAK.finditer(text):
        yield from _trimmed(text, pos, brk.start())
        pos = brk.end()
    yield from _trimmed(text, pos, len(text))


def sentences(text: str, start: int, end: int, *, lang: str = "") -> Iterator[tuple[int, int]]:
    """Trimmed sentence spans inside ``text[start:end]`` (a paragraph)."""
    cuts = sorted(
        set(_punctuation_cuts(text, start, end, lang)) | set(_line_cuts(text, start, end))
    )
    pos = start
    for cut in cuts:
        yield from _trimmed(text, pos, cut)
        pos = cut
    yield from _trimmed(text, pos, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if any(c.isalnum() for c in text[start:end]):
        yield start, end


def _punctuation_cuts(text: str, start: int, end: int, lang: str) -> Iterator[int]:
    for match in _END.finditer(text, start, end):
        nxt = match.start(1)
        if nxt >= end or not _STARTER.match(text[nxt]) or text[nxt].islower():
            continue
        only_periods = not any(c in "!?" for c in match.group())  # "?" and "!" always end
        if (
            only_periods
            and "." in match.group()
            and _is_abbreviation(text, start, match.start(), lang)
        ):
            continue
        yield match.end()


def _is_abbreviation(text: str, p_start: int, period: int, lang: str) -> bool:
    """Is the word ending at ``period`` one that takes a period without ending a sentence?"""
    # walk back over the word only: searching back for the line start was quadratic on a
    # paragraph that is one long line
    word_start = period
    while word_start > p_start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:period].lstrip("(\"'“‘«[")
    low = word.lower()
    if low in CLOSING:
        return False
    if low in ABBREVIATIONS or _DOTTED.fullmatch(word) or (len(word) == 1 and word.isalpha()):
        return True
    if _NUMBER.fullmatch(word):
        at_line_start = _opens_line(text, p_start, word_start)  # "1." opening a point
        ordinal = lang in ORDINAL_LANGS and word.isdigit() and len(word) <= 3
        return at_line_start or ordinal
    return False


def _opens_line(text: str, p_start: int, pos: int) -> bool:
    """Is ``pos`` preceded on its line (within the paragraph) by blanks only?"""
    while pos > p_start and text[pos - 1] != "\n" and text[pos - 1].isspace():
        pos -= 1
    return pos == p_start or text[pos - 1] == "\n"


def _line_cuts(text: str, start: int, end: int) -> Iterator[int]:
    """Sentence starts at single newlines: before list markers and after short headings."""
    lines = _lines(text, start, end)
    longest = max((b - a for a, b in lines), default=0)
    for (a, b), (c, _) in zip(lines, lines[1:], strict=False):
        capital = text[c].isupper() or text[c].isdigit()
        if _LIST_MARKER.match(text, c) or (capital and _is_heading(text[a:b], longest)):
            yield c


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        spans.append((pos, stop))
        pos = stop + 1
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _is_heading(line: str, longest: int) -> bool:
    line = line.strip()
    # a wrapped line of running text is near the paragraph's longest line; a heading is short
    # and has no closing punctuation
    return bool(line) and len(line) <= min(80, 0.6 * longest) and line[-1] not in ".,;:!?…-–—"


# -- the comparisons ---------------------------------------------------------------------------

# Sentences written for this test, a few per language, each with something a splitter can get
# wrong: abbreviations, initials, ordinals, numbers, quotes, ellipses, ?! and list points.
TEXTS = {
    "en": [
        "Dr. A. B. Smith met Gen. Ortiz on 3 Jan. at 10 a.m. in the U.S. embassy. He left.",
        'The minister said: "We agree." Then he left… The talks went on... Until 9 p.m.',
        "Is this the end?! No. It is item no. 4 of ch. 2, vol. III. See fig. 3.",
        "Trade grew by 1.5 per cent (approx. 2 bn.) etc. The next point follows.",
        "SECURITY AND DEFENCE\nThe parties agreed to cooperate.\n1. Joint exercises.\n"
        "2. Border control.\n- A list item\n• Another item",
    ],
    "tr": [
        "Türk Devletleri Teşkilatı'nın 3. Zirvesi Bakü'de yapıldı. Bkz. Ek 2.",
        "Dr. Ahmet Yılmaz ve Doç. Ayşe Kaya toplantıya katıldı. Toplantı 10. maddeyi ele aldı.",
        "Enerji, ulaştırma vb. Konular görüşüldü. «Bu bir başlangıçtır» dedi. Sonra ayrıldı.",
        "Taraflar anlaştı… Yeni bir dönem başladı! Peki ya sonra? Bilinmiyor.",
        "Cumhuriyetin 100. Yılı kutlandı. 1000. Yıl ise uzak. Madde 12. Bent 3. Fıkra.",
    ],
    "ru": [
        "Стороны обсудили безопасность, энергетику и т.д. Встреча прошла в г. Баку.",
        "Проф. И. И. Петров выступил с докладом. См. стр. 5 и рис. 2.",
        "«Мы договорились», — сказал министр. Затем он уехал… Переговоры продолжились.",
        "Объём торговли вырос на 5 млн. долл. США. Это рекорд!",
    ],
    "az": [
        "Türk Dövlətləri Təşkilatının 9. Zirvəsi Səmərqənddə keçirildi. Tərəflər razılaşdılar.",
        "Prof. Əliyev çıxış etdi. O, 2. bəndi xatırlatdı... Sonra iclas bitdi.",
        "«Biz birlikdəyik» dedi nazir. Növbəti görüş Bakıda olacaq.",
        "Respublikanın 100. İli qeyd edildi. 2024. İl isə başqadır.",
    ],
    "kk": [
        "Тараптар энергетика, көлік ж.б. Мәселелерді талқылады. Келесі кездесу Астанада.",
        "Мемлекет басшылары келісті. «Бұл жаңа кезең» деді министр… Кездесу аяқталды.",
        "Қазақстан мен Өзбекстан 2024 ж. Келісімге қол қойды. Сауда өсті.",
    ],
    "ky": [
        "Тараптар чек ара маселесин талкуулашты. Кийинки жолугушуу Бишкекте болот.",
        "Министр «биз макулбуз» деди. Андан кийин ал кетти… Сүйлөшүүлөр уланды.",
    ],
    "uz": [
        "Oʻzbekiston va Qozogʻiston hamkorlikni kengaytirdi. Prof. Karimov soʻzga chiqdi.",
        "Tomonlar kelishdi… Yangi bosqich boshlandi! Keyingi uchrashuv Toshkentda boʻladi.",
    ],
    "tk": [
        "Türkmenistan we Türkiýe hyzmatdaşlygy giňeltdi. Dr. Orazow çykyş etdi.",
        "Taraplar ylalaşdylar… Täze döwür başlandy! Indiki duşuşyk Aşgabatda bolar.",
    ],
}
FRAGMENTS = [s for texts in TEXTS.values() for s in texts] + [
    "A.", "No.", "3.", "II.", "(1)", "a)", "…", "...", "?!", '."', "».", "etc.", "т.д.",
    "HEADING", "Short line", "x" * 90, "\u00a0", "\t", "1.2.3", "U.S.", "e.g.", "“Quote.”",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "\n", "\n\n", "  ", "\n \n", "\r\n", "\u2028", "\n\n\n"]


def _random_texts(n: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(n):
        parts = [rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 25))]
        yield "".join(p + rng.choice(SEPARATORS) for p in parts)


def _same(text: str, lang: str) -> None:
    expected = ref_segment(text, lang=lang)
    assert segment(text, lang=lang) == expected, (lang, text)
    assert list(iter_segments(text, lang=lang)) == expected
    cols = columns(text, lang=lang)
    assert list(cols) == expected and cols == expected and len(cols) == len(expected)


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_the_fast_segmenter_is_the_reference_on_every_language(lang: str) -> None:
    for text in TEXTS[lang]:
        _same(text, lang)
    _same("\n\n".join(TEXTS[lang]), lang)
    _same("\n".join(TEXTS[lang]), lang)
    assert len(segment(" ".join(TEXTS[lang]), lang=lang)) > len(TEXTS[lang])  # it splits


def test_the_fast_segmenter_is_the_reference_on_random_texts() -> None:
    langs = ("en", "tr", "ru", "az", "kk", "ky", "uz", "tk", "")
    for i, text in enumerate(_random_texts(3000, seed=7)):
        for j, lang in enumerate(langs):
            if (i + j) % 3 == 0 or lang in ("tr", "en"):  # tr: ordinals; en: the default
                _same(text, lang)


def test_long_words_and_long_lines_need_no_quadratic_walk() -> None:
    word = "a" * 5000
    _same(f"See {word}. Then more. {word}{word}. End.", "en")
    _same("x. " * 3000 + "Y.", "tr")


def test_re_blanks_and_word_characters_are_the_str_methods() -> None:
    """The fast path asks re where the straightforward one asked str.isspace / str.isalnum."""
    blank, alnum = re.compile(r"\s"), re.compile(r"[^\W_]")
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        assert bool(blank.match(c)) is c.isspace(), hex(cp)
        assert bool(alnum.match(c)) is c.isalnum(), hex(cp)


def test_scale_corpus_documents_segment_as_before(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        import scale
    finally:
        sys.path.pop(0)
    scale.write_corpus(tmp_path, 0.3, doc_kb=20, seed=3)
    scale.write_corpus(tmp_path / "u", 0.1, doc_kb=20, seed=4, unique=True)
    for path in sorted(tmp_path.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        lang = re.search(r"language: (\w+)", text).group(1)  # type: ignore[union-attr]
        _same(text, lang)


def test_segments_are_columns_that_read_as_segments() -> None:
    text = "First one. Second one.\n\nA new paragraph."
    cols = columns(text, lang="en")
    segs = tuple(ref_segment(text, lang="en"))
    assert isinstance(cols, Segments) and cols == segs and segs == cols
    assert cols[0] == segs[0] and cols[-1] == segs[-1] and cols[1:3] == segs[1:3]
    assert hash(cols) == hash(segs)
    with pytest.raises(IndexError):
        cols[len(segs)]
    again = pickle.loads(pickle.dumps(cols))
    assert again == cols and isinstance(again, Segments)
    assert cols.rows(7) == [(7, s.kind, s.index, s.start, s.end, s.paragraph) for s in segs]
    assert cols != columns("Another text.", lang="en")
    assert Segments() == () and len(Segments()) == 0
    with pytest.raises(ValueError, match="five integers"):
        Segments([1, 2, 3])


def test_columns_stop_one_past_the_limit() -> None:
    text = " ".join(f"Sentence {i} ends here." for i in range(50))
    assert len(columns(text, lang="en", limit=10)) == 11
    assert list(columns(text, lang="en", limit=10)) == ref_segment(text, lang="en")[:11]
    assert len(columns(text, lang="en", limit=1000)) == len(ref_segment(text, lang="en"))
