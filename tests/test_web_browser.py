"""The review workspace in real Chromium (Playwright), over a real server on 127.0.0.1.

1. A team's blind double coding from start to gold: the admin creates two coders in the
   users page and a blind assignment of 20 sentences; each coder logs in and codes them by
   keyboard only, seeing neither the other's decisions nor the machine's; the admin
   adjudicates the disagreements by keyboard, sees Krippendorff's α, and finishes; the gold
   file holds the adjudicated result, and the report built afterwards validates against it.
2. Injected markup in a document's text, title and metadata stays inert in the reader, the
   queues, the corpus, the heatmap cell, an assignment and the adjudication view: no script
   runs (``window.__pwned`` stays undefined), no dialog opens, no element is injected.

Set ``SECPRIO_SHOTS=docs/img`` to keep the screenshots for the docs (scripts/screenshots.py
--review does that); otherwise they go to a temporary folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from secprio import packs
from secprio.config import MeasureSettings, Settings
from secprio.project import Project
from secprio.report.browser import CHROMIUM, launch
from tests.conftest import write_doc
from tests.web_helpers import PASSWORD, add_user, served

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Chromium not installed at /usr/bin/chromium (run scripts/setup-browser.sh as root)",
    ),
]

N = 20
DISPUTED = {0, 5, 10, 15}  # where the second coder also applies category 3


@pytest.fixture(scope="module")
def pw():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SECPRIO_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _page(browser, errors: list[str]):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return page


def _login(page, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{url}/")


# -- 1. blind double coding ------------------------------------------------------------------
@pytest.fixture
def ots(tmp_path: Path) -> Project:
    """The OTS pack's corpus with a copy of its codebook (renamed, so that the pack's own gold
    set is not merged in: the gold here is only what the team decides), dictionary coder."""
    book = tmp_path / "codebook.yaml"
    text = (packs.path("ots") / "codebook.yaml").read_text(encoding="utf-8")
    book.write_text(re.sub(r"(?m)^name: .*$", "name: ots-review-test", text, count=1), "utf-8")
    settings = Settings(name="OTS review", measure=MeasureSettings(coder="dictionary", seed=7))
    project = Project.init(tmp_path / "proj", codebook=book, settings=settings)
    project.settings.measure.bootstrap = 200
    project.ingest([packs.path("ots") / "corpus"])
    project.code()
    add_user(project, "boss", "admin")
    return project


def _press(page, keys: list[str]) -> None:
    for k in keys:
        page.keyboard.press(k)


def _code_by_keyboard(page, plan: list[list[str]], start: int, stop: int) -> None:
    """Code cards ``start`` to ``stop`` of the page in order, each with its keys of ``plan``;
    wait for each to be stored (the keyboard moves on to the next undecided card)."""
    cards = page.locator("section.coding article.card")
    assert cards.count() == len(plan)
    for i in range(start, stop):
        keys, card = plan[i], cards.nth(i)
        assert "current" in (card.get_attribute("class") or ""), i  # the keyboard's card
        _press(page, keys)
        try:
            page.wait_for_function(
                "el => el.classList.contains('decided') && /saved/.test(el.textContent)",
                arg=card.element_handle(),
                timeout=10_000,
            )
        except Exception as exc:
            status = card.locator(".status").inner_text()
            raise AssertionError(f"card {i} not stored: {status!r}") from exc


def test_blind_double_coding_to_gold_and_report(pw, ots: Project, tmp_path: Path) -> None:
    shots = _shots(tmp_path)
    errors: list[str] = []
    cats = ots.codebook.ids()
    with served(ots, team=True) as url:
        admin = _page(pw, errors)
        _login(admin, url, "boss")
        # the admin creates two coders
        for name in ("ana", "cem"):
            admin.goto(f"{url}/admin/users")
            admin.fill("form.adduser input[name=name]", name)
            admin.fill("form.adduser input[name=password]", PASSWORD)
            admin.select_option("form.adduser select[name=role]", "coder")
            admin.click("form.adduser button[type=submit]")
            assert f"created {name}" in admin.locator("p.note").inner_text()
        admin.screenshot(path=shots / "review-users.png")
        assert {u["name"]: u["role"] for u in ots.store.users()} == {
            "boss": "admin", "ana": "coder", "cem": "coder"
        }  # fmt: skip
        # ... and a blind assignment of 20 random sentences for both
        admin.goto(f"{url}/assignments")
        admin.fill("form.addassign input[name=name]", "pilot double coding")
        admin.check("form.addassign input[name=coders][value=ana]")
        admin.check("form.addassign input[name=coders][value=cem]")
        admin.fill("form.addassign input[name=n]", str(N))
        admin.select_option("form.addassign select[name=source]", "random")
        assert admin.is_checked("form.addassign input[name=blind]")
        admin.click("form.addassign button[type=submit]")
        admin.wait_for_url(re.compile(r".*/assignments/\d+$"))
        aid = int(admin.url.rsplit("/", 1)[1])

        # each coder codes the 20 sentences by keyboard: 1, 2 toggle categories, Enter stores,
        # x rejects (none applies); cem also applies category 3 on four of them
        def plan(second: bool) -> list[list[str]]:
            out = []
            for i in range(N):
                keys = (["1"] if i % 2 == 0 else []) + (["2"] if i % 3 == 0 else [])
                keys += ["3"] if second and i in DISPUTED else []
                out.append(keys + ["Enter"] if keys else ["x"])
            return out

        for name, second in (("ana", False), ("cem", True)):
            coder = _page(pw, errors)
            _login(coder, url, name)
            coder.goto(f"{url}/assignments/{aid}")
            # blind: no machine codings, no one else's decisions, toggles start empty
            assert coder.locator("details.ev, ul.humans").count() == 0
            assert coder.locator("button.tog[aria-pressed=true]").count() == 0
            if second:
                assert not re.search(r"\bana\b", coder.locator("main").inner_text())
            _code_by_keyboard(coder, plan(second), 0, N // 2)
            if second:
                _press(coder, ["1", "3"])  # toggled, not yet stored: as a coder sees it
                coder.locator("article.card.current").evaluate(
                    "el => el.scrollIntoView({block: 'center'})"
                )
                coder.screenshot(path=shots / "review-coding.png")
                _press(coder, ["1", "3"])
            _code_by_keyboard(coder, plan(second), N // 2, N)
            coder.reload()
            assert f"Progress: {name} {N}/{N}" in coder.locator("p.note").inner_text()
            coder.context.close()
        mine = ots.store.latest_decisions(assignment_id=aid)
        assert len(mine) == 2 * N and {d["coder"] for d in mine} == {"ana", "cem"}
        assert (ots.codings()["coder"].isin(["ana", "cem"])).sum() == 0  # blind: not yet counted

        # the admin adjudicates: four disagreements; α per category is shown
        admin.goto(f"{url}/assignments/{aid}/adjudicate")
        assert admin.locator("#n-disputed").inner_text() == str(len(DISPUTED))
        assert admin.locator("#n-agreed").inner_text() == str(N - len(DISPUTED))
        alphas = admin.locator("table.alpha td.alpha-value").all_inner_texts()
        assert len(alphas) == len(cats) + 1  # every category and the pooled row
        values = [float(a) for a in alphas if a != "—"]
        assert values and all(-1.0 <= v <= 1.0 for v in values)
        assert any(v < 1.0 for v in values) and any(v == 1.0 for v in values)
        cards = admin.locator("section.coding article.card")
        assert cards.count() == len(DISPUTED)
        assert admin.locator("ul.humans li").count() == 2 * len(DISPUTED)  # both votes shown
        admin.screenshot(path=shots / "review-adjudicate.png", full_page=True)
        for i in range(len(DISPUTED)):  # side with cem: toggle 3 on, Enter
            _press(admin, ["3", "Enter"])
            admin.wait_for_function(
                "el => el.classList.contains('decided')", arg=cards.nth(i).element_handle()
            )
        admin.click("#finish")
        admin.wait_for_url(re.compile(r".*adjudicate\?m=gold.*"))
        assert "gold written to gold.csv" in admin.locator("p.note.ok").inner_text()
        # the reader, not blind: machine evidence and the humans' decisions
        sents = ots.store.sentences_of(ots.store.assignment_segments(aid))
        doc = next(int(s["document_id"]) for s in sents if s["language"] == "en")
        admin.goto(f"{url}/doc/{doc}")
        assert admin.locator("section.coding article.card mark").count() > 0  # highlights
        admin.screenshot(path=shots / "review-reader.png")
        admin.goto(f"{url}/queue/uncertain")
        admin.screenshot(path=shots / "review-queue.png")
        admin.context.close()
    assert errors == []

    # the gold: the adjudicated result, one row per (sentence, applied category) or a blank
    gold = pd.read_csv(ots.root / "gold.csv", dtype=str, keep_default_na=False)
    adj = gold[gold["coder"] == "adjudicated"]
    assert adj["id"].nunique() == N
    want = {cats[0]: 10, cats[1]: 7, cats[2]: len(DISPUTED)}
    assert adj[adj["category"] != ""]["category"].value_counts().to_dict() == want
    assert set(gold["coder"]) == {"adjudicated", "ana", "cem"}
    cod = ots.codings()
    assert (cod["coder"] == "adjudicated").sum() == N * len(cats)  # now human codings

    # the report afterwards: validation against that gold, counts as the team decided
    from secprio.report.build import write

    report = write(ots, tmp_path / "report").html
    page = _page(pw, errors)
    page.goto(report.as_uri())
    intro = page.locator("section#validation p").first.inner_text()
    assert "gold.csv" in intro and f"{N} sentences coded by adjudicated" in intro
    rows = page.locator("#validation-prf tbody tr")
    human = {}
    for r in range(rows.count()):
        cells = rows.nth(r).locator("td, th").all_inner_texts()
        human[cells[0]] = cells[1]
    labels = {c.id: c.label for c in ots.codebook.categories}
    for cat, n in want.items():
        assert human.get(cat, human.get(labels[cat])) == str(n), (cat, human)
    page.context.close()
    assert errors == []


# -- 2. injected markup stays inert ---------------------------------------------------------
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2;alert(2)">',
    '<svg onload="window.__pwned=3"></svg>',
    '<iframe srcdoc="<script>parent.__pwned=4</script>"></iframe>',
    '<a href="javascript:window.__pwned=5">link</a>',
    "{{ 7*7 }} ${7*7} <style>body{display:none}</style>",
]
TITLE = '"><script>window.__pwned=6</script><b onmouseover="alert(6)">x</b>'
INJECTED = (
    "script:not([src='/static/app.js']), img[src='x'], svg, iframe, a[href^='javascript'], "
    "style, b[onmouseover]"
)


@pytest.fixture
def hostile(coded: Project, tmp_path: Path):
    folder = tmp_path / "evil"
    folder.mkdir()
    text = f"Military cooperation grew. {' '.join(PAYLOADS)} Terrorism is a threat."
    path = write_doc(folder, "evil.md", "2020-01-01", "news", "TR", "en", [text])
    head = path.read_text(encoding="utf-8").replace(
        "title: Document evil.md", "title: '" + TITLE.replace("'", "''") + "'"
    )
    path.write_text(head.replace("issuer: TR", "issuer: '<img src=x onerror=alert(7)>'"), "utf-8")
    coded.ingest([folder])
    coded.code()
    for name, role in (("boss", "admin"), ("cem", "coder"), ("dana", "coder")):
        add_user(coded, name, role)
    sents = coded.sentences(text=True)
    evil = [int(s) for s in sents.loc[sents["text"].str.contains("pwned"), "segment_id"]]
    assert evil
    aid = coded.store.add_assignment("x", ["cem", "dana"], evil, blind=True, actor="boss")
    for coder, labels in (("cem", {}), ("dana", {"military_cooperation": 1})):
        for seg in evil:  # a disagreement, so the adjudication view shows the sentence
            full = {c: labels.get(c, 0) for c in coded.codebook.ids()}
            coded.store.decide(seg, coder, full, expected=0, assignment_id=aid, blind=True,
                               memo="<script>window.__pwned=8</script>")  # fmt: skip
    doc = coded.documents()
    doc_id = int(doc.loc[doc["path"].str.endswith("evil.md"), "document_id"].iat[0])
    with served(coded, team=True) as url:
        yield coded, url, doc_id, aid


def test_injected_markup_renders_inert_in_every_view(pw, hostile, tmp_path: Path) -> None:
    _, url, doc_id, aid = hostile
    errors: list[str] = []
    dialogs: list[str] = []
    cell = "/cell?by=year&value=2020&category=terrorism_transnational"
    pages = {
        "boss": [
            f"/doc/{doc_id}",
            "/queue/validation",
            "/queue/uncertain",
            "/queue/disagree",
            "/",
            "/?q=pwned",
            cell,
            f"/assignments/{aid}/adjudicate",
            "/admin/audit",
        ],
        # (cem's queues leave out what cem decided: the hostile sentences, in the assignment)
        "cem": [f"/doc/{doc_id}", f"/assignments/{aid}", "/?q=pwned", cell],
    }

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    for who, paths in pages.items():
        page = _page(pw, errors)
        page.on("dialog", on_dialog)
        _login(page, url, who)
        for path in paths:
            page.goto(url + path)
            page.wait_for_load_state("load")
            page.mouse.move(300, 200)
            body = page.locator("main")
            assert page.evaluate("typeof window.__pwned") == "undefined", (who, path)
            assert page.locator(INJECTED).count() == 0, (who, path)
            shown = body.inner_text()
            if path != "/queue/disagree":  # (one machine coder here: nothing to disagree on)
                assert "pwned" in shown, (who, path)  # the hostile text is on this page
            if path.startswith(("/doc/", "/assignments/")) or (who, path) == (
                "boss", "/queue/validation"
            ):  # fmt: skip
                assert "<script>window.__pwned=1</script>" in shown, (who, path)
                assert "{{ 7*7 }} ${7*7}" in shown, (who, path)
                # no template evaluated it (file paths left out: pytest's folders have numbers)
                assert "49" not in re.sub(r"/\S+", "", shown), (who, path)
            if path.startswith("/doc/"):
                assert TITLE in page.locator("h1").inner_text()
                assert "<img src=x onerror=alert(7)>" in shown
        page.context.close()
    assert dialogs == []
    assert errors == []  # not even a CSP report: nothing tried to run
