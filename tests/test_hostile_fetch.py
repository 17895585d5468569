"""`fetch` against hostile servers the test starts on 127.0.0.1: every URL fails alone, with
its reason, within its deadline; the documents already downloaded are still ingested."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from secprio.cli import app
from secprio.ingest.fetch import Policy, fetch_all

PAGE = b"""<html><head><title>Summit</title></head><body><article><h1>Declaration</h1>
<p>The heads of state agreed to deepen military cooperation and to hold joint exercises next
year, and they condemned terrorism in all its forms.</p></article></body></html>"""


class Hostile(BaseHTTPRequestHandler):
    other = ""  # the base URL of a second server (another origin)

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path == "/doc.html":
            self._send(200, PAGE)
        elif self.path == "/loop":
            self._redirect("/loop2")
        elif self.path == "/loop2":
            self._redirect("/loop")
        elif self.path == "/to-file":
            self._redirect("file:///etc/passwd")
        elif self.path == "/away":
            self._redirect(f"{Hostile.other}/doc.html")
        elif self.path == "/badgzip":
            self._send(200, b"\x1f\x8b\x08\x00 this is not gzip data", encoding="gzip")
        elif self.path == "/gzipbomb":
            self._send(200, gzip.compress(b"<p>" + b" " * (50 << 20) + b"</p>"), encoding="gzip")
        elif self.path == "/trickle":  # one header byte every 0.1 s: never a read timeout
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(600):
                self.wfile.write(b"X")
                self.wfile.flush()
                time.sleep(0.1)
        else:
            self._send(404, b"not here")

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, code: int, body: bytes, encoding: str = "") -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


def _serve() -> tuple[ThreadingHTTPServer, str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture
def servers() -> Iterator[tuple[str, str]]:
    one, base = _serve()
    two, other = _serve()
    Hostile.other = other
    yield base, other
    one.shutdown()
    two.shutdown()


POLICY = Policy(interval=0, retries=1, backoff=0.01, deadline=3, max_bytes=1 << 20,
                allow_private=True)  # fmt: skip


def test_each_hostile_url_fails_alone_with_its_reason(tmp_path: Path, servers: tuple) -> None:
    base, other = servers
    urls = {
        "loop": f"{base}/loop",
        "to-file": f"{base}/to-file",
        "badgzip": f"{base}/badgzip",
        "gzipbomb": f"{base}/gzipbomb",
        "trickle": f"{base}/trickle",
        "malformed": "http://[::1",
        "nohost": "http:///doc.html",
        "file": "file:///etc/passwd",
        "ftp": "ftp://example.org/a.pdf",
        "javascript": "javascript:alert(1)",
        "good": f"{base}/doc.html",
    }
    rows = [{"url": u, "title": name} for name, u in urls.items()]
    results = {r.url: r for r in fetch_all(rows, tmp_path / "dl", policy=POLICY)}
    errors = {name: results[u].error for name, u in urls.items()}
    expected = {
        "loop": "redirect loop",
        "to-file": "the scheme 'file:' is not fetched",
        "badgzip": "damaged compressed data",
        "gzipbomb": "larger than the 1 MB limit (decoded)",
        "trickle": "deadline of 3 s",
        "malformed": "not a valid URL",
        "nohost": "no host",
        "file": "the scheme 'file:' is not fetched",
        "ftp": "the scheme 'ftp:' is not fetched",
        "javascript": "the scheme 'javascript:' is not fetched",
    }
    for name, words in expected.items():
        assert words in errors[name] and "fix:" in errors[name], (name, errors[name])
    assert results[urls["good"]].path is not None and errors["good"] == ""
    assert not list((tmp_path / "dl").glob(".*.tmp"))  # no half-written file left


def test_a_redirect_to_another_origin_records_where_the_text_came_from(
    tmp_path: Path, servers: tuple
) -> None:
    base, other = servers
    (result,) = fetch_all([{"url": f"{base}/away", "title": "Moved"}], tmp_path, policy=POLICY)
    assert result.path is not None and result.final_url == f"{other}/doc.html"
    meta = yaml.safe_load(result.path.with_suffix(".yaml").read_text())
    assert meta["url"] == f"{other}/doc.html" and meta["listed_url"] == f"{base}/away"


def test_loopback_and_private_addresses_are_refused_unless_allowed(
    tmp_path: Path, servers: tuple
) -> None:
    base, _ = servers
    strict = Policy(interval=0, retries=2, backoff=0.01)
    rows = [{"url": f"{base}/doc.html"}, {"url": "http://10.0.0.1/x.pdf"},
            {"url": "http://[::1]:9/x"}, {"url": "http://localhost:9/x"}]  # fmt: skip
    for r in fetch_all(rows, tmp_path, policy=strict):
        assert r.path is None and "loopback or private address" in r.error, r.error
        assert "--allow-private" in r.error
    (ok,) = fetch_all(rows[:1], tmp_path, policy=POLICY)
    assert ok.path is not None


def test_the_run_deadline_stops_the_list_and_keeps_what_was_downloaded(
    tmp_path: Path, servers: tuple
) -> None:
    base, _ = servers
    policy = Policy(interval=0, retries=0, deadline=60, run_deadline=1.5, allow_private=True)
    rows = [{"url": f"{base}/doc.html"}, {"url": f"{base}/trickle"}, {"url": f"{base}/doc.html?2"}]
    first, trickle, last = fetch_all(rows, tmp_path, policy=policy)
    assert first.path is not None
    assert "deadline" in trickle.error
    assert "not tried: the run passed its deadline of 1.5 s" in last.error


def test_fetch_command_ingests_the_good_ones_despite_hostile_urls(
    tmp_path: Path, servers: tuple, codebook_file: Path
) -> None:
    base, _ = servers
    sources = tmp_path / "sources.csv"
    sources.write_text(
        f"url,title\n{base}/loop,Loop\nhttp://[::1,Bad\n{base}/badgzip,Gzip\n"
        f"{base}/doc.html,Summit declaration\n"
    )
    runner = CliRunner()
    runner.invoke(app, ["init", str(tmp_path / "p"), "--codebook", str(codebook_file)])
    args = ["fetch", str(sources), "-p", str(tmp_path / "p"), "--interval", "0", "--retries", "0"]
    res = runner.invoke(app, args)  # without --allow-private: the local server is refused
    assert res.exit_code == 3 and "downloaded 0 of 4" in res.output, res.output
    res = runner.invoke(app, [*args, "--allow-private", "--deadline", "5"])
    assert res.exit_code == 3, res.output
    assert "downloaded 1 of 4" in res.output and "redirect loop" in res.output
    assert "Traceback" not in res.output
    from secprio.project import Project

    assert Project.open(tmp_path / "p").documents()["title"].tolist() == ["Summit declaration"]


def test_a_dns_lookup_that_never_answers_ends_within_the_deadline(
    tmp_path: Path, servers: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resolver that hangs (a dead DNS server) costs the URL its deadline, not the run."""
    import socket

    base, _ = servers
    real = socket.getaddrinfo
    released = threading.Event()
    hanging: list[str] = []

    def resolver(host: str, *args: object, **kwargs: object) -> list:
        if host == "hangs.example":
            hanging.append(host)
            released.wait(60)  # far past the deadline; the test releases it at the end
            hanging.remove(host)
            raise socket.gaierror("the stub resolver was released")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    policy = Policy(interval=0, retries=1, backoff=0.01, deadline=2, allow_private=True)
    rows = [{"url": "http://hangs.example/a.html"}, {"url": f"{base}/doc.html"}]
    try:
        hung, good = fetch_all(rows, tmp_path, policy=policy)
        assert hanging  # fetch gave up on the lookup; it did not wait for the resolver
    finally:
        released.set()
    assert "deadline of 2 s" in hung.error and "fix:" in hung.error, hung.error
    assert good.path is not None and good.error == ""
