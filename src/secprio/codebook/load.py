"""Read, check and write codebook YAML. Every problem names the file, the line and the fix."""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from secprio.codebook import pattern
from secprio.codebook.model import Category, Codebook, Example, Kind
from secprio.errors import CodebookError

TEMPLATE = Path(__file__).with_name("template.yaml")
KINDS = ("priority", "threat")
REQUIRED = ("id", "kind", "label", "definition")
CATEGORY_KEYS = (*REQUIRED, "code", "marpor", "cap", "patterns", "examples", "heldout")
TOP_KEYS = ("name", "version", "description", "ignore", "categories")
_ISO639_1 = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv "
    "cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr "
    "ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw "
    "ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv "
    "ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr "
    "ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi "
    "yo za zh zu"
)
ISO639_1 = frozenset(_ISO639_1.split())
# Names and codes people write instead of the ISO 639-1 code (kz and tm are country codes).
LANGUAGE_ALIASES = {
    "english": "en", "eng": "en", "turkish": "tr", "tur": "tr", "azerbaijani": "az",
    "azeri": "az", "aze": "az", "kazakh": "kk", "kaz": "kk", "kz": "kk", "kyrgyz": "ky",
    "kirghiz": "ky", "kir": "ky", "uzbek": "uz", "uzb": "uz", "turkmen": "tk", "tuk": "tk",
    "tm": "tk", "russian": "ru", "rus": "ru", "hungarian": "hu", "hun": "hu",
}  # fmt: skip
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}\n    fix: {self.fix}"


class _Map(dict[str, Any]):
    """A YAML mapping that remembers the line of itself, of each key and each scalar's text."""

    line = 0
    lines: dict[str, int]
    raw: dict[str, str]
    twice: list[tuple[str, int]]  # keys written twice: YAML would silently keep the last


class _Seq(list[Any]):
    line = 0
    lines: list[int]
    raw: list[str | None]


MAX_BYTES = 8 << 20  # a codebook is a few hundred kilobytes; more is not a codebook
MAX_DEPTH = 24  # nesting of mappings and lists; the schema needs 5
MAX_PATTERNS = 20_000  # patterns of every category together


class _Refused(yaml.MarkedYAMLError):
    """YAML that a codebook never needs and that can cost without bound."""


class _Loader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases (one alias can stand for a billion nodes) and
    with a nesting limit (deep nesting ends in Python's recursion limit)."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise _Refused(None, None, "aliases (*name) are not allowed in a codebook", mark)
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise _Refused(None, None, "anchors (&name) are not allowed in a codebook",
                           event.start_mark)  # fmt: skip
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(None, None, f"nested deeper than {MAX_DEPTH} levels",
                               event.start_mark)  # fmt: skip
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _mapping(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.line, out.lines, out.raw, out.twice = node.start_mark.line + 1, {}, {}, []
    for key_node, value_node in node.value:
        # Keys are read as written: `no:` (Norwegian) must not become False.
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
        if key in out:
            out.twice.append((key, key_node.start_mark.line + 1))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
        if isinstance(value_node, yaml.ScalarNode):
            out.raw[key] = value_node.value
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [child.start_mark.line + 1 for child in node.value]
    out.raw = [c.value if isinstance(c, yaml.ScalarNode) else None for c in node.value]
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)


def load(path: str | Path) -> Codebook:
    """Read and check a codebook; one CodebookError lists every problem found."""
    codebook, problems = _read(Path(path))
    if problems or codebook is None:
        listing = "\n".join(f"  {p}" for p in problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        err = CodebookError(f"the codebook has {count}:\n{listing}", path=path, code="E201")
        err.problems = problems  # type: ignore[attr-defined]
        raise err
    return codebook


def validate(path: str | Path) -> list[Problem]:
    """Every problem of a codebook file; an empty list when it loads."""
    return _read(Path(path))[1]


def _read(path: Path) -> tuple[Codebook | None, list[Problem]]:
    try:
        data = path.read_bytes()
    except OSError as err:
        fix = "check the path; `secprio init` writes a commented template"
        return None, [Problem(str(path), 0, f"cannot read the file ({err.strerror})", fix)]
    checker = _Checker(str(path))
    if len(data) > MAX_BYTES:
        fix = f"a codebook is at most {MAX_BYTES >> 20} MiB: split long example lists out"
        checker.add(1, f"the file is {len(data) >> 20} MiB", fix)
        return None, checker.problems
    try:
        tree = yaml.load(data.decode("utf-8"), Loader=_Loader)  # a SafeLoader
    except UnicodeDecodeError as err:
        checker.add(1, f"not UTF-8 text ({err.reason})", "save the file as UTF-8")
        return None, checker.problems
    except _Refused as err:
        line = err.problem_mark.line + 1 if err.problem_mark else 1
        checker.add(line, str(err.problem), "write each value out in full, indented plainly")
        return None, checker.problems
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        what = " ".join(str(s) for s in (err.context, err.problem) if s)
        fix = ("check indentation and quoting; quote a pattern that starts with * or contains "
               "': ' or ' #', and double backslashes inside double quotes ('\\\\b')")  # fmt: skip
        checker.add(mark.line + 1 if mark else 1, f"not valid YAML: {what}", fix)
        return None, checker.problems
    except (yaml.YAMLError, RecursionError) as err:  # unmarked errors: no line to name
        checker.add(1, f"not valid YAML: {err}", "check the file's structure")
        return None, checker.problems
    n = _count_patterns(tree)
    if n > MAX_PATTERNS:  # counted before any is compiled: compiling is what takes the time
        fix = f"keep at most {MAX_PATTERNS:,}: a stem with * covers many words"
        checker.add(1, f"the codebook has {n:,} patterns", fix)
        return None, checker.problems
    checker.duplicates(tree)
    codebook = checker.codebook(tree, path.stem, hashlib.sha256(data).hexdigest())
    return codebook, sorted(checker.problems, key=lambda p: p.line)


def _count_patterns(tree: Any) -> int:
    cats = tree.get("categories") if isinstance(tree, dict) else None
    if not isinstance(cats, list):
        return 0
    n = 0
    for item in cats:
        patterns = item.get("patterns") if isinstance(item, dict) else None
        for values in patterns.values() if isinstance(patterns, dict) else ():
            n += len(values) if isinstance(values, list) else 1
    return n


class _Checker:
    """Walks the YAML tree, collecting problems; builds the codebook when there are none."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def add(self, line: int, message: str, fix: str) -> None:
        self.problems.append(Problem(self.path, line, message, fix))

    def duplicates(self, node: Any) -> None:
        if not isinstance(node, _Map | _Seq):
            return
        if isinstance(node, _Map):
            for key, line in node.twice:
                self.add(line, f"key {key!r} appears twice in one mapping", "merge the two")
        for child in node.values() if isinstance(node, _Map) else node:
            self.duplicates(child)

    def codebook(self, tree: Any, stem: str, sha: str) -> Codebook | None:
        if not isinstance(tree, _Map):
            self.add(1, "the file is not a mapping", "start with `name:` and `categories:`")
            return None
        self._unknown(tree, TOP_KEYS, "the codebook")
        cats = tree.get("categories")
        if not isinstance(cats, _Seq) or not cats:
            line = tree.lines.get("categories", tree.line)
            self.add(line, "no `categories:` list", "add `categories:` with at least one item")
            return None
        seen: dict[str, int] = {}
        built = [
            self.category(item, line, seen) for item, line in zip(cats, cats.lines, strict=True)
        ]
        if self.problems:
            return None
        name = self.text(tree, "name") or stem
        version = self.text(tree, "version") or ""
        description = self.text(tree, "description") or ""
        categories = tuple(c for c in built if c is not None)
        ignore = self.ignore(tree)
        if self.problems:
            return None
        return Codebook(name, version, categories, description, sha256=sha, path=self.path,
                        ignore=ignore)  # fmt: skip

    def ignore(self, tree: _Map) -> dict[str, tuple[str, ...]]:
        value = tree.get("ignore")
        if value is None:
            return {}
        line = tree.lines["ignore"]
        if not isinstance(value, _Map):
            fix = 'map each language to a list: `ignore: {en: ["minister of energy"]}`'
            self.add(line, "ignore must map a language to a list of patterns", fix)
            return {}
        out = {}
        for lang, values in value.items():
            self._language(lang, value.lines[lang], allow_all=True)
            out[lang] = tuple(self._patterns(values, value.lines[lang], lang))
        return out

    def category(self, item: Any, line: int, seen: dict[str, int]) -> Category | None:
        if not isinstance(item, _Map):
            self.add(line, "a category must be a mapping", "start the item with `- id: my_id`")
            return None
        fields = {key: self.text(item, key) for key in REQUIRED}
        name = fields["id"] or fields["label"] or f"on line {item.line}"
        for key in REQUIRED:
            if not fields[key]:
                where = item.lines.get(key, item.line)
                self.add(where, f"category {name!r} has no {key!r}", _REQUIRED_FIX[key])
        self._unknown(item, CATEGORY_KEYS, f"category {name!r}")
        self._id(item, fields["id"], seen)
        kind = fields["kind"]
        if kind and kind not in KINDS:
            self.add(item.lines["kind"], f"unknown kind {kind!r}", _suggest(kind, KINDS))
        patterns = self.patterns(item, name)
        examples = {k: self.examples(item, k, name) for k in ("examples", "heldout")}
        return Category(
            id=fields["id"] or "", kind=cast(Kind, kind if kind in KINDS else "priority"),
            label=fields["label"] or "", definition=fields["definition"] or "",
            code=self.text(item, "code") or "", marpor=self.codes(item, "marpor"),
            cap=self.codes(item, "cap"), patterns=patterns,
            positive=examples["examples"][0], negative=examples["examples"][1],
            heldout_positive=examples["heldout"][0], heldout_negative=examples["heldout"][1],
        )  # fmt: skip

    def _id(self, item: _Map, cid: str | None, seen: dict[str, int]) -> None:
        if not cid:
            return
        line = item.lines["id"]
        if not SNAKE.fullmatch(cid):
            snake = re.sub(r"[^a-z0-9]+", "_", cid.lower()).strip("_") or "my_category"
            fix = f"use snake_case (lower-case letters, digits, _): `id: {snake}`"
            self.add(line, f"id {cid!r} is not snake_case", fix)
        elif cid in seen:
            fix = "give each category its own id"
            self.add(line, f"duplicate id {cid!r} (first used on line {seen[cid]})", fix)
        else:
            seen[cid] = line

    def patterns(self, item: _Map, name: str) -> dict[str, tuple[str, ...]]:
        value = item.get("patterns")
        line = item.lines.get("patterns", item.line)
        if value is not None and not isinstance(value, _Map):
            fix = 'map each language to a list: `patterns: {en: ["word", "stem*"]}`'
            self.add(line, f"patterns of {name!r} must map a language to a list", fix)
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for lang, values in (value or {}).items():
            where = value.lines[lang] if value is not None else line
            self._language(lang, where, allow_all=True)
            out[lang] = tuple(self._patterns(values, where, lang))
        if not any(out.values()):
            fix = 'add `patterns: {all: ["word", "multi-word phrase", "stem*"]}`'
            self.add(line, f"category {name!r} has no patterns", fix)
        return out

    def _patterns(self, values: Any, line: int, lang: str) -> list[str]:
        items = _items(values, line)
        if items is None:
            self.add(line, f"patterns under {lang!r} must be a list", f'`{lang}: ["word"]`')
            return []
        out = []
        for text, where in items:
            if text is None:
                self.add(where, "a pattern must be text", 'quote it: `- "word"`')
                continue
            problem = pattern.check(text)
            if problem:
                self.add(where, *problem)
            out.append(text)
        return out

    def _language(self, lang: str, line: int, *, allow_all: bool) -> bool:
        if lang in ISO639_1 or (allow_all and lang == "all"):
            return True
        known = LANGUAGE_ALIASES.get(lang.lower()) or (lang.lower() if lang.lower() in ISO639_1
                                                       else None)  # fmt: skip
        fix = f"write `{known}`" if known else "use an ISO 639-1 code (en, tr, kk, ru, …)"
        if allow_all:
            fix += ", or `all` for every language"
        self.add(line, f"unknown language {lang!r}", fix)
        return False

    def examples(self, item: _Map, key: str, name: str) -> tuple[tuple[Example, ...], ...]:
        value = item.get(key)
        if value is None:
            return (), ()
        line = item.lines[key]
        if not isinstance(value, _Map):
            self.add(line, f"{key} of {name!r} must be a mapping", f"`{key}: {{positive: [...]}}`")
            return (), ()
        self._unknown(value, ("positive", "negative"), f"{key} of {name!r}")
        return tuple(self._examples(value, side) for side in ("positive", "negative"))

    def _examples(self, value: _Map, side: str) -> tuple[Example, ...]:
        line = value.lines.get(side, value.line)
        items = _items(value.get(side), line, raw_only=False)
        if items is None:
            self.add(line, f"{side} examples must be a list", f'`{side}: ["A sentence."]`')
            return ()
        out = []
        for example, where in items:
            if isinstance(example, str):
                out.append(Example(example))
            elif isinstance(example, _Map) and isinstance(example.get("text"), str):
                self._unknown(example, ("text", "lang"), "an example")
                lang = self.text(example, "lang") or "en"
                if self._language(lang, where, allow_all=False):
                    out.append(Example(example["text"], lang))
            else:
                fix = 'write a string, or `{text: "A sentence.", lang: kk}`'
                self.add(where, "an example must be a string or {text, lang}", fix)
        return tuple(out)

    def codes(self, item: _Map, key: str) -> tuple[str, ...]:
        items = _items(item.get(key), item.lines.get(key, item.line))
        if items is None or any(text is None for text, _ in items):
            self.add(item.lines[key], f"{key} must be a list of codes", f'`{key}: ["104"]`')
            return ()
        return tuple(str(text) for text, _ in items)

    def text(self, node: _Map, key: str) -> str | None:
        value = node.get(key)
        if value is None or isinstance(value, _Map | _Seq):
            if value is not None:
                self.add(node.lines[key], f"{key!r} must be text", f"`{key}: some text`")
            return None
        return node.raw[key].strip() or None

    def _unknown(self, node: _Map, allowed: tuple[str, ...], where: str) -> None:
        for key in node:
            if key not in allowed:
                self.add(node.lines[key], f"unknown key {key!r} in {where}", _suggest(key, allowed))


_REQUIRED_FIX = {
    "id": "add `id: snake_case_name`, unique in the codebook",
    "kind": "add `kind: priority` (a response) or `kind: threat` (an external factor)",
    "label": "add `label: Short human name`",
    "definition": "add `definition: One or two sentences on what the category covers.`",
}


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}allowed: {', '.join(choices)}"


def _items(value: Any, line: int, *, raw_only: bool = True) -> list[tuple[Any, int]] | None:
    """(item, line) pairs of a list; a lone scalar counts as a one-item list. Scalars are
    returned as written (``yes`` stays "yes"); other items as None, or as is with raw_only off."""
    if isinstance(value, _Seq):
        return [
            (raw if raw is not None and item is not None else (None if raw_only else item), ln)
            for item, raw, ln in zip(value, value.raw, value.lines, strict=True)
        ]
    if isinstance(value, _Map):
        return None
    return [] if value is None else [(str(value), line)]


def dump(codebook: Codebook, path: str | Path | None = None) -> str:
    """The codebook as YAML (written to ``path`` when given); ``load`` reads it back."""
    tree: dict[str, object] = {"name": codebook.name, "version": codebook.version}
    if codebook.description:
        tree["description"] = codebook.description
    if codebook.ignore:
        tree["ignore"] = {lang: list(p) for lang, p in codebook.ignore.items()}
    text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, width=100)
    cats = [_category(c) for c in codebook.categories]
    text += yaml.safe_dump({"categories": cats}, sort_keys=False, allow_unicode=True, width=100)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def _category(c: Category) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.id, "kind": c.kind, "label": c.label}
    out["definition"] = c.definition
    if c.code:
        out["code"] = c.code
    out.update({k: list(v) for k, v in (("marpor", c.marpor), ("cap", c.cap)) if v})
    out["patterns"] = {lang: list(p) for lang, p in c.patterns.items()}
    for key, pos, neg in (
        ("examples", c.positive, c.negative),
        ("heldout", c.heldout_positive, c.heldout_negative),
    ):
        sides = {k: [_example(e) for e in v] for k, v in (("positive", pos), ("negative", neg))}
        if any(sides.values()):
            out[key] = {k: v for k, v in sides.items() if v}
    return out


def _example(e: Example) -> str | dict[str, str]:
    return e.text if e.lang == "en" else {"text": e.text, "lang": e.lang}
