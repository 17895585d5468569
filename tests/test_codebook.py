"""Codebook YAML: every invalid file gives one CodebookError naming file, line and fix."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from secprio.codebook import TEMPLATE, Codebook, dump, load, validate
from secprio.errors import CodebookError

VALID = """\
name: test
version: "1.10"
categories:
  - id: military_cooperation
    kind: priority
    label: Military cooperation
    definition: Joint defence activity.
    marpor: ["104", 105]
    patterns:
      en: ["military cooperation", "joint exercise*", 're:\\bjoint drills?\\b']
      tr: ["askeri işbirliğ*"]
      hu: ["katonai együttműködés"]
    examples:
      positive:
        - They held a joint exercise.
        - {text: "Ortak tatbikat yapıldı.", lang: tr}
      negative: ["Culture week opened."]
  - id: terrorism_transnational
    kind: threat
    label: Terrorism
    definition: Terrorism named as a threat.
    patterns:
      all: ["terror*"]
    heldout:
      positive: ["Terrorism is a threat."]
"""


def write(tmp_path: Path, text: str, name: str = "codebook.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def problem(tmp_path: Path, text: str, needle: str, *words: str) -> str:
    """Load ``text``; the error must name the file, the line holding ``needle`` and a fix."""
    path = write(tmp_path, text)
    with pytest.raises(CodebookError) as info:
        load(path)
    message = str(info.value)
    assert f"{path}:{line_of(text, needle)}:" in message, message
    assert "fix:" in message
    for word in words:
        assert word in message, message
    return message


def test_valid_codebook_loads(tmp_path: Path) -> None:
    cb = load(write(tmp_path, VALID))
    assert isinstance(cb, Codebook)
    assert (cb.name, cb.version) == ("test", "1.10")
    military = cb.get("military_cooperation")
    assert military.kind == "priority" and military.marpor == ("104", "105")
    assert military.patterns["en"][2] == r"re:\bjoint drills?\b"
    assert military.positive[1].lang == "tr" and military.positive[0].lang == "en"
    assert cb.get("terrorism_transnational").heldout_positive[0].text == "Terrorism is a threat."
    assert validate(write(tmp_path, VALID)) == []


def test_not_yaml(tmp_path: Path) -> None:
    text = VALID.replace("    label: Terrorism\n", "    label: Terrorism\n   bad: [unclosed\n")
    problem(tmp_path, text, "bad: [unclosed", "not valid YAML")


@pytest.mark.parametrize("key", ["id", "kind", "label", "definition"])
def test_missing_required_key(tmp_path: Path, key: str) -> None:
    if key == "id":
        text = VALID.replace("  - id: military_cooperation\n    kind:", "  - kind:")
        first = "  - kind: priority"
    else:
        lines = VALID.splitlines(keepends=True)
        index = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{key}:"))
        text = "".join(lines[:index] + lines[index + 1 :])
        first = "  - id: military_cooperation"
    message = problem(tmp_path, text, first, f"no {key!r}", f"add `{key}:")
    assert "1 problem:" in message


def test_unknown_kind(tmp_path: Path) -> None:
    text = VALID.replace("kind: threat", "kind: threats")
    problem(tmp_path, text, "kind: threats", "unknown kind 'threats'", "did you mean 'threat'")


def test_duplicate_id(tmp_path: Path) -> None:
    text = VALID.replace("id: terrorism_transnational", "id: military_cooperation")
    lines = text.splitlines()
    second = [i for i, line in enumerate(lines, 1) if "id: military_cooperation" in line][1]
    path = write(tmp_path, text)
    with pytest.raises(CodebookError) as info:
        load(path)
    assert f"{path}:{second}: duplicate id 'military_cooperation' (first used on line 4)" in str(
        info.value
    )


def test_bad_id(tmp_path: Path) -> None:
    text = VALID.replace("id: terrorism_transnational", "id: Terrorism-Transnational")
    problem(tmp_path, text, "Terrorism-Transnational", "not snake_case", "terrorism_transnational`")


def test_empty_patterns(tmp_path: Path) -> None:
    text = VALID.replace('all: ["terror*"]', "all: []")
    path = write(tmp_path, text)
    with pytest.raises(CodebookError) as info:
        load(path)
    patterns_line = line_of(text, "all: []") - 1
    assert f"{path}:{patterns_line}: category 'terrorism_transnational' has no patterns" in str(
        info.value
    )
    text = VALID.replace('    patterns:\n      all: ["terror*"]\n', "")
    problem(tmp_path, text, "  - id: terrorism_transnational", "has no patterns")


@pytest.mark.parametrize(
    ("key", "fix"),
    [("english", "write `en`"), ("kz", "write `kk`"), ("EN", "write `en`"), ("xx", "ISO 639-1")],
)
def test_unknown_language(tmp_path: Path, key: str, fix: str) -> None:
    text = VALID.replace('      tr: ["askeri', f'      {key}: ["askeri')
    problem(tmp_path, text, f"{key}: [", f"unknown language {key!r}", fix, "`all`")


def test_regex_does_not_compile(tmp_path: Path) -> None:
    text = VALID.replace('all: ["terror*"]', "all: ['re:terror(ism|ist']")
    problem(tmp_path, text, "re:terror(", "does not compile", "missing ), unterminated subpattern")


def test_regex_matching_empty_and_backspace(tmp_path: Path) -> None:
    text = VALID.replace('all: ["terror*"]', "all: ['re:(terror)?']")
    problem(tmp_path, text, "re:(terror)?", "can match the empty string")
    text = VALID.replace('all: ["terror*"]', 'all: ["re:\\bterror"]')  # YAML: \b = backspace
    problem(tmp_path, text, "re:\\bterror", "backspace", "single quotes")


def test_only_wildcards(tmp_path: Path) -> None:
    text = VALID.replace('all: ["terror*"]', 'all: ["terror*", "**"]')
    problem(tmp_path, text, '"**"', "only wildcards", "terror*")


@pytest.mark.parametrize(
    "item", ["{sentence: Terrorism is a threat.}", "[a, list]", "{text: 12}", "{text: x, lang: xx}"]
)
def test_bad_example(tmp_path: Path, item: str) -> None:
    text = VALID.replace('positive: ["Terrorism is a threat."]', f"positive:\n        - {item}")
    message = problem(tmp_path, text, f"- {item}")
    assert "example" in message or "language" in message


def test_every_problem_in_one_error(tmp_path: Path) -> None:
    text = (
        VALID.replace("kind: threat", "kind: danger")
        .replace('all: ["terror*"]', "all: ['re:(']")
        .replace("label: Military cooperation", "lable: Military cooperation")
    )
    path = write(tmp_path, text)
    with pytest.raises(CodebookError) as info:
        load(path)
    problems = info.value.problems  # type: ignore[attr-defined]
    assert len(problems) == 4  # danger, the regex, the unknown key `lable`, no label
    assert {p.line for p in problems} == {
        line_of(text, "kind: danger"),
        line_of(text, "re:("),
        line_of(text, "lable:"),
        line_of(text, "- id: military_cooperation"),
    }
    assert "4 problems" in str(info.value) and "did you mean 'label'" in str(info.value)
    assert validate(path) == problems


def test_duplicate_key_and_missing_file(tmp_path: Path) -> None:
    text = VALID.replace('      tr: ["askeri', '      en: ["again"]\n      tr: ["askeri')
    problem(tmp_path, text, 'en: ["again"]', "appears twice")
    with pytest.raises(CodebookError, match="cannot read"):
        load(tmp_path / "nowhere.yaml")


def test_norwegian_key_is_not_false(tmp_path: Path) -> None:
    cb = load(write(tmp_path, VALID.replace("hu:", "no:")))
    assert "no" in cb.get("military_cooperation").patterns


def test_template_loads() -> None:
    assert validate(TEMPLATE) == []
    cb = load(TEMPLATE)
    assert len(cb.categories) == 2
    assert {c.kind for c in cb.categories} == {"priority", "threat"}
    assert all(c.patterns and c.positive and c.negative for c in cb.categories)


def test_sha256_stable(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    first, second = load(path), load(path)
    assert first.sha256 == second.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    changed = load(write(tmp_path, VALID + "# a comment\n", "other.yaml"))
    assert changed.sha256 != first.sha256 and changed.categories == first.categories


def test_dump_round_trip(tmp_path: Path) -> None:
    cb = load(write(tmp_path, VALID))
    again = load(write(tmp_path, dump(cb), "again.yaml"))
    assert again.categories == cb.categories
    assert (again.name, again.version, again.description) == (cb.name, cb.version, "")
    dump(cb, tmp_path / "written.yaml")
    assert load(tmp_path / "written.yaml").categories == cb.categories
