"""Normalization for matching: one function applied alike to documents and to codebook patterns.

``normalize(text)`` = NFC, then one code-point table (lower case + Cyrillic → Latin + folds),
then the Uzbek Latin digraphs oʻ and gʻ. Whatever it does, it does to text and pattern alike,
so what matters is that every spelling variant of a word lands on the same string.

**Target alphabet.** The Latin Common Turkic Alphabet as agreed by the OTS Common Alphabet
Commission in Baku, 9–11 September 2024 (34 letters: a b c ç d e ə f g ğ h x ı i j k q l m n ñ
o ö p r s ş t u ū ü v y z — ə with the variant ä, ū added for Kazakh ұ, no w). Source for the
agreement: the Turkic Academy's statement of 11 Sept 2024 (reported by Anadolu Agency); for the
letters: the 2024 table of Wikipedia's "Common Turkic alphabet" page. The commission published no
official Cyrillic correspondence, so the table below follows each language's own Latin
orthography where it agrees with the CTA (Azerbaijani, Turkmen, Uzbek 1993, Kazakh 2021) and
common Russian→Turkic practice for Russian-only letters (ц→ts, щ→şç, ё/ю/я→yo/yu/ya, ъ ь dropped).

Decisions a codebook author should know:

* **Dotted and dotless i are folded together** (I, İ, ı, i → i; Cyrillic ы → CTA ı → i).
  Capital I is ı in Turkish and i in English; without the language no case rule serves both
  ("ISPARTA"/"Isparta", "INTERNATIONAL"/"international"). Folding keeps every case variant of
  an English or Turkish word matching; the price is rare minimal pairs (sınır/sinir).
* ``г`` → g everywhere, although Azerbaijani Cyrillic (pre-1991) used it for q: Russian, Kazakh
  and Kyrgyz outnumber historical Azerbaijani Cyrillic by far.
* ``х`` → x (CTA, Uzbek, Azerbaijani); Kazakh Latin writes h, so "xaliq" not "haliq".
* Latin folds toward the CTA: ä→ə, Turkmen ý→y ň→ñ ž→j, Turkish circumflex â î û → a i u,
  Uzbek Latin oʻ→ö and gʻ→ğ (written with ʻ or ‘). A plain apostrophe is *not* read as ʻ:
  Turkish writes one before the suffixes of names ("Tokyo'da").
* ASCII is never rewritten beyond lower case, so an English pattern or a ``re:`` body reads as
  written. Hence Uzbek Latin sh/ch stay sh/ch while Cyrillic ш/ч become CTA ş/ç: an Uzbek
  pattern for both scripts needs both spellings (``chegara*`` and ``чегара*``), and Uzbek typed
  with a plain apostrophe ("O'zbekiston") needs that spelling too.
* Known gaps: word-initial е is e, not ye (Uzbek Latin "Yevropa"); Turkmen Latin w and j stay.
* Letters outside the Basic Multilingual Plane are left as they are (not lower-cased).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

# fmt: off
# Cyrillic (lower case) → CTA, before the folds below.
CYRILLIC = {
    **dict(zip("абвгдежзийклмнопрстуфхчшыэ", "abvgdejziyklmnoprstufxçşıe", strict=True)),
    "ё": "yo", "ц": "ts", "щ": "şç", "ъ": "", "ь": "", "ю": "yu", "я": "ya",
    # Kazakh, Kyrgyz, Uzbek, Turkmen, Azerbaijani letters
    "ә": "ə", "ғ": "ğ", "қ": "q", "ң": "ñ", "ө": "ö", "ұ": "ū", "ү": "ü", "һ": "h",
    "і": "i", "ў": "ö", "ҳ": "h", "җ": "c", "ҝ": "g", "ҹ": "c", "ј": "y",
}
# Folds applied after lower-casing and transliteration: why each exists is in the docstring.
FOLDS = {
    "ı": "i", "ä": "ə", "ý": "y", "ň": "ñ", "ž": "j", "â": "a", "ê": "e", "î": "i", "ô": "o",
    "û": "u", "ς": "σ", "‘": "ʻ", "’": "'", "‐": "-", "‑": "-", "«": '"', "»": '"', "“": '"',
    "”": '"', "„": '"', "\u2028": "\n", "\u2029": "\n",
    "\u00ad": "", "\u200b": "", "\u2060": "", "\ufeff": "", "\u0307": "", "ʼ": "",
}
# fmt: on
DIGRAPHS = (("oʻ", "ö"), ("gʻ", "ğ"))  # ‘ is folded to ʻ by the table first
SHORT = 128  # below this many characters str.translate beats the numpy round trip


_SPACES = "".join(map(chr, (0x20, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)))


def _build() -> list[str]:
    """What each BMP code point becomes, before digraphs: lower case, transliterate, fold."""
    special = {c: "".join(FOLDS.get(x, x) for x in CYRILLIC.get(c, c)) for c in {*CYRILLIC, *FOLDS}}
    special.update(dict.fromkeys(_SPACES, " "))  # every Unicode space separator (Zs)
    # lower() of İ is i + U+0307; keeping the first character folds the dot away
    table = [special.get(low, low) for low in (chr(cp).lower()[:1] for cp in range(0x10000))]
    for cp in range(0xFDD0, 0xFDF0):
        table[cp] = "\ufffd"  # input noncharacters must not be mistaken for placeholders
    return table


_TABLE = _build()
# The numpy path works on UTF-16 code units one-to-one, so multi-character targets go through
# placeholder noncharacters (U+FDD0…) that are expanded afterwards with str.replace.
_PLACEHOLDER = {
    t: chr(0xFDD0 + i) for i, t in enumerate(sorted({t for t in _TABLE if len(t) != 1}))
}
_LUT = np.frombuffer(
    "".join(_PLACEHOLDER.get(t, t) for t in _TABLE).encode("utf-16-le", "surrogatepass"),
    dtype=np.uint16,
)


_LEN = np.array([len(t) for t in _TABLE], dtype=np.int64)  # characters each code point becomes
_APOSTROPHE = np.array(["ʻ" in t for t in _TABLE])  # the code points whose target holds a ʻ
# the characters that do not become exactly one character, or become a ʻ (a digraph's half);
# outside the BMP every character stays itself
_ODD = frozenset(chr(cp) for cp, t in enumerate(_TABLE) if len(t) != 1 or "ʻ" in t)


def normalize(text: str) -> str:
    """Matching form of ``text``: NFC, lower case, Cyrillic → CTA, folds, Uzbek oʻ/gʻ."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if text.isascii():
        return text.lower()  # C fast path; the table and the digraphs change nothing else
    text = text.translate(_TABLE) if len(text) < SHORT else _translate_long(text)
    return _digraphs(text)


def normalize_many(texts: Sequence[str]) -> list[str]:
    """``[normalize(t) for t in texts]``, normalized as one string joined by NULs: no step
    acts across a NUL (NFC composes nothing with it, the table keeps it, no digraph holds
    it), so the pieces come back as they would one by one, at the speed of the long-text
    path. Texts holding a NUL themselves are normalized one by one."""
    joined = "\x00".join(texts)
    if not texts or joined.count("\x00") != len(texts) - 1:
        return [normalize(t) for t in texts]
    return normalize(joined).split("\x00")


def _digraphs(text: str) -> str:
    if "ʻ" in text:  # one cheap scan spares two-character searches on nearly all text
        for old, new in DIGRAPHS:
            text = text.replace(old, new)
    return text


def _translate_long(text: str) -> str:
    # str.translate takes CPython's per-character slow path for non-ASCII text (~20 MB/s);
    # a uint16 lookup over UTF-16 code units runs in C end to end.
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    out = _LUT[units].tobytes().decode("utf-16-le", "surrogatepass")
    for target, mark in _PLACEHOLDER.items():
        if mark in out:
            out = out.replace(mark, target)
    return out


def offset_map(text: str) -> list[int]:
    """Index into ``text`` of every character of ``normalize(text)``, plus a final ``len(text)``.

    A normalized span ``[s, e)`` is ``text[m[s]:m[e]]`` (see ``original_span``). Slow: meant
    for matched sentences, not whole corpora.
    """
    if text.isascii():  # ASCII is only lower-cased: one character each, in place
        return list(range(len(text) + 1))
    fast = _fast_offsets(text)
    if fast is not None:
        return fast
    return _offsets(text)


def span_map(text: str) -> Sequence[int]:
    """``offset_map``, as a ``range`` when every character maps to itself (ASCII, or NFC text
    whose characters each become one): a coder maps the spans of every matched sentence, and
    most need no list of their own."""
    if text.isascii() or (_ODD.isdisjoint(text) and unicodedata.is_normalized("NFC", text)):
        return range(len(text) + 1)
    return offset_map(text)


def _fast_offsets(text: str) -> list[int] | None:
    """``offset_map`` of NFC text whose table output has no ʻ (no digraph): the indices when
    every character becomes one; else, in the BMP, each character's index repeated as often as
    the characters it becomes (numpy, in C); None for any other text."""
    if not unicodedata.is_normalized("NFC", text):
        return None
    if _ODD.isdisjoint(text):  # every character becomes one: the offsets are the indices
        return list(range(len(text) + 1))
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    if len(units) != len(text) or _APOSTROPHE[units].any():
        return None  # a letter outside the BMP (two code units), or a ʻ to read as a digraph
    origin = np.repeat(np.arange(len(text), dtype=np.int64), _LEN[units])
    return [*origin.tolist(), len(text)]


def _offsets(text: str) -> list[int]:
    chars: list[str] = []
    origin: list[int] = []
    for start, cluster in _clusters(text):
        for char in unicodedata.normalize("NFC", cluster):
            piece = _TABLE[ord(char)] if ord(char) < 0x10000 else char
            chars.extend(piece)
            origin.extend([start] * len(piece))
    for old, new in DIGRAPHS:
        _replace(chars, origin, old, new)
    origin.append(len(text))
    return origin


def original_span(omap: Sequence[int], start: int, end: int) -> tuple[int, int]:
    """Span of the original text behind the normalized span ``[start, end)``."""
    first = omap[start]
    last = omap[end]
    if end > start and last <= omap[end - 1]:
        last = omap[end - 1] + 1  # the span ends inside one letter's expansion (щ → şç)
    return first, last


def _clusters(text: str) -> list[tuple[int, str]]:
    """Base characters with their combining marks: the units NFC composes within."""
    if unicodedata.is_normalized("NFC", text):
        return list(enumerate(text))
    out: list[tuple[int, str]] = []
    for i, char in enumerate(text):
        if out and (unicodedata.combining(char) or 0x1160 <= ord(char) <= 0x11FF):
            out[-1] = (out[-1][0], out[-1][1] + char)
        else:
            out.append((i, char))
    return out


def _replace(chars: list[str], origin: list[int], old: str, new: str) -> None:
    """``str.replace`` on a list of characters, keeping each new character's origin."""
    text = "".join(chars)
    if old not in text:
        return
    out_chars: list[str] = []
    out_origin: list[int] = []
    pos = 0
    while (hit := text.find(old, pos)) >= 0:
        out_chars.extend(chars[pos:hit])
        out_origin.extend(origin[pos:hit])
        out_chars.append(new)
        out_origin.append(origin[hit])
        pos = hit + len(old)
    out_chars.extend(chars[pos:])
    out_origin.extend(origin[pos:])
    chars[:] = out_chars
    origin[:] = out_origin
