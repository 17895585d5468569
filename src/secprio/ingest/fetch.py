"""Download documents listed in a sources CSV, each with a metadata sidecar, politely.

One request at a time with a minimum interval (rate limit), an honest User-Agent, retries with
backoff on network errors and 429/5xx, a size cap on the decoded body read while streaming,
and a content-type check. Every URL is untrusted: only http(s), no loopback or private address
unless allowed (checked on the address actually connected to, redirects included), a deadline
per URL and per run that a server trickling bytes cannot stretch, at most a few redirects, each
checked again. A URL that fails is reported with its reason; the others still download.
"""

from __future__ import annotations

import csv
import hashlib
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore
import httpx
import yaml

from secprio import __version__, files
from secprio.errors import FetchError

USER_AGENT = f"secprio/{__version__} (research document fetcher; +https://pypi.org/project/secprio)"
SUFFIX = {
    "application/pdf": ".pdf",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
META_KEYS = ("title", "date", "doc_type", "issuer", "members", "language", "url")


@dataclass(frozen=True)
class Fetched:
    url: str  # as listed in the sources
    path: Path | None  # None when it failed
    error: str = ""
    final_url: str = ""  # where the document was found, after redirects
    etag: str = ""  # the validators the server sent, for a conditional request next time
    last_modified: str = ""
    unchanged: bool = False  # a conditional request answered 304 Not Modified: nothing written


@dataclass(frozen=True)
class Policy:
    interval: float = 1.0  # seconds between requests
    retries: int = 3
    backoff: float = 1.0  # first retry wait, doubled each time
    max_bytes: int = 25 * 1024 * 1024  # of the decoded body (a gzip bomb stops here)
    timeout: float = 30.0  # per connect / read / write
    deadline: float = 120.0  # seconds for one URL, retries and redirects included
    run_deadline: float = 3600.0  # seconds for the whole list
    max_redirects: int = 5
    allow_private: bool = False  # loopback, private and link-local addresses


SCHEMES = ("http", "https")


def check_url(url: str) -> httpx.URL:
    """``url`` parsed, when it is an absolute http(s) URL with a host; else a FetchError."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(f"not a valid URL ({exc})", path=url,
                         hint="write a full http(s):// address", code="E820") from exc  # fmt: skip
    if parsed.scheme not in SCHEMES:
        raise FetchError(
            f"the scheme '{parsed.scheme or '(none)'}:' is not fetched",
            path=url,
            hint="only http:// and https:// addresses are downloaded",
            code="E819",
        )
    if not parsed.host:
        raise FetchError(
            "the URL has no host", path=url, hint="write a full http(s):// address", code="E818"
        )
    return parsed


def _public(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_global


class _Stream(httpcore.NetworkStream):
    """A socket whose every read and write ends by the guard's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, guard: _Guard) -> None:
        self.inner, self.guard = inner, guard

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, self.guard.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, self.guard.left(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:  # fmt: skip
        inner = self.inner.start_tls(ssl_context, server_hostname, self.guard.left(timeout))
        return _Stream(inner, self.guard)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _Guard(httpcore.NetworkBackend):
    """Connections only to public addresses (unless allowed), each bounded by a deadline."""

    def __init__(self, allow_private: bool) -> None:
        self.inner = httpcore.SyncBackend()
        self.allow_private = allow_private
        self.deadline = float("inf")
        self.refused = ""  # why the last connection was refused (httpx keeps no subclass)

    def left(self, timeout: float | None) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise httpcore.ReadTimeout("the deadline passed")
        return remaining if timeout is None else min(timeout, remaining)

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None, socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:  # fmt: skip
        try:
            infos = _resolve(host, port, self.left(timeout))
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not self.allow_private:
            blocked = [a for a in addresses if not _public(a)]
            if blocked:
                self.refused = f"{host} is a loopback or private address ({blocked[0]})"
                raise httpcore.ConnectError(self.refused)
        error: Exception | None = None
        for address in addresses:  # connect to the address checked, not a new lookup
            try:
                stream = self.inner.connect_tcp(
                    address, port, self.left(timeout), local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
                continue
            return _Stream(stream, self)
        raise error or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        self.refused = "unix sockets are not fetched"
        raise httpcore.ConnectError(self.refused)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _resolve(host: str, port: int, timeout: float) -> list[Any]:
    """``getaddrinfo`` within ``timeout``: the C resolver has no timeout a caller can set, so it
    runs in a daemon thread that is abandoned (and ends when the resolver gives up) if late."""
    box: dict[str, Any] = {}

    def lookup() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise httpcore.ConnectTimeout(f"no DNS answer for {host} within {timeout:.3g} s")
    if "error" in box:
        raise box["error"]
    return list(box["infos"])


class _Transport(httpx.HTTPTransport):
    def __init__(self, guard: _Guard) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=guard
        )


def read_sources(path: Path) -> list[dict[str, str]]:
    """Rows of a sources CSV; it needs a ``url`` column, the other columns become metadata."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FetchError(
            f"cannot read sources: {exc}",
            path=path,
            hint="pass a CSV file (saved as UTF-8) with a 'url' column",
            code="E817",
        ) from exc
    if not rows or "url" not in rows[0]:
        raise FetchError(
            "no 'url' column",
            path=path,
            hint=f"columns: url, then any of {', '.join(META_KEYS[:-1])}",
            code="E816",
        )
    return [r for r in rows if (r.get("url") or "").strip()]


def fetch_all(
    rows: list[dict[str, str]],
    folder: Path,
    *,
    policy: Policy = Policy(),
    progress: Callable[[int, int], None] | None = None,
) -> list[Fetched]:
    """Download each row's URL into ``folder``; every failure is a Fetched with its reason."""
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    guard = _Guard(policy.allow_private)
    with httpx.Client(
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,  # followed by hand: each target is checked again
        timeout=policy.timeout,
        transport=_Transport(guard),
    ) as client:
        start = last = time.monotonic()
        for i, row in enumerate(rows, 1):
            url = str(row.get("url") or "").strip()
            if time.monotonic() - start > policy.run_deadline:
                results.append(Fetched(url, None, str(FetchError(
                    f"not tried: the run passed its deadline of {policy.run_deadline:g} s",
                    path=url, hint="run fetch again for the rest (downloaded files are kept)",
                    code="E815",
                ))))  # fmt: skip
            else:
                wait = policy.interval - (time.monotonic() - last)
                if wait > 0 and i > 1:
                    time.sleep(wait)
                last = time.monotonic()
                end = min(last + policy.deadline, start + policy.run_deadline)
                results.append(_fetch_one(client, guard, row, folder, policy, end))
            if progress:
                progress(i, len(rows))
    return results


def _fetch_one(
    client: httpx.Client, guard: _Guard, row: dict[str, str], folder: Path, policy: Policy,
    deadline: float,
) -> Fetched:  # fmt: skip
    url = str(row.get("url") or "").strip()
    guard.deadline = deadline
    try:
        got = _download(client, guard, url, policy, deadline, headers=conditional(row))
        if got is None:
            return Fetched(url, None, unchanged=True, etag=row.get("etag", ""),
                           last_modified=row.get("last_modified", ""))  # fmt: skip
        final, body, ctype, seen = got
        path = folder / (_slug(url) + SUFFIX[ctype])
        meta: dict[str, object] = {k: row[k] for k in META_KEYS if row.get(k)}
        if "members" in meta:
            meta["members"] = [m.strip() for m in str(meta["members"]).split(";") if m.strip()]
        meta["url"] = final  # where the text was found; the listed address is kept beside it
        if final != url:
            meta["listed_url"] = url
        # the sidecar first: a document on disk always has its metadata beside it (a kill
        # between the two writes must not leave a file that is ingested without it, as its
        # bytes would then be "unchanged" when the sidecar comes)
        files.write_bytes(
            path.with_suffix(".yaml"), yaml.safe_dump(meta, allow_unicode=True).encode()
        )
        files.write_bytes(path, body)
    except FetchError as exc:
        return Fetched(url, None, str(exc))
    except OSError as exc:  # a full disk, a folder that cannot be written
        return Fetched(url, None, str(FetchError(
            f"cannot save the download: {exc.strerror or exc}", path=url,
            hint=f"check that {folder} can be written and the disk has space",
            code="E814",
        )))  # fmt: skip
    finally:
        guard.deadline = float("inf")
    return Fetched(url, path, final_url=final, etag=seen.get("etag", ""),
                   last_modified=seen.get("last-modified", ""))  # fmt: skip


def conditional(row: dict[str, str]) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from a row's stored ``etag`` / ``last_modified``."""
    headers = {}
    if row.get("etag"):
        headers["If-None-Match"] = row["etag"]
    if row.get("last_modified"):
        headers["If-Modified-Since"] = row["last_modified"]
    return headers


def fetch_bytes(
    url: str, *, policy: Policy = Policy(), types: tuple[str, ...] = (),
    etag: str = "", last_modified: str = "",
) -> tuple[bytes, str, dict[str, str]] | None:  # fmt: skip
    """One URL's decoded body, content type and validators under ``policy`` (the same checks,
    limits and deadline as a listed document), or None when a conditional request got 304.
    ``types``: the content types accepted besides the document types (a feed's XML)."""
    guard = _Guard(policy.allow_private)
    with httpx.Client(headers={"User-Agent": USER_AGENT}, follow_redirects=False,
                      timeout=policy.timeout, transport=_Transport(guard)) as client:  # fmt: skip
        guard.deadline = time.monotonic() + policy.deadline
        asked = conditional({"etag": etag, "last_modified": last_modified})
        got = _download(client, guard, url, policy, guard.deadline, types=types, headers=asked)
    if got is None:
        return None
    _, body, ctype, seen = got
    return body, ctype, seen


def _download(
    client: httpx.Client, guard: _Guard, url: str, policy: Policy, deadline: float,
    *, types: tuple[str, ...] = (), headers: dict[str, str] | None = None,
) -> tuple[str, bytes, str, dict[str, str]] | None:  # fmt: skip
    """The final URL, the decoded body, its content type and the validators sent (etag,
    last-modified); None on 304 Not Modified; redirects followed by hand."""
    seen = {url}
    current = url
    for _ in range(policy.max_redirects + 1):
        check_url(current)
        target = _attempts(client, guard, current, policy, deadline, types, headers or {})
        if target is None:
            return None
        if isinstance(target, tuple):
            return current, *target
        try:
            nxt = str(httpx.URL(current).join(target))
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise FetchError(f"redirected to a malformed address {target!r}", path=url,
                             hint="open the URL in a browser and list the final address",
                             code="E813",
                             ) from exc  # fmt: skip
        if nxt in seen:
            raise FetchError(
                f"redirect loop (back to {nxt})",
                path=url,
                hint="the server's redirects go round in a circle",
                code="E812",
            )
        seen.add(nxt)
        current = nxt
    raise FetchError(
        f"more than {policy.max_redirects} redirects",
        path=url,
        hint="open the URL in a browser and list the final address",
        code="E811",
    )


def _attempts(
    client: httpx.Client, guard: _Guard, url: str, policy: Policy, deadline: float,
    types: tuple[str, ...] = (), headers: dict[str, str] | None = None,
) -> tuple[bytes, str, dict[str, str]] | str | None:  # fmt: skip
    """The body, content type and validators, the Location of a redirect, or None on 304;
    with retries."""
    delay = policy.backoff
    for attempt in range(policy.retries + 1):
        guard.refused = ""
        try:
            return _request(client, url, policy, types, headers or {})
        except (httpx.TransportError, _Retry) as exc:
            if guard.refused:
                raise FetchError(f"{guard.refused}; not fetched", path=url,
                                 hint="pass --allow-private to fetch from such addresses",
                                 code="E810",
                                 ) from exc  # fmt: skip
            if time.monotonic() >= deadline:
                raise FetchError(
                    f"no complete answer within the deadline of {policy.deadline:g} s",
                    path=url, hint="try again later, or raise --deadline",
                    code="E809",
                ) from exc  # fmt: skip
            if attempt == policy.retries:
                raise FetchError(
                    f"failed after {attempt + 1} attempts: {exc}",
                    path=url,
                    hint="try again later or download it by hand",
                    code="E808",
                ) from exc
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay *= 2
        except httpx.DecodingError as exc:
            raise FetchError(
                f"the server sent damaged compressed data ({exc})",
                path=url,
                hint="try again later or download it by hand",
                code="E807",
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, ValueError) as exc:
            raise FetchError(
                f"the server's answer cannot be read ({type(exc).__name__}: {exc})",
                path=url,
                hint="download it by hand",
                code="E806",
            ) from exc
    raise AssertionError("unreachable")


def _request(
    client: httpx.Client, url: str, policy: Policy, types: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
) -> tuple[bytes, str, dict[str, str]] | str | None:  # fmt: skip
    with client.stream("GET", url, headers=headers or None) as resp:
        if resp.status_code == 304 and headers:
            return None
        if resp.is_redirect and "location" in resp.headers:
            return resp.headers["location"]
        if resp.status_code == 429 or resp.status_code >= 500:
            raise _Retry(f"HTTP {resp.status_code}")
        if resp.status_code >= 300:
            raise FetchError(
                f"HTTP {resp.status_code}",
                path=url,
                hint="check the URL; the server refused it",
                code="E805",
            )
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in SUFFIX and ctype not in types:
            raise FetchError(
                f"unsupported content type {ctype or 'none'!r}",
                path=url,
                hint="secprio reads PDF, HTML, DOCX and plain text",
                code="E804",
            )
        seen = {k: resp.headers[k] for k in ("etag", "last-modified") if k in resp.headers}
        return b"".join(_capped(resp.iter_bytes(), url, policy.max_bytes)), ctype, seen


class _Retry(Exception):
    pass


def _capped(chunks: Iterator[bytes], url: str, limit: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise FetchError(
                f"larger than the {limit / (1024 * 1024):g} MB limit (decoded)",
                path=url,
                hint="raise --max-mb if this document is wanted",
                code="E803",
            )
        yield chunk


def _slug(url: str) -> str:
    tail = re.sub(r"[^A-Za-z0-9]+", "-", url.split("://", 1)[-1]).strip("-")[:60]
    return f"{tail}-{hashlib.sha256(url.encode('utf-8', 'replace')).hexdigest()[:8]}"
