"""Fuzz the importers for a bounded time: REFI-QDA projects, gold files and codebooks.

    .venv/bin/python benchmarks/fuzz_importers.py --seconds 600 --jobs 2
    .venv/bin/python benchmarks/fuzz_importers.py --targets qdpx_xml,codebook --seconds 60

Targets (each feeds mutated bytes to an importer the way the CLI does, a file on disk):

- ``qdpx_zip``: the whole ``.qdpx`` archive; ``qdpx_xml``: its ``project.qde`` inside a valid
  archive; ``qdpx_text``: one source's text. Each is read by ``read_qdpx`` under the default
  limits, mapped onto a codebook, and every source is given the file name an import would
  write (which must stay a plain name inside ``imported/``).
- ``gold_csv``, ``gold_jsonl``: ``gold.read`` with the codebook's categories.
- ``codebook``: ``codebook.load.validate`` and, when it loads, every pattern compiled.

An exception that is not a ``SecprioError`` is a crash; an input taking more than ``--hang``
seconds of CPU time is a hang. Mutations: byte flips, inserts, deletes, duplicated runs and
splices of the seeds (the files the tests make), from a fixed seed per job. Crash inputs are
saved under ``fuzz-out/importers/crashes/``; the summary is printed and written to
``fuzz-out/importers/summary.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' builders make the seeds
OUT = Path(os.environ.get("SECPRIO_FUZZ_OUT", ROOT / "fuzz-out")) / "importers"
TARGETS = ("qdpx_zip", "qdpx_xml", "qdpx_text", "gold_csv", "gold_jsonl", "codebook", "standoff")


# -- seeds -----------------------------------------------------------------------------------
def seeds(target: str) -> list[bytes]:
    from secprio.exchange import standoff
    from tests.conftest import CODEBOOK
    from tests.test_hostile_exchange import TEXT, qde, source
    from tests.test_qdpx import OTHER_TOOL, selection

    xml = [
        qde(source("g1", "a.txt") + source("g2", "../b", start=3, end=20, n=3)),
        OTHER_TOOL.replace(
            "{selections}",
            selection(0, 10, "22222222-2222-2222-2222-222222222222", 1)
            + selection(5, 40, "33333333-3333-3333-3333-333333333333", 2),
        ),
    ]
    if target == "qdpx_xml":
        return [x.encode() for x in xml]
    if target == "qdpx_text":
        return [TEXT.encode(), "Türkiye ve Kazakistan. Саммит тюркских государств.\n".encode()]
    if target == "qdpx_zip":
        return [_archive(x.encode(), TEXT.encode()) for x in xml]
    if target == "gold_csv":
        return [
            b"text,category,coder\nThe states agreed on military cooperation.,"
            b"military_cooperation,Ana\nTrade grew fast.,,Ana\n",
            b"id,doc,start,end,category\nu1,a.md,0,20,counter_terrorism\n",
        ]
    if target == "gold_jsonl":
        return [
            b'{"text": "Terrorism remains a threat.", "category": "terrorism_transnational"}\n'
            b'{"text": "Trade grew.", "categories": ["military_cooperation", null], "coder": 5}\n'
        ]
    if target == "standoff":
        head = "id\tfile\tstart\tend\tsha1\tlang\tfinal\n"
        return [
            (head + f"s1\ta.txt\t0\t20\t{standoff.digest(TEXT[:20])}\ten\tMIL\n"
             "s2\ta.txt\t21\t45\t000000000000\ten\tNONE\n"
             "s3\t../a.txt\t0\t5\t000000000000\ten\tMIL,ECO\n").encode(),
        ]  # fmt: skip
    template = (ROOT / "src/secprio/codebook/template.yaml").read_bytes()
    return [CODEBOOK.encode(), template]


def _archive(xml: bytes, text: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        for guid in ("g1", "g2", "55555555-5555-5555-5555-555555555555"):
            zf.writestr(f"sources/{guid}.txt", text)
    return buffer.getvalue()


# -- targets ---------------------------------------------------------------------------------
def make_target(target: str, scratch: Path) -> Callable[[bytes], None]:
    """A function of one input that raises only on a defect (never on a SecprioError)."""
    from secprio.codebook import pattern
    from secprio.codebook.load import load as load_codebook
    from secprio.codebook.load import validate
    from secprio.errors import SecprioError
    from secprio.exchange import gold, standoff
    from secprio.exchange.qdpx import _stem, code_map, covered, iter_codings, read_qdpx
    from tests.conftest import CODEBOOK
    from tests.test_hostile_exchange import TEXT, qde, source

    book_path = scratch / "mini.yaml"
    book_path.write_text(CODEBOOK, encoding="utf-8")
    book = load_codebook(book_path)
    path = scratch / "input"

    def check_qdpx() -> None:
        try:
            qda = read_qdpx(path)
            codes = code_map(qda, book)
        except SecprioError:
            return
        for src in qda.sources.values():
            stem = _stem(src)
            assert stem and not re.search(r"[\\/]", stem) and not stem.startswith("."), stem
        sentences = [(1, 0, 20), (2, 21, 45), (3, 46, 80)]
        for _, code, c in iter_codings(qda):
            assert 0 <= c.start <= c.end, c
            covered(sentences, c.start, c.end)
            assert code.guid not in codes or codes[code.guid] in book.ids()

    def qdpx_zip(data: bytes) -> None:
        path.write_bytes(data)
        check_qdpx()

    def qdpx_xml(data: bytes) -> None:
        path.write_bytes(_archive(data, TEXT.encode()))
        check_qdpx()

    fixed_xml = qde(source("g1", "a.txt", start=0, end=30)).encode()

    def qdpx_text(data: bytes) -> None:
        path.write_bytes(_archive(fixed_xml, data))
        check_qdpx()

    def gold_file(suffix: str) -> Callable[[bytes], None]:
        file = scratch / f"gold{suffix}"

        def run(data: bytes) -> None:
            file.write_bytes(data)
            try:
                result = gold.read(file, categories=book.ids())
            except SecprioError:
                return
            assert set(result.rows["category"]) <= set(book.ids()) | {""}
            result.all_labels()

        return run

    def codebook(data: bytes) -> None:
        file = scratch / "codebook.yaml"
        file.write_bytes(data)
        problems = validate(file)
        try:
            loaded = load_codebook(file)
        except SecprioError:
            assert problems, "load refused what validate accepted"
            return
        assert not problems
        for cat in loaded.categories:
            for texts in cat.patterns.values():
                for text in texts:
                    re.compile(pattern.prepare(text).regex)

    docs = scratch / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "a.txt").write_text(TEXT, encoding="utf-8")

    def labels(data: bytes) -> None:
        file = scratch / "labels.tsv"
        file.write_bytes(data)
        try:
            spans = standoff.read(file)
        except SecprioError:
            return
        assert all(0 <= s.start <= s.end for s in spans)
        good, bad = standoff.verify(spans, docs)
        assert len(good) + len(bad) == len(spans)
        for s in good:
            assert s.file == "a.txt" or (docs / s.file).resolve() == (docs / "a.txt").resolve()
            assert standoff.digest(TEXT[s.start : s.end]) == s.sha1

    return {
        "standoff": labels,
        "qdpx_zip": qdpx_zip,
        "qdpx_xml": qdpx_xml,
        "qdpx_text": qdpx_text,
        "gold_csv": gold_file(".csv"),
        "gold_jsonl": gold_file(".jsonl"),
        "codebook": codebook,
    }[target]


# -- mutation ------------------------------------------------------------------------------
INTERESTING = [b"\x00", b"\xff", b"../", b"/", b"&x;", b"<!DOCTYPE a [<!ENTITY x 'y'>]>",
               b"-1", b"99999999999", b"1.5", b'"', b"'", b"\n", b"*", b"&a ", b"*a", b"[",
               b"{", b"re:(a+)+$", b"</script>", b"\r\n", b"\xc3", b",", b"PK\x03\x04"]  # fmt: skip


def mutate(rng: random.Random, data: bytes, pool: list[bytes], max_len: int) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 8))):
        at = rng.randrange(len(out) + 1)
        op = rng.randrange(6)
        if op == 0 and out:
            out[min(at, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            out[at:at] = rng.choice(INTERESTING)
        elif op == 2:
            del out[at : at + rng.randint(1, 16)]
        elif op == 3 and out:
            run = bytes(out[at : at + rng.randint(1, 32)])
            out[at:at] = run * rng.randint(1, 64)
        elif op == 4:
            other = rng.choice(pool)
            lo = rng.randrange(len(other) + 1)
            out[at:at] = other[lo : lo + rng.randint(1, 200)]
        else:
            out[at : at + 1] = bytes([rng.randrange(256)])
    return bytes(out[:max_len])


# -- running ---------------------------------------------------------------------------------
class Hang(BaseException):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise Hang


def run_target(target: str, seconds: float, hang: float, max_len: int, seed: int) -> dict:
    from secprio.errors import SecprioError

    scratch = Path(tempfile.mkdtemp(prefix=f"fuzz-{target}-"))
    fn = make_target(target, scratch)
    pool = seeds(target)
    stats: dict = {"target": target, "inputs": 0, "crashes": 0, "hangs": 0, "kinds": {}}
    crashes = OUT / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    signal.signal(signal.SIGPROF, _alarm)
    end = time.monotonic() + seconds
    corpus = list(pool)
    while time.monotonic() < end:
        data = mutate(rng, rng.choice(corpus), pool, max_len)
        stats["inputs"] += 1
        signal.setitimer(signal.ITIMER_PROF, hang)
        try:
            fn(data)
        except Hang:
            _record(stats, target, data, "hang", "Hang", f"over {hang} s of CPU time")
        except SecprioError:
            pass  # (validate/load disagreements are AssertionErrors, not SecprioErrors)
        except Exception as exc:  # noqa: BLE001 - every other exception is a finding
            where = traceback.extract_tb(exc.__traceback__)[-1]
            kind = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            _record(stats, target, data, "crash", kind, traceback.format_exc())
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        if len(corpus) < 2000 and rng.random() < 0.02:
            corpus.append(data)  # keep some mutants: deeper mutations of what parsed
    return stats


def _record(stats: dict, target: str, data: bytes, what: str, kind: str, detail: str) -> None:
    stats["crashes" if what == "crash" else "hangs"] += 1
    if kind not in stats["kinds"]:
        digest = hashlib.sha256(data).hexdigest()[:12]
        path = OUT / "crashes" / f"{target}-{what}-{digest}"
        path.write_bytes(data)
        path.with_suffix(".txt").write_text(f"{kind}\n\n{detail}")
        stats["kinds"][kind] = {"count": 0, "example": path.name}
    stats["kinds"][kind]["count"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--seconds", type=float, default=600, help="total wall time")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--hang", type=float, default=10.0, help="CPU seconds that make a hang")
    parser.add_argument("--max-len", type=int, default=16384)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        stats = run_target(args.one, args.seconds, args.hang, args.max_len, args.seed)
        (OUT / f"{args.one}.json").write_text(json.dumps(stats, indent=1))
        return 0
    targets = [t for t in args.targets.split(",") if t]
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    OUT.mkdir(parents=True, exist_ok=True)
    per = args.seconds * args.jobs / len(targets)
    queue, running = list(enumerate(targets)), []
    while queue or running:
        while queue and len(running) < args.jobs:
            i, t = queue.pop(0)
            cmd = [sys.executable, __file__, "--one", t, "--seconds", str(per), "--hang",
                   str(args.hang), "--max-len", str(args.max_len), "--seed", str(i)]  # fmt: skip
            running.append(subprocess.Popen(cmd))
        time.sleep(0.5)
        running = [p for p in running if p.poll() is None]
    return report(targets)


def report(targets: list[str]) -> int:
    rows = []
    for t in targets:
        path = OUT / f"{t}.json"
        rows.append(json.loads(path.read_text()) if path.exists() else {"target": t, "inputs": 0,
                    "crashes": 0, "hangs": 0, "kinds": {}})  # fmt: skip
    total = {k: sum(r[k] for r in rows) for k in ("inputs", "crashes", "hangs")}
    (OUT / "summary.json").write_text(json.dumps({"targets": rows, "total": total}, indent=1))
    print(f"{'target':12} {'inputs':>10} {'crashes':>8} {'hangs':>6}")
    for r in rows:
        print(f"{r['target']:12} {r['inputs']:>10} {r['crashes']:>8} {r['hangs']:>6}")
        for kind, info in r["kinds"].items():
            print(f"    {info['count']:>7} × {kind}  ({info['example']})")
    print(f"{'total':12} {total['inputs']:>10} {total['crashes']:>8} {total['hangs']:>6}")
    return 1 if total["crashes"] or total["hangs"] else 0


if __name__ == "__main__":
    sys.exit(main())
