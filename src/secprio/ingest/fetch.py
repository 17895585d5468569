"""Download documents listed in a sources CSV, each with a metadata sidecar, politely.

One request at a time with a minimum interval (rate limit), an honest User-Agent, retries with
backoff on network errors and 429/5xx, a size cap read while streaming, and a content-type
check. A URL that fails is reported with its reason; the others still download.
"""

from __future__ import annotations

import csv
import hashlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from secprio import __version__
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
    url: str
    path: Path | None  # None when it failed
    error: str = ""


@dataclass(frozen=True)
class Policy:
    interval: float = 1.0  # seconds between requests
    retries: int = 3
    backoff: float = 1.0  # first retry wait, doubled each time
    max_bytes: int = 25 * 1024 * 1024
    timeout: float = 30.0


def read_sources(path: Path) -> list[dict[str, str]]:
    """Rows of a sources CSV; it needs a ``url`` column, the other columns become metadata."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise FetchError(
            f"cannot read sources: {exc}", path=path, hint="pass a CSV file with a 'url' column"
        ) from exc
    if not rows or "url" not in rows[0]:
        raise FetchError(
            "no 'url' column",
            path=path,
            hint=f"columns: url, then any of {', '.join(META_KEYS[:-1])}",
        )
    return [r for r in rows if (r.get("url") or "").strip()]


def fetch_all(
    rows: list[dict[str, str]],
    folder: Path,
    *,
    policy: Policy = Policy(),
    progress: Callable[[int, int], None] | None = None,
) -> list[Fetched]:
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    with httpx.Client(
        headers={"User-Agent": USER_AGENT}, follow_redirects=True, timeout=policy.timeout
    ) as client:
        last = 0.0
        for i, row in enumerate(rows, 1):
            wait = policy.interval - (time.monotonic() - last)
            if wait > 0 and i > 1:
                time.sleep(wait)
            last = time.monotonic()
            results.append(_fetch_one(client, row, folder, policy))
            if progress:
                progress(i, len(rows))
    return results


def _fetch_one(client: httpx.Client, row: dict[str, str], folder: Path, policy: Policy) -> Fetched:
    url = row["url"].strip()
    try:
        body, ctype = _download(client, url, policy)
    except FetchError as exc:
        return Fetched(url, None, str(exc))
    path = folder / (_slug(url) + SUFFIX[ctype])
    path.write_bytes(body)
    meta: dict[str, object] = {k: row[k] for k in META_KEYS if row.get(k)}
    if "members" in meta:
        meta["members"] = [m.strip() for m in str(meta["members"]).split(";") if m.strip()]
    meta["url"] = url
    path.with_suffix(".yaml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    return Fetched(url, path)


def _download(client: httpx.Client, url: str, policy: Policy) -> tuple[bytes, str]:
    delay = policy.backoff
    for attempt in range(policy.retries + 1):
        try:
            with client.stream("GET", url) as resp:
                if resp.status_code == 429 or resp.status_code >= 500:
                    raise _Retry(f"HTTP {resp.status_code}")
                if resp.status_code >= 400:
                    raise FetchError(
                        f"HTTP {resp.status_code}",
                        path=url,
                        hint="check the URL; the server refused it",
                    )
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype not in SUFFIX:
                    raise FetchError(
                        f"unsupported content type {ctype or 'none'!r}",
                        path=url,
                        hint="secprio reads PDF, HTML, DOCX and plain text",
                    )
                return b"".join(_capped(resp.iter_bytes(), url, policy.max_bytes)), ctype
        except (httpx.TransportError, _Retry) as exc:
            if attempt == policy.retries:
                raise FetchError(
                    f"failed after {attempt + 1} attempts: {exc}",
                    path=url,
                    hint="try again later or download it by hand",
                ) from exc
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


class _Retry(Exception):
    pass


def _capped(chunks: Iterator[bytes], url: str, limit: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise FetchError(
                f"larger than the {limit // (1024 * 1024)} MB limit",
                path=url,
                hint="raise --max-mb if this document is wanted",
            )
        yield chunk


def _slug(url: str) -> str:
    tail = re.sub(r"[^A-Za-z0-9]+", "-", url.split("://", 1)[-1]).strip("-")[:60]
    return f"{tail}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"
