"""The timeline: sourced events by date, scope and domain, with the documents of the same
dates (``secprio timeline``, the report's timeline)."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from secprio.analyses.registry import Analysis, Cli, Data, Param, View, register
from secprio.report.parts import STYLE, badge
from secprio.report.safe import script
from secprio.report.sections import Section
from secprio.timeline import events as tl
from secprio.timeline.figure import link_documents, svg


def load_events(data: Data, file: Path | str | None = None) -> list[tl.Event]:
    """The events of ``file`` or of the project's events file (none when it names none)."""
    path = data.context_file("events", file)
    return tl.load(path, categories=data.project.codebook.ids()) if path else []


def _timeline(data: Data, *, file: Path | str | None, tolerance_days: int) -> pd.DataFrame:
    found = tl.load(data.require_context("events", file), categories=data.project.codebook.ids())
    linked = link_documents(found, data.project.documents(), tolerance_days=tolerance_days)
    frame = tl.frame(found)
    docs = linked.groupby("event")["title"].agg("; ".join)
    frame["n_documents"] = frame["id"].map(linked.groupby("event").size()).fillna(0)
    frame["documents"] = frame["id"].map(lambda i: docs.get(i, ""))
    return frame.astype({"n_documents": int})


TIMELINE_JS = script("""
(function () {
  "use strict";
  document.querySelectorAll(".tl-event").forEach(function (el) {
    el.addEventListener("click", function () {
      const dates = (el.dataset.dates || "").split(" ").filter(Boolean);
      if (window.secprioDrill) {
        window.secprioDrill("", "", el.dataset.title,
          function (r) { return dates.includes(r.date); });
      }
    });
  });
})();
""")


def timeline_section(ctx: Data) -> Section | None:
    events = load_events(ctx)
    if not events:
        return None
    docs = ctx.project.documents()
    linked = link_documents(events, docs)
    labels = {c.id: c.label for c in ctx.project.codebook.categories}
    figure = svg(events, labels=labels, links=linked, document_dates=[d for d in docs["date"] if d])
    frame = tl.frame(events)
    by_event = linked.groupby("event")
    rows = []
    for e in events:
        mine = by_event.get_group(e.id) if e.id in by_event.groups else linked.iloc[0:0]
        titles = (
            "<br>".join(
                f"{escape(str(d.title))} <small>({escape(str(d.date))}, "
                f"{escape(str(d.language))})</small>"
                for d in mine.itertuples(index=False)
            )
            or "<small>none</small>"
        )
        host = e.url.split("//", 1)[-1].split("/", 1)[0]
        src = (
            f'<span class="tag" title="{escape(e.url)}">{escape(host)}</span>'
            if e.sourced
            else badge("unsourced", "miss")
        )
        dates = " ".join(sorted(set(mine["date"])))
        rows.append(
            f'<tr class="tl-event" data-dates="{escape(dates)}" '
            f'data-title="{escape(e.title)}"><td>{e.date.isoformat()}</td>'
            f"<td>{escape(e.title)}{' ' + badge('key') if e.key else ''}</td>"
            f"<td>{escape(e.scope)}</td><td>{escape(', '.join(e.domains))}</td>"
            f"<td>{src}</td><td>{titles}</td></tr>"
        )
    n_unsourced = int((~frame["sourced"]).sum())
    html = (
        STYLE + f"<p>{len(events)} events by domain (rows) and scope (marker); "
        f"{n_unsourced} without a source are drawn hollow and marked below. The bottom row "
        "marks the dates of the documents. Click a marker or a row for the coded sentences "
        "of the documents of that date (the same day, within 3 days, or reporting on the "
        "event).</p>"
        + figure
        + f"<details><summary>The {len(events)} events and the documents of their dates"
        "</summary>" + '<table id="events"><thead><tr><th>date</th><th>event</th><th>scope</th>'
        "<th>domains</th><th>source</th><th>documents of the same date</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></details>" + TIMELINE_JS
    )
    return Section(
        "timeline",
        "Timeline",
        html,
        tables={"events": frame, "event_documents": linked},
        files={"timeline.svg": figure},
    )


def _show(v: View) -> None:
    rows = [
        [r.date, r.title[:70], r.scope, "yes" if r.sourced else "UNSOURCED", str(r.n_documents)]
        for r in v.frame.itertuples(index=False)
    ]
    v.table("Timeline", ["date", "event", "scope", "sourced", "documents"], rows)
    out = v.options.get("svg_out")
    if out:
        p = v.data.project
        path = v.options.get("file") or p.context_file("events") or Path("events.yaml")
        found = tl.load(path, categories=p.codebook.ids())
        docs = p.documents()
        labels = {c.id: c.label for c in p.codebook.categories}
        Path(out).write_text(
            svg(
                found,
                labels=labels,
                links=link_documents(found, docs),
                document_dates=[d for d in docs["date"] if d],
            ),
            encoding="utf-8",
        )
        v.note(f"figure: {out}")


register(
    Analysis(
        "timeline",
        _timeline,
        "Events with their sourcing and the documents of the same dates.",
        params=(
            Param("file", Path, None, "Events YAML (default: the project's events file)."),
            Param(
                "tolerance_days",
                int,
                3,
                "Days between an event and a document of the same date.",
                cli=False,
            ),
        ),  # fmt: skip
        columns=(
            "id",
            "date",
            "title",
            "type",
            "scope",
            "parties",
            "domains",
            "url",
            "sourced",
            "key",
            "note",
            "n_documents",
            "documents",
        ),
        cli=Cli(
            "timeline",
            help="Events by date, scope and sourcing, with the documents of the same dates.",
            view=(
                Param("svg_out", Path, None, "Write the timeline figure (SVG) here.", flag="--svg"),
            ),  # fmt: skip
            show=_show,
        ),
        section=timeline_section,
        order=40,
    )
)
