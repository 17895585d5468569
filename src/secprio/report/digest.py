"""The watch digest (docs/watch.md), as Markdown (the file and the mail's text) and as a
self-contained HTML page beside it: each significant shift with its size, interval and the
sentences that drive it; the threat → response links that became significant since the last
digest; passages of the new documents that match a tracked claim.

Every text from a document is untrusted: one inert line in Markdown (:func:`md`), escaped in
HTML (quotes too), URLs linked only when http(s) (``safe.http_url``), and the page's
Content-Security-Policy lets nothing run or load (:data:`CSP`, the report's without scripts).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from secprio.measure import shifts as shifts_mod
from secprio.report import anchors, safe

MARK = "<!-- secprio watch cycle {} -->"
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; "
       "base-uri 'none'; form-action 'none'")  # fmt: skip
STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
.up{color:#a40000}.down{color:#1d4f91}li{margin:.3rem 0}.meta{color:#555}"""


def md(text: object) -> str:
    """Untrusted text made inert in Markdown: one line, no HTML, no table or link syntax."""
    s = " ".join(str(text).split())
    for ch in "\\`*_[]<>|#":
        s = s.replace(ch, "\\" + ch)
    return s


def num(x: float, digits: int = 2) -> str:
    if pd.isna(x):
        return "–"
    return "∞" if x == float("inf") else f"{x:.{digits}f}"


@dataclass
class Digest:
    """What one digest says; rendered by :func:`markdown` and :func:`page`."""

    name: str
    key: str
    summary: str
    info: dict[str, str]
    test: str
    fdr: float
    coder: str
    top: int
    shifts: pd.DataFrame  # the significant rows of the shift table
    sentences: pd.DataFrame  # by segment_id: text, title, date, path, url
    links: pd.DataFrame = field(default_factory=pd.DataFrame)  # new significant links
    claims: list[dict[str, Any]] = field(default_factory=list)  # claim, text, passages
    report: str = ""  # the report's URL (http(s) or file://): each shift links to its cell
    when: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def build(found: pd.DataFrame, sentences: pd.DataFrame, **kw: Any) -> Digest:
    sig = found[found["significant"]].sort_values(["q_value", "frame", "group", "category"])
    ids = {int(s) for ids in sig["segment_ids"] for s in ids}
    sents = sentences[sentences["segment_id"].isin(ids)].set_index("segment_id")
    return Digest(shifts=sig, sentences=sents, test=found.attrs["test"],
                  fdr=found.attrs["fdr"], **kw)  # fmt: skip


def _frame(r: Any) -> str:
    return "all documents" if r.frame == shifts_mod.ALL else f"{r.frame} = {r.group}"


def report_link(report: str, r: Any) -> tuple[str, str]:
    """The URL of a shift's cell in the report (report/anchors.py) and what it shows; ("",
    "") without a report URL. Only http(s) and file URLs are linked."""
    base = str(report or "").strip().split("#", 1)[0]
    linkable = safe.http_url(base) or base.startswith("file:///")
    if not linkable or any(c in base for c in "<>\"' \n\\"):
        return "", ""
    anchor, own = anchors.shift_cell(r.frame, r.group, r.category, r.kind)
    where = f"{r.label}, " + (_frame(r) if own else f"all documents: none for {_frame(r)}")
    return f"{base}#{anchor}", where


def _evidence(d: Digest, r: Any) -> list[pd.Series]:
    return [d.sentences.loc[s] for s in r.segment_ids if s in d.sentences.index]


def markdown(d: Digest) -> str:
    lines = [
        f"# secprio watch — {md(d.name)} — {d.when:%Y-%m-%d %H:%M} UTC", "",
        f"- this cycle: {md(d.summary)}",
        f"- window: {md(d.info['window'])}; baseline: {md(d.info['baseline'])}",
        f"- test: {md(d.test)}; FDR {d.fdr}", f"- coder: {md(d.coder)}", "",
        "| frame | category | direction | window | baseline | rate ratio (95% CI) | q |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in d.shifts.itertuples():
        lines.append(
            f"| {md(_frame(r))} | {md(r.label)} | {r.direction} "
            f"| {r.window_count}/{r.window_sentences} ({100 * r.window_share:.1f}%) "
            f"| {r.baseline_count}/{r.baseline_sentences} ({100 * r.baseline_share:.1f}%) "
            f"| {num(r.rate_ratio)} ({num(r.ratio_low)}–{num(r.ratio_high)}) "
            f"| {r.q_value:.2g} |"
        )
    for r in d.shifts.itertuples():
        where = "in the window" if r.direction == "up" else "in the baseline (now rarer)"
        lines += ["", f"## {md(r.label)} — {md(_frame(r))} — {r.direction}", ""]
        link, shows = report_link(d.report, r)
        if link:
            lines += [f"In the report ({md(shows)}): <{link}>", ""]
        lines += [f"Top {min(d.top, len(r.segment_ids))} sentences {where}:", ""]
        for row in _evidence(d, r):
            lines.append(
                f"- {md(row['text'])} — *{md(row['title'])}*, {row['date'] or 'undated'}, "
                f"{md(row['path'])} (segment {row.name})"
            )
    if not d.links.empty:
        lines += ["", "## Threat → response links that became significant", ""]
        for r in d.links.itertuples():
            lines.append(f"- {md(r.threat_label)} → {md(r.priority_label)}: {r.a} units with "
                         f"both, lift {num(r.lift)}, q {r.q:.2g}")  # fmt: skip
    for c in d.claims:
        lines += ["", f"## New passages on the claim “{md(c['text'])}” ({md(c['claim'])})", ""]
        for p in c["passages"]:
            lines.append(f"- {md(p['text'])} — *{md(p['title'])}*, {p['date'] or 'undated'} "
                         f"(segment {p['segment_id']}; match {p['match']:.2f})")  # fmt: skip
    return "\n".join([*lines, "", MARK.format(d.key)]) + "\n"


def _e(text: object) -> str:
    return html.escape(" ".join(str(text).split()), quote=True)


def _cite(title: object, date: object, url: object, segment: object) -> str:
    link = safe.http_url(url)
    name = f"<cite>{_e(title) or 'untitled'}</cite>"
    if link:
        name = f'<a href="{_e(link)}" rel="noreferrer noopener">{name}</a>'
    return f'{name} <span class="meta">{_e(date or "undated")}, segment {_e(segment)}</span>'


def _label(d: Digest, r: Any) -> str:
    link, _ = report_link(d.report, r)
    return f'<a class="report" href="{_e(link)}">{_e(r.label)}</a>' if link else _e(r.label)


def page(d: Digest) -> str:
    """The digest as one HTML page: no script, nothing loaded from anywhere."""
    title = f"secprio watch — {_e(d.name)} — {d.when:%Y-%m-%d %H:%M} UTC"
    out = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{title}</title><style>{STYLE}</style></head><body>", f"<h1>{title}</h1>",
        f"<ul><li>this cycle: {_e(d.summary)}</li><li>window: {_e(d.info['window'])}; "
        f"baseline: {_e(d.info['baseline'])}</li><li>test: {_e(d.test)}; FDR {_e(d.fdr)}</li>"
        f"<li>coder: {_e(d.coder)}</li></ul>",
        "<table><thead><tr><th>frame</th><th>category</th><th>direction</th><th>window</th>"
        "<th>baseline</th><th>rate ratio (95% CI)</th><th>q</th></tr></thead><tbody>",
    ]  # fmt: skip
    for r in d.shifts.itertuples():
        out.append(
            f"<tr><td>{_e(_frame(r))}</td><td>{_label(d, r)}</td>"
            f'<td class="{_e(r.direction)}">{_e(r.direction)}</td>'
            f"<td>{r.window_count}/{r.window_sentences} ({100 * r.window_share:.1f}%)</td>"
            f"<td>{r.baseline_count}/{r.baseline_sentences} ({100 * r.baseline_share:.1f}%)</td>"
            f"<td>{num(r.rate_ratio)} ({num(r.ratio_low)}–{num(r.ratio_high)})</td>"
            f"<td>{r.q_value:.2g}</td></tr>"
        )
    out.append("</tbody></table>")
    for r in d.shifts.itertuples():
        where = "in the window" if r.direction == "up" else "in the baseline (now rarer)"
        link, shows = report_link(d.report, r)
        out.append(
            f"<h2>{_e(r.label)} — {_e(_frame(r))} — {_e(r.direction)}</h2>"
            + (f'<p class="meta">In the report: <a class="report" href="{_e(link)}">'
               f"{_e(shows)}</a></p>" if link else "")
            + f"<p>Top {min(d.top, len(r.segment_ids))} sentences {where}:</p><ol>"
        )  # fmt: skip
        for row in _evidence(d, r):
            cite = _cite(row["title"], row["date"], row.get("url"), row.name)
            out.append(f"<li><q>{_e(row['text'])}</q> — {cite}</li>")
        out.append("</ol>")
    if not d.links.empty:
        out.append("<h2>Threat → response links that became significant</h2><ul>")
        for r in d.links.itertuples():
            out.append(f"<li>{_e(r.threat_label)} → {_e(r.priority_label)}: {r.a} units with "
                       f"both, lift {num(r.lift)}, q {r.q:.2g}</li>")  # fmt: skip
        out.append("</ul>")
    for c in d.claims:
        out.append(f"<h2>New passages on the claim “{_e(c['text'])}” ({_e(c['claim'])})</h2><ol>")
        for p in c["passages"]:
            cite = _cite(p["title"], p["date"], p.get("url"), p["segment_id"])
            out.append(f"<li><q>{_e(p['text'])}</q> — {cite}</li>")
        out.append("</ol>")
    out += [f'<p class="meta">cycle {_e(d.key)}</p>', MARK.format(d.key), "</body></html>"]
    return "\n".join(out) + "\n"
