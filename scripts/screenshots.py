"""Screenshots for the docs: run the demo into a temporary folder, open the report in Chromium
and save, at 390 px (a phone) and 1440 px (a laptop), in docs/img:

- ``heatmap-{w}.png``: the priority heatmap with its legend;
- ``table1-{w}.png``: Table 1 (threat → response links) with one row's passages open;
- ``drill-{w}.png``: a heatmap cell's drill-down (the sentences behind the number);
- ``print-page.pdf`` and ``print-{w}.png``: the heatmap page of the report printed to A4 (the
  PDF page as Chromium prints it, and the print stylesheet rendered for a look at it);
- ``heatmap.png`` and ``table1.png``: the comparison heatmap with its drill-down and the Table 1
  view at 1500 px, as used in docs/analyses.md.

``--review``: instead, the review workspace's docs/img/review-*.png, taken by its browser test
(tests/test_web_browser.py) on the way.

    .venv/bin/python scripts/screenshots.py [--keep DIR]
    .venv/bin/python scripts/screenshots.py --review

Needs Debian's Chromium (scripts/setup-browser.sh) and the dev extras (playwright).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from pypdf import PdfReader, PdfWriter

from secprio.report.browser import launch

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
WIDTHS = (390, 1440)


def demo(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "secprio", "demo", "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out / "report.html"


def _open(browser, report: Path, width: int, height: int = 900) -> Page:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    return page


def per_width(browser, report: Path, width: int) -> list[Path]:  # type: ignore[no-untyped-def]
    page = _open(browser, report, width)
    made = []
    heat = page.locator("#heatmap")
    heat.locator("table.heat").first.scroll_into_view_if_needed()
    # the section's first part: intro, legend and the priority grid
    top = page.evaluate("window.scrollY")  # bounding boxes are relative to the viewport
    box = heat.bounding_box()
    grid = heat.locator("table.heat").first.bounding_box()
    assert box and grid
    height = grid["y"] + grid["height"] - box["y"] + 10
    clip = {"x": 0, "y": box["y"] + top, "width": width, "height": height}
    page.screenshot(path=IMG / f"heatmap-{width}.png", clip=clip, full_page=True)
    made.append(IMG / f"heatmap-{width}.png")
    row = page.locator("#table1 tbody tr").nth(0)
    row.locator("details").first.evaluate("d => d.open = true")
    table = page.locator("#table1")
    table.scroll_into_view_if_needed()
    top = page.evaluate("window.scrollY")
    t = table.bounding_box()
    assert t
    clip = {"x": 0, "y": t["y"] + top - 10, "width": width, "height": min(t["height"] + 20, 1800)}
    page.screenshot(path=IMG / f"table1-{width}.png", clip=clip, full_page=True)
    made.append(IMG / f"table1-{width}.png")
    cell = heat.locator('td.cell[data-cat="counter_terrorism"]').nth(1)
    cell.scroll_into_view_if_needed()
    cell.click()
    page.wait_for_selector("#drill.open")
    page.screenshot(path=IMG / f"drill-{width}.png")
    made.append(IMG / f"drill-{width}.png")
    page.locator("#drill-close").click()
    page.emulate_media(media="print")
    page.set_viewport_size({"width": min(width, 718), "height": 1000})
    heat.scroll_into_view_if_needed()
    page.screenshot(path=IMG / f"print-{width}.png")
    made.append(IMG / f"print-{width}.png")
    page.close()
    return made


def printed_page(browser, report: Path) -> Path:  # type: ignore[no-untyped-def]
    """The A4 page of the printed report that holds the priority heatmap, printed as a reader
    prints it (the page's beforeprint handler opens every folded part)."""
    page = _open(browser, report, 1440)
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    page.close()
    hit = next(
        (i for i, p in enumerate(pdf.pages) if "Military" in (p.extract_text() or "")),
        0,
    )
    out = PdfWriter()
    out.add_page(pdf.pages[hit])
    path = IMG / "print-page.pdf"
    with path.open("wb") as fh:
        out.write(fh)
    return path


def docs_views(browser, report: Path) -> list[Path]:  # type: ignore[no-untyped-def]
    """The two views docs/analyses.md shows."""
    page = _open(browser, report, 1500)
    grid = page.locator('#compare table.grid[data-by="members"]')
    grid.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -120)")
    grid.locator('td.cg[data-cat="counter_terrorism"]').first.click()
    page.screenshot(path=IMG / "heatmap.png")
    page.locator("#drill-close").click()
    first = page.locator("#table1 tbody tr").nth(6).locator("details").first
    first.evaluate("d => d.open = true")
    page.locator("#links").screenshot(path=IMG / "table1.png")
    page.close()
    return [IMG / "heatmap.png", IMG / "table1.png"]


def shoot(report: Path) -> list[Path]:
    IMG.mkdir(parents=True, exist_ok=True)
    made = []
    with sync_playwright() as pw:
        browser = launch(pw)
        for width in WIDTHS:
            made += per_width(browser, report, width)
        made.append(printed_page(browser, report))
        made += docs_views(browser, report)
        browser.close()
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Write the demo here and keep it.")
    parser.add_argument("--report", type=Path, help="Use this report.html instead of a demo.")
    parser.add_argument("--review", action="store_true", help="The review workspace's images.")
    opts = parser.parse_args()
    if opts.review:
        test = "tests/test_web_browser.py::test_blind_double_coding_to_gold_and_report"
        env = {**os.environ, "SECPRIO_SHOTS": str(IMG)}
        subprocess.run([sys.executable, "-m", "pytest", "-q", test], cwd=ROOT, env=env, check=True)
        print(f"wrote {IMG}/review-*.png")
        return
    if opts.report:
        made = shoot(opts.report)
    elif opts.keep:
        made = shoot(demo(opts.keep))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            made = shoot(demo(Path(tmp)))
    print("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in made))


if __name__ == "__main__":
    main()
