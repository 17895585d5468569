"""Sitemaps as watch sources: the pages (``<loc>``, ``<lastmod>``) of a sitemap.xml, or the
sitemaps a sitemap index lists (sitemaps.org protocol 0.9).

A sitemap is untrusted XML: parsed with defusedxml (no entities, no external references), and
only ``loc`` and ``lastmod`` are read, at most :data:`MAX_ENTRIES` of them (the protocol's own
limit per file).
"""

from __future__ import annotations

from dataclasses import dataclass

import defusedxml.ElementTree as ET
from defusedxml import DefusedXmlException

from secprio.errors import FetchError

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
MAX_ENTRIES = 50_000
URLSET, INDEX = "urlset", "sitemapindex"


@dataclass(frozen=True)
class Entry:
    loc: str
    lastmod: str = ""  # as written: only compared with the value seen last time


def root_kind(data: bytes) -> str:
    """``urlset``, ``sitemapindex`` or "" (not a sitemap): the root element's name."""
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, DefusedXmlException, ValueError):
        return ""
    name = root.tag.removeprefix(NS)
    return name if name in (URLSET, INDEX) else ""


def parse(data: bytes, url: str = "") -> tuple[str, list[Entry]]:
    """The kind of sitemap (``urlset`` or ``sitemapindex``) and its entries, each ``loc`` once,
    in document order."""
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise FetchError(
            f"the sitemap is not well-formed XML ({exc})",
            path=url,
            hint="check that the address is a sitemap.xml",
            code="E822",
        ) from exc
    kind = root.tag.removeprefix(NS)
    if kind not in (URLSET, INDEX):
        raise FetchError(
            f"not a sitemap (root element {root.tag!r})",
            path=url,
            hint="give the address of a sitemap.xml or sitemap index",
            code="E821",
        )
    child = "url" if kind == URLSET else "sitemap"
    out: list[Entry] = []
    seen: set[str] = set()
    for node in root:
        if node.tag.removeprefix(NS) != child:
            continue
        loc = " ".join((node.findtext(f"{NS}loc") or node.findtext("loc") or "").split())
        mod = (node.findtext(f"{NS}lastmod") or node.findtext("lastmod") or "").strip()
        if loc and loc not in seen:
            seen.add(loc)
            out.append(Entry(loc, mod))
            if len(out) >= MAX_ENTRIES:
                break
    return kind, out
