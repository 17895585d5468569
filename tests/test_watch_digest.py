"""The watch digest as an HTML page beside the Markdown: the same shifts and sentences, the
threat → response links that became significant since the last digest, new passages on a
tracked claim, and document text that stays inert. Sentences written for the test."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from secprio.cli import app
from secprio.config import MeasureSettings, Settings
from secprio.project import Project
from secprio.report import digest
from tests.test_watch import CODEBOOK, ENERGY, NEUTRAL, RUN, TRADE, _baseline, _doc

THREAT = """\
  - id: supply_cuts
    kind: threat
    label: Gas supply cuts
    definition: Interruptions of the gas supply named as a threat.
    patterns:
      en: ["supply cut*"]
"""
CLAIMS = """\
- id: pipeline-2025
  text: In 2025 a new gas pipeline strengthened the energy security of the region.
  date: 2025
  categories: [energy_security]
  query: new gas pipeline energy security
"""


def test_the_html_digest_has_the_shift_the_new_link_and_the_claims_passages(
    tmp_path: Path,
) -> None:
    book = tmp_path / "watch.yaml"
    book.write_text(CODEBOOK + THREAT, encoding="utf-8")
    settings = Settings(name="watch", claims="claims.yaml",
                        measure=MeasureSettings(bootstrap=50, seed=1))  # fmt: skip
    proj = Project.init(tmp_path / "proj", codebook=book, settings=settings)
    (proj.root / "claims.yaml").write_text(CLAIMS, encoding="utf-8")
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    p = str(proj.root)
    res = RUN.invoke(app, ["watch", "-p", p, "--once", "--source", str(src)])
    assert res.exit_code == 0 and "no significant shift" in res.output, res.output
    # a quiet cycle between (it sets no links): the digest compares with the first test's
    _doc(src, "quiet", dt.date(2025, 6, 1), NEUTRAL[:6])
    res = RUN.invoke(app, ["watch", "-p", p, "--once"])
    assert "added 1," in res.output and "no significant shift" in res.output, res.output
    for i in range(8):  # the burst: energy security, and supply cuts in the same paragraph
        day = dt.date(2025, 7, 1) + dt.timedelta(days=3 * i)
        said = [
            ENERGY[i % 4],
            ENERGY[(i + 1) % 4],
            TRADE[i % 2],
            "Gas supply cuts worry the ministers.",
            ENERGY[(i + 2) % 4],
            *NEUTRAL[:3],
        ]
        _doc(src, f"new{i:02d}", day, said)
    res = RUN.invoke(app, ["watch", "-p", p, "--once"])
    assert res.exit_code == 0 and "digest written" in res.output, res.output
    (md,) = (proj.root / "watch").glob("digest-*.md")
    page = md.with_suffix(".html").read_text(encoding="utf-8")
    text = md.read_text(encoding="utf-8")
    assert "| all documents | Energy security | up |" in text
    assert "## Threat → response links that became significant" in text
    assert "- Gas supply cuts → Energy security: 8 units with both" in text
    assert "## New passages on the claim “In 2025 a new gas pipeline" in text
    assert "The new gas pipeline strengthens energy security." in text
    # the page says the same
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src &#x27;none&#x27;;' in page
    )
    report = (proj.root / "report" / "report.html").resolve().as_uri()
    assert (f'<td>all documents</td><td><a class="report" href="{report}#cell-all-'
            'energy_security">Energy security</a></td>') in page  # fmt: skip
    assert "<li>Gas supply cuts → Energy security: 8 units with both" in page
    assert "<q>The new gas pipeline strengthens energy security.</q>" in page
    assert "<script" not in page and "<!-- secprio watch cycle " in page
    res = RUN.invoke(app, ["watch", "-p", p, "--once"])  # nothing new, nothing written
    assert (
        "nothing new" in res.output and len(list(md.parent.glob("digest-*"))) == 3
    )  # md, html, json


def test_untrusted_text_is_inert_in_the_html_digest() -> None:
    evil = '<script>alert(1)</script> "><img src=x onerror=alert(2)> </q></li>'
    found = pd.DataFrame([{
        "frame": "all", "group": "", "category": "c", "label": f"Label {evil}",
        "direction": "up", "window_count": 3, "window_sentences": 10, "window_share": 0.3,
        "baseline_count": 1, "baseline_sentences": 10, "baseline_share": 0.1,
        "rate_ratio": 3.0, "ratio_low": 1.1, "ratio_high": 9.0, "q_value": 0.01,
        "significant": True, "segment_ids": [1, 2],
    }])  # fmt: skip
    found.attrs.update(test="t", fdr=0.05)
    sents = pd.DataFrame([
        {"segment_id": 1, "text": f"Energy {evil}", "title": f"T {evil}", "date": "2025-01-01",
         "path": "/x", "url": "javascript:alert(3)"},
        {"segment_id": 2, "text": "Plain.", "title": "Fine", "date": "", "path": "/y",
         "url": "https://example.org/a?b=1&c=\"2\""},
    ])  # fmt: skip
    d = digest.build(found, sents, name=f"P {evil}", key="k", summary=evil,
                     info={"window": evil, "baseline": "b"}, coder="dictionary", top=5)  # fmt: skip
    page = digest.page(d)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "onerror=alert(2)>" not in page and "javascript:" not in page
    assert '<a href="https://example.org/a?b=1&amp;c=&quot;2&quot;" rel="noreferrer' in page
    assert "<q>Energy &lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img" in page
    # only the tags the page writes itself
    tags = set(re.findall(r"<([a-z0-9]+)", page))
    assert tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "ul", "li",
                    "table", "thead", "tbody", "tr", "th", "td", "p", "ol", "q", "cite", "a",
                    "span"}, tags  # fmt: skip
    text = digest.markdown(d)
    assert "<script>" not in text and "\\<script\\>" in text


def test_the_report_says_what_changed_since_the_last_update(
    wproject: Project, tmp_path: Path
) -> None:
    """After a cycle that alerted, the report's "since the last update" section shows that
    digest's shift with its counts and sentences; a digest stopped before its Markdown page
    (a crash mid-write) is not shown; a project never watched has no such section."""
    from secprio.report import since
    from secprio.report.sections import Context
    from tests.test_watch import _burst

    project = wproject
    assert since.since_section(Context(project)) is None
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    p = str(project.root)
    assert RUN.invoke(app, ["watch", "-p", p, "--once", "--source", str(src)]).exit_code == 0
    planted = _burst(src)
    res = RUN.invoke(app, ["watch", "-p", p, "--once"])
    assert res.exit_code == 0 and "1 significant shift(s)" in res.output, res.output
    (record,) = (project.root / "watch").glob("digest-*.json")

    section = since.since_section(Context(Project.open(project.root)))
    assert section is not None and section.title == "Since the last update"
    table = section.tables["since_last_update"]
    assert table[["label", "direction", "window_count", "window_sentences"]].values.tolist() == [
        ["Energy security", "up", 24, 64]
    ]
    assert "24/64 (37.5%)" in section.html and record.with_suffix(".html").name in section.html
    assert sum(s in section.html for s in set(planted)) >= 2
    assert section.tables["watch_digests"]["shifts"].tolist() == [1]

    # as if the cycle had stopped after claiming the digest, before its record was kept
    with Project.open(project.root).store.engine.begin() as conn:
        conn.execute(sa.text("update watch_digests set status = 'writing'"))
    assert since.since_section(Context(Project.open(project.root))) is None


def test_a_hostile_digest_record_stays_inert_in_the_report(wproject: Project) -> None:
    from secprio.report import since
    from secprio.report.sections import Context

    project = wproject
    folder = project.root / "watch"
    folder.mkdir()
    bad = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    record = {"at": "2026-01-01T00:00:00+00:00", "window": bad, "baseline": "b", "test": bad,
              "fdr": 0.1, "summary": bad, "shifts": [
                  {"frame": bad, "group": bad, "category": "x", "label": bad, "direction": bad,
                   "window_count": "9", "window_sentences": "0", "q_value": bad,
                   "evidence": [{"text": bad, "title": bad, "date": bad}, "not a dict"]},
                  "not a shift"]}  # fmt: skip
    project.store.add_digest_record("k1", str(folder / "digest-2026-01-01.md"), record)
    project.store.add_digest_record("k2", str(folder / "digest-2026-01-02.md"),
                                    {"shifts": "not a list"})  # fmt: skip
    section = since.since_section(Context(project))
    assert section is not None
    assert "<script" not in section.html and "<img" not in section.html
    assert "&lt;script&gt;" in section.html
