"""Language identification among the languages an OTS-like corpus is written in."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from py3langid.langid import MODEL_FILE, LanguageIdentifier

LANGUAGES = ("en", "tr", "az", "kk", "ky", "uz", "tk", "ru")
SAMPLE = 20_000  # characters: langid walks bytes in Python, and a page settles the question

# Cyrillic Kazakh, Kyrgyz and Uzbek share most letters and langid sometimes swaps them on
# short or name-heavy text; these letters are exclusive to one of them (or to a pair).
_KAZAKH = frozenset("әұіһӘҰІҺ")
_UZBEK = frozenset("ўҳЎҲ")
_KAZAKH_OR_UZBEK = frozenset("ғқҒҚ")
_KAZAKH_OR_KYRGYZ = frozenset("ңөүҢӨҮ")
_CONFUSABLE = ("kk", "ky", "uz")


class Guess(NamedTuple):
    lang: str  # ISO 639-1, or "und" when there is nothing to go on
    confidence: float  # probability among LANGUAGES, 0.0 for "und"


@cache
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def identify(text: str) -> Guess:
    """The most likely language of ``text`` among LANGUAGES, with its probability."""
    sample = text[:SAMPLE]
    if not any(c.isalpha() for c in sample):
        return Guess("und", 0.0)
    ranked = dict(_identifier().rank(sample))
    best = max(ranked, key=ranked.__getitem__)
    if best in _CONFUSABLE:
        by_letters = _by_letters(sample)
        if by_letters and by_letters != best:
            # the rule only moves probability inside the confusable group, so report its mass
            return Guess(by_letters, float(sum(ranked.get(k, 0.0) for k in _CONFUSABLE)))
    return Guess(best, float(ranked[best]))


def detect(text: str) -> str:
    """ISO 639-1 code of the language of ``text`` ("und" for empty text)."""
    return identify(text).lang


def _by_letters(text: str) -> str:
    """Kazakh, Kyrgyz or Uzbek from letters only one of them uses; "" when undecided."""
    kazakh = sum(c in _KAZAKH for c in text)
    uzbek = sum(c in _UZBEK for c in text)
    if kazakh > uzbek:
        return "kk"
    if uzbek:
        return "uz"
    if any(c in _KAZAKH_OR_KYRGYZ for c in text) and not any(c in _KAZAKH_OR_UZBEK for c in text):
        return "ky"
    return ""
