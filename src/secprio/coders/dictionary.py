"""The dictionary coder: codebook patterns compiled once, matched over normalized text.

A match is defined by Python ``re`` alone: the regex of a pattern (see codebook/pattern.py),
run with ``finditer`` on one unit's normalized text, non-empty matches only. The backends only
choose which (unit, pattern) pairs get that check, scanning many units at once in one buffer:

- ``hyperscan``: one database of every pattern's hyperscan expression, which matches wherever
  the regex does (hyperscan knows no \\b in Unicode mode and has older Unicode tables, so the
  expressions are written to err on the side of more candidates, never fewer);
- ``aho``: an Aho-Corasick automaton over each pattern's longest literal.

Patterns neither prefilter can express are checked on every unit. So both backends yield
identical codings; hyperscan is just faster. A coder holds one hyperscan scratch space: use
one coder per thread (processes are fine: a coder pickles by rebuilding). Compiled databases
are cached under $SECPRIO_CACHE (default ~/.cache/secprio; empty: no cache), keyed by the
expressions, the hyperscan version and the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from secprio import __version__
from secprio.codebook.load import dump
from secprio.codebook.model import Codebook
from secprio.codebook.pattern import (
    MATCH_SECONDS,
    Pattern,
    PatternTimeout,
    check,
    deadline,
    prepare,
)
from secprio.coders.base import BaseCoder, Coding, Unit
from secprio.errors import CodebookError, CoderError
from secprio.text.negation import negated_spans
from secprio.text.normalize import normalize, normalize_many, offset_map, original_span, span_map

SEP = "\n\x00\n"  # between units: a newline for ^/$ and \b, a NUL to count units by
BACKENDS = ("auto", "hyperscan", "aho")
MAX_SPANS = 32  # spans of one category kept as evidence (the report highlights them)
Hit = tuple[int, int, int]  # start, end in the normalized text, pattern index
Match = tuple[str, str, int, int]  # category, pattern as written, start, end in the original
Pairs = tuple[Any, Any]  # unit and pattern indices of candidate matches (numpy arrays)
_NO_PAIRS: Pairs = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class Entry:
    index: int  # codebook order: breaks ties between matches of equal span
    category: str
    lang: str  # the codebook's language key ("all" for every language)
    pattern: Pattern
    regex: re.Pattern[str]


class DictionaryCoder(BaseCoder):
    """Codes each unit with every category one of its patterns matches (see module doc).

    It learns nothing: ``fit(units, labels)`` checks and ignores them and returns the coder,
    and ``predict_proba`` is 1 where a category is coded, else 0. The patterns are compiled
    when it is built, so it codes without ``fit``."""

    name = "dictionary"
    learns = False
    requires_fit = False

    def __init__(
        self, codebook: Codebook, *, backend: str = "auto", batch_chars: int = 1 << 18,
        cache: bool = True,
    ) -> None:  # fmt: skip
        self.codebook, self.backend = codebook, backend
        self.batch_chars = batch_chars
        self.cache = cache
        self.entries = _entries(codebook)
        sha = codebook.sha256 or hashlib.sha256(dump(codebook).encode()).hexdigest()
        self.version = f"{__version__}+{sha[:12]}"
        self.engine, self._scanner = _scanner(self.entries, backend, cache)  # backend used
        self._regexes = [e.regex for e in self.entries]
        self._keys = {e.lang for e in self.entries} - {"all"}
        self._routes: dict[str, frozenset[int] | None] = {}
        self._masks: dict[str, Any] = {}
        self._ignore = _ignore(codebook)
        self._order = {c: i for i, c in enumerate(codebook.ids())}
        self._categories = [e.category for e in self.entries]
        self._written = [e.pattern.text for e in self.entries]  # the pattern as written

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (self.codebook, self.backend, self.batch_chars, self.cache)

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
        """One coding per (unit, category) matched: its leftmost match (ties: the longest,
        then the first pattern in the codebook), with the span in the unit's original text."""
        for batch in _batches(units, self.batch_chars):
            texts = self.prepare_many([u.text for u in batch])
            found = self.scan(texts, [u.lang for u in batch])
            yield from self._codings(batch, found, texts)

    def prepare(self, text: str) -> str:
        """The text as patterns see it: normalized, with the codebook's ``ignore`` phrases
        (titles, names of bodies) blanked out — same length, so offsets still hold."""
        text = normalize(text)
        if self._ignore is None:
            return text
        return self._ignore.sub(_blank, text)

    def prepare_many(self, texts: Sequence[str]) -> list[str]:
        """``prepare`` of each text, normalized in one pass (``normalize_many``)."""
        out = normalize_many(texts)
        if self._ignore is None:
            return out
        return [self._ignore.sub(_blank, text) for text in out]

    def match(self, text: str, lang: str = "") -> list[Match]:
        """Every match in ``text`` (for highlighting), leftmost first; negated ones too."""
        hits = self.scan([self.prepare(text)], [lang]).get(0, [])
        omap = offset_map(text)
        return [(self.entries[k].category, self.entries[k].pattern.text,
                 *original_span(omap, start, end)) for start, end, k in hits]  # fmt: skip

    def scan(self, texts: Sequence[str], langs: Sequence[str]) -> dict[int, list[Hit]]:
        """Matches in already normalized texts, by text index; each list sorted leftmost
        first, then longest, then in codebook order. Texts without a match are left out."""
        pairs = self._scanner.candidates(texts)
        if pairs is None:  # a NUL inside a text would throw the unit count off
            texts = [t.replace("\x00", "\x01") for t in texts]
            pairs = self._scanner.candidates(texts) or _NO_PAIRS
        units, ks = self._pairs(pairs, langs)
        found: dict[int, list[Hit]] = {}
        regexes = self._regexes
        k = -1
        try:
            with deadline(MATCH_SECONDS) as clock:  # one regex on one unit, at most
                for i, k in zip(units, ks, strict=True):
                    if clock is not None:
                        clock.restart()
                    for m in regexes[k].finditer(texts[i]):
                        start, end = m.span()
                        if end > start:
                            found.setdefault(i, []).append((start, end, k))
        except PatternTimeout:
            e = self.entries[k]
            raise CoderError(
                f"pattern {e.pattern.text!r} of category {e.category!r} ran over "
                f"{MATCH_SECONDS:.0f} s on one sentence",
                path=self.codebook.path or None,
                hint="simplify or remove that regex; `secprio validate CODEBOOK` lists patterns "
                "that backtrack",
                code="E304",
            ) from None
        for hits in found.values():
            if len(hits) > 1:
                hits.sort(key=_order)
        return found

    def _pairs(self, pairs: Pairs, langs: Sequence[str]) -> tuple[list[int], list[int]]:
        """The (unit, pattern) pairs to verify, unit by unit: the candidates (each once),
        the patterns no prefilter expresses, and only patterns of the unit's language."""
        n, width = len(langs), len(self.entries)
        units, ks = pairs
        keep = (units >= 0) & (units < n)
        keys = units[keep].astype(np.int64) * width + ks[keep]
        if self._scanner.always:
            always = np.asarray(self._scanner.always, dtype=np.int64)
            keys = np.concatenate([keys, (np.arange(n, dtype=np.int64)[:, None] * width
                                          + always).ravel()])  # fmt: skip
        keys = np.unique(keys)
        units, ks = keys // width, keys % width
        names = list(dict.fromkeys(langs))
        if any(self._route(lang) is not None for lang in names):
            allowed = np.stack([self._allowed(lang) for lang in names])
            which = {lang: j for j, lang in enumerate(names)}
            rows = np.fromiter((which[lang] for lang in langs), dtype=np.int64, count=n)
            kept = allowed[rows[units], ks]
            units, ks = units[kept], ks[kept]
        return units.tolist(), ks.tolist()

    def _allowed(self, lang: str) -> Any:
        """A boolean per pattern: may it code a unit in ``lang``?"""
        if lang not in self._masks:
            route = self._route(lang)
            mask = np.ones(len(self.entries), dtype=bool)
            if route is not None:
                mask[:] = False
                mask[list(route)] = True
            self._masks[lang] = mask
        return self._masks[lang]

    def _route(self, lang: str) -> frozenset[int] | None:
        """Patterns for a language; None (all of them) when the codebook has no key for it."""
        if lang not in self._routes:
            key = lang.strip().lower().replace("_", "-").split("-")[0]
            keep = {"all", key}
            self._routes[lang] = (
                frozenset(e.index for e in self.entries if e.lang in keep)
                if key in self._keys
                else None
            )
        return self._routes[lang]

    def _codings(
        self, batch: Sequence[Unit], found: dict[int, list[Hit]], texts: Sequence[str]
    ) -> list[Coding]:
        """The codings of a batch, unit by unit. A category whose every match is negated ("no
        military alliance is formed") is not coded; one affirmed match is enough."""
        out: list[Coding] = []
        categories, written, order = self._categories, self._written, self._order
        name, version = self.name, self.version
        for i in sorted(found):
            unit, hits, text = batch[i], found[i], texts[i]
            negated = negated_spans(text, hits, unit.lang)
            if any(negated):
                hits = [hit for hit, no in zip(hits, negated, strict=True) if not no]
            by_category: dict[str, list[Hit]] = {}
            for hit in hits:
                by_category.setdefault(categories[hit[2]], []).append(hit)
            if not by_category:
                continue
            omap = span_map(unit.text)
            keys = (
                sorted(by_category, key=order.__getitem__)
                if len(by_category) > 1
                else list(by_category)
            )  # codebook order
            for category in keys:
                chosen = by_category[category]
                start, end, k = chosen[0]
                span = original_span(omap, start, end)
                if len(chosen) == 1:  # the common case, without the sets and sorts below
                    evidence = {"matches": 1, "patterns": [written[k]], "spans": [list(span)]}
                else:
                    patterns = list(dict.fromkeys(written[h[2]] for h in chosen))
                    spans = sorted({original_span(omap, a, b) for a, b, _ in chosen})
                    evidence = {"matches": len({h[:2] for h in chosen}),
                                "patterns": patterns[:5],
                                "spans": [list(x) for x in spans[:MAX_SPANS]]}  # fmt: skip
                out.append(Coding(unit.id, category, name, version, 1.0, written[k], *span,
                                  evidence=evidence))  # fmt: skip
        return out


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())


def _order(hit: Hit) -> tuple[int, int, int]:
    return hit[0], hit[0] - hit[1], hit[2]  # leftmost, then longest, then codebook order


def _rebuild(codebook: Codebook, backend: str, batch_chars: int, cache: bool) -> DictionaryCoder:
    return DictionaryCoder(codebook, backend=backend, batch_chars=batch_chars, cache=cache)


def _entries(codebook: Codebook) -> list[Entry]:
    """The codebook's patterns, checked and compiled: seconds for a large codebook, so kept
    per process by the patterns themselves (a report builds several dictionary coders)."""
    key = tuple(
        (c.id, lang, tuple(texts))
        for c in codebook.categories
        for lang, texts in c.patterns.items()
    )
    known = _COMPILED.get(key)
    if known is None:
        if len(_COMPILED) >= 8:  # a few codebooks per process at most; tests make many
            _COMPILED.clear()
        known = _COMPILED[key] = _compile(codebook)
    return known


_COMPILED: dict[tuple[tuple[str, str, tuple[str, ...]], ...], list[Entry]] = {}


def _compile(codebook: Codebook) -> list[Entry]:
    out: list[Entry] = []
    for category in codebook.categories:
        for lang, texts in category.patterns.items():
            for text in texts:
                problem = check(text)
                if problem:
                    message = f"category {category.id!r}: {problem[0]}"
                    raise CodebookError(
                        message, path=codebook.path or None, hint=problem[1], code="E203"
                    )
                pattern = prepare(text)
                out.append(Entry(len(out), category.id, lang, pattern, re.compile(pattern.regex)))
    return out


def _ignore(codebook: Codebook) -> re.Pattern[str] | None:
    """One regex of every ``ignore`` pattern of the codebook, whatever its language."""
    regexes = [prepare(text).regex for texts in codebook.ignore.values() for text in texts]
    return re.compile("|".join(f"(?:{r})" for r in regexes)) if regexes else None


def _batches(units: Iterable[Unit], size: int) -> Iterator[list[Unit]]:
    batch: list[Unit] = []
    chars = 0
    for unit in units:
        batch.append(unit)
        chars += len(unit.text)
        if chars >= size:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _buffer(texts: Sequence[str]) -> str:
    return SEP.join(["", *texts, ""])  # one copy of the text, not three


def _units(hits: list[tuple[int, int]], buffer: Any, nul: Any) -> set[tuple[int, int]]:
    """(unit, pattern) pairs from (end offset, pattern) hits, counting separators on the way."""
    hits.sort()
    pairs = set()
    unit, last = -1, 0
    for end, k in hits:
        unit += buffer.count(nul, last, end)
        last = end
        pairs.add((unit, k))
    return pairs


class _Hyperscan:
    def __init__(self, entries: list[Entry], hs: Any, *, cache: bool) -> None:
        self.hs = hs
        self.flags = hs.HS_FLAG_UTF8 | hs.HS_FLAG_UCP | hs.HS_FLAG_MULTILINE
        exprs = [(e.index, e.pattern.hyperscan) for e in entries if e.pattern.hyperscan]
        path = _cache_path(hs, self.flags, exprs) if cache and exprs else None
        self.db: Any = None
        kept: list[int] = []
        if path:
            self.db, kept = self._load(path)
        if self.db is None:
            try:
                self.db = self._compile(exprs)
            except hs.error:  # find the expressions hyperscan rejects: Python checks them instead
                exprs = [x for x in exprs if self._compiles(x)]
                self.db = self._compile(exprs)
            kept = [i for i, _ in exprs]
            if path and self.db is not None:
                self._save(path, kept)
        self.always = sorted({e.index for e in entries} - set(kept))

    def _compile(self, exprs: list[tuple[int, str]]) -> Any:
        if not exprs:
            return None
        db = self.hs.Database(mode=self.hs.HS_MODE_BLOCK)
        db.compile(expressions=[x.encode() for _, x in exprs], ids=[i for i, _ in exprs],
                   elements=len(exprs), flags=[self.flags] * len(exprs))  # fmt: skip
        return db

    def _compiles(self, expr: tuple[int, str]) -> bool:
        try:
            self._compile([expr])
        except self.hs.error:
            return False
        return True

    def _load(self, path: Path) -> tuple[Any, list[int]]:
        try:
            head, _, blob = path.read_bytes().partition(b"\n")
            db = self.hs.loadb(blob, self.hs.HS_MODE_BLOCK)
            db.scratch = self.hs.Scratch(db)
            return db, json.loads(head)
        except (OSError, ValueError, self.hs.error):  # absent, damaged, another platform
            return None, []

    def _save(self, path: Path, kept: list[int]) -> None:
        try:  # a cache that cannot be written costs time, never a result
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(json.dumps(kept).encode() + b"\n" + self.hs.dumpb(self.db))
            os.replace(tmp, path)
        except (OSError, self.hs.error):
            pass

    def candidates(self, texts: Sequence[str]) -> Pairs | None:
        """(unit, pattern) pairs to verify, with repeats; None when a text holds a NUL."""
        data = _buffer(texts).encode("utf-8", "replace")  # lone surrogates: not valid UTF-8
        nuls = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
        if len(nuls) != len(texts) + 1:
            return None
        if self.db is None:
            return _NO_PAIRS
        ends: list[int] = []
        ids: list[int] = []

        def on_match(k: int, start: int, end: int, flags: int, context: object) -> None:
            ends.append(end)
            ids.append(k)

        self.db.scan(data, match_event_handler=on_match)
        units = np.searchsorted(nuls, ends) - 1  # separators before the end: the unit's index
        return units, np.asarray(ids, dtype=np.int64)


class _Aho:
    def __init__(self, entries: list[Entry], ahocorasick: Any) -> None:
        words: dict[str, list[int]] = {}
        for e in entries:
            if e.pattern.literal:
                words.setdefault(e.pattern.literal, []).append(e.index)
        self.always = [e.index for e in entries if not e.pattern.literal]
        self.automaton = ahocorasick.Automaton()
        for word, ks in words.items():
            self.automaton.add_word(word, tuple(ks))
        if words:
            self.automaton.make_automaton()

    def candidates(self, texts: Sequence[str]) -> Pairs | None:
        buffer = _buffer(texts)
        if buffer.count("\x00") != len(texts) + 1:
            return None
        if not len(self.automaton):
            return _NO_PAIRS
        hits = [(end + 1, k) for end, ks in self.automaton.iter(buffer) for k in ks]
        pairs = sorted(_units(hits, buffer, "\x00"))
        return (np.asarray([i for i, _ in pairs], dtype=np.int64),
                np.asarray([k for _, k in pairs], dtype=np.int64))  # fmt: skip


def _cache_path(hs: Any, flags: int, exprs: list[tuple[int, str]]) -> Path | None:
    """Where a compiled database is kept: compiling a large codebook takes seconds."""
    from secprio.files import user_cache

    root = user_cache()
    if root is None:
        return None
    key = json.dumps([getattr(hs, "__version__", ""), platform.machine(), flags, exprs])
    return root / "hyperscan" / f"{hashlib.sha256(key.encode()).hexdigest()}.db"


def _scanner(entries: list[Entry], backend: str, cache: bool) -> tuple[str, _Hyperscan | _Aho]:
    if backend not in BACKENDS:
        raise CoderError(
            f"unknown backend {backend!r}", hint=f"use one of {', '.join(BACKENDS)}", code="E303"
        )
    if backend != "aho":
        try:
            import hyperscan
        except ImportError:
            if backend == "hyperscan":
                hint = "pip install hyperscan (x86_64 wheels), or use backend='aho'"
                raise CoderError("hyperscan cannot be imported", hint=hint, code="E302") from None
        else:
            return "hyperscan", _Hyperscan(entries, hyperscan, cache=cache)
    try:
        import ahocorasick
    except ImportError:
        raise CoderError(
            "pyahocorasick cannot be imported", hint="pip install pyahocorasick", code="E301"
        ) from None
    return "aho", _Aho(entries, ahocorasick)
