"""Screenshots for the docs: run the demo into a temporary folder, open the report in Chromium
and save docs/img/heatmap.png (a comparison heatmap with its drill-down open) and
docs/img/table1.png (the Table 1 view). ``--review``: instead, the review workspace's
docs/img/review-*.png, taken by its browser test (tests/test_web_browser.py) on the way.

    .venv/bin/python scripts/screenshots.py [--keep DIR]
    .venv/bin/python scripts/screenshots.py --review

Needs Debian's Chromium (scripts/setup-browser.sh) and the dev extras (playwright).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from secprio.report.browser import launch

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"


def demo(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "secprio", "demo", "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out / "report.html"


def shoot(report: Path) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1500, "height": 900}, device_scale_factor=1)
        page.goto(report.as_uri())
        grid = page.locator('#compare table.grid[data-by="members"]')
        grid.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -120)")
        grid.locator('td.cg[data-cat="counter_terrorism"]').first.click()
        page.screenshot(path=IMG / "heatmap.png")
        page.locator("#drill-close").click()
        first = page.locator("#table1 tbody tr").nth(6).locator("details").first
        first.evaluate("d => d.open = true")
        page.locator("#links").screenshot(path=IMG / "table1.png")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Write the demo here and keep it.")
    parser.add_argument("--review", action="store_true", help="The review workspace's images.")
    opts = parser.parse_args()
    if opts.review:
        test = "tests/test_web_browser.py::test_blind_double_coding_to_gold_and_report"
        env = {**os.environ, "SECPRIO_SHOTS": str(IMG)}
        subprocess.run([sys.executable, "-m", "pytest", "-q", test], cwd=ROOT, env=env, check=True)
        print(f"wrote {IMG}/review-*.png")
        return
    if opts.keep:
        shoot(demo(opts.keep))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            shoot(demo(Path(tmp)))
    print(f"wrote {IMG / 'heatmap.png'} and {IMG / 'table1.png'}")


if __name__ == "__main__":
    main()
