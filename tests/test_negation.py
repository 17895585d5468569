"""Negation cues per language, the codebook's ignore list, and the dictionary coder using them."""

from __future__ import annotations

from pathlib import Path

import pytest

from secprio.codebook.load import load
from secprio.coders.base import Unit
from secprio.coders.dictionary import DictionaryCoder
from secprio.text.negation import negated
from secprio.text.normalize import normalize


def _negated(sentence: str, phrase: str, lang: str) -> bool:
    text = normalize(sentence)
    start = text.index(normalize(phrase))
    return negated(text, start, start + len(normalize(phrase)), lang)


@pytest.mark.parametrize(
    ("sentence", "phrase", "lang", "expected"),
    [
        (
            "No collective defence obligation is created by the charter.",
            "collective defence",
            "en",
            True,
        ),
        ("The members agreed on collective defence.", "collective defence", "en", False),
        ("The treaty does not establish a military alliance.", "military alliance", "en", True),
        # a cue three words away is another statement: the sentence still speaks of migration
        ("Our country is not the source of illegal migration.", "illegal migration", "en", False),
        ("Договор не создаёт военного союза.", "военного союза", "ru", True),
        ("Договор создаёт военный союз.", "военный союз", "ru", False),
        ("Bu belge bir askeri ittifak değildir.", "askeri ittifak", "tr", True),
        ("Bu belge askeri ittifak kuruyor.", "askeri ittifak", "tr", False),
        ("Hiçbir askeri yükümlülük doğmuyor.", "askeri yükümlülük", "tr", True),
        ("Бұл құжат әскери одақ емес.", "әскери одақ", "kk", True),
        ("Bu sənəd hərbi ittifaq deyil.", "hərbi ittifaq", "az", True),
        ("Bu sənəd hərbi ittifaq yaradır.", "hərbi ittifaq", "az", False),
        # a cue in another clause does not reach the match
        (
            "There was no delay, and the military alliance was signed.",
            "military alliance",
            "en",
            False,
        ),
    ],
)
def test_negation_cues(sentence: str, phrase: str, lang: str, expected: bool) -> None:
    assert _negated(sentence, phrase, lang) is expected


BOOK = """\
name: negation
version: "1"
ignore:
  en: ["minister of energy", "ministry of foreign affairs and trade"]
categories:
  - id: military_cooperation
    kind: priority
    label: Military cooperation
    definition: Joint defence activity.
    patterns:
      en: ["military alliance", "collective defen*e"]
      ru: ["военн* союз*"]
  - id: energy_security
    kind: priority
    label: Energy security
    definition: Energy supply and cooperation.
    patterns:
      en: ["energy"]
  - id: economic_security
    kind: priority
    label: Economic security
    definition: Trade.
    patterns:
      en: ["trade"]
"""


@pytest.fixture
def coder(tmp_path: Path) -> DictionaryCoder:
    path = tmp_path / "codebook.yaml"
    path.write_text(BOOK, encoding="utf-8")
    return DictionaryCoder(load(path), cache=False)


def _codes(coder: DictionaryCoder, text: str, lang: str = "en") -> set[str]:
    return {c.category for c in coder.code([Unit(1, text, lang)])}


def test_a_negated_match_is_not_coded_an_affirmed_one_is(coder: DictionaryCoder) -> None:
    assert _codes(coder, "The charter creates no military alliance.") == set()
    assert _codes(coder, "The charter creates a military alliance.") == {"military_cooperation"}
    assert _codes(coder, "Договор не создаёт военного союза.", "ru") == set()
    # one affirmed match is enough, even beside a negated one
    both = "It is not a military alliance today, but collective defence is planned."
    assert _codes(coder, both) == {"military_cooperation"}
    # the evidence a reader is shown is the affirmed words only
    (coding,) = coder.code([Unit(1, both, "en")])
    assert [both[a:b] for a, b in coding.evidence["spans"]] == ["collective defence"]  # type: ignore[attr-defined]


def test_ignored_titles_are_not_topics(coder: DictionaryCoder) -> None:
    assert _codes(coder, "The Minister of Energy of Kyrgyzstan attended.") == set()
    assert _codes(coder, "Hosted by the Ministry of Foreign Affairs and Trade.") == set()
    assert _codes(coder, "Energy and trade ties grew.") == {"energy_security", "economic_security"}
    # blanking keeps offsets: the evidence span still points at the original words
    [c] = list(coder.code([Unit(1, "The Minister of Energy spoke on energy.", "en")]))
    assert "The Minister of Energy spoke on energy."[c.start : c.end] == "energy"


def test_ignore_is_checked_like_patterns(tmp_path: Path) -> None:
    from secprio.errors import CodebookError

    path = tmp_path / "bad.yaml"
    path.write_text(BOOK.replace('en: ["minister of energy"', 'xx: ["minister of energy"'), "utf-8")
    with pytest.raises(CodebookError, match="unknown language 'xx'"):
        load(path)
