"""Third-party components come in through entry points: a plugin distribution installed beside
secprio adds a reader and a coder that the CLI then uses; no name is registered twice."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from secprio.errors import DuplicateName, PluginError, UnknownName
from secprio.plugins import Registry
from secprio.project import Project

SRC = Path(__file__).resolve().parents[1] / "src"

PLUGIN = '''\
"""A third party's secprio plugin: a reader for .toy files and a coder called toy."""

from secprio.coders.base import Coding


def read_toy(path, limits):
    # a .toy file: paragraphs separated by "|"
    return path.read_text(encoding="utf-8").replace("|", "\\n\\n"), {"title": "Toy file"}


class ToyCoder:
    name = "toy"
    version = "0.1"

    def code(self, units):
        for unit in units:
            if "alliance" in unit.text:
                yield Coding(unit.id, "military_cooperation", self.name, self.version)


def make_coder(project):
    return ToyCoder()
'''


def install_plugin(
    site: Path, entry_points: str, *, name: str = "toy_secprio", source: str = PLUGIN
) -> Path:
    """A real installed distribution: the package (``source``) and its dist-info with
    entry_points.txt."""
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text(source, encoding="utf-8")
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    dist = name.replace("_", "-")
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")
    return site


def secprio(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(SRC)])}
    return subprocess.run(
        [sys.executable, "-m", "secprio", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_plugin_package_adds_a_reader_and_a_coder_the_cli_uses(
    tmp_path: Path, codebook_file: Path
) -> None:
    site = install_plugin(
        tmp_path / "site",
        """\
        [secprio.readers]
        .toy = toy_secprio:read_toy

        [secprio.coders]
        toy = toy_secprio:make_coder
        """,
    )
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "memo.toy").write_text(
        "The states signed a defence alliance.|Trade grew in the region.", encoding="utf-8"
    )
    res = secprio(site, "init", "p", "--codebook", str(codebook_file), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    res = secprio(site, "ingest", "-p", "p", str(corpus), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    res = secprio(site, "code", "-p", "p", "--coder", "toy", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 coding(s) by toy" in res.stdout + res.stderr

    project = Project.open(tmp_path / "p")
    assert list(project.documents()["title"]) == ["Toy file"]  # read by the plugin's reader
    codings = project.codings("toy")
    texts = project.sentences(text=True).set_index("segment_id")["text"]
    assert [texts[i] for i in codings["segment_id"]] == ["The states signed a defence alliance."]
    assert set(codings["category"]) == {"military_cooperation"}

    gold = tmp_path / "gold.csv"  # validate measures the plugin's coder like any other
    gold.write_text(
        "id,text,category,coder\n"
        "g1,The states signed a defence alliance.,military_cooperation,ana\n"
        "g2,Trade grew in the region.,,ana\n"
        "g3,Their alliance against terrorism holds.,counter_terrorism,ana\n",
        encoding="utf-8",
    )
    res = secprio(site, "validate", str(gold), "-c", "toy", "--boot", "20", "-o", "v", "-p", "p",
                  cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    metrics = pd.read_csv(tmp_path / "v" / "validation_metrics.csv")
    toy = metrics[metrics["coder"] == "toy"].set_index("category")
    assert toy.loc["military_cooperation", "recall"] == 1.0
    assert toy.loc["military_cooperation", "precision"] == 0.5  # g3 is not military


def test_without_the_plugin_the_coder_name_is_refused_with_the_known_names(
    tmp_path: Path, codebook_file: Path
) -> None:
    res = secprio(tmp_path, "init", "p", "--codebook", str(codebook_file), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    res = secprio(tmp_path, "code", "-p", "p", "--coder", "toy", cwd=tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode == 2
    assert "unknown coder 'toy'" in out and "dictionary" in out and "Traceback" not in out


def test_a_second_registration_of_a_name_is_refused() -> None:
    reg: Registry[int] = Registry("widget", "secprio.test-widgets")
    reg.add("a", 1)
    with pytest.raises(DuplicateName) as err:
        reg.add("a", 2, origin="other_pkg:a")
    assert "two widgets are called 'a'" in str(err.value) and "other_pkg:a" in str(err.value)
    assert reg["a"] == 1  # the first one is kept, not overwritten
    with pytest.raises(UnknownName, match="use one of: a"):
        reg.get_or_fail("b")


def test_a_plugin_may_not_take_a_name_secprio_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = install_plugin(
        tmp_path / "site",
        """\
        [secprio.test-coders]
        dictionary = toy_secprio:make_coder
        toy = toy_secprio:make_coder
        """,
    )
    monkeypatch.syspath_prepend(str(site))
    reg: Registry[object] = Registry("coder", "secprio.test-coders")
    reg.add("dictionary", object())
    with pytest.raises(DuplicateName, match="toy_secprio:make_coder"):
        reg.load()


def test_a_broken_plugin_names_its_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = install_plugin(
        tmp_path / "site",
        """\
        [secprio.test-coders]
        toy = toy_secprio:no_such_function
        """,
    )
    monkeypatch.syspath_prepend(str(site))
    reg: Registry[object] = Registry("coder", "secprio.test-coders")
    with pytest.raises(PluginError, match="toy-secprio") as err:
        len(reg)
    assert "pip uninstall toy-secprio" in str(err.value)


SECTION_PLUGIN = """\
from secprio.report.sections import Section, register


@register(99)
def toy_section(ctx):
    n = len(ctx.sentences)
    return Section("toy-section", "Toy plugin section", f"<p>toy saw {n} sentences</p>")
"""


def test_every_report_module_with_sections_is_loaded_without_a_list() -> None:
    from secprio.report import build, sections

    build._load_plugins()
    folder = SRC / "secprio" / "report"
    declared = {
        f"secprio.report.{p.stem}"
        for p in folder.glob("*.py")
        if "@register(" in p.read_text(encoding="utf-8")
    }
    assert {"secprio.report.core", "secprio.report.validation"} <= declared
    assert declared <= {b.__module__ for b in sections.ordered()}
    from secprio.analyses import REGISTRY  # the analyses' sections come from their registry

    made = {a.section for a in REGISTRY.values() if a.section is not None}
    assert len(made) >= 8 and made <= set(sections.ordered())


def test_a_plugin_package_adds_a_report_section(
    tmp_path: Path, coded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secprio.report import build, sections

    site = tmp_path / "site"
    (site / "toy_sections").mkdir(parents=True)
    (site / "toy_sections" / "__init__.py").write_text(SECTION_PLUGIN, encoding="utf-8")
    info = site / "toy_sections-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: toy-sections\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[secprio.sections]\ntoy = toy_sections\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(sections, "BUILDERS", list(sections.BUILDERS))  # restored afterwards
    monkeypatch.delitem(sys.modules, "toy_sections", raising=False)
    report = build.write(coded, tmp_path / "out")
    page = report.html.read_text(encoding="utf-8")
    n = len(coded.sentences())
    assert "Toy plugin section" in page and f"toy saw {n} sentences" in page
