"""`secprio fetch` against a local HTTP server that the test starts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from secprio.cli import app
from secprio.ingest.fetch import Policy, fetch_all, read_sources

HTML = b"""<html><head><title>Summit</title></head><body><nav>Home | About | Contact</nav>
<article><h1>Declaration of the summit</h1><p>The heads of state agreed to deepen military
cooperation and to hold joint exercises next year. They welcomed the new transport corridor
and the common investment fund, and condemned terrorism in all its forms.</p>
<p>They asked the secretariat to prepare a plan on cyber security and energy security.</p>
</article><footer>Copyright 2024</footer></body></html>"""


class Handler(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}
    agents: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        Handler.agents.append(self.headers.get("User-Agent", ""))
        if self.path == "/doc.html":
            self._send(200, "text/html; charset=utf-8", HTML)
        elif self.path == "/flaky.html" and Handler.hits[self.path] < 3:
            self._send(503, "text/plain", b"busy")
        elif self.path == "/flaky.html":
            self._send(200, "text/html", HTML.replace(b"Declaration", b"Statement"))
        elif self.path == "/image.png":
            self._send(200, "image/png", b"\x89PNG....")
        elif self.path == "/huge.txt":
            self._send(200, "text/plain", b"x" * (2 * 1024 * 1024))
        else:
            self._send(404, "text/plain", b"not here")

    def _send(self, code: int, ctype: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    Handler.hits, Handler.agents = {}, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _sources(tmp_path: Path, base: str) -> Path:
    path = tmp_path / "sources.csv"
    path.write_text(
        "url,title,date,doc_type,issuer,members,language\n"
        f"{base}/doc.html,Summit declaration,2024-11-06,declaration,OTS,AZ;KZ;KG;TR;UZ,en\n"
        f"{base}/flaky.html,Flaky statement,2023-03-16,statement,OTS,AZ;TR,en\n"
        f"{base}/image.png,An image,2020-01-01,news,TR,TR,en\n"
        f"{base}/huge.txt,Too big,2020-01-01,news,TR,TR,en\n"
        f"{base}/missing.pdf,Gone,2020-01-01,news,TR,TR,en\n",
        encoding="utf-8",
    )
    return path


def test_fetch_saves_documents_with_sidecars_and_reports_each_failure(
    tmp_path: Path, server: str
) -> None:
    rows = read_sources(_sources(tmp_path, server))
    # the test server is on 127.0.0.1: a loopback address, refused unless allowed
    policy = Policy(
        interval=0.0, retries=3, backoff=0.01, max_bytes=1024 * 1024, allow_private=True
    )
    results = {r.url.rsplit("/", 1)[1]: r for r in fetch_all(rows, tmp_path / "dl", policy=policy)}
    assert results["doc.html"].path is not None
    sidecar = results["doc.html"].path.with_suffix(".yaml").read_text()
    assert "declaration" in sidecar and "KG" in sidecar
    assert results["flaky.html"].path is not None and Handler.hits["/flaky.html"] == 3
    assert "content type 'image/png'" in results["image.png"].error
    assert "limit" in results["huge.txt"].error
    assert "HTTP 404" in results["missing.pdf"].error
    assert all(a.startswith("secprio/") for a in Handler.agents)


def test_fetch_command_ingests_what_it_downloaded(
    tmp_path: Path, server: str, codebook_file: Path
) -> None:
    runner = CliRunner()
    runner.invoke(app, ["init", str(tmp_path / "p"), "--codebook", str(codebook_file)])
    res = runner.invoke(
        app,
        [
            "fetch",
            str(_sources(tmp_path, server)),
            "-p",
            str(tmp_path / "p"),
            "--interval",
            "0",
            "--max-mb",
            "1",
            "--retries",
            "2",
            "--allow-private",
        ],
    )
    assert res.exit_code == 3  # some URLs failed, and the run says so
    assert "downloaded 2 of 5" in res.output
    from secprio.project import Project

    docs = Project.open(tmp_path / "p").documents()
    assert sorted(docs["title"]) == ["Flaky statement", "Summit declaration"]
    text = docs["title"].tolist()
    assert "Too big" not in text


def test_sources_without_url_column_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "s.csv"
    bad.write_text("link,title\nhttp://x,y\n")
    from secprio.errors import FetchError

    with pytest.raises(FetchError, match="url"):
        read_sources(bad)
