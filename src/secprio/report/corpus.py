"""What the corpus is, in words: for the report's header and the methods paragraph.

A case pack's documents may be synthetic summaries of real documents (``synthetic_summary:
true`` in their metadata, with the real document's ``url``); a reader must learn that before
reading any number, so the header says it with the sources.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from urllib.parse import urlsplit

import pandas as pd

from secprio.report.safe import http_url


def synthetic(docs: pd.DataFrame) -> pd.Series:
    """True for the documents marked as synthetic summaries of a real document."""
    return docs["extra"].map(lambda e: bool((e or {}).get("synthetic_summary")))


def counts(values: pd.Series) -> str:
    """``en 40, ru 12, …``: the commonest first."""
    return ", ".join(f"{k} {v}" for k, v in Counter(map(str, values)).most_common())


def span(docs: pd.DataFrame) -> str:
    dated = docs["date"][docs["date"] != ""]
    return f"{dated.min()} to {dated.max()}" if len(dated) else "undated"


def _hosts(docs: pd.DataFrame) -> str:
    hosts = Counter(urlsplit(u).netloc.removeprefix("www.") for u in docs["url"].map(http_url) if u)
    top = ", ".join(f"{h} ({n})" for h, n in hosts.most_common(6))
    more = len(hosts) - min(len(hosts), 6)
    return top + (f" and {more} other sites" if more > 0 else "")


def statement(docs: pd.DataFrame) -> str:
    """One sentence on what the corpus is."""
    n, synth = len(docs), int(synthetic(docs).sum())
    base = f"{n} documents dated {span(docs)}"
    if synth == 0:
        return f"Corpus: {base}."
    which = "all" if synth == n else f"{synth} of them"
    sourced = int((docs["url"].map(http_url) != "").sum())
    return (
        f"Corpus: {base}; {which} are synthetic summaries written for the case pack, each of "
        f"a dated, real document whose source it names ({sourced} with a URL: {_hosts(docs)}). "
        "The numbers measure the summaries, not the original texts."
    )


def header_html(docs: pd.DataFrame) -> str:
    """The statement and, folded, the list of documents with their sources."""
    rows = "".join(
        f"<li>{escape(str(r.date) or 'undated')} · {escape(str(r.title))} · "
        f"{escape(str(r.doc_type))}, {escape(str(r.language))}"
        # as text, like the drill-down's sources: the report links to nothing outside itself
        + (f" · <span class='src'>{escape(u)}</span>" if (u := http_url(r.url)) else "")
        + ("" if not flag else " · <i>synthetic summary</i>")
        + "</li>"
        for r, flag in zip(
            docs.sort_values("date").itertuples(index=False),
            synthetic(docs.sort_values("date")),
            strict=True,
        )
    )
    return (
        f'<p class="corpus" id="corpus">{escape(statement(docs))}</p>'
        f'<details class="corpus"><summary>The {len(docs)} documents and their sources'
        f"</summary><ol>{rows}</ol></details>"
    )
