"""The demo report in real Chromium: no console errors, no network, drill-down and toggles work.

Runs Debian's /usr/bin/chromium through Playwright (``scripts/setup-browser.sh`` installs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from secprio.cli import app
from secprio.report.browser import CHROMIUM, launch

SECTIONS = ("links", "compare", "timeline", "windows", "trends", "expert", "claims")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Chromium not installed at /usr/bin/chromium (run scripts/setup-browser.sh as root)",
    ),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    res = CliRunner().invoke(app, ["demo", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out / "report.html"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        chromium = launch(pw)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(report: Path, browser):
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.errors, pg.remote = [], []
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on(
        "request",
        lambda r: (
            r.url.split(":", 1)[0] not in ("file", "data", "about") and pg.remote.append(r.url)
        ),
    )
    pg.goto(report.as_uri())
    pg.wait_for_load_state("load")
    yield pg
    pg.close()


def test_sections_are_in_the_table_of_contents(page) -> None:
    for sid in SECTIONS:
        assert page.locator(f'nav a[href="#{sid}"]').count() == 1, sid
        assert page.locator(f"section#{sid}").count() == 1, sid


def test_table1_shows_seven_threats_with_passages(page) -> None:
    rows = page.locator("#table1 tbody tr")
    assert rows.count() == 7
    assert page.locator("#table1 blockquote").count() >= 7
    assert page.locator("#table1 .badge.agree").count() >= 1


def test_heatmap_cell_drills_down_to_sentences(page) -> None:
    cell = (
        page.locator('#compare table.grid[data-by="members"] td.cg[data-count]')
        .filter(has_not_text="0")
        .first
    )
    cell.click()
    drill = page.locator("#drill")
    assert "open" in (drill.get_attribute("class") or "")
    assert page.locator("#drill .sent").count() > 0
    assert "sentence(s)" in page.locator("#drill-body").inner_text()
    page.locator("#drill-close").click()


def test_toggle_switches_counts_to_percentages(page) -> None:
    cell = page.locator("#compare td.cg .v").first
    page.locator('.toggle button[data-mode="rowpct"]').click()
    assert cell.inner_text().endswith("%")
    page.locator('.toggle button[data-mode="count"]').click()
    assert cell.inner_text().isdigit()


def test_timeline_marker_lists_the_documents_sentences(page) -> None:
    marker = page.locator('svg.timeline g.tl-event[data-event="istanbul-summit-2021"]').first
    marker.dispatch_event("click")
    assert page.locator("#drill .sent").count() > 0
    page.locator("#drill-close").click()


def test_no_console_errors_and_no_network(page) -> None:
    page.reload()
    page.wait_for_load_state("load")
    assert page.errors == []
    assert page.remote == []


OVERFLOW_JS = """() => {
  const doc = document.documentElement;
  const wide = [...document.querySelectorAll("main *")].filter(
    el => el.getBoundingClientRect().right > doc.clientWidth + 1 && !el.closest(".scroll")
  ).map(el => el.tagName + (el.id ? "#" + el.id : "") + "." + el.className).slice(0, 5);
  return {scroll: doc.scrollWidth, client: doc.clientWidth, wide: wide,
          main: document.querySelector("main").getBoundingClientRect().width};
}"""


@pytest.mark.parametrize("width", [390, 1440])
def test_no_horizontal_overflow_and_every_heatmap_cell_shows_n(
    report: Path, browser, width: int
) -> None:
    pg = browser.new_page(viewport={"width": width, "height": 900})
    pg.goto(report.as_uri())
    pg.wait_for_load_state("load")
    got = pg.evaluate(OVERFLOW_JS)
    assert got["scroll"] <= got["client"], got  # the page itself never scrolls sideways
    assert got["wide"] == [], got
    assert got["main"] >= min(width - 40, 900), got  # the sidebar gives way on a phone
    cells = pg.locator("#heatmap table.heat td.cell")
    assert cells.count() > 0
    texts = cells.all_inner_texts()
    assert all("n=" in t and "docs" in t for t in texts), texts
    for t in pg.locator("#compare td.cg .v").all_inner_texts():  # the grids' n: a count
        assert t.strip().isdigit(), t
    pg.close()


def test_printed_tables_are_not_clipped(report: Path, browser) -> None:
    pg = browser.new_page(viewport={"width": 718, "height": 1000})  # A4 less 12 mm margins
    pg.goto(report.as_uri())
    pg.emulate_media(media="print")
    pg.evaluate("window.dispatchEvent(new Event('beforeprint'))")  # what printing does
    assert pg.locator("details:not([open])").count() == 0
    clipped = pg.evaluate(
        """() => [...document.querySelectorAll("main table")].filter(t =>
             t.getBoundingClientRect().right > document.documentElement.clientWidth + 1
           ).map(t => t.id || t.className)"""
    )
    assert clipped == []
    hidden = pg.evaluate(  # no box that would scroll on screen cuts its content on paper
        """() => [...document.querySelectorAll("body *")].filter(el => {
             const o = getComputedStyle(el);
             return (o.overflowX !== "visible" || o.overflowY !== "visible") &&
               (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1);
           }).map(el => el.tagName + "." + el.className)"""
    )
    assert hidden == []
    assert pg.pdf(format="A4")[:5] == b"%PDF-"
    pg.close()
