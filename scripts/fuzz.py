"""Fuzz every reader for a bounded time: coverage-guided (atheris) where it installs.

    .venv/bin/python scripts/fuzz.py --seconds 1800 --jobs 2        # all targets
    .venv/bin/python scripts/fuzz.py --targets docx,pdf --seconds 120

Each target feeds mutated bytes to one reader the way ingest does (a file on disk, read by
``corpus.load`` under the default limits) and counts what happens. An exception that is not one
of secprio's own error types (``SecprioError``) is a crash; an input that takes more than
``--hang`` seconds of CPU time is a hang (CPU, not wall time: a loaded machine does not make
hangs). Each crash input is saved under ``fuzz-out/crashes/`` with its
traceback, to become a regression test. Seeds are the files the tests make (``tests/``).
The summary (inputs, crashes, hangs per target) is printed and written to
``fuzz-out/summary.json`` (or $SECPRIO_FUZZ_OUT). Needs the dev extra (atheris; hypothesis is
the fallback).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' file builders make the seeds
OUT = Path(os.environ.get("SECPRIO_FUZZ_OUT", ROOT / "fuzz-out"))  # where stats and crashes go
TARGETS = ("txt", "md", "html", "docx", "pdf", "sidecar", "csv", "segment", "config", "sources",
           "feed", "sitemap")  # fmt: skip
SUFFIX = {"txt": ".txt", "md": ".md", "html": ".html", "docx": ".docx", "pdf": ".pdf"}


# -- seeds: the files the tests write -----------------------------------------------------------


def write_seeds(target: str, folder: Path) -> None:
    from tests.conftest import CODEBOOK, DOCS, write_doc
    from tests.test_ingest import HTML, write_docx, write_pdf

    folder.mkdir(parents=True, exist_ok=True)
    if target in ("txt", "md", "segment"):
        for name, (date, kind, issuer, lang, paras) in DOCS.items():
            write_doc(folder, name, date, kind, issuer, lang, paras)
        (folder / "cp1251").write_bytes("Саммит тюркских государств. Лидеры.".encode("cp1251"))
        (folder / "list").write_text("1. First point\n2. Second point\n\nArt. 5 of no. 3 says.")
    elif target == "html":
        (folder / "page.html").write_text(HTML, encoding="utf-8")
        (folder / "table.html").write_text("<table><tr><td>a</td><td>b</td></tr></table>")
    elif target == "docx":
        write_docx(folder / "agreement.docx")
    elif target == "pdf":
        write_pdf(folder / "two.pdf", [["The summit met in Baku.", "Leaders agreed."], ["Page 2"]])
    elif target == "sidecar":
        (folder / "meta.yaml").write_text(
            "title: Summit\ndate: 2022-11-11\ndoc_type: declaration\nmembers: [AZ, TR]\n"
            "language: en\nurl: https://example.org/a\nextra: {a: [1, 2]}\n"
        )
        (folder / "circular.yaml").write_text("a: &a [*a]\n")
    elif target == "csv":
        (folder / "metadata.csv").write_text("file,title,date,members\ndoc.txt,A,2020,AZ;TR\n")
    elif target == "config":
        (folder / "secprio.yaml").write_text(
            "name: x\nmeasure:\n  scale: ratio\n  bootstrap: 10\ningest:\n  timeout: 5\n"
        )
        (folder / "codebook.yaml").write_text(CODEBOOK)
    elif target == "feed":  # what ``watch`` reads from a server: RSS 2.0, RSS 1.0 (RDF), Atom
        (folder / "rss.xml").write_text(
            '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
            "<item><title>Summit</title><link>https://example.org/a</link>"
            "<pubDate>Fri, 11 Nov 2022 10:00:00 +0300</pubDate></item>"
            "<item><link>https://example.org/b</link><pubDate>garbage</pubDate></item>"
            "</channel></rss>"
        )
        (folder / "atom.xml").write_text(
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>A</title>'
            '<link rel="alternate" href="https://example.org/c"/><link href="x"/>'
            "<published>2023-02-30T10:00:00Z</published><updated>2023-01-01</updated></entry>"
            "</feed>"
        )
        (folder / "rdf.xml").write_text(
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<item><title>R</title><link>https://example.org/d</link>"
            "<dc:date>2021-05-05</dc:date></item></rdf:RDF>"
        )
    elif target == "sitemap":
        ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        (folder / "urlset.xml").write_text(
            f"<urlset {ns}><url><loc>https://example.org/a</loc><lastmod>2024-01-01</lastmod>"
            "</url><url><loc> https://example.org/b </loc></url><url><loc></loc></url></urlset>"
        )
        (folder / "index.xml").write_text(
            f"<sitemapindex {ns}><sitemap><loc>https://example.org/s1.xml</loc></sitemap>"
            "<sitemap><loc>https://example.org/s1.xml</loc></sitemap></sitemapindex>"
        )
    elif target == "sources":
        (folder / "sources.csv").write_text(
            "url,title,date\nhttps://example.org/a.html,A,2020-01-01\nfile:///etc/passwd,x,\n"
        )


# -- targets -------------------------------------------------------------------------------------


def make_target(target: str, scratch: Path) -> Callable[[bytes], None]:
    """A function of one input that raises only on a defect (not on a SecprioError)."""
    from secprio import config
    from secprio.errors import SecprioError
    from secprio.ingest import fetch
    from secprio.ingest.corpus import load
    from secprio.text.segment import segment

    doc = scratch / "doc.txt"

    def as_file(suffix: str) -> Callable[[bytes], None]:
        path = scratch / f"input{suffix}"

        def run(data: bytes) -> None:
            path.write_bytes(data)
            try:
                document = load(path)
            except SecprioError:
                return
            _check_document(document)

        return run

    def sidecar(data: bytes) -> None:
        doc.write_text("The summit met. Leaders agreed.\n")
        (scratch / "doc.yaml").write_bytes(data)
        try:
            _check_document(load(doc))
        except SecprioError:
            pass
        finally:
            (scratch / "doc.yaml").unlink()

    def csv_target(data: bytes) -> None:
        doc.write_text("The summit met. Leaders agreed.\n")
        (scratch / "metadata.csv").write_bytes(data)
        try:
            _check_document(load(doc))
        except SecprioError:
            pass
        finally:
            (scratch / "metadata.csv").unlink()

    def segment_target(data: bytes) -> None:
        text = data.decode("utf-8", errors="replace")
        for seg in segment(text, lang="tr" if data[:1] == b"t" else "en"):
            assert 0 <= seg.start < seg.end <= len(text), seg
            piece = text[seg.start : seg.end]
            assert piece == piece.strip() and piece, seg

    def config_target(data: bytes) -> None:
        path = scratch / "secprio.yaml"
        path.write_bytes(data)
        with contextlib.suppress(SecprioError):
            config.load(path)

    def sources_target(data: bytes) -> None:
        path = scratch / "sources.csv"
        path.write_bytes(data)
        try:
            rows = fetch.read_sources(path)
        except SecprioError:
            return
        for row in rows[:20]:
            with contextlib.suppress(SecprioError):
                fetch.check_url(row["url"])

    def feed_target(data: bytes) -> None:
        from secprio.ingest import feeds

        try:
            items = feeds.parse(data, "https://example.org/feed.xml")
        except SecprioError:
            return
        for item in items[:20]:
            assert isinstance(item.link, str) and isinstance(item.title, str), item
            assert item.date == "" or len(item.date) == 10, item
            with contextlib.suppress(SecprioError):
                fetch.check_url(item.link)

    def sitemap_target(data: bytes) -> None:
        from secprio.ingest import sitemaps

        kind = sitemaps.root_kind(data)
        try:
            parsed, entries = sitemaps.parse(data, "https://example.org/sitemap.xml")
        except SecprioError:
            assert kind == "", kind  # a root the kind test accepts is parsed
            return
        assert parsed == kind, (parsed, kind)
        assert len({e.loc for e in entries}) == len(entries), "a loc twice"
        for entry in entries[:20]:
            with contextlib.suppress(SecprioError):
                fetch.check_url(entry.loc)

    if target in SUFFIX:
        return as_file(SUFFIX[target])
    return {
        "sidecar": sidecar,
        "csv": csv_target,
        "segment": segment_target,
        "config": config_target,
        "sources": sources_target,
        "feed": feed_target,
        "sitemap": sitemap_target,
    }[target]


def _check_document(document: object) -> None:
    from secprio.ingest.metadata import plain

    text = document.text  # type: ignore[attr-defined]
    for seg in document.segments:  # type: ignore[attr-defined]
        assert 0 <= seg.start < seg.end <= len(text), seg
    json.dumps(plain(document.meta.extra))  # type: ignore[attr-defined]  # storable


# -- one target in this process ------------------------------------------------------------------


class Hang(BaseException):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise Hang


def run_target(target: str, seconds: float, hang: float, max_len: int) -> None:
    out = OUT / target
    seeds = OUT / "seeds" / target
    (OUT / "crashes").mkdir(parents=True, exist_ok=True)
    stats = {"target": target, "inputs": 0, "crashes": 0, "hangs": 0, "kinds": {}}
    scratch = Path(tempfile.mkdtemp(prefix=f"fuzz-{target}-", dir="/dev/shm"))
    try:
        import atheris
    except ImportError:
        atheris = None
    if atheris is not None:  # coverage of secprio's own code guides the mutations
        with atheris.instrument_imports(include=["secprio"]):
            fn = make_target(target, scratch)
    else:
        fn = make_target(target, scratch)
    write_seeds(target, seeds)  # after: the tests import secprio, which must be instrumented
    for seed in sorted(seeds.iterdir()):  # warm up (lazy imports, the language model): the
        with contextlib.suppress(Exception):  # first call is not timed as an input
            fn(seed.read_bytes())
    signal.signal(signal.SIGPROF, _alarm)  # libFuzzer keeps SIGALRM for its own -timeout
    last_write = [time.monotonic()]

    def save() -> None:
        (out / "stats.json").write_text(json.dumps(stats, indent=1))

    def one(data: bytes) -> None:
        stats["inputs"] += 1
        signal.setitimer(signal.ITIMER_PROF, hang)
        try:
            fn(data)
        except Hang:
            _record(stats, target, data, "hang", "Hang", f"over {hang} s of CPU time")
        except Exception as exc:  # noqa: BLE001 - every non-product exception is the finding
            where = traceback.extract_tb(exc.__traceback__)[-1]
            kind = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            _record(stats, target, data, "crash", kind, traceback.format_exc())
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        if time.monotonic() - last_write[0] > 5:
            last_write[0] = time.monotonic()
            save()

    out.mkdir(parents=True, exist_ok=True)
    if atheris is not None:
        stats["engine"] = "atheris"
        corpus = out / "corpus"
        corpus.mkdir(exist_ok=True)
        args = [sys.argv[0], str(corpus), str(seeds), f"-max_total_time={int(seconds)}",
                f"-max_len={max_len}", "-rss_limit_mb=4096", "-timeout=600",
                "-print_final_stats=1", "-close_fd_mask=3"]  # fmt: skip
        import atexit

        atexit.register(save)
        atheris.Setup(args, one)
        atheris.Fuzz()
    else:  # hypothesis: random bytes and mutations of the seeds
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        stats["engine"] = "hypothesis"
        seed_data = [p.read_bytes() for p in sorted(seeds.iterdir())]
        end = time.monotonic() + seconds

        @settings(max_examples=10**9, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(st.sampled_from(seed_data), st.binary(max_size=64), st.integers(0, max_len))
        def prop(seed: bytes, patch: bytes, at: int) -> None:
            if time.monotonic() > end:
                raise _Done
            one(seed[:at] + patch + seed[at + len(patch) :])

        with contextlib.suppress(_Done):
            prop()
    save()


class _Done(Exception):
    pass


def _record(stats: dict, target: str, data: bytes, what: str, kind: str, detail: str) -> None:
    stats["crashes" if what == "crash" else "hangs"] += 1
    kinds = stats["kinds"]
    if kind not in kinds:
        digest = hashlib.sha256(data).hexdigest()[:12]
        path = OUT / "crashes" / f"{target}-{what}-{digest}"
        path.write_bytes(data)
        path.with_suffix(".txt").write_text(f"{kind}\n\n{detail}")
        kinds[kind] = {"count": 0, "example": path.name}
    kinds[kind]["count"] += 1


# -- the driver --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--seconds", type=float, default=600, help="total time, all targets")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--hang", type=float, default=10.0, help="seconds that make a hang")
    parser.add_argument("--max-len", type=int, default=8192)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one target here
    args, _ = parser.parse_known_args()
    if args.one:
        run_target(args.one, args.seconds, args.hang, args.max_len)
        return 0
    targets = [t for t in args.targets.split(",") if t]
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    per = args.seconds * args.jobs / len(targets)
    queue = list(targets)
    running: list[subprocess.Popen[bytes]] = []
    log = OUT / "logs"
    log.mkdir(parents=True, exist_ok=True)
    while queue or running:
        while queue and len(running) < args.jobs:
            t = queue.pop(0)
            with (log / f"{t}.log").open("wb") as handle:
                cmd = [sys.executable, __file__, "--one", t, "--seconds", str(per),
                       "--hang", str(args.hang), "--max-len", str(args.max_len)]  # fmt: skip
                running.append(subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT))
        time.sleep(1)
        running = [p for p in running if p.poll() is None]
    return report(targets)


def report(targets: list[str]) -> int:
    rows = []
    for t in targets:
        path = OUT / t / "stats.json"
        rows.append(json.loads(path.read_text()) if path.exists() else {"target": t, "inputs": 0,
                    "crashes": 0, "hangs": 0, "kinds": {}, "engine": "did not run"})  # fmt: skip
    total = {k: sum(r[k] for r in rows) for k in ("inputs", "crashes", "hangs")}
    (OUT / "summary.json").write_text(json.dumps({"targets": rows, "total": total}, indent=1))
    print(f"{'target':10} {'engine':10} {'inputs':>10} {'crashes':>8} {'hangs':>6}")
    for r in rows:
        print(f"{r['target']:10} {r.get('engine', ''):10} {r['inputs']:>10} {r['crashes']:>8} "
              f"{r['hangs']:>6}")  # fmt: skip
        for kind, info in r["kinds"].items():
            print(f"    {info['count']:>7} × {kind}  ({info['example']})")
    print(f"{'total':21} {total['inputs']:>10} {total['crashes']:>8} {total['hangs']:>6}")
    return 1 if total["crashes"] or total["hangs"] else 0


if __name__ == "__main__":
    sys.exit(main())
