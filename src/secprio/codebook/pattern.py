"""One codebook pattern, compiled to a regex over normalized text.

Syntax (quanteda-style), matched on ``normalize``-d text (NFC, Turkish-aware lower case,
Cyrillic transliterated to the Common Turkic Alphabet):

- ``terrorism``: the whole word; ``military cooperation``: the words in sequence, any
  whitespace between; ``terror*``: ``*`` is any run of word characters (``\\w*``), at the end,
  the start or inside a word (``işbirliğ*``, ``defen*e``);
- ``re:BODY``: a Python regex over normalized text. The body is not normalized as a whole
  (escapes and ASCII are used as written: ``\\S`` must stay upper case), so write it in lower
  case and Latin script (``re:\\bqazaqstan\\b``, not ``Қазақстан``); but each non-ASCII
  letter that normalization turns into one other character is folded the same way (``ı`` →
  ``i``, ``’`` → ``'``), since the unfolded letter never occurs in normalized text and a
  Turkish regex written as spoken would otherwise never match.

Globs are normalized before compiling, so a Latin pattern matches the Cyrillic spelling.
Besides the Python regex that defines a match, each pattern carries two *prefilters* used by
the dictionary coder: a hyperscan expression that matches wherever the regex matches (and
sometimes elsewhere), and the longest literal every match contains. Both only select which
units the regex is run on, so every backend yields the same matches.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from secprio.errors import CodebookError
from secprio.text.normalize import normalize

# The parser behind `re` (no public API): it tells what a regex requires, exactly as re reads it.
_parser: Any = importlib.import_module("re._parser")
C: Any = importlib.import_module("re._constants")

REGEX_PREFIX = "re:"

# Character classes for hyperscan. Its Unicode \w is costly to compile (a tenth of a second per
# use) and its tables are older than Python's; and UCP mode has no \b. So classes are spelled
# out: Python's own members below U+0530 (Latin, Greek, Cyrillic: all the scripts codebooks use),
# and every character above. A *positive* class is then a superset of Python's; inside a negated
# class the exact part alone is a subset. Either way the prefilter never misses a match.
_LIMIT = 0x530
_ESCAPES = {
    C.CATEGORY_WORD: r"\w", C.CATEGORY_NOT_WORD: r"\W", C.CATEGORY_DIGIT: r"\d",
    C.CATEGORY_NOT_DIGIT: r"\D", C.CATEGORY_SPACE: r"\s", C.CATEGORY_NOT_SPACE: r"\S",
}  # fmt: skip


def _hs_literal(text: str) -> str:
    return "".join(f"\\x{{{ord(c):x}}}" for c in text)


def _ranges(escape: str) -> str:
    rx, out, start = re.compile(escape), [], -1
    for cp in range(_LIMIT + 1):
        inside = cp < _LIMIT and rx.match(chr(cp)) is not None
        if inside and start < 0:
            start = cp
        elif not inside and start >= 0:
            out.append(
                _hs_literal(chr(start)) + ("-" + _hs_literal(chr(cp - 1))) * (cp - 1 > start)
            )
            start = -1
    return "".join(out)


_SUBSET = {category: _ranges(escape) for category, escape in _ESCAPES.items()}
_SUPERSET = {c: f"{ranges}\\x{{{_LIMIT:x}}}-\\x{{10ffff}}" for c, ranges in _SUBSET.items()}
_HS_NOT_WORD = f"[{_SUPERSET[C.CATEGORY_NOT_WORD]}]"
_HS_STAR = f"[{_SUPERSET[C.CATEGORY_WORD]}]*"
_HS_SPACE = f"[{_SUPERSET[C.CATEGORY_SPACE]}]+"
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Pattern:
    text: str  # as written in the codebook
    regex: str  # Python regex over normalized text: defines what matches
    hyperscan: str  # matches wherever `regex` does; "" when none can be written
    literal: str  # longest text every match contains; "" when there is none


@functools.lru_cache(maxsize=1 << 16)
def fold(body: str) -> str:
    """A regex body with each non-ASCII character folded as ``normalize`` folds it, where that
    gives one other character (``ı`` → ``i``, ``’`` → ``'``); ASCII (escapes, classes, syntax)
    stays as written. A non-ASCII character is a literal even after a backslash."""
    return "".join(ch if ch.isascii() else _fold_char(ch) for ch in body)


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    folded = normalize(ch)
    return folded if len(folded) == 1 else ch


@functools.lru_cache(maxsize=1 << 16)  # the loader, prepare and the coder all ask
def check(text: str) -> tuple[str, str] | None:
    """The problem with a pattern and its fix, or None when it compiles."""
    if not text.strip():
        return "empty pattern", "remove it, or write a word, a phrase or `re:` + a regex"
    if len(text) > MAX_PATTERN_CHARS:
        return (
            f"pattern {text[:40]!r}… is {len(text):,} characters long "
            f"(at most {MAX_PATTERN_CHARS:,})",
            "split it into several patterns",
        )
    if not text.startswith(REGEX_PREFIX):
        if not text.replace("*", "").strip():
            return f"pattern {text!r} is only wildcards", "put a word stem before `*`: `terror*`"
        return None
    body = fold(text[len(REGEX_PREFIX) :])
    if "\b" in body:
        fix = r"in double quotes write `\\b`; or use single quotes: 're:\bword\b'"
        return f"regex {body!r} contains a backspace character", fix
    try:
        compiled = re.compile(body)
    except re.error as err:
        return f"regex {body!r} does not compile: {err}", "fix the regex (Python `re` syntax)"
    if any(m.end() == m.start() for m in compiled.finditer("a ş1.\n")) or compiled.match(""):
        return f"regex {body!r} can match the empty string", "require at least one character"
    slow = _backtracking(body)
    if slow is None and not _probe(compiled):
        slow = f"it takes over {PROBE_SECONDS} s on a {PROBE_CHARS:,}-character test sentence"
    if slow:
        return (
            f"regex {body!r} can backtrack for too long: {slow}",
            "match each repeated piece one way only: (a+)+ is a+, (a|ab)* is (ab?)*; "
            "or bound the repeat, {1,5}",
        )
    return None


def prepare(text: str) -> Pattern:
    """Compile ``text`` (as written in a codebook); CodebookError if it cannot be."""
    problem = check(text)
    if problem:
        raise CodebookError(problem[0], hint=problem[1], code="E203")
    if text.startswith(REGEX_PREFIX):
        body = fold(text[len(REGEX_PREFIX) :])
        return Pattern(text, body, _hyperscan(body), _literal(body))
    return _glob(text)


def _glob(text: str) -> Pattern:
    norm = normalize(text)
    if norm.count("*") != text.count("*"):  # keep the wildcards whatever normalize does
        norm = "*".join(normalize(piece) for piece in text.split("*"))
    tokens = [tok.split("*") for tok in norm.split()]
    chars = "".join(piece for tok in tokens for piece in tok)
    if not chars:
        raise CodebookError(
            f"pattern {text!r} has no letters", hint="write a word or a stem", code="E202"
        )
    lead = _WORD.match(chars[0]) is not None and tokens[0][0] != ""
    trail = _WORD.match(chars[-1]) is not None and tokens[-1][-1] != ""
    body = r"\s+".join(r"\w*".join(re.escape(p) for p in tok) for tok in tokens)
    first = re.escape(tokens[0][0])
    if lead:  # \b written after the first piece: re then finds candidates by literal search
        py = f"{first}(?<=\\b{first}){body[len(first) :]}"
    else:
        py = (r"\b" if _WORD.match(chars[0]) else "") + body
    py += r"\b" if trail else ""  # after a final star, greedy \w* ends at a boundary anyway
    # hyperscan has no \b in UCP mode: a boundary consumes the non-word character next to the
    # match (a unit always has one: it sits between separators). Leading and trailing stars are
    # dropped: the prefilter only needs to see that a match ends in the unit.
    pieces = [list(tok) for tok in tokens]
    while pieces[0] and not pieces[0][0]:
        pieces[0].pop(0)
    while pieces[-1] and not pieces[-1][-1]:
        pieces[-1].pop()
    hs = _HS_SPACE.join(_HS_STAR.join(_hs_literal(p) for p in tok) for tok in pieces)
    hs = (_HS_NOT_WORD if lead else "") + hs + (_HS_NOT_WORD if trail else "")
    return Pattern(text, py, hs, max((p for tok in tokens for p in tok), key=len))


def _hyperscan(body: str) -> str:
    """A hyperscan expression matching wherever the Python regex ``body`` matches, or ""."""
    parsed = _parser.parse(body)
    try:
        expr = _hs_seq(parsed.data, {})
    except NotImplementedError:  # conditionals, forward references: the coder verifies all units
        return ""
    flags = parsed.state.flags
    if flags & re.ASCII:  # the class tables are Unicode's
        return ""
    prefix = ("i" if flags & re.IGNORECASE else "") + ("s" if flags & re.DOTALL else "")
    return f"(?{prefix}){expr}" if prefix else expr


def _hs_seq(items: Any, groups: dict[int, str]) -> str:
    return "".join(_hs_item(op, av, groups) for op, av in items)


def _hs_item(op: Any, av: Any, groups: dict[int, str]) -> str:
    if op is C.LITERAL:
        return _hs_literal(chr(av))
    if op is C.NOT_LITERAL:
        return f"[^{_hs_literal(chr(av))}]"
    if op is C.ANY:
        return "."
    if op is C.IN:
        return _hs_class(av)
    if op is C.BRANCH:
        return "(?:" + "|".join(_hs_seq(branch.data, groups) for branch in av[1]) + ")"
    if op is C.SUBPATTERN:
        return _hs_group(av, groups)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        lo, hi, sub = av
        return f"(?:{_hs_seq(sub.data, groups)}){{{lo},{'' if hi == C.MAXREPEAT else hi}}}"
    if op is C.ATOMIC_GROUP:
        return f"(?:{_hs_seq(av.data, groups)})"
    if op is C.GROUPREF and av in groups:  # what the group matched, its regex matches
        return f"(?:{groups[av]})"
    if op is C.AT:
        return _hs_anchor(av)
    if op in (C.ASSERT, C.ASSERT_NOT):  # dropping an assertion only widens the prefilter
        return ""
    raise NotImplementedError(op)


def _hs_group(av: Any, groups: dict[int, str]) -> str:
    group, add, drop, sub = av
    if add & re.ASCII:
        raise NotImplementedError("(?a:...)")
    on = ("i" if add & re.IGNORECASE else "") + ("s" if add & re.DOTALL else "")
    off = ("i" if drop & re.IGNORECASE else "") + ("s" if drop & re.DOTALL else "")
    inner = _hs_seq(sub.data, groups)
    if group is not None:
        groups[group] = inner
    return f"(?{on}{'-' + off if off else ''}:{inner})"


def _hs_anchor(av: Any) -> str:
    # Units sit between newlines in the scanned buffer, which is scanned in multiline mode.
    if av in (C.AT_BEGINNING, C.AT_BEGINNING_LINE, C.AT_BEGINNING_STRING):
        return "^"
    if av in (C.AT_END, C.AT_END_LINE, C.AT_END_STRING):
        return "$"
    return ""  # \b and \B: unsupported in UCP mode; dropping them widens the prefilter


def _hs_class(items: Any) -> str:
    negate = bool(items) and items[0][0] is C.NEGATE
    table = _SUBSET if negate else _SUPERSET
    out = []
    for op, av in items[1:] if negate else items:
        if op is C.LITERAL:
            out.append(_hs_literal(chr(av)))
        elif op is C.RANGE:
            out.append(_hs_literal(chr(av[0])) + "-" + _hs_literal(chr(av[1])))
        elif op is C.CATEGORY and av in table:
            out.append(table[av])
        else:
            raise NotImplementedError(op)
    return ("[^" if negate else "[") + "".join(out) + "]"


def _literal(body: str) -> str:
    """The longest run of plain characters every match of ``body`` contains."""
    parsed = _parser.parse(body)
    if parsed.state.flags & re.IGNORECASE:
        return ""
    runs = [""]
    _runs(parsed.data, runs)
    return max(runs, key=len)


def _runs(items: Any, runs: list[str]) -> None:
    for op, av in items:
        if op is C.LITERAL:
            runs[-1] += chr(av)
        elif op is C.SUBPATTERN and not av[1] & re.IGNORECASE:
            _runs(av[3].data, runs)  # a group is required: its literals join the run
        elif op not in (C.AT, C.ASSERT, C.ASSERT_NOT):  # zero-width items do not break a run
            runs.append("")


# -- bounds: a codebook is a shared file, and a regex can take forever -------------------------
MAX_PATTERN_CHARS = 1_000
PROBE_CHARS = 1_000  # the test sentences a regex must get through quickly
PROBE_SECONDS = 0.5
MATCH_SECONDS = 5.0  # one regex on one sentence, while coding


class PatternTimeout(Exception):
    """A regex ran past its time bound (raised from a signal handler)."""


def _backtracking(body: str) -> str | None:
    """Why ``body`` can backtrack exponentially (a repeat of a repeat, or a repeat of
    alternatives that can match the same text), or None. Linear ones pass."""
    return _walk(_parser.parse(body).data, outer=False)


def _walk(items: Any, *, outer: bool) -> str | None:
    for op, av in items:
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, sub = av
            if outer and hi > 1:
                return "a repeat inside a repeat, like (a+)+"
            unbounded = hi == C.MAXREPEAT
            if unbounded and _overlapping_branches(sub.data):
                return "a repeat of alternatives that can match the same text, like (a|ab)*"
            found = _walk(sub.data, outer=outer or unbounded)
            if found:
                return found
        elif op is C.SUBPATTERN or op is C.ATOMIC_GROUP:
            found = _walk((av[3] if op is C.SUBPATTERN else av).data, outer=outer)
            if found:
                return found
        elif op is C.BRANCH:
            for branch in av[1]:
                found = _walk(branch.data, outer=outer)
                if found:
                    return found
        elif op in (C.ASSERT, C.ASSERT_NOT):
            found = _walk(av[1].data, outer=outer)
            if found:
                return found
    return None


def _overlapping_branches(items: Any) -> bool:
    """Whether a repeated body is (or wraps) alternatives two of which may start alike."""
    while len(items) == 1 and items[0][0] is C.SUBPATTERN:
        items = items[0][1][3].data
    if len(items) != 1 or items[0][0] is not C.BRANCH:
        return False
    firsts = [_first(branch.data) for branch in items[0][1][1]]
    for i, a in enumerate(firsts):
        for b in firsts[i + 1 :]:
            if a is None or b is None or a & b:
                return True
    return False


def _first(items: Any) -> set[int] | None:
    """The literal code points a branch may start with; None when it may start with a class,
    anything or nothing (then it is taken to overlap every other branch)."""
    for op, av in items:
        if op is C.LITERAL:
            return {av}
        if op is C.SUBPATTERN:
            return _first(av[3].data)
        if op not in (C.AT,):
            return None
    return None


def _probe(compiled: re.Pattern[str]) -> bool:
    """Whether the regex gets through adversarial test sentences within PROBE_SECONDS; True
    when no timer can be set here (outside the main thread the static check still runs)."""
    chars = {c for c in compiled.pattern if c.isalnum() or c in " -"} | {"a", "1", " "}
    probes = [c * PROBE_CHARS + "\x00!" for c in sorted(chars)[:12]]
    probes.append(("ab " * PROBE_CHARS)[:PROBE_CHARS] + "\x00!")
    try:
        with deadline(PROBE_SECONDS) as clock:
            if clock is None:
                return True
            for text in probes:
                for _ in compiled.finditer(text):
                    pass
    except PatternTimeout:
        return False
    return True


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[_Clock | None]:
    """Raise PatternTimeout inside the block once ``seconds`` of CPU time pass since the last
    ``clock.restart()`` (Python's regex engine checks for signals while it backtracks).
    Yields None, and bounds nothing, outside the main thread."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield None
        return
    clock = _Clock(seconds)
    previous = signal.signal(signal.SIGALRM, clock.on_alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
    try:
        yield clock
    finally:
        signal.setitimer(signal.ITIMER_REAL, old_delay, old_interval)
        signal.signal(signal.SIGALRM, previous)


class _Clock:
    """Counts the main thread's CPU time, not the wall clock: on a busy machine a regex that
    is fast gets less of the CPU, and must not be refused for it (signal handlers run in the
    main thread, so ``thread_time`` there is the regex's own time).

    ``restart`` only counts (a coder restarts once per regex and sentence, hundreds of
    thousands of times, and reading the thread's CPU clock is a system call); the alarm, every
    50 ms, starts the count again when there was a restart since the last one. A regex is
    stopped once it has run ``seconds`` since the alarm that first saw it, at most one
    interval later than with the clock read on every restart."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.thread_time()
        self.restarts = self._seen = 0

    def restart(self) -> None:
        self.restarts += 1

    def on_alarm(self, _signum: int, _frame: object) -> None:
        now = time.thread_time()
        if self.restarts != self._seen:
            self._seen, self.started = self.restarts, now
        elif now - self.started > self.seconds:
            raise PatternTimeout(self.seconds)
