"""RSS 2.0 and Atom feeds as watch sources: the items (link, title, date) of a feed document.

The feed is untrusted XML: it is parsed with defusedxml (no entities, no external references)
and only the link, title, date and id of each item are read.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as ET
from defusedxml import DefusedXmlException

from secprio.errors import FetchError

TYPES = (  # the content types a feed is served as (besides text/html mistakes)
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "application/rdf+xml",
)
ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class Item:
    link: str
    title: str = ""
    date: str = ""  # YYYY-MM-DD, or "" when the feed gives none that can be read


def _text(node: Element | None) -> str:
    return " ".join((node.text or "").split()) if node is not None else ""


def _date(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    if re.match(r"\d{4}-\d{2}-\d{2}", value):  # Atom (RFC 3339)
        try:
            return dt.date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            return ""
    try:  # RSS (RFC 822)
        return email.utils.parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return ""


def parse(data: bytes, url: str = "") -> list[Item]:
    """The items of an RSS 2.0 or Atom feed, in feed order, each link once."""
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise FetchError(
            f"the feed is not well-formed XML ({exc})",
            path=url,
            hint="check that the address is an RSS or Atom feed",
            code="E802",
        ) from exc
    items: list[Item] = []
    if root.tag == f"{ATOM}feed":
        for entry in root.iter(f"{ATOM}entry"):
            links = entry.findall(f"{ATOM}link")
            link = next((x.get("href", "") for x in links if x.get("rel", "alternate") ==
                         "alternate"), links[0].get("href", "") if links else "")  # fmt: skip
            when = _text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated"))
            items.append(Item(link.strip(), _text(entry.find(f"{ATOM}title")), _date(when)))
    elif root.tag in ("rss", "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF"):
        for item in root.iter():
            if item.tag not in ("item", "{http://purl.org/rss/1.0/}item"):
                continue
            link = _text(item.find("link")) or _text(item.find("{http://purl.org/rss/1.0/}link"))
            title = _text(item.find("title")) or _text(item.find("{http://purl.org/rss/1.0/}title"))
            when = _text(item.find("pubDate")) or _text(
                item.find("{http://purl.org/dc/elements/1.1/}date")
            )
            items.append(Item(link, title, _date(when)))
    else:
        raise FetchError(f"not an RSS or Atom feed (root element {root.tag!r})", path=url,
                         hint="give the address of the feed itself", code="E801")  # fmt: skip
    seen: set[str] = set()
    out = []
    for it in items:
        if it.link and it.link not in seen:
            seen.add(it.link)
            out.append(it)
    return out
