"""Paragraphs and sentences with character offsets into the original text.

Rule-based on purpose: no model downloads, the same result on every machine, and rules that a
reader can check. A paragraph is a run of text between blank lines; single newlines inside it
are line wraps (PDF) except before a list marker or after a short heading line. A sentence ends
at . ! ? or … (plus closing quotes) followed by whitespace and a capital, digit or opening quote,
unless the word before the period is an abbreviation, an initial or a list number.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator
from itertools import islice

from secprio.model import KINDS, Segment, Segments

# Words that take a period but do not end a sentence (lower case, without the final period).
_ABBREVIATIONS = """mr mrs ms dr prof gen col lt maj capt sgt adm gov sen rep pres amb hon rev st
    jr sr inc ltd co corp dept univ no nos nr art arts para paras sec ch chap vol vols pp fig
    figs ed eds approx est vs cf al jan feb mar apr jun jul aug sep sept oct nov dec
    гг тт др пр см стр ст им ул млн млрд тыс руб проф акад рис напр ген полк обл св
    bkz doç av sn alb yrd yzb örn md yy cad sok mah apt bşk şti mln mlrd жж"""
ABBREVIATIONS = frozenset(_ABBREVIATIONS.split())
# Abbreviations that usually close a list and often the sentence: a capital after them is taken
# as a new sentence.
CLOSING = frozenset(["etc", "vb", "т.д", "т.п", "т.б", "и.т.д", "т.с.с", "ж.б", "h.k"])
# Turkish and Azerbaijani write ordinals as "9. Zirve": a short number with a period is no end.
ORDINAL_LANGS = frozenset({"tr", "az"})

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
# possessive, and only from the first mark of a run: no backtracking over long runs of marks
_END = re.compile(r"(?<![.!?…])[.!?…]++[\"'”’»)\]]*+(?=\s+(\S))")
_STARTER = re.compile(r"[\"'“‘«(\[—–•*-]|\w")
_LIST_MARKER = re.compile(
    r"[^\S\n]*(?:[-–—•*▪●○·]|\(?\d{1,3}(?:\.\d{1,3})*[.)]|\(?[a-zа-я]\)|[IVXLC]{1,6}\.)\s+"
)
_DOTTED = re.compile(r"(?:\w\.)+\w")
_NUMBER = re.compile(r"\(?(?:\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,6})")
# re's \s is str.isspace and [^\W_] str.isalnum (the same Unicode tables; the tests check
# every code point): one C call instead of a Python loop over characters
_BLANKS = re.compile(r"\s*")
_ALNUM = re.compile(r"[^\W_]")
_LAST_BLANK = re.compile(r"\s")


def segment(text: str, *, lang: str = "") -> list[Segment]:
    """Paragraphs, each followed by its sentences; ``text[s.start:s.end]`` is trimmed text."""
    return list(iter_segments(text, lang=lang))


def iter_segments(text: str, *, lang: str = "") -> Iterator[Segment]:
    """The segments of ``segment``, one at a time (a caller can stop at a limit)."""
    for kind, index, start, end, paragraph in _rows(text, lang):
        yield Segment(KINDS[kind], index, start, end, paragraph)


def columns(text: str, *, lang: str = "", limit: int | None = None) -> Segments:
    """The segments of ``segment`` as columns (``Segments``), made without a ``Segment``
    each; at most ``limit + 1`` of them, so a caller sees a text over its limit without
    segmenting all of it."""
    rows = _rows(text, lang)
    data = array("q")
    for row in rows if limit is None else islice(rows, limit + 1):
        data.extend(row)
    return Segments(data)


def _rows(text: str, lang: str) -> Iterator[tuple[int, int, int, int, int]]:
    n_sentences = 0
    for p_index, (p_start, p_end) in enumerate(paragraphs(text)):
        yield 0, p_index, p_start, p_end, p_index
        for start, end in sentences(text, p_start, p_end, lang=lang):
            yield 1, n_sentences, start, end, p_index
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
    cuts = _punctuation_cuts(text, start, end, lang)  # ascending, each once
    if text.find("\n", start, end) >= 0:  # line cuts need a line break
        cuts = sorted(set(cuts) | set(_line_cuts(text, start, end)))
    pos = start
    for cut in cuts:
        yield from _trimmed(text, pos, cut)
        pos = cut
    yield from _trimmed(text, pos, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    start = _BLANKS.match(text, start, end).end()  # type: ignore[union-attr]  # \s* matches
    while end > start and text[end - 1].isspace():
        end -= 1
    if _ALNUM.search(text, start, end):
        yield start, end


def _punctuation_cuts(text: str, start: int, end: int, lang: str) -> list[int]:
    cuts = []
    for match in _END.finditer(text, start, end):
        nxt = match.start(1)
        if nxt >= end or not _STARTER.match(text, nxt) or text[nxt].islower():
            continue
        marks = match.group()
        only_periods = "!" not in marks and "?" not in marks  # "?" and "!" always end
        if only_periods and "." in marks and _is_abbreviation(text, start, match.start(), lang):
            continue
        cuts.append(match.end())
    return cuts


def _is_abbreviation(text: str, p_start: int, period: int, lang: str) -> bool:
    """Is the word ending at ``period`` one that takes a period without ending a sentence?"""
    # the word only: from the last blank before the period (searching back for the line
    # start was quadratic on a paragraph that is one long line)
    word_start = _word_start(text, p_start, period)
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


def _word_start(text: str, p_start: int, period: int) -> int:
    """Where the run of non-blank characters that ends at ``period`` starts (not before
    ``p_start``): a look at the last 32 characters, wider only for a longer word."""
    width = 32
    while True:
        low = max(p_start, period - width)
        last = None
        for blank in _LAST_BLANK.finditer(text, low, period):
            last = blank
        if last is not None:
            return last.end()
        if low == p_start:
            return p_start
        width *= 4


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
