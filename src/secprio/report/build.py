"""Assemble the report: run every section, write the HTML, figures and tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
from jinja2 import Environment, PackageLoader, select_autoescape

from secprio import __version__, files
from secprio.report import (
    core,  # noqa: F401 - registers the core sections
    corpus,
    safe,
)
from secprio.report.evidence import records
from secprio.report.safe import script_json
from secprio.report.sections import Context, Section, ordered

if TYPE_CHECKING:
    from secprio.project import Project


@dataclass
class Report:
    html: Path
    files: list[Path] = field(default_factory=list)


GUIDE = (
    "each score is 1–9 (9 = the most salient category in its column), brackets hold its 95% "
    "interval, n counts the sentences and documents behind it; hatched cells rest on "
    "insufficient evidence, grey ones on none; click any number to read its sentences."
)
DRILL_SCRIPT = safe.script((Path(__file__).parent / "templates" / "drill.js").read_text("utf-8"))


def _env() -> Environment:
    return Environment(
        loader=PackageLoader("secprio.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )


def _load_plugins() -> None:
    """Import every module of this package, and every module installed packages declare in the
    entry-point group ``secprio.sections``, so that all their sections register themselves:
    a new section module is found, never silently left out."""
    import importlib
    import pkgutil

    from secprio import report
    from secprio.plugins import entry_points, load_entry_point

    for info in pkgutil.iter_modules(report.__path__, f"{report.__name__}."):
        importlib.import_module(info.name)
    for ep in entry_points("secprio.sections"):
        load_entry_point(ep)


def _quiet(_done: int, _total: int) -> None:
    return None


def write(
    project: Project, out: Path | str, *, progress: Callable[[int, int], None] = _quiet
) -> Report:
    """Build every section (``progress(done, total)`` after each) and write the report."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _load_plugins()
    ctx = Context(project)
    builders = ordered()
    total = len(builders) + 1  # the last step: the evidence records and the page itself
    progress(0, total)
    sections = []
    # labels are codebook text: `$...$` in one must be shown, not parsed as mathtext (an
    # unbalanced formula would end the whole report in a ValueError)
    with matplotlib.rc_context({"text.parse_math": False}):
        for i, build in enumerate(builders, 1):
            section = build(ctx)
            if section is not None:
                sections.append(section)
            progress(i, total)
    for s in sections:  # a wide table scrolls inside its own box, never the page
        s.html = scrollable(s.html)
    report = Report(out / "report.html")
    for s in sections:
        report.files += _write_section_files(s, out)
    html = (
        _env()
        .get_template("report.html.j2")
        .render(
            title=f"{project.settings.name}: security priorities",
            sections=sections,
            version=__version__,
            guide=GUIDE,
            corpus=corpus.header_html(project.documents()),
            evidence=script_json(records(ctx)),
            labels=script_json({c.id: c.label for c in project.codebook.categories}),
            drill_script=DRILL_SCRIPT,
            csp=safe.csp(),
        )
    )
    files.write_text(report.html, html)  # a killed run leaves the previous report whole
    progress(total, total)
    return report


def scrollable(html: str) -> str:
    """Every table in its own horizontally scrolling box (text in sections is escaped, so
    ``<table`` only ever starts a table secprio wrote)."""
    return html.replace("<table", '<div class="scroll"><table').replace(
        "</table>", "</table></div>"
    )


def _write_section_files(section: Section, out: Path) -> list[Path]:
    written = []
    for name, df in section.tables.items():
        files.write_csv(out / f"{name}.csv", df)
        df.to_json(
            out / f"{name}.json", orient="records", force_ascii=False, indent=1, date_format="iso"
        )
        written += [out / f"{name}.csv", out / f"{name}.json"]
    for name, content in section.files.items():
        path = out / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
