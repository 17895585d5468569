"""The cost of a `secprio watch --once` cycle: when nothing changed, and with 100 new documents.

    nice .venv/bin/python benchmarks/watch.py --documents 300 --new 100

A generated corpus (English sentences on the OTS codebook's topics, written here) is served on
127.0.0.1 as an RSS feed with an ETag, the same feed without one, and a sitemap with
``<lastmod>``. Each source gets a project of its own (OTS codebook, dictionary coder); the
first cycle reads the whole corpus (shown, not the point). Then, per source: a cycle with
nothing changed, a cycle after ``--new`` documents appeared, and a cycle with nothing changed
again. Each cycle is a real `secprio watch --once` process: requests as the server counted
them (feed or sitemap, documents sent, 304 answers), the process's CPU seconds (user + system,
its children included) and wall seconds. The start-up of the CLI (`secprio --version`) is
measured once for reference: it is part of every cycle's CPU. The first cycle of a codebook
also compiles the dictionary coder's hyperscan database when it is not cached yet
(~/.cache/secprio/hyperscan); later cycles load it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import http.server
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "secprio"]
TOPICS = [
    "military cooperation and joint exercises", "energy security and new gas pipelines",
    "the fight against terrorism and extremism", "transport corridors and trade",
    "border security and customs", "cyber attacks on critical infrastructure",
    "regional integration among the Turkic states", "investment and economic security",
]  # fmt: skip
NEUTRAL = [
    "The ministers met in the capital.", "A working group reviewed the statutes.",
    "The chair thanked the host country.", "Journalists from the member states attended.",
    "The next summit will be held in autumn.", "Student exchange programmes were extended.",
]  # fmt: skip
ACTORS = ["The council", "The secretary general", "The heads of state", "The delegations"]


class Site:
    """Serves the documents listed in ``names``: /feed.xml (with an ETag), /plain.xml (the
    same feed without validators), /sitemap.xml (each page's lastmod, no validators) and
    /doc/NAME (an ETag, 304 to a matching If-None-Match). Requests counted by kind."""

    def __init__(self, docs: dict[str, tuple[dt.date, str]]) -> None:
        self.docs = docs
        self.names: list[str] = []
        self.count = {"source": 0, "doc 200": 0, "doc 304": 0}
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path
                if path in ("/feed.xml", "/plain.xml", "/sitemap.xml"):
                    site.count["source"] += 1
                    body = site.sitemap() if path == "/sitemap.xml" else site.feed()
                    tag = f'"{zlib.crc32(body)}"' if path == "/feed.xml" else ""
                    self.answer(body, "application/xml", tag)
                elif path.startswith("/doc/") and path[5:] in site.names:
                    body = site.docs[path[5:]][1].encode()
                    self.answer(body, "text/plain; charset=utf-8", f'"{zlib.crc32(body)}"')
                else:
                    self.send_error(404)

            def answer(self, body: bytes, ctype: str, tag: str) -> None:
                doc = self.path.startswith("/doc/")
                if tag and self.headers.get("If-None-Match") == tag:
                    site.count["doc 304"] += doc
                    self.send_response(304)
                    self.send_header("ETag", tag)
                    self.end_headers()
                    return
                site.count["doc 200"] += doc
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

    def feed(self) -> bytes:
        items = "".join(
            f"<item><title>Bulletin {n}</title><link>{self.url}/doc/{n}</link><pubDate>"
            f"{email.utils.format_datetime(dt.datetime(d.year, d.month, d.day, 9))}</pubDate>"
            "</item>"
            for n in self.names
            for d in [self.docs[n][0]]
        )
        return f"<rss version='2.0'><channel><title>b</title>{items}</channel></rss>".encode()

    def sitemap(self) -> bytes:
        urls = "".join(f"<url><loc>{self.url}/doc/{n}</loc><lastmod>{self.docs[n][0]}</lastmod>"
                       "</url>" for n in self.names)  # fmt: skip
        ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
        return f"<urlset xmlns='{ns}'>{urls}</urlset>".encode()


def corpus(n: int, seed: int = 1) -> dict[str, tuple[dt.date, str]]:
    rng = random.Random(seed)
    start = dt.date(2024, 1, 1)
    docs = {}
    for i in range(n):
        lines = []
        for _ in range(rng.randint(6, 14)):
            if rng.random() < 0.4:
                lines.append(f"{rng.choice(ACTORS)} discussed {rng.choice(TOPICS)}.")
            else:
                lines.append(rng.choice(NEUTRAL))
        docs[f"d{i:05d}"] = (start + dt.timedelta(days=i // 3), " ".join(lines) + "\n")
    return docs


def cpu_children() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def run(cmd: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of ``cmd`` (with its children), and what it said (the CLI's
    messages go to stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    cpu, wall = cpu_children(), time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return time.monotonic() - wall, cpu_children() - cpu, done.stderr


def init(folder: Path) -> Path:
    # this checkout's codebook, not that of whichever secprio the interpreter would import
    book = str(ROOT / "src" / "secprio" / "packs" / "ots" / "codebook.yaml")
    run([*CLI, "init", str(folder), "--codebook", book])
    settings = folder / "secprio.yaml"  # the dictionary coder: the cycle, not a model, is timed
    settings.write_text(settings.read_text().replace("coder: auto", "coder: dictionary"))
    return folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--documents", type=int, default=300, help="documents at the start")
    ap.add_argument("--new", type=int, default=100, help="documents that appear")
    args = ap.parse_args()
    docs = corpus(args.documents + args.new)
    names = sorted(docs)
    site = Site(docs)
    rows = []
    start_wall, start_cpu, _ = run([*CLI, "--version"])
    with tempfile.TemporaryDirectory(prefix="secprio-watch-bench-") as tmp:
        for source, extra in (("/feed.xml", []), ("/plain.xml", []),
                              ("/sitemap.xml", ["--window", "new"])):  # fmt: skip
            project = init(Path(tmp) / source.strip("/").replace(".", "-"))
            cmd = [*CLI, "watch", "-p", str(project), "--once", "--interval", "0",
                   "--allow-private", *extra, "--source", site.url + source]  # fmt: skip
            site.names = names[: args.documents]
            steps = (("first cycle (the whole corpus)", 0), ("nothing changed", 0),
                     (f"{args.new} new documents", args.new), ("nothing changed", 0))  # fmt: skip
            for what, added in steps:
                site.names = names[: len(site.names) + added]
                before = dict(site.count)
                wall, cpu, out = run(cmd)
                got = {k: site.count[k] - before[k] for k in site.count}
                said = next((x for x in out.split("\n") if x.startswith("added ")), "")
                test = next((x for x in out.split("\n") if "shift" in x), "").split(" (")[0]
                rows.append((source, what, got, cpu, wall, said.split(", unchanged")[0], test))
    site.server.shutdown()
    print(f"CLI start-up (secprio --version): {start_cpu:.2f} CPU s, {start_wall:.2f} s wall")
    print(f"corpus: {args.documents} documents, then {args.new} more; 127.0.0.1, interval 0\n")
    print("| source | cycle | requests: source + documents 200 + 304 | CPU s | wall s | ingest "
          "| shift test |")  # fmt: skip
    print("| --- | --- | --- | ---: | ---: | --- | --- |")
    for source, what, got, cpu, wall, said, test in rows:
        total = sum(got.values())
        req = f"{total} ({got['source']} + {got['doc 200']} + {got['doc 304']})"
        print(f"| {source} | {what} | {req} | {cpu:.2f} | {wall:.2f} | {said} | {test} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
