"""The timeline figure: events by domain (rows) and scope (marker), documents beneath.

Drawn as plain SVG text so the report can inline it and make every marker clickable: an event
carries the dates of its linked documents, a click lists their coded sentences.
"""

from __future__ import annotations

import datetime as dt
from html import escape

import pandas as pd

from secprio.timeline.events import Event

SCOPE_COLOUR = {"organization": "#1f5f99", "bilateral": "#c05621", "external": "#6b46c1"}
NO_DOMAIN = "(no domain)"
LEFT, RIGHT, TOP, ROW, WIDTH = 235, 20, 34, 22, 1040


def event_date(extra: object) -> str:
    """The date a document reports on (``event:`` in its metadata), if it names one."""
    value = extra.get("event") if isinstance(extra, dict) else None
    return str(value)[:10] if value else ""


def link_documents(
    events: list[Event], documents: pd.DataFrame, *, tolerance_days: int = 3
) -> pd.DataFrame:
    """Documents of the same dates as each event: dated within ``tolerance_days`` of it, or
    naming its date as the event they report on."""
    rows = []
    docs = documents.assign(
        when=pd.to_datetime(documents["date"], errors="coerce", format="ISO8601"),
        reported=documents["extra"].map(event_date),
    )
    for e in events:
        day = pd.Timestamp(e.date)
        near = (docs["when"] - day).abs() <= pd.Timedelta(days=tolerance_days)
        reports = docs["reported"] == e.date.isoformat()
        for d in docs[near.fillna(False) | reports].itertuples(index=False):
            rows.append(
                {
                    "event": e.id,
                    "document_id": int(d.document_id),
                    "title": d.title,
                    "date": d.date or "",
                    "doc_type": d.doc_type,
                    "language": d.language,
                    "how": "same date"
                    if d.date == e.date.isoformat()
                    else "reports on it"
                    if d.reported == e.date.isoformat()
                    else f"within {tolerance_days} days",
                }
            )
    return pd.DataFrame(
        rows, columns=["event", "document_id", "title", "date", "doc_type", "language", "how"]
    )


def _x(day: dt.date, lo: dt.date, hi: dt.date) -> float:
    span = max((hi - lo).days, 1)
    return LEFT + (WIDTH - LEFT - RIGHT) * (day - lo).days / span


def _marker(scope: str, x: float, y: float, *, sourced: bool) -> str:
    colour = SCOPE_COLOUR.get(scope, "#444")
    fill = colour if sourced else "#fff"
    style = f'fill="{fill}" stroke="{colour}" stroke-width="1.6"'
    if scope == "bilateral":
        return f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" {style}/>'
    if scope == "external":
        return (
            f'<polygon points="{x:.1f},{y - 6:.1f} {x - 6:.1f},{y + 5:.1f} '
            f'{x + 6:.1f},{y + 5:.1f}" {style}/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5.5" {style}/>'


def svg(
    events: list[Event],
    *,
    labels: dict[str, str],
    links: pd.DataFrame | None = None,
    document_dates: list[str] | None = None,
) -> str:
    """The figure as an ``<svg>`` element; markers carry ``data-dates`` for the drill-down."""
    doc_days = sorted({dt.date.fromisoformat(d) for d in document_dates or [] if d})
    days = [e.date for e in events] + doc_days
    if not days:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    lo, hi = dt.date(min(days).year, 1, 1), dt.date(max(days).year + 1, 1, 1)
    rows = [c for c in labels if any(c in e.domains for e in events)]
    if any(not e.domains for e in events):
        rows.append(NO_DOMAIN)
    height = TOP + ROW * (len(rows) + 2) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" font-size="11" '
        f'font-family="system-ui, sans-serif">'
    ]
    for year in range(lo.year, hi.year + 1):
        x = _x(dt.date(year, 1, 1), lo, hi)
        label = (
            f'<text x="{x + 2:.1f}" y="{TOP - 12}" fill="#555">{year}</text>'
            if year < hi.year
            else ""
        )
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" y2="{height - 24}" '
            f'stroke="#e3e8ee"/>{label}'
        )
    for i, row in enumerate([*rows, "documents"]):
        y = TOP + ROW * i + ROW / 2
        name = "Documents" if row == "documents" else labels.get(row, row)
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(name)}</text>'
        )
    dates_of = (
        {}
        if links is None
        else links.groupby("event")["date"].agg(lambda s: " ".join(sorted(set(s)))).to_dict()
    )
    # external events last, so that a crisis is drawn over the summit of the same week
    for e in sorted(events, key=lambda ev: ev.scope == "external"):
        x = _x(e.date, lo, hi)
        tip = f"{e.date.isoformat()} · {e.title} · {e.scope}" + (
            "" if e.sourced else " · UNSOURCED"
        )
        if e.key:
            parts.append(
                f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" '
                f'y2="{TOP + ROW * len(rows)}" stroke="#999" stroke-dasharray="3,3"/>'
            )
        for row in e.domains or (NO_DOMAIN,):
            if row not in rows:
                continue
            y = TOP + ROW * rows.index(row) + ROW / 2
            parts.append(
                f'<g class="tl-event" data-event="{escape(e.id)}" '
                f'data-dates="{escape(dates_of.get(e.id, ""))}" '
                f'data-title="{escape(e.title)}"><title>{escape(tip)}</title>'
                f"{_marker(e.scope, x, y, sourced=e.sourced)}</g>"
            )
    y_docs = TOP + ROW * len(rows) + ROW / 2
    for day in doc_days:
        x = _x(day, lo, hi)
        parts.append(
            f'<g class="tl-event" data-dates="{day.isoformat()}" '
            f'data-title="Documents of {day.isoformat()}"><title>documents of '
            f'{day.isoformat()}</title><rect x="{x - 1.5:.1f}" y="{y_docs - 7:.1f}" '
            f'width="3" height="14" fill="#555"/></g>'
        )
    parts.append(_legend(height - 10))
    parts.append("</svg>")
    return "".join(parts)


def _legend(y: float) -> str:
    items, x = [], LEFT
    for scope in SCOPE_COLOUR:
        items.append(
            _marker(scope, x, y - 4, sourced=True) + f'<text x="{x + 10}" y="{y}">{scope}</text>'
        )
        x += 110
    items.append(
        _marker("organization", x, y - 4, sourced=False)
        + f'<text x="{x + 10}" y="{y}">hollow: no source</text>'
    )
    items.append(
        f'<line x1="{x + 140}" y1="{y - 10}" x2="{x + 140}" y2="{y + 2}" '
        f'stroke="#999" stroke-dasharray="3,3"/><text x="{x + 146}" y="{y}">key event '
        "(case window)</text>"
    )
    return "".join(items)
