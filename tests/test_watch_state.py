"""The watch state in the store: an older store gains the tables and keeps its data, an older
project's watch/state.json is imported once (then kept as a backup), and each shift of the
digest links to a cell that a built report has. Sentences written for the test."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import sqlalchemy as sa

from secprio.cli import app
from secprio.project import Project
from secprio.report import anchors
from secprio.store import schema as t
from secprio.store.engine import MIGRATIONS, connect
from tests.test_watch import RUN, _baseline, _burst, _Receivers

WATCH_TABLES = {"watch_urls", "watch_cycles", "watch_seen", "watch_digests",
                "watch_deliveries", "watch_meta"}  # fmt: skip


def test_a_store_of_the_previous_schema_opens_with_the_watch_tables(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        conn.execute(
            t.documents.insert().values(
                id=1, path="a", sha256="x", version=1, active=True, title="", doc_type="news",
                issuer="", members="", language="en", url="", extra={}, text="Hi.",
                ingested_at=dt.datetime(2026, 1, 1),
            )
        )  # fmt: skip
    assert not WATCH_TABLES & set(sa.inspect(engine).get_table_names())
    engine.dispose()
    migrated = connect(url)
    assert set(sa.inspect(migrated).get_table_names()) >= WATCH_TABLES
    with migrated.begin() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == "0006"
        assert conn.execute(sa.select(t.documents.c.path)).scalars().all() == ["a"]
        cycle = {"status": "complete", "key": "k", "coder": "d", "steps": {},
                 "started_at": dt.datetime.now()}  # fmt: skip
        conn.execute(t.watch_cycles.insert().values(**cycle))
        conn.execute(t.watch_seen.insert().values(document_id=1, cycle_id=1))
    with migrated.begin() as conn:  # a document removed takes its "seen" record along
        conn.execute(t.documents.delete())
        assert conn.execute(sa.select(sa.func.count()).select_from(t.watch_seen)).scalar() == 0


def _count(project: Project, table: str) -> int:
    with Project.open(project.root).store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"select count(*) from {table}")).scalar() or 0)


def test_an_old_state_json_is_imported_once_and_kept_as_a_backup(
    wproject: Project, tmp_path: Path
) -> None:
    """A project watched by a version that kept its state in watch/state.json: the first run
    of this one moves it into the store (its last test, documents, links, validators, digest
    and deliveries), so nothing is tested, written or sent again; the file is renamed."""
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    p = str(wproject.root)
    box = _Receivers()
    try:
        assert RUN.invoke(app, ["watch", "-p", p, "--once", "--source", str(src)]).exit_code == 0
        _burst(src)
        res = RUN.invoke(app, ["watch", "-p", p, "--once", "--webhook", box.webhook])
        assert res.exit_code == 0 and "delivered:" in res.output, res.output
        store = Project.open(wproject.root).store
        last = store.last_cycle()
        assert last is not None and last.links is not None
        seen = sorted(store.seen_documents())
        # the same state as the earlier version wrote it, and no watch rows in the store
        feed = "https://example.org/feed.xml"
        old = {"validators": {feed: {"etag": '"v1"'}}, "lastmod": {feed + "#page": "2025-07-01"},
               "links": last.links, "key": last.key, "documents": seen, "coder": last.coder,
               "at": "2026-11-30T10:00:00+00:00",
               "delivered": {last.key: [f"webhook {box.webhook}"]}}  # fmt: skip
        folder = wproject.root / "watch"
        (folder / "state.json").write_text(json.dumps(old), encoding="utf-8")
        with store.engine.begin() as conn:
            for table in ("watch_deliveries", "watch_digests", "watch_seen", "watch_cycles",
                          "watch_urls", "watch_meta"):  # fmt: skip
                conn.execute(sa.text(f"delete from {table}"))
        posts = len(box.posts)

        res = RUN.invoke(app, ["watch", "-p", p, "--once", "--webhook", box.webhook])
        assert res.exit_code == 0, res.output
        assert "is now in the store" in res.output and "nothing new" in res.output, res.output
        assert len(box.posts) == posts  # delivered before: not again
        assert not (folder / "state.json").exists()
        assert json.loads((folder / "state.json.imported").read_text("utf-8")) == old
        store = Project.open(wproject.root).store
        assert sorted(store.seen_documents()) == seen
        imported = store.last_cycle()
        assert imported is not None and imported.key == last.key
        assert imported.links == last.links
        urls = store.watch_urls()
        assert urls.validators == {feed: {"etag": '"v1"'}}
        assert urls.lastmod == {feed + "#page": "2025-07-01"}
        ((path, record),) = store.digests()  # the digest, found by its mark, with its record
        assert path == str(next(folder.glob("digest-*.md")))
        assert record["cycle"] == last.key and len(record["shifts"]) == 1
        d = store.digest(last.key)
        assert d is not None and store.delivery_begin(d.id, f"webhook {box.webhook}", "") is None

        # killed between the import and the rename: the file is renamed, not imported again
        (folder / "state.json").write_text(json.dumps(old), encoding="utf-8")
        cycles = _count(wproject, "watch_cycles")
        res = RUN.invoke(app, ["watch", "-p", p, "--once"])
        assert "is now in the store" in res.output and "nothing new" in res.output
        assert _count(wproject, "watch_cycles") == cycles + 1  # this run's, "unchanged"
        assert _count(wproject, "watch_digests") == 1 and _count(wproject, "watch_seen") == 32
        res = RUN.invoke(app, ["watch", "-p", p, "--once"])
        assert "is now in the store" not in res.output and not (folder / "state.json").exists()
    finally:
        box.close()


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, dict[str, str | None]] = {}
        self.hrefs: list[str] = []
        self.dup: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.dup += [str(a["id"])] if str(a["id"]) in self.ids else []
            self.ids[str(a["id"])] = a
        if tag == "a" and a.get("class") == "report":
            self.hrefs.append(str(a["href"]))


def test_each_shift_of_the_digest_links_to_its_cell_in_the_built_report(
    wproject: Project, tmp_path: Path
) -> None:
    from secprio.report.build import write

    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    p = str(wproject.root)
    assert RUN.invoke(app, ["watch", "-p", p, "--once", "--source", str(src)]).exit_code == 0
    _burst(src)
    out = tmp_path / "out"
    res = RUN.invoke(app, ["watch", "-p", p, "--once", "--by", "doc_type", "--by", "members",
                           "--by", "language", "--report", str(out)])  # fmt: skip
    assert res.exit_code == 0 and "4 significant shift(s)" in res.output, res.output
    (md,) = (wproject.root / "watch").glob("digest-*.md")
    page = _Ids()
    page.feed(md.with_suffix(".html").read_text(encoding="utf-8"))
    report = _Ids()
    report.feed(write(Project.open(wproject.root), out).html.read_text(encoding="utf-8"))

    base = (out / "report.html").resolve().as_uri()
    # the table and the section of each of the four shifts link to it: all documents,
    # doc_type = news, language = en (no cell of its own) and members = TR (the issuer)
    targets = {h.removeprefix(base + "#") for h in page.hrefs if h.startswith(base + "#")}
    assert len(page.hrefs) == 8 and len(targets) == 3, page.hrefs
    assert targets == {anchors.cell("energy_security"),
                       anchors.cell("energy_security", "doc_type", "news"),
                       anchors.cell("energy_security", "members", "TR")}  # fmt: skip
    assert report.dup == [] and sum(i.startswith("cell-") for i in report.ids) > len(targets)
    for target in targets:  # each is a cell of the category that opens its sentences
        assert target in report.ids, target
        assert report.ids[target]["data-cat"] == "energy_security"
    assert report.ids[anchors.cell("energy_security", "doc_type", "news")]["data-value"] == "news"
    # the Markdown says the same, and the webhook's record carries each shift's link
    text = md.read_text(encoding="utf-8")
    links = re.findall(r"In the report \(([^)]*)\): <([^>]+)>", text)
    assert {u.removeprefix(base + "#") for _, u in links} == targets and len(links) == 4
    assert "Energy security, all documents: none for language = en" in [w for w, _ in links]
    record = json.loads(md.with_suffix(".json").read_text(encoding="utf-8"))
    assert {s["report"].removeprefix(base + "#") for s in record["shifts"]} == targets


def test_anchor_ids_are_one_to_one_and_plain() -> None:
    ids = {anchors.cell("c", "period", v) for v in ("2025-07", "2025.2d.07", "2025_07", "")}
    assert len(ids) == 4 and all(re.fullmatch(r"[A-Za-z0-9_.-]+", i) for i in ids)
    assert anchors.cell("c", "members", "Türkiye") == "cell-members-T.fc.rkiye-c"
    assert anchors.shift_cell("language", "en", "c", "priority") == ("cell-all-c", False)
    assert anchors.shift_cell("doc_type", "news", "c", "threat") == ("cell-all-c", False)


def test_many_urls_are_saved_changed_and_forgotten(wproject: Project) -> None:
    """A sitemap of thousands of pages: saved in one go (in chunks under SQLite's limit of
    parameters a statement), then only what changed; a forgotten validator is gone."""
    store = wproject.store
    urls = store.watch_urls()
    for i in range(40_000):
        urls.lastmod[f"https://example.org/p{i}"] = "2025-01-01"
    urls.validators["https://example.org/p1"] = {"etag": '"a"'}
    urls.save()
    again = store.watch_urls()
    assert len(again.lastmod) == 40_000 and again.validators == urls.validators
    again.lastmod["https://example.org/p2"] = "2025-02-02"
    again.validators.pop("https://example.org/p1")
    for i in range(10_000, 40_000):
        again.lastmod.pop(f"https://example.org/p{i}")
    again.save()
    third = store.watch_urls()
    assert len(third.lastmod) == 10_000 and third.validators == {}
    assert third.lastmod["https://example.org/p2"] == "2025-02-02"
    assert _count(wproject, "watch_urls") == 10_000


def test_the_watch_state_on_postgresql(tmp_path: Path) -> None:
    """The same cycles on a PostgreSQL store: a failed delivery retried, nothing new."""
    from secprio.config import MeasureSettings, Settings
    from tests.test_watch import CODEBOOK
    from tests.web_helpers import fresh_postgres

    book = tmp_path / "watch.yaml"
    book.write_text(CODEBOOK, encoding="utf-8")
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src)
    box = _Receivers(webhook_status=500)
    with fresh_postgres() as url:
        settings = Settings(name="pg", store=url, measure=MeasureSettings(bootstrap=50, seed=1))
        proj = Project.init(tmp_path / "pg", codebook=book, settings=settings)
        p, hook = str(proj.root), ["--webhook", box.webhook]
        try:
            assert (
                RUN.invoke(app, ["watch", "-p", p, "--once", "--source", str(src)]).exit_code == 0
            )
            _burst(src)
            res = RUN.invoke(app, ["watch", "-p", p, "--once", *hook])
            assert res.exit_code == 1 and "HTTP 500" in res.output, res.output
            box.status = 200
            res = RUN.invoke(app, ["watch", "-p", p, "--once", *hook])
            assert res.exit_code == 0 and "already in" in res.output, res.output
            res = RUN.invoke(app, ["watch", "-p", p, "--once", *hook])
            assert "nothing new" in res.output and len(box.posts) == 2
            store = Project.open(proj.root).store
            with store.engine.connect() as conn:
                cycles = conn.execute(sa.text("select status, links is null from watch_cycles "
                                              "order by id")).all()  # fmt: skip
                sent = conn.execute(sa.text("select status, attempts, error from "
                                            "watch_deliveries")).all()  # fmt: skip
            want = [("complete", False), ("failed", True), ("complete", False),
                    ("unchanged", True)]  # fmt: skip
            assert [tuple(c) for c in cycles] == want
            assert [tuple(r) for r in sent] == [("sent", 2, "")]
            assert len(store.seen_documents()) == 32 and len(store.digests()) == 1
            store.engine.dispose()
            proj.store.engine.dispose()
        finally:
            box.close()
