"""Shared fixtures: a small real corpus and codebook written to disk, and projects on them."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

# The CLI's tables wrap at the terminal's width, which differs between a terminal, CI and a
# pytest-xdist worker (no terminal): the tests read them at one width, wherever they run.
os.environ["COLUMNS"] = "120"

from secprio.config import MeasureSettings, Settings
from secprio.project import Project

CODEBOOK = """\
name: mini
version: "1"
categories:
  - id: military_cooperation
    kind: priority
    label: Military cooperation
    definition: Joint defence activity among the states.
    patterns:
      en: ["military cooperation", "joint exercise*"]
      tr: ["askeri işbirliğ*"]
  - id: counter_terrorism
    kind: priority
    label: Counter-terrorism
    definition: Cooperation against terrorism.
    patterns:
      en: ["counter-terrorism", "fight against terror*"]
      ru: ["борьб* с терроризм*"]
  - id: terrorism_transnational
    kind: threat
    label: Terrorism
    definition: Terrorism and extremism named as a threat.
    patterns:
      en: ["terroris*", "extremis*"]
      ru: ["терроризм*"]
"""

DOCS = {
    "a.md": (
        "2019-05-01",
        "declaration",
        "OTS",
        "en",
        [
            "The states agreed on military cooperation. They will hold joint exercises.",
            "Terrorism remains a threat. The fight against terrorism continues.",
        ],
    ),
    "b.md": (
        "2021-03-02",
        "news",
        "TR",
        "en",
        [
            "Military cooperation was discussed. Trade grew fast.",
            "Culture week opened in Baku.",
        ],
    ),
    "c.md": (
        "2022-06-10",
        "statement",
        "KZ",
        "ru",
        [
            "Стороны договорились о борьбе с терроризмом. Терроризм угрожает региону.",
        ],
    ),
}


def write_doc(
    folder: Path, name: str, date: str, doc_type: str, issuer: str, lang: str, paragraphs: list[str]
) -> Path:
    head = textwrap.dedent(f"""\
        ---
        title: Document {name}
        date: {date}
        doc_type: {doc_type}
        issuer: {issuer}
        members: [AZ, TR]
        language: {lang}
        url: https://example.org/{name}
        ---
        """)
    path = folder / name
    path.write_text(head + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, (date, doc_type, issuer, lang, paras) in DOCS.items():
        write_doc(folder, name, date, doc_type, issuer, lang, paras)
    return folder


@pytest.fixture
def codebook_file(tmp_path: Path) -> Path:
    path = tmp_path / "mini.yaml"
    path.write_text(CODEBOOK, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, codebook_file: Path) -> Project:
    settings = Settings(name="mini", measure=MeasureSettings(bootstrap=200, seed=7))
    return Project.init(tmp_path / "proj", codebook=codebook_file, settings=settings)


@pytest.fixture
def coded(project: Project, corpus: Path) -> Project:
    project.ingest([corpus])
    project.code()
    return project


@pytest.fixture
def wproject(tmp_path: Path) -> Project:
    """An empty project on the small codebook of the watch tests (tests/test_watch.py)."""
    from tests.test_watch import CODEBOOK

    book = tmp_path / "watch.yaml"
    book.write_text(CODEBOOK, encoding="utf-8")
    settings = Settings(name="watch", measure=MeasureSettings(bootstrap=50, seed=1))
    return Project.init(tmp_path / "proj", codebook=book, settings=settings)
