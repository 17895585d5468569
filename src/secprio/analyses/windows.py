"""Case windows: each category's salience before and after an event, with the change and its
95% bootstrap interval (``secprio compare --event``, the report's case windows)."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from secprio.analyses.registry import CODER, REQUIRED, Analysis, Cli, Data, Param, View, register
from secprio.analyses.timeline import load_events
from secprio.display import percent, points
from secprio.measure import windows
from secprio.report.parts import STYLE, badge, png
from secprio.report.sections import Section
from secprio.timeline import events as tl

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _event(data: Data, event: str) -> tuple[dt.date, str]:
    try:
        return dt.date.fromisoformat(event), ""
    except ValueError:
        found = tl.find(tl.load(data.require_context("events")), event)
        return found.date, found.id


def _window(data: Data, *, event: str, before: str, after: str) -> pd.DataFrame:
    day, event_id = _event(data, event)
    m = data.project.settings.measure
    return windows.window_counts(
        data.counts, data.project.codebook, event=day, before=before,
        after=after, n_boot=m.bootstrap, seed=m.seed, event_id=event_id or event,
    )  # fmt: skip


# -- the report's section ----------------------------------------------------------------------
def _forest(df: pd.DataFrame, title: str) -> Figure:
    import matplotlib.pyplot as plt

    part = df[df["kind"] == "priority"].iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.2, 0.45 * len(part) + 1.2))
    y = np.arange(len(part))
    err = np.vstack([part["diff"] - part["diff_lo"], part["diff_hi"] - part["diff"]]) * 100
    ax.errorbar(
        part["diff"] * 100, y, xerr=np.clip(err, 0, None), fmt="o", color="#243b53", capsize=3
    )
    ax.axvline(0, color="#999", lw=1)
    ax.set_yticks(y, part["label"])
    ax.set_xlabel("change in salience, percentage points (after − before, 95% CI)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _shares(df: pd.DataFrame, side: str) -> list[str]:
    cols = (df[f"salience_{side}"], df[f"salience_{side}_lo"], df[f"salience_{side}_hi"])
    return [
        "— (no documents)" if pd.isna(a) else f"{percent(a)} [{percent(lo)}, {percent(hi)}]"
        for a, lo, hi in zip(*cols, strict=True)
    ]


def windows_section(ctx: Data) -> Section | None:
    from secprio.report.html import table

    key = [e for e in load_events(ctx) if e.key]
    if not key:
        return None
    m = ctx.project.settings.measure
    parts, frames = [STYLE], []
    files: dict[str, bytes | str] = {}
    parts.append(
        "<p>Salience of each category in the documents dated in the two years before "
        "an event [event − 2y, event) and in the two years from it [event, event + 2y]. "
        "The change has a 95% interval from a bootstrap that resamples documents within "
        f"each window independently ({m.bootstrap} replicates, seed {m.seed}). A change "
        "whose interval excludes 0 is marked ●. A window with fewer than "
        f"{windows.MIN_DOCS} documents is flagged.</p>"
    )
    for e in key:
        df = ctx.run("window", event=e.id)
        frames.append(df)
        head = df.iloc[0]
        flag = badge(f"warning: {head['warning']}", "miss") if head["warning"] else ""
        source = "" if e.sourced else " " + badge("unsourced event", "miss")
        parts.append(
            f"<h3>{escape(e.title)} ({e.date.isoformat()}){source}</h3>"
            f"<p class='muted'>before: {df.attrs['start']} – {e.date.isoformat()}, "
            f"{head['n_docs_before']} documents, {head['n_sentences_before']} sentences;"
            f" after: {e.date.isoformat()} – {df.attrs['end']}, {head['n_docs_after']} "
            f"documents, {head['n_sentences_after']} sentences {flag}</p>"
        )
        shown = df.assign(
            before=_shares(df, "before"),
            after=_shares(df, "after"),
            change=[
                "— (a window has no documents)"
                if pd.isna(d)
                else f"{'● ' if lo > 0 or hi < 0 else ''}{points(d * 100, lo * 100, hi * 100)} pp"
                for d, lo, hi in zip(df["diff"], df["diff_lo"], df["diff_hi"], strict=True)
            ],
        )[["label", "kind", "before", "after", "change"]]
        img, figs = png(
            _forest(df, e.title), f"change in salience around {e.title}", f"window_{e.id}"
        )
        files.update(figs)
        parts.append(
            table(shown, id=f"window-{e.id}") + f"<details><summary>Figure</summary>{img}</details>"
        )
    return Section(
        "windows",
        "Case windows: before and after key events",
        "".join(parts),
        tables={"windows": pd.concat(frames, ignore_index=True)},
        files=files,
    )


def _show(v: View) -> None:
    df = v.frame
    first = df.iloc[0]
    rows = [
        [
            r.label,
            r.kind,
            percent(r.salience_before),
            percent(r.salience_after),
            points(r.diff * 100, r.diff_lo * 100, r.diff_hi * 100),
            "●" if r.diff_lo > 0 or r.diff_hi < 0 else "",
        ]
        for r in df.itertuples(index=False)
    ]
    v.table(
        f"{v.options['event']}: {df.attrs['start']} … {df.attrs['event']} … "
        f"{df.attrs['end']} ({first['n_docs_before']} vs {first['n_docs_after']} documents)",
        ["category", "kind", "before", "after", "change pp [95% CI]", ""],
        rows,
    )
    if first["warning"]:
        v.warn(str(first["warning"]))


register(
    Analysis(
        "window",
        _window,
        "Salience before vs after an event (an id from events.yaml or an ISO date), with the "
        "change and its 95% bootstrap interval; n documents per window and a warning when "
        "thin.",
        params=(
            Param(
                "event",
                str,
                REQUIRED,
                "An event id (events.yaml) or ISO date: case window.",
                metavar="ID",
            ),
            Param("before", str, "2y", "Window before the event: 2y, 18m, 90d."),
            Param("after", str, "2y", "Window from the event on."),
            CODER,
        ),  # fmt: skip
        columns=(
            "event",
            "category",
            "label",
            "kind",
            "n_docs_before",
            "n_docs_after",
            "n_sentences_before",
            "n_sentences_after",
            "salience_before",
            "salience_before_lo",
            "salience_before_hi",
            "salience_after",
            "salience_after_lo",
            "salience_after_hi",
            "diff",
            "diff_lo",
            "diff_hi",
            "warning",
        ),
        cli=Cli(
            "compare",
            help="Salience before vs after an event (--event), or a comparison grid (--by).",
            when="event",
            show=_show,
        ),
        section=windows_section,
        order=50,
        report_tables=lambda data: [
            ("windows", {"event": e.id}) for e in load_events(data) if e.key
        ],  # fmt: skip
    )
)
