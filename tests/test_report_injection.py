"""A report built from hostile text stays inert: documents, titles, URLs, codebook fields and
the project name all carry injection payloads, and no script of theirs runs.

The static tests read the written HTML with the standard library's parser; the browser test
opens it in real Chromium, opens the drill-down on every cell and asserts that no payload ran,
no Content-Security-Policy violation was needed and no request left the page.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from secprio.config import MeasureSettings, Settings
from secprio.project import Project
from secprio.report.browser import CHROMIUM, launch
from secprio.report.build import write

PWN = "window.__pwned=(window.__pwned||0)+1"
PAYLOADS = [
    f"</script><script>{PWN}</script>",
    "<!--<script>",
    f'<img src=x onerror="{PWN}">',
    f'"><svg onload="{PWN}">',
    f"'><script>{PWN}</script>",
    f'<a href="javascript:{PWN}">link</a>',
    '<img src="http://127.0.0.1:9/beacon.png">',
    '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">',
    "]]></x>\u2028\u2029&amp;&lt;",
]


MATH = " security $\\frac{$ $x$"  # an unbalanced mathtext formula in a figure label


def yaml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


CODEBOOK = f"""\
name: {yaml_str("<script>" + PWN + "</script>")}
version: {yaml_str('1"><script>' + PWN + "</script>")}
description: {yaml_str(PAYLOADS[2])}
categories:
  - id: military_cooperation
    kind: priority
    label: {yaml_str("Military " + PAYLOADS[0] + " cooperation")}
    definition: {yaml_str("Joint defence " + PAYLOADS[2])}
    patterns:
      en: ["military cooperation", "joint exercise*"]
  - id: border_security
    kind: priority
    label: {yaml_str("Border " + PAYLOADS[1] + MATH)}
    definition: {yaml_str(PAYLOADS[5])}
    patterns:
      en: ["border security", "border*"]
  - id: terrorism_transnational
    kind: threat
    label: {yaml_str(PAYLOADS[3])}
    definition: Terrorism named as a threat.
    patterns:
      en: ["terroris*"]
"""


def make_corpus(folder: Path) -> Path:
    folder.mkdir()
    for i, payload in enumerate(PAYLOADS):
        body = "\n\n".join(
            [
                f"The states agreed on military cooperation {payload} at the summit.",
                f"Border security {payload} was discussed.",
                f"Terrorism {payload} remains a threat.",
            ]
        )
        head = (
            "---\n"
            f"title: {yaml_str('Doc ' + str(i) + ' ' + payload)}\n"
            f"date: 20{10 + i}-05-01\n"
            "doc_type: declaration\n"
            "members: [AZ, TR]\n"
            f"issuer: {yaml_str('OTS')}\n"
            f"url: {yaml_str(f'javascript:{PWN}' if i % 2 else 'https://e.example/' + payload)}\n"
            "language: en\n"
            "---\n"
        )
        (folder / f"d{i}.md").write_text(head + body + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inject")
    book = root / "book.yaml"
    book.write_text(CODEBOOK, encoding="utf-8")
    name = "</title><script>" + PWN + "</script>"
    settings = Settings(name=name, measure=MeasureSettings(bootstrap=50, seed=1))
    project = Project.init(root / "proj", codebook=book, settings=settings)
    project.ingest([make_corpus(root / "corpus")])
    project.code()
    return write(project, root / "out").html


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self._body: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script, self._body = dict(attrs), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._body)))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._body.append(data)


def parse(path: Path) -> tuple[str, Elements]:
    html = path.read_text(encoding="utf-8")
    parser = Elements()
    parser.feed(html)
    return html, parser


def test_only_secprios_scripts_exist_and_the_policy_allows_only_them(report: Path) -> None:
    _, parsed = parse(report)
    code = [body for attrs, body in parsed.scripts if attrs.get("type") != "application/json"]
    data = [body for attrs, body in parsed.scripts if attrs.get("type") == "application/json"]
    assert len(data) == 2 and 1 <= len(code) <= 3
    assert not any(PWN in body for body in code)
    metas = [a for t, a in parsed.tags if t == "meta" and a.get("http-equiv")]
    assert [a["http-equiv"] for a in metas] == ["Content-Security-Policy"]
    csp = str(metas[0]["content"])
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]
    assert "default-src 'none'" in csp and "connect-src" not in csp
    for body in code:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_no_payload_became_markup(report: Path) -> None:
    _, parsed = parse(report)
    for tag, attrs in parsed.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        for key in ("href", "src"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith(("javascript:", "http:", "https:")), (tag, attrs)
        assert tag not in ("link", "iframe", "object", "embed", "base", "form"), (tag, attrs)
        if tag == "a":  # the table of contents: links inside the page only
            assert str(attrs.get("href", "")).startswith("#"), attrs


def test_embedded_data_parses_and_holds_every_payload_verbatim(report: Path) -> None:
    _, parsed = parse(report)
    blocks = {attrs["id"]: body for attrs, body in parsed.scripts if attrs.get("id")}
    evidence = json.loads(blocks["evidence"])
    labels = json.loads(blocks["labels"])
    assert labels["military_cooperation"] == "Military " + PAYLOADS[0] + " cooperation"
    texts = " ".join(r["text"] for r in evidence)
    titles = {r["doc"] for r in evidence}
    for p in PAYLOADS:
        assert p.strip() in texts or any(p in t for t in titles), p
    assert {r["url"] for r in evidence} <= {""} | {
        "https://e.example/" + p for p in PAYLOADS
    }  # the javascript: URLs were dropped


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed at /usr/bin/chromium")
def test_in_chromium_no_payload_runs_and_no_request_leaves(report: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page()
        errors: list[str] = []
        remote: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "request",
            lambda r: (
                remote.append(r.url)
                if r.url.split(":", 1)[0] not in ("file", "data", "about")
                else None
            ),
        )
        page.add_init_script(
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        cells = page.locator("td[data-cat]")
        assert cells.count() > 0
        shown = 0
        for i in range(cells.count()):
            cells.nth(i).dispatch_event("click")
            shown += page.locator("#drill .sent").count()
            assert page.locator("#drill-body img, #drill-body svg, #drill-body a").count() == 0
        assert shown > 0
        drill = page.locator("#drill-body").inner_text()
        assert "</script>" in drill or "<img" in drill  # payloads shown as text
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("window.__violations") == []
        assert errors == [] and remote == []
        browser.close()
