"""watch and shift detection: a planted burst is found with its sentences, a stable stretch
stays quiet (false alerts counted over seeded runs), and a rerun with nothing new does nothing.
Every sentence here is written for the test."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from secprio.cli import app
from secprio.codebook.load import load as load_codebook
from secprio.measure import shifts
from secprio.project import Project

CODEBOOK = """\
name: watch-mini
version: "1"
categories:
  - id: energy_security
    kind: priority
    label: Energy security
    definition: Secure supply and transit of energy.
    patterns:
      en: ["energy security", "gas pipeline*"]
  - id: counter_terrorism
    kind: priority
    label: Counter-terrorism
    definition: Cooperation against terrorism.
    patterns:
      en: ["counter-terrorism", "fight against terror*"]
  - id: trade
    kind: priority
    label: Trade
    definition: Trade and transport links.
    patterns:
      en: ["trade", "transport corridor*"]
"""

NEUTRAL = [
    "The ministers met in the capital.",
    "The delegation visited the new museum.",
    "Student exchange programmes were extended.",
    "A working group reviewed the statutes.",
    "The chair thanked the host country.",
    "Tourism routes along the old road were promoted.",
    "The next summit will be held in autumn.",
    "Youth sports games opened on Monday.",
    "The archive of the secretariat was digitised.",
    "Journalists from the member states attended.",
]
TERROR = ["Counter-terrorism cooperation was reviewed.", "The fight against terrorism goes on."]
TRADE = ["Trade between the states grew.", "The transport corridor was opened to lorries."]
ENERGY = [
    "Energy security of the region was the main topic.",
    "The new gas pipeline strengthens energy security.",
    "Energy security is now a shared priority.",
    "Two gas pipelines will diversify the supply routes.",
]
START = dt.date(2025, 1, 5)
RUN = CliRunner(env={"COLUMNS": "200"})


def _doc(folder: Path, name: str, date: dt.date, sentences: list[str]) -> Path:
    head = (
        f"---\ntitle: Bulletin {name}\ndate: {date.isoformat()}\ndoc_type: news\n"
        f"issuer: TR\nmembers: [AZ, TR]\nlanguage: en\n---\n\n"
    )
    path = folder / f"{name}.md"
    path.write_text(head + " ".join(sentences) + "\n", encoding="utf-8")
    return path


def _stable(rng: random.Random, n: int = 8) -> list[str]:
    """n sentences: about one in eight on terrorism, one in eight on trade, one in sixty on
    energy, the rest neutral."""
    out = []
    for _ in range(n):
        u = rng.random()
        pool = TERROR if u < 0.125 else TRADE if u < 0.25 else ENERGY if u < 0.266 else NEUTRAL
        out.append(rng.choice(pool))
    return out


def _baseline(folder: Path, n: int = 24, seed: int = 3) -> None:
    rng = random.Random(seed)
    for i in range(n):
        _doc(folder, f"base{i:02d}", START + dt.timedelta(days=7 * i), _stable(rng))


def _burst(folder: Path, n: int = 8) -> list[str]:
    """Documents in the month after the baseline, three energy sentences in each of eight."""
    planted = []
    for i in range(n):
        energy = [ENERGY[(i + j) % len(ENERGY)] for j in range(3)]
        planted += energy
        rest = [TERROR[i % 2], TRADE[i % 2], *NEUTRAL[i % 5 : i % 5 + 2]]
        day = dt.date(2025, 7, 1) + dt.timedelta(days=3 * i)
        _doc(folder, f"new{i:02d}", day, [*energy[:2], *rest, energy[2], NEUTRAL[9]])
    return planted


def _planted(project: Project, tmp_path: Path) -> set[str]:
    """A project with the stable baseline and the energy burst ingested and coded; the
    planted sentences."""
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    planted = set(_burst(src))
    project.ingest([src])
    project.code()
    return planted


def test_planted_burst_is_detected_with_its_sentences(wproject: Project, tmp_path: Path) -> None:
    planted = _planted(wproject, tmp_path)
    sents = wproject.sentences(text=True)
    win, base, info = shifts.date_windows(sents, "30d")
    assert info["window"] == "2025-06-23 to 2025-07-22"
    found = shifts.shifts(sents, wproject.codings(), wproject.codebook, window=win, baseline=base)
    row = found.set_index("category").loc["energy_security"]
    assert row["significant"] and row["direction"] == "up"
    assert row["window_count"] == 24 and row["window_documents"] == 8
    # document level (the default): the smallest p-value is 1/(permutations + 1)
    assert row["ratio_low"] > 3 and row["q_value"] <= 3 / (found.attrs["permutations"] + 1)
    exact = shifts.shifts(sents, wproject.codings(), wproject.codebook, window=win,
                          baseline=base, unit="sentences").set_index("category")  # fmt: skip
    assert exact.loc["energy_security", "q_value"] < 1e-6
    assert exact["significant"].tolist() == found.set_index("category")["significant"].tolist()
    text = sents.set_index("segment_id")["text"]
    evidence = [text[s] for s in row["segment_ids"]]
    assert len(evidence) == 5 and all(e in planted for e in evidence)
    by_seg = sents.set_index("segment_id")["document_id"]
    assert len({by_seg[s] for s in row["segment_ids"]}) == 5  # one per document first
    # the stable categories do not alert; every row says why it is or is not an alert
    assert not found[found["category"] != "energy_security"]["significant"].any()
    assert found["reason"].str.len().gt(0).sum() == 2


def test_quiet_when_the_window_is_thin(wproject: Project, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    _burst(src, n=3)  # with the last two baseline weeks: 5 documents, 40 sentences in 30 days
    wproject.ingest([src])
    wproject.code()
    sents = wproject.sentences()
    win, base, _ = shifts.date_windows(sents, "30d")
    found = shifts.shifts(sents, wproject.codings(), wproject.codebook, window=win, baseline=base)
    assert not found["significant"].any()
    assert (
        found["reason"]
        .str.startswith("quiet: the window has 5 document(s) and 40 sentence(s)")
        .all()
    )


def test_frames_by_doc_type_and_members(wproject: Project, tmp_path: Path) -> None:
    _planted(wproject, tmp_path)
    sents = wproject.sentences()
    win, base, _ = shifts.date_windows(sents, "30d")
    found = shifts.shifts(
        sents, wproject.codings(), wproject.codebook, window=win, baseline=base,
        by=["doc_type", "members"], attribution="every",
    )  # fmt: skip
    sig = found[found["significant"]]
    assert set(zip(sig["frame"], sig["group"], sig["category"], strict=True)) == {
        ("all", "", "energy_security"),
        ("doc_type", "news", "energy_security"),
        ("members", "AZ", "energy_security"),
        ("members", "TR", "energy_security"),
    }


def _random_corpus(seed: int, clustered: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stable stretch: 40 documents over 120 days, 10 sentences each, every category at a
    fixed rate per sentence. ``clustered``: 3 to 39 sentences a document and each document
    with its own rate of each category (Beta around the same mean), as real documents are —
    still no change over time."""
    rng = np.random.default_rng(seed)
    rates = {"energy_security": 0.05, "counter_terrorism": 0.12, "trade": 0.2}
    days = np.sort(rng.integers(0, 120, size=40))
    rows, codings = [], []
    seg = 0
    for d, day in enumerate(days):
        date = (START + dt.timedelta(days=int(day))).isoformat()
        n = int(rng.integers(3, 40)) if clustered else 10
        own = {c: rng.beta(0.5, 0.5 * (1 - p) / p) if clustered else p for c, p in rates.items()}
        for _ in range(n):
            seg += 1
            rows.append({"segment_id": seg, "document_id": d + 1, "date": date,
                         "doc_type": "news", "issuer": "TR", "members": ["TR"]})  # fmt: skip
            for cat, p in own.items():
                if rng.random() < p:
                    codings.append({"segment_id": seg, "category": cat, "value": 1,
                                    "confidence": 1.0})  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(codings)


def _false_alerts(tmp_path: Path, runs: int, *, clustered: bool, unit: str) -> tuple[int, int]:
    book_file = tmp_path / "watch.yaml"
    book_file.write_text(CODEBOOK, encoding="utf-8")
    book = load_codebook(book_file)
    alerts = tested = 0
    for seed in range(runs):
        sents, codings = _random_corpus(seed, clustered)
        win, base, _ = shifts.date_windows(sents, "30d")
        found = shifts.shifts(sents, codings, book, window=win, baseline=base, unit=unit)
        alerts += bool(found["significant"].any())
        tested += bool(found["p_value"].notna().any())
    assert tested > runs * 0.9  # the runs were tested, not silenced by the quiet floor
    return alerts, runs


def _at_most_the_rate(alerts: int, runs: int, fdr: float = 0.05) -> bool:
    # when nothing changed, BH at q bounds P(any alert in a run) by q: count runs with an alert
    return alerts <= runs * fdr + 2 * math.sqrt(runs * fdr * (1 - fdr))


def test_stable_stretches_stay_at_the_declared_false_alert_rate(tmp_path: Path) -> None:
    # the count of runs with any alert stays within two standard errors of the declared rate
    alerts, runs = _false_alerts(tmp_path, 60, clustered=False, unit="documents")
    assert _at_most_the_rate(alerts, runs), alerts


def test_correlated_sentences_fool_the_sentence_test_not_the_document_test(
    tmp_path: Path,
) -> None:
    alerts, runs = _false_alerts(tmp_path, 40, clustered=True, unit="sentences")
    assert alerts > runs / 4  # independent sentences: far above the declared 5%
    alerts, runs = _false_alerts(tmp_path, 40, clustered=True, unit="documents")
    assert _at_most_the_rate(alerts, runs), alerts


def test_one_long_document_cannot_make_a_shift_alone(wproject: Project, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    late = dt.date(2025, 7, 1)
    _doc(src, "long", late, [*ENERGY * 10, *NEUTRAL])  # 40 energy sentences in one document
    _doc(src, "brief", late + dt.timedelta(days=1), [ENERGY[0], *NEUTRAL[:7]])
    for i in range(4):
        _doc(src, f"plain{i}", late + dt.timedelta(days=2 + i), [TRADE[i % 2], *NEUTRAL[i : i + 7]])
    wproject.ingest([src])
    wproject.code()
    sents = wproject.sentences()
    win, base, _ = shifts.date_windows(sents, "30d")
    by_sentence = shifts.shifts(sents, wproject.codings(), wproject.codebook, window=win,
                                baseline=base, unit="sentences").set_index("category")  # fmt: skip
    assert by_sentence.loc["energy_security", "significant"]  # two documents carry it
    by_document = shifts.shifts(
        sents, wproject.codings(), wproject.codebook, window=win, baseline=base
    )
    row = by_document.set_index("category").loc["energy_security"]
    assert not row["significant"] and row["q_value"] > 0.05, row["q_value"]


def test_watch_once_alerts_then_stays_quiet_on_rerun(wproject: Project, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    p = str(wproject.root)
    res = RUN.invoke(app, ["watch", "-p", p, "--once", "--source", str(src)])
    assert res.exit_code == 0, res.output
    assert "added 24" in res.output and "no significant shift" in res.output
    folder = wproject.root / "watch"
    assert not list(folder.glob("digest-*.md"))
    assert (folder / "sources.txt").read_text(encoding="utf-8").strip() == str(src.resolve())

    planted = _burst(src)  # new documents appear in the recorded folder
    res = RUN.invoke(app, ["watch", "-p", p, "--once"])
    assert res.exit_code == 0, res.output
    assert "added 8" in res.output and "1 significant shift(s)" in res.output
    (digest,) = folder.glob("digest-*.md")
    text = digest.read_text(encoding="utf-8")
    assert "| all documents | Energy security | up | 24/64 (37.5%) |" in text
    assert sum(s in text for s in set(planted)) >= 3
    assert "counter" not in text.lower()
    n_docs = len(wproject.documents())

    res = RUN.invoke(app, ["watch", "-p", p, "--once"])
    assert res.exit_code == 0, res.output
    assert "added 0" in res.output and "nothing new" in res.output
    assert "no digest" in res.output
    assert len(Project.open(wproject.root).documents()) == n_docs == 32
    assert list(folder.glob("digest-*.md")) == [digest]


def test_watch_without_a_source_says_how_to_give_one(wproject: Project) -> None:
    res = RUN.invoke(app, ["watch", "-p", str(wproject.root), "--once"])
    assert res.exit_code == 2
    assert "--source DIR" in res.output and "Traceback" not in res.output
    res = RUN.invoke(app, ["watch", "-p", str(wproject.root)])
    assert res.exit_code == 2 and "--once" in res.output


def test_window_new_and_frames_from_the_cli(wproject: Project, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    p = str(wproject.root)
    assert RUN.invoke(app, ["watch", "-p", p, "--once", "--source", str(src)]).exit_code == 0
    _burst(src)
    res = RUN.invoke(
        app,
        [
            "watch",
            "-p",
            p,
            "--once",
            "--window",
            "new",
            "--by",
            "members",
            "--attribution",
            "every",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "3 significant shift(s)" in res.output  # all documents, AZ and TR
    (digest,) = (wproject.root / "watch").glob("digest-*.md")
    text = digest.read_text(encoding="utf-8")
    assert "window: 8 new document(s); baseline: every other document" in text
    assert "| members = AZ | Energy security | up |" in text


def test_api_shifts_matches_the_module(wproject: Project, tmp_path: Path) -> None:
    from secprio import api

    _planted(wproject, tmp_path)
    found = api.shifts(wproject, window="30d", baseline="3m")
    assert found.attrs["baseline"] == "2025-03-23 to 2025-06-22"
    row = found.set_index("category").loc["energy_security"]
    assert row["significant"] and row["baseline_documents"] == 13


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--window", "ten days"], "2y, 18m, 6w or 90d"),
        (["--baseline", "forever"], "2y, 18m, 6w or 90d"),
        (["--fdr", "1.5"], "not between 0 and 1"),
        (["--fdr", "x"], "Invalid value"),
        (["--by", "bogus"], "doc_type"),
    ],
)
def test_bad_options_exit_2_before_any_work(
    wproject: Project, tmp_path: Path, args: list[str], expected: str
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src, n=2)
    res = RUN.invoke(
        app, ["watch", "-p", str(wproject.root), "--once", "--source", str(src), *args]
    )
    assert res.exit_code == 2 and expected in res.output and "Traceback" not in res.output
    assert wproject.documents().empty


def test_a_cycle_interrupted_before_or_after_its_digest_resumes_once(
    wproject: Project, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    p = str(wproject.root)
    assert RUN.invoke(app, ["watch", "-p", p, "--once", "--source", str(src)]).exit_code == 0
    folder = wproject.root / "watch"
    # a cycle that stopped after ingest and code, before its shift test: the next run has
    # nothing to ingest or code, yet the documents are new to the test and the alert comes
    _burst(src)
    wproject.ingest([src])
    wproject.code()
    res = RUN.invoke(app, ["watch", "-p", p, "--once"])
    assert "added 0" in res.output and "coded 0" in res.output
    assert "1 significant shift(s): digest written" in res.output, res.output
    (digest,) = folder.glob("digest-*.md")
    assert "8 document(s) new since the last shift test" in digest.read_text(encoding="utf-8")
    # a cycle that stopped after writing its digest, before it was recorded complete (the
    # transaction that records the test and the documents it saw): no second digest
    _uncomplete_last_cycle(wproject)
    res = RUN.invoke(app, ["watch", "-p", p, "--once"])
    assert "already in" in res.output, res.output
    assert list(folder.glob("digest-*.md")) == [digest]
    # a cycle that stopped after claiming its digest, before it was written: the same file
    _uncomplete_last_cycle(wproject)
    with Project.open(wproject.root).store.engine.begin() as conn:
        conn.execute(sa.text("update watch_digests set status = 'writing', record = null"))
    digest.unlink()
    res = RUN.invoke(app, ["watch", "-p", p, "--once"])
    assert f"digest written to {digest}" in res.output, res.output
    assert list(folder.glob("digest-*.md")) == [digest]
    res = RUN.invoke(app, ["watch", "-p", p, "--once"])
    assert "nothing new" in res.output
    assert len(wproject.documents()) == 32


def _uncomplete_last_cycle(project: Project) -> None:
    """Undo what the newest complete cycle's last transaction recorded, as if it had been
    killed just before it."""
    with Project.open(project.root).store.engine.begin() as conn:
        last = conn.execute(
            sa.text("select max(id) from watch_cycles where status = 'complete'")
        ).scalar()
        conn.execute(sa.text("delete from watch_seen where cycle_id = :c"), {"c": last})
        conn.execute(sa.text("update watch_cycles set status = 'running' where id = :c"),
                     {"c": last})  # fmt: skip


def test_an_empty_source_folder_is_no_error(wproject: Project, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    res = RUN.invoke(app, ["watch", "-p", str(wproject.root), "--once", "--source", str(src)])
    assert res.exit_code == 0 and "no documents yet" in res.output, res.output


def test_document_text_is_inert_in_the_digest() -> None:
    from secprio.report.digest import md as _md

    hostile = "Energy security <script>alert(1)</script> | [x](javascript:1)\n# title"
    text = _md(hostile)
    assert "\n" not in text and "<script>" not in text and "[x](" not in text
    assert "\\|" in text and "\\<script\\>" in text


class _Site:
    """A feed server on 127.0.0.1: /feed.xml lists the documents of the current day (so do
    /sitemap.xml, and /sitemap-index.xml through /sitemap-base.xml and /sitemap-new.xml, with
    each page's ``lastmod``: its date, or what ``lastmod`` says), each /doc/NAME answers with
    an ETag and 304 to a matching If-None-Match (after ``delay`` seconds: a slow site);
    requests counted."""

    def __init__(self, folder: Path) -> None:
        import http.server
        import threading
        import time
        import zlib

        self.folder = folder
        self.names: list[str] = []
        self.requests: dict[str, int] = {}
        self.not_modified: dict[str, int] = {}
        self.delay = 0.0
        self.lastmod: dict[str, str] = {}
        self.feed_etag = False  # the feed itself with an ETag (and 304)
        self.broken: set[str] = set()  # documents answered with 404
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                site.requests[self.path] = site.requests.get(self.path, 0) + 1
                if self.path == "/feed.xml":
                    body, ctype, tag = site.feed(), "application/rss+xml", ""
                    if site.feed_etag:
                        tag = f'"{zlib.crc32(body)}"'
                        if self.headers.get("If-None-Match") == tag:
                            self.send_response(304)
                            self.end_headers()
                            return
                elif self.path.startswith("/sitemap"):
                    body, ctype, tag = site.sitemap(self.path), "application/xml", ""
                elif self.path[5:] in site.broken:
                    self.send_error(404)
                    return
                elif self.path.startswith("/doc/") and self.path[5:] in site.names:
                    time.sleep(site.delay)
                    text = (site.folder / f"{self.path[5:]}.md").read_text(encoding="utf-8")
                    body = text.split("---\n\n", 1)[1].encode()  # the sentences, no header
                    ctype, tag = "text/plain; charset=utf-8", f'"{zlib.crc32(body)}"'
                    if self.headers.get("If-None-Match") == tag:
                        site.not_modified[self.path] = site.not_modified.get(self.path, 0) + 1
                        self.send_response(304)
                        self.send_header("ETag", tag)
                        self.end_headers()
                        return
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if tag:
                    self.send_header("ETag", tag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sitemap(self, path: str) -> bytes:
        def lastmod(name: str) -> str:
            head = (self.folder / f"{name}.md").read_text(encoding="utf-8").split("\n")
            return self.lastmod.get(name, head[2].removeprefix("date: "))

        ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
        if path == "/sitemap-index.xml":
            parts = {p: [n for n in self.names if n.startswith(p)] for p in ("base", "new")}
            kids = "".join(f"<sitemap><loc>{self.url}/sitemap-{p}.xml</loc><lastmod>"
                           f"{max(map(lastmod, names))}</lastmod></sitemap>"
                           for p, names in parts.items() if names)  # fmt: skip
            return f"<sitemapindex xmlns='{ns}'>{kids}</sitemapindex>".encode()
        prefix = path.removeprefix("/sitemap-").removesuffix(".xml") if "-" in path else ""
        urls = "".join(f"<url><loc>{self.url}/doc/{n}</loc><lastmod>{lastmod(n)}</lastmod></url>"
                       for n in self.names if n.startswith(prefix))  # fmt: skip
        return f"<?xml version='1.0'?><urlset xmlns='{ns}'>{urls}</urlset>".encode()

    def feed(self) -> bytes:
        import email.utils

        items = []
        for name in self.names:
            head = (self.folder / f"{name}.md").read_text(encoding="utf-8").split("\n")
            day = dt.date.fromisoformat(head[2].removeprefix("date: "))
            when = email.utils.format_datetime(dt.datetime(day.year, day.month, day.day, 9))
            items.append(f"<item><title>Bulletin {name}</title><link>/doc/{name}</link>"
                         f"<pubDate>{when}</pubDate></item>")  # fmt: skip
        return ("<?xml version='1.0'?><rss version='2.0'><channel><title>Bulletins</title>"
                + "".join(items) + "</channel></rss>").encode()  # fmt: skip


def test_a_feed_growing_over_three_days_is_fetched_once_and_alerts_on_the_burst(
    wproject: Project, tmp_path: Path
) -> None:
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    _baseline(site_dir)
    planted = _burst(site_dir)
    site = _Site(site_dir)
    p, feed = str(wproject.root), site.url + "/feed.xml"
    folder = wproject.root / "watch"
    args = ["watch", "-p", p, "--once", "--interval", "0", "--allow-private"]
    try:
        days = [[f"base{i:02d}" for i in range(16)], [f"base{i:02d}" for i in range(16, 24)],
                [f"new{i:02d}" for i in range(8)]]  # fmt: skip
        outputs = []
        for n, names in enumerate(days, 1):
            site.names += names
            res = RUN.invoke(app, [*args, *(["--source", feed] if n == 1 else [])])
            assert res.exit_code == 0, res.output
            outputs.append(res.output)
            assert f"added {len(names)}," in res.output, res.output
            assert len(Project.open(wproject.root).documents()) == len(site.names)
            assert len(list(folder.glob("digest-*.md"))) == (n == 3), res.output
    finally:
        site.server.shutdown()
        site.server.server_close()
    assert (folder / "sources.txt").read_text(encoding="utf-8").strip() == feed
    # an item seen on day 1 was asked for on days 2 and 3 with its ETag and not sent again
    assert site.requests["/doc/base00"] == 3 and site.not_modified["/doc/base00"] == 2
    assert site.requests["/doc/new00"] == 1 and "/doc/new00" not in site.not_modified
    assert "fetched 8, unchanged 16, failed 0" in outputs[1]
    assert "fetched 8, unchanged 24, failed 0" in outputs[2]
    assert "1 significant shift(s)" in outputs[2] and "new versions 0" in outputs[2]
    (digest,) = folder.glob("digest-*.md")
    text = digest.read_text(encoding="utf-8")
    assert "| all documents | Energy security | up | 24/64 (37.5%) |" in text
    assert sum(s in text for s in set(planted)) >= 3
    docs = Project.open(wproject.root).documents()
    assert docs["date"].astype(str).str.startswith("2025-").all()  # dates from the feed


class _Receivers:
    """A webhook receiver (HTTP) and a fake SMTP server on 127.0.0.1, each keeping what came."""

    def __init__(self, webhook_status: int = 200) -> None:
        import http.server
        import socketserver
        import threading

        self.posts: list[tuple[str, bytes]] = []
        self.keys: list[str] = []  # the Idempotency-Key of each post
        self.on_post: Callable[[], None] | None = None  # called once a post's body is read
        self.mails: list[bytes] = []
        self.status = webhook_status
        box = self

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                box.posts.append((self.headers.get("Content-Type", ""), body))
                box.keys.append(self.headers.get("Idempotency-Key", ""))
                if box.on_post is not None:  # e.g. kill the sender before it hears back
                    box.on_post()
                self.send_response(box.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Smtp(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                def say(line: str) -> None:
                    self.wfile.write(line.encode() + b"\r\n")

                say("220 localhost fake")
                while line := self.rfile.readline():
                    verb = line.decode(errors="replace").strip().upper()
                    if verb.startswith(("EHLO", "HELO")):
                        say("250 localhost")
                    elif verb.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                        say("250 OK")
                    elif verb == "DATA":
                        say("354 end with <CRLF>.<CRLF>")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk[1:] if chunk.startswith(b".") else chunk  # RFC 5321
                        box.mails.append(data)
                        say("250 queued")
                    elif verb == "QUIT":
                        say("221 bye")
                        return
                    else:
                        say("502 not implemented")

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
        for server in (self.http, self.smtp):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.webhook = f"http://127.0.0.1:{self.http.server_address[1]}/hook"
        self.server = f"127.0.0.1:{self.smtp.server_address[1]}"

    def close(self) -> None:
        for server in (self.http, self.smtp):
            server.shutdown()
            server.server_close()


def test_shifts_are_posted_and_mailed_only_when_significant(
    wproject: Project, tmp_path: Path
) -> None:
    import email
    import json

    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    box = _Receivers()
    p = str(wproject.root)
    send = ["--webhook", box.webhook, "--smtp", box.server, "--mail-to", "analyst@example.org"]
    try:
        res = RUN.invoke(app, ["watch", "-p", p, "--once", "--source", str(src), *send])
        assert res.exit_code == 0 and "no significant shift" in res.output, res.output
        assert box.posts == [] and box.mails == []  # quiet: nothing significant, nothing sent
        planted = _burst(src)
        res = RUN.invoke(app, ["watch", "-p", p, "--once", *send])
        assert res.exit_code == 0, res.output
        assert res.output.count("delivered:") == 2, res.output
        res = RUN.invoke(app, ["watch", "-p", p, "--once", *send])  # nothing new: nothing sent
        assert res.exit_code == 0 and "nothing new" in res.output, res.output
    finally:
        box.close()
    ((ctype, body),) = box.posts
    assert ctype.startswith("application/json")
    sent = json.loads(body)
    (shift,) = sent["shifts"]
    assert shift["category"] == "energy_security" and shift["direction"] == "up"
    assert shift["window_count"] == 24 and shift["frame"] == "all"
    assert shift["ratio_low"] > 3 and shift["q_value"] < 0.01
    assert len(shift["evidence"]) == 5 and all(e["text"] in planted for e in shift["evidence"])
    (digest,) = (wproject.root / "watch").glob("digest-*.md")
    assert sent["digest"] == str(digest)
    (raw,) = box.mails
    msg = email.message_from_bytes(raw)
    assert msg["To"] == "analyst@example.org" and "1 significant shift" in msg["Subject"]
    # one key for both: the cycle key and the store's own id; recorded with each delivery
    (key,) = box.keys
    assert key.startswith(sent["cycle"] + "-") and len(key) > len(sent["cycle"]) + 8
    assert msg["Message-ID"].startswith(f"<secprio-watch-{key}@")
    with Project.open(wproject.root).store.engine.connect() as conn:
        rows = conn.execute(sa.text("select target, status, attempts, idempotency_key "
                                    "from watch_deliveries order by target")).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        (f"mail analyst@example.org via {box.server}", "sent", 1, key),
        (f"webhook {box.webhook}", "sent", 1, key),
    ]
    assert msg.get_content_type() == "text/plain"
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode("utf-8")
    assert text.replace("\r\n", "\n") == digest.read_text(encoding="utf-8")


def test_a_failed_delivery_is_retried_once_by_the_next_run(
    wproject: Project, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    _burst(src)
    box = _Receivers(webhook_status=500)
    p = str(wproject.root)
    send = ["--webhook", box.webhook, "--smtp", box.server, "--mail-to", "a@example.org"]
    try:
        res = RUN.invoke(app, ["watch", "-p", p, "--once", "--source", str(src), *send])
        assert res.exit_code == 1 and "HTTP 500" in res.output, res.output
        assert len(box.posts) == 1 and len(box.mails) == 1
        box.status = 200
        res = RUN.invoke(app, ["watch", "-p", p, "--once", *send])
        assert res.exit_code == 0 and "already in" in res.output, res.output
        assert len(box.posts) == 2 and len(box.mails) == 1  # the mail is not sent twice
        res = RUN.invoke(app, ["watch", "-p", p, "--once", *send])
        assert "nothing new" in res.output and len(box.posts) == 2
    finally:
        box.close()
    assert len(list((wproject.root / "watch").glob("digest-*.md"))) == 1


def test_delivery_options_are_checked_before_any_work(wproject: Project) -> None:
    p = str(wproject.root)
    for bad in (["--smtp", "localhost:25"], ["--mail-to", "a@example.org"],
                ["--smtp", "localhost:x", "--mail-to", "a@example.org"]):  # fmt: skip
        res = RUN.invoke(app, ["watch", "-p", p, "--once", "--source", "x", *bad])
        assert res.exit_code == 2, res.output
    res = RUN.invoke(app, ["watch", "-p", p, "--once", "--webhook", "file:///etc/passwd"])
    assert res.exit_code != 0 and "http(s)" in res.output, res.output
    assert not (wproject.root / "watch" / "sources.txt").exists()


def test_feed_formats_and_hostile_xml() -> None:
    from secprio.errors import FetchError
    from secprio.ingest import feeds

    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry><title>One</title><link rel="alternate" href="https://x.test/1"/>
        <updated>2025-03-04T10:00:00Z</updated></entry>
      <entry><title>Two</title><link href="https://x.test/2"/>
        <published>2025-03-05T10:00:00+02:00</published></entry>
      <entry><title>Dup</title><link href="https://x.test/1"/></entry></feed>"""
    assert feeds.parse(atom) == [feeds.Item("https://x.test/1", "One", "2025-03-04"),
                                 feeds.Item("https://x.test/2", "Two", "2025-03-05")]  # fmt: skip
    rdf = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
      xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
      <item><title>Three</title><link>https://x.test/3</link><dc:date>2025-01-02</dc:date></item>
      </rdf:RDF>"""
    assert feeds.parse(rdf) == [feeds.Item("https://x.test/3", "Three", "2025-01-02")]
    rss = b"<rss><channel><item><link>/a</link><pubDate>nonsense</pubDate></item></channel></rss>"
    assert feeds.parse(rss) == [feeds.Item("/a", "", "")]
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss>&a;</rss>'
    for bad in (bomb, b"<html><body>no feed</body></html>", b"not xml"):
        with pytest.raises(FetchError):
            feeds.parse(bad)


def test_a_changed_feed_item_becomes_a_new_version(wproject: Project, tmp_path: Path) -> None:
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    _baseline(site_dir, n=3)
    site = _Site(site_dir)
    site.names += ["base00", "base01", "base02"]
    args = ["watch", "-p", str(wproject.root), "--once", "--interval", "0", "--allow-private"]
    try:
        res = RUN.invoke(app, [*args, "--source", site.url + "/feed.xml"])
        assert "added 3," in res.output, res.output
        changed = site_dir / "base01.md"
        changed.write_text(changed.read_text(encoding="utf-8") + "Trade grew.\n", "utf-8")
        res = RUN.invoke(app, args)
        assert "fetched 1, unchanged 2" in res.output and "new versions 1" in res.output
        res = RUN.invoke(app, args)
        assert "fetched 0, unchanged 3" in res.output and "nothing new" in res.output
    finally:
        site.server.shutdown()
        site.server.server_close()
    assert len(Project.open(wproject.root).documents()) == 3
