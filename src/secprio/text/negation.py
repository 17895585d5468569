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
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

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


# the last clause mark of a window: greedy, so one C call finds it
_LAST_CLAUSE = re.compile(rf"(?s).*{_CLAUSE.pattern}")


@dataclass(frozen=True)
class Cues:
    """A language's cue regexes, and for each the bare cue words, which match somewhere in a
    sentence wherever the full regex matches in one of its windows: a sentence without them
    needs no window checked (most sentences)."""

    before: re.Pattern[str] | None
    after: re.Pattern[str] | None
    before_words: re.Pattern[str] | None  # a cue and the non-word character after it
    after_words: re.Pattern[str] | None


@cache
def cues(lang: str) -> Cues:
    """The cues of ``lang``; of every language, as one alternation each, when it is not one of
    them (an alternation of the languages' cues matches where one of them does: their
    patterns differ only in the cue words)."""
    key = lang.strip().lower().replace("_", "-").split("-")[0]
    keys = [key] if key in _BEFORE or key in _AFTER else list(_BEFORE)
    before = "|".join(_BEFORE[k] for k in keys if k in _BEFORE)
    after = "|".join(_AFTER[k] for k in keys if k in _AFTER)
    return Cues(
        _compile(before, before=True) if before else None,
        _compile(after, before=False) if after else None,
        re.compile(rf"(?:{before})\W") if before else None,
        re.compile(rf"(?:{after})") if after else None,
    )


def negated(text: str, start: int, end: int, lang: str = "") -> bool:
    """Whether the match ``text[start:end]`` (normalized text) is negated by a cue beside it,
    within its clause. An unknown language is checked against every language's cues."""
    return _negated(cues(lang), text, start, end, True, True)


def negated_spans(text: str, spans: Iterable[tuple[int, ...]], lang: str = "") -> list[bool]:
    """``negated`` for each span (start, end, ...) of one sentence, with the sentence checked
    once for the cue words: the same answers, without a window read where no cue can be."""
    found = cues(lang)
    pre = found.before_words is not None and found.before_words.search(text) is not None
    post = found.after_words is not None and found.after_words.search(text) is not None
    if not (pre or post):
        return [False for _ in spans]
    return [_negated(found, text, span[0], span[1], pre, post) for span in spans]


def _negated(found: Cues, text: str, start: int, end: int, pre: bool, post: bool) -> bool:
    # The windows are those of the straightforward reading: up to 80 characters before the
    # match, cut after the clause's last mark; up to 40 after it, cut at the first one. A
    # cue must lie inside a window, so where the sentence lacks the cue words the window
    # need not be read (``pre``/``post`` False).
    if pre and found.before is not None:
        low = max(0, start - 80)
        last = _LAST_CLAUSE.match(text, low, start)
        if found.before.search(" " + text[last.end() if last else low : start]):
            return True
    if post and found.after is not None:
        stop = _CLAUSE.search(text, end, end + 40)
        if found.after.search(text[end : stop.start() if stop else end + 40]):
            return True
    return False
