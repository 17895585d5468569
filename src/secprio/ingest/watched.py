"""What a watch cycle fetches from its remote sources, each into a folder of its own under
``watch/feeds/`` that is then ingested as any folder is (docs/watch.md):

- an http(s) URL: an RSS/Atom feed (its items) or a sitemap (its pages; a sitemap index: its
  sitemaps), told apart by the document's root element;
- a ``.csv`` file: a sources list (a ``url`` column; ``title``, ``date``, ``doc_type``,
  ``issuer``, ``members``, ``language`` become the documents' metadata).

Only what is new or changed is downloaded: a document fetched before is asked for with the
``ETag`` / ``Last-Modified`` it came with (``validators`` in the state; 304 skips it), and a
sitemap entry whose ``<lastmod>`` is the one seen last time is not asked for at all
(``lastmod``). Validators and lastmods are recorded only once the files are on disk, and a
source's own only when none of its documents failed, so a stop or a failure is retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from secprio.errors import FetchError
from secprio.ingest import feeds, fetch, sitemaps

MAX_SITEMAPS = 1_000  # sitemaps read from one index


def kind(source: str) -> str:
    """``url``, ``list`` (a sources CSV) or ``folder``."""
    if source.lower().startswith(("http://", "https://")):
        return "url"
    return "list" if source.lower().endswith(".csv") else "folder"


def _validators(r: fetch.Fetched) -> dict[str, str]:
    return {k: v for k, v in (("etag", r.etag), ("last_modified", r.last_modified)) if v}


def _tally(results: list[fetch.Fetched]) -> dict[str, int]:
    n = {"new": 0, "unchanged": 0, "failed": 0}
    for r in results:
        n["unchanged" if r.unchanged else "new" if r.path else "failed"] += 1
    return n


def _line(n: dict[str, int]) -> str:
    return f"fetched {n['new']}, unchanged {n['unchanged']}, failed {n['failed']}"


@dataclass
class Remote:
    """Fetches remote sources into ``root``; ``state`` (validators, lastmods) is updated in
    place and ``save`` is called whenever what it records is on disk. ``say(text, warn)``
    reports (text from the network: the caller escapes it)."""

    root: Path
    policy: fetch.Policy
    state: dict[str, Any]
    say: Callable[[str, bool], None] = lambda text, warn: print(text)
    save: Callable[[], None] = lambda: None

    def __post_init__(self) -> None:
        self.known: dict[str, dict[str, str]] = self.state.setdefault("validators", {})
        self.lastmod: dict[str, str] = self.state.setdefault("lastmod", {})

    def folder(self, source: str) -> Path:
        path = self.root / fetch._slug(source)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def read(self, sources: list[str]) -> list[Path]:
        """The folders to ingest, one per remote source (also when its fetch failed: what
        an earlier cycle fetched is still there)."""
        out = []
        for source in sources:
            out.append(self.folder(source))
            try:
                if kind(source) == "url":
                    self._url(source)
                elif kind(source) == "list":
                    self._list(source)
            except FetchError as exc:
                self.say(f"source failed: {exc}", True)
        return out

    def _get(self, url: str) -> tuple[bytes, dict[str, str]] | None:
        """The body and validators of ``url``, or None when it answered 304."""
        old = self.known.get(url, {})
        got = fetch.fetch_bytes(url, policy=self.policy, types=feeds.TYPES,
                                etag=old.get("etag", ""),
                                last_modified=old.get("last_modified", ""))  # fmt: skip
        if got is None:
            return None
        body, _, seen = got
        return body, {k.replace("-", "_"): v for k, v in seen.items() if v}

    def _done(self, url: str, ok: bool, validators: dict[str, str]) -> None:
        """Keep ``url``'s validators once all its documents are on disk; forget them when
        one failed, so that the next cycle reads it again instead of getting a 304."""
        if ok and validators:
            self.known[url] = validators
        else:
            self.known.pop(url, None)
        self.save()

    def _url(self, url: str) -> None:
        got = self._get(url)
        if got is None:
            self.say(f"unchanged (304): {url}", False)
            return
        body, validators = got
        what = sitemaps.root_kind(body)
        if what == sitemaps.INDEX:
            ok = self._index(url, body)
        elif what == sitemaps.URLSET:
            ok = self._sitemap(url, body, self.folder(url))
        else:
            rows = []
            items = feeds.parse(body, url)
            for it in items:
                try:
                    link = str(httpx.URL(url).join(it.link))
                except (httpx.InvalidURL, TypeError, ValueError):
                    continue
                rows.append({"url": link, "title": it.title, "date": it.date})
            n = _tally(self._fetch(rows, self.folder(url)))
            self.say(f"feed {url}: {len(items)} item(s); {_line(n)}", False)
            ok = not n["failed"]
        self._done(url, ok, validators)

    def _index(self, url: str, body: bytes) -> bool:
        _, entries = sitemaps.parse(body, url)
        ok, read = True, 0
        for entry in entries[:MAX_SITEMAPS]:
            if entry.lastmod and self.lastmod.get(entry.loc) == entry.lastmod:
                continue  # unchanged since it was read in full
            time.sleep(self.policy.interval)
            read += 1
            try:
                got = self._get(entry.loc)
                if got is None:
                    continue
                done = self._sitemap(entry.loc, got[0], self.folder(url), inner=True)
            except FetchError as exc:
                self.say(f"sitemap failed: {exc}", True)
                done, got = False, None
            if done and entry.lastmod:
                self.lastmod[entry.loc] = entry.lastmod
            self._done(entry.loc, done, got[1] if got else {})
            ok = ok and done
        self.say(f"sitemap index {url}: {len(entries)} sitemap(s), {read} read", False)
        return ok

    def _sitemap(self, url: str, body: bytes, folder: Path, inner: bool = False) -> bool:
        """Fetch the pages of a sitemap whose lastmod changed (or that have none)."""
        what, entries = sitemaps.parse(body, url)
        if what != sitemaps.URLSET:
            raise FetchError(
                "a sitemap index inside a sitemap index is not read",
                path=url,
                hint="give the inner index as a --source of its own",
                code="E823",
            )
        todo = [e for e in entries if not (e.lastmod and self.lastmod.get(e.loc) == e.lastmod)]
        mods = {e.loc: e.lastmod for e in todo}
        results = self._fetch([{"url": e.loc} for e in todo], folder)
        for r in results:
            if (r.path or r.unchanged) and mods.get(r.url):
                self.lastmod[r.url] = mods[r.url]
        self.save()
        n = _tally(results)
        self.say(f"sitemap {url}: {len(entries)} page(s), {len(entries) - len(todo)} "
                 f"unchanged by lastmod; {_line(n)}", False)  # fmt: skip
        return not n["failed"]

    def _list(self, source: str) -> None:
        rows = fetch.read_sources(Path(source))
        n = _tally(self._fetch(rows, self.folder(source)))
        self.say(f"list {source}: {len(rows)} URL(s); {_line(n)}", False)

    def _fetch(self, rows: list[dict[str, str]], folder: Path) -> list[fetch.Fetched]:
        asked = [{**{k: v for k, v in r.items() if v}, **self.known.get(r["url"].strip(), {})}
                 for r in rows]  # fmt: skip
        results = fetch.fetch_all(asked, folder, policy=self.policy)
        for r in results:
            if r.etag or r.last_modified:
                self.known[r.url] = _validators(r)
            if r.path is None and not r.unchanged:
                self.say(f"failed: {r.error}", True)
        self.save()  # the files are on disk: their validators can be kept
        return results
