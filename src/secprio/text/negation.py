"""Negation and denial cues around a match, per language, over normalized text.

"No collective defence obligation is created" is not a statement of military cooperation.
A match counts as negated when a cue stands right next to it: up to ``WINDOW`` words before
it for languages that negate before the phrase (English, Russian; Turkic "hiçbir"/"heç
bir"), or right after it for the Turkic predicate negators ("... ittifakı değil", "...
emes", "... жоқ"). The window is deliberately short: "Turkey is not the source of illegal
migration" still speaks about migration, and the dev set codes it so. Verb-suffix negation
(Turkish -mA-, Kazakh -ма/-ме) is not detected: it needs morphology, not a word list.

Cues are written in the normalized form (lower case, Cyrillic transliterated to the Common
Turkic Alphabet), so one list covers both scripts of a language.
"""

from __future__ import annotations

import re

WINDOW = 2  # words allowed between a preceding cue and the match

_BEFORE = {
    "en": r"no|not|never|neither|nor|without|non|cannot|deny|denies|denied|rules? out|ruled out",
    "ru": r"ne|net|bez|ni|nikakix|nikakogo|nikakoy|otritsa\w*",
    "tr": r"hiçbir|hiç bir",
    "az": r"heç bir|heçbir",
    "kk": r"eşqanday|eş",
    "ky": r"eç kanday|eç bir",
    "uz": r"hech qanday|hech bir",
    "tk": r"hiç hili|hiç bir",
}
_AFTER = {
    "tr": r"değil\w*|yok\w*",
    "az": r"deyil\w*|yox\w*",
    "kk": r"emes\w*|joq\w*",
    "ky": r"emes\w*|jok\w*",
    "uz": r"emas\w*|yo\W?q\w*",
    "tk": r"däl\w*|ýok\w*|yok\w*",
}
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


def negated(text: str, start: int, end: int, lang: str = "") -> bool:
    """Whether the match ``text[start:end]`` (normalized text) is negated by a cue beside it,
    within its clause. An unknown language is checked against every language's cues."""
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
