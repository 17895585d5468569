"""Report sections of the analyses: Table 1 (threat → response links), comparison grids,
timeline, case windows, trends, expert vs evidence and the claim check (orders 30–80).

Every section computes from the report context (the store's effective codings), so the
report, the CLI and ``secprio.api`` give the same numbers. Tables are also written as CSV/JSON.
"""

from __future__ import annotations

import base64
from html import escape

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from secprio.api import claim_check, with_passages
from secprio.display import percent, points
from secprio.errors import MeasureError, SecprioError
from secprio.measure import claims as claims_mod
from secprio.measure import compare, groups, trends, windows
from secprio.measure import expert as expert_mod
from secprio.measure import links as links_mod
from secprio.report import figures
from secprio.report.anchors import cell as cell_id
from secprio.report.html import THIN_BG, table
from secprio.report.safe import script
from secprio.report.sections import Context, Section, register
from secprio.timeline import events as tl
from secprio.timeline.figure import link_documents, svg

STYLE = """<style>
.t1 td { vertical-align: top; } .t1 ol { margin: 0; padding-left: 1.2rem; }
.t1 li { margin-bottom: .5rem; } .t1 blockquote { margin: .25rem 0 .25rem .5rem;
  padding-left: .5rem; border-left: 3px solid #d0d7de; font-size: .84rem; }
.t1 cite { display: block; color: #555; font-size: .76rem; font-style: normal; }
.badge { display: inline-block; font-size: .72rem; border-radius: 3px; padding: 0 .35rem;
  margin-left: .25rem; background: #eef2f7; }
.badge.sig, .badge.agree, .badge.agrees, .badge.supported { background: #c6f0d0; }
.badge.ns, .badge.partly, .badge.weak, .badge.expert-only { background: #ffe9a8; }
.badge.differs, .badge.not_found, .badge.miss { background: #ffd0d0; }
.toggle button { margin-right: .3rem; } .toggle button.on { background: #243b53; color: #fff; }
table.heat td.cg { text-align: center; min-width: 4rem; }
svg.timeline .tl-event { cursor: pointer; } svg.timeline .tl-event:hover { opacity: .6; }
tr.tl-event { cursor: pointer; } tr.tl-event:hover { background: #f6f8fa; }
</style>"""


def _png(fig: Figure, alt: str, name: str) -> tuple[str, dict[str, bytes | str]]:
    """The figure embedded in the page, and its files: PNG at 300 dpi, SVG and PDF."""
    preview, written = figures.files(name, fig)
    img = base64.b64encode(preview).decode()
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{img}">', written


DASH_CELL = '<td class="num">—</td>'


def _badge(text: str, cls: str = "") -> str:
    return f'<span class="badge {escape(cls or text)}">{escape(text)}</span>'


def _labels(ctx: Context) -> dict[str, str]:
    return {c.id: c.label for c in ctx.project.codebook.categories}


def _expert(ctx: Context) -> expert_mod.Assessment | None:
    path = ctx.project.context_file("expert")
    if path is None or not path.is_file():
        return None
    return expert_mod.load(path, categories=ctx.project.codebook.ids())


def _events(ctx: Context) -> list[tl.Event]:
    path = ctx.project.context_file("events")
    if path is None or not path.is_file():
        return []
    return tl.load(path, categories=ctx.project.codebook.ids())


# -- Table 1 -----------------------------------------------------------------------------------
@register(30)
def links_section(ctx: Context) -> Section | None:
    cb = ctx.project.codebook
    if not cb.ids("threat") or not cb.ids("priority"):
        return None
    full = links_mod.link_table(ctx.sentences, ctx.codings, cb)
    assessment = _expert(ctx)
    view = links_mod.table1(full, expert_pairs=assessment.pairs if assessment else {})
    shown = [(str(t), str(p)) for t, p in zip(view["threat"], view["priority"], strict=True) if p]
    psg = links_mod.passages(ctx.sentences, ctx.codings, cb, shown)
    view = with_passages(view, psg)
    intro = (
        f"<p>Co-occurrence of threat and priority codings within a <b>paragraph</b> "
        f"({int(full['n_units'].iat[0])} paragraphs). Per pair: lift = a·N/((a+b)(a+c)), "
        "log-odds ratio with 0.5 added to each cell and Woolf's 95% interval, Fisher's "
        "exact test (one-sided) and Benjamini–Hochberg q over all pairs. A response is "
        "<b>significant</b> at q &lt; 0.05 with at least 2 shared paragraphs; a threat "
        "with none shows its best responses by lift, marked not significant. The seed "
        "study's pairs (from the expert assessment) stand beside the evidence.</p>"
    )
    html = STYLE + intro + _table1_html(view, psg, assessment, _labels(ctx))
    html += (
        "<details><summary>All threat × priority pairs</summary>"
        + _lift_grid(full)
        + table(full.drop(columns=["threat_label", "priority_label"]), id="links-table", floats=3)
        + "</details>"
    )
    return Section(
        "links",
        "Threat → response links (Table 1)",
        html,
        tables={"links": full, "table1": view, "link_passages": psg},
    )


def _passage_html(psg: pd.DataFrame, threat: str, priority: str) -> str:
    rows = psg[(psg["threat"] == threat) & (psg["priority"] == priority)]
    if rows.empty:
        return ""
    lead = str(rows["text"].iat[0])
    lead = lead if len(lead) <= 150 else lead[:150].rsplit(" ", 1)[0] + " …"
    quotes = "".join(
        f'<blockquote title="{escape(r.unit_text)}">{escape(r.text)}<cite>'
        f"{escape(str(r.title))} · {escape(str(r.date))} · "
        f"{escape(str(r.doc_type))}"
        "</cite></blockquote>"
        for r in rows.itertuples(index=False)
    )
    return (
        f"<details><summary>{len(rows)} passage(s): <i>{escape(lead)}</i></summary>"
        f"{quotes}</details>"
    )


def _table1_html(
    view: pd.DataFrame,
    psg: pd.DataFrame,
    assessment: expert_mod.Assessment | None,
    labels: dict[str, str],
) -> str:
    body = []
    for threat, part in view.groupby("threat", sort=False):
        items = []
        for r in part.itertuples(index=False):
            if not r.priority:
                items.append("<li>no co-occurrence with any priority</li>")
                continue
            cls = "sig" if r.status == "significant" else "ns"
            mark = _badge(r.agreement, r.agreement.replace(" ", "-")) if r.agreement else ""
            lift = "—" if pd.isna(r.lift) else f"{r.lift:.2f}"
            items.append(
                f"<li><b>{escape(r.priority_label)}</b>{_badge(r.status, cls)}{mark}<br>"
                f"<small>lift {lift} · log-OR {r.log_or:.2f} [{r.log_or_lo:.2f}, "
                f"{r.log_or_hi:.2f}] · q {r.q:.3g} · {r.a} shared paragraphs</small>"
                f"{_passage_html(psg, str(threat), r.priority)}</li>"
            )
        pairs = assessment.pairs.get(str(threat), []) if assessment else []
        expert = ", ".join(labels.get(p, p) for p in pairs) or "—"
        note = assessment.notes.get(str(threat), "") if assessment else ""
        body.append(
            f'<tr data-threat="{escape(str(threat))}"><th class="rowh">'
            f"{escape(str(part['threat_label'].iat[0]))}</th><td><ol>{''.join(items)}</ol></td>"
            f"<td><b>{escape(expert)}</b><br><small>{escape(note)}</small></td>"
            f"<td>{_badge(str(part['threat_agreement'].iat[0]))}</td></tr>"
        )
    return (
        '<table class="t1" id="table1"><thead><tr><th>External threat</th>'
        "<th>Responses in the evidence, ranked by lift</th><th>Seed study's pair</th>"
        f"<th>Agreement</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _lift_grid(full: pd.DataFrame) -> str:
    prios = list(dict.fromkeys(full["priority_label"]))
    head = "".join(f"<th>{escape(p)}</th>" for p in prios)
    rows = []
    for label, part in full.groupby("threat_label", sort=False):
        cells = []
        for r in part.itertuples(index=False):
            shade = figures.colour(1 + 8 * min(max(r.log_or, 0.0), 3.0) / 3.0)
            star = "*" if r.significant else ""
            lift = "–" if np.isnan(r.lift) else f"{r.lift:.1f}"
            cells.append(
                f'<td class="num" style="background:{shade}" title="a={r.a}, '
                f'q={r.q:.3g}">{lift}{star}</td>'
            )
        rows.append(f"<tr><th class='rowh'>{escape(str(label))}</th>{''.join(cells)}</tr>")
    return (
        f'<table class="heat"><caption>Lift per pair (colour: log-odds ratio; * '
        f"significant)</caption><thead><tr><th></th>{head}</tr></thead><tbody>"
        f"{''.join(rows)}</tbody></table>"
    )


# -- comparison grids --------------------------------------------------------------------------
GRIDS = (
    ("members", "Member state × priority"),
    ("year", "Year × priority"),
    ("doc_type", "Document type × priority"),
)
MODES = (("count", "Counts"), ("pct", "% of sentences"), ("row_pct", "Row %"))
TOGGLE_JS = script("""
(function () {
  "use strict";
  function show(mode) {
    document.querySelectorAll("td.cg").forEach(function (td) {
      td.querySelector(".v").textContent = td.dataset[mode];
      td.style.background = td.dataset["bg" + mode];
      td.style.color = td.dataset["fg" + mode];
    });
    document.querySelectorAll(".toggle button").forEach(function (b) {
      b.classList.toggle("on", b.dataset.mode === mode);
    });
  }
  document.querySelectorAll(".toggle button").forEach(function (b) {
    b.addEventListener("click", function () { show(b.dataset.mode); });
  });
})();
""")


def _cell_style(value: float, top: float) -> tuple[str, str]:
    v = 1 + 8 * value / top if top > 0 else 1.0
    return figures.colour(v), "#fff" if v >= 6.5 else "#000"


def grid_html(long: pd.DataFrame, *, by: str, caption: str, field: str = "") -> str:
    """A group × category grid whose cells carry all three values; the toggle picks one and a
    click opens the sentences of the cell (``field``, default ``by``: the evidence field
    filtered on)."""
    field = field or by
    cats = list(dict.fromkeys(long["category"]))
    labels = dict(zip(long["category"], long["label"], strict=False))
    tops = {m: float(long[m].max()) for m, _ in MODES}
    head = "".join(f"<th>{escape(labels[c])}</th>" for c in cats)
    rows = []
    for group, part in long.groupby("group", sort=False):
        value = "" if group in (compare.UNDATED, groups.NONE) else str(group)
        n = int(part["n_sentences"].iat[0])
        cells = []
        for r in part.itertuples(index=False):
            attrs = {"count": str(r.count), "pct": f"{r.pct:.1f}%", "rowpct": f"{r.row_pct:.0f}%"}
            style = {
                "count": _cell_style(r.count, tops["count"]),
                "pct": _cell_style(r.pct, tops["pct"]),
                "rowpct": _cell_style(r.row_pct, tops["row_pct"]),
            }
            data = "".join(
                f' data-{k}="{escape(v)}" data-bg{k}="{style[k][0]}" data-fg{k}="{style[k][1]}"'
                for k, v in attrs.items()
            )
            bg, fg = style["count"]
            anchor = f' id="{cell_id(r.category, by, value)}"' if value else ""
            cells.append(
                f'<td{anchor} class="cell cg" style="background:{bg};color:{fg}"{data} '
                f'data-cat="{escape(r.category)}" data-field="{escape(field)}" '
                f'data-value="{escape(value)}" title="{r.count} of {n} sentences">'
                f'<span class="v">{r.count}</span></td>'
            )
        rows.append(
            f"<tr><th class='rowh'>{escape(str(group))} <small>({n})</small></th>"
            f"{''.join(cells)}</tr>"
        )
    return (
        f'<table class="heat grid" data-by="{escape(by)}"><caption>{escape(caption)}'
        f"</caption><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table>"
    )


@register(35)
def compare_section(ctx: Context) -> Section | None:
    cb = ctx.project.codebook
    if not cb.ids("priority"):
        return None
    buttons = "".join(
        f'<button type="button" data-mode="{m.replace("_", "")}"'
        f"{' class=on' if m == 'count' else ''}>{label}</button>"
        for m, label in MODES
    )
    parts = [
        STYLE,
        "<p>Coded sentences per group and priority (MAXQDA's Code Matrix "
        "Browser). <b>Counts</b>: sentences coded; <b>% of sentences</b>: the weighted "
        "share of the group's sentences coded (salience); <b>Row %</b>: the priority's "
        "share of the group's priority codings. Member states: a sentence counts for the "
        "state that <b>issued</b> its document (documents of the organization count for "
        "no state); the alternatives, <code>secprio compare --by members --attribution "
        "fractional</code> (1/k of the sentence to each of the k states a document lists) "
        "and <code>every</code> (the whole sentence to each), are in docs/analyses.md. "
        "Click a cell for its sentences.</p>",
        f'<p class="toggle">Show: {buttons}</p>',
    ]
    tables = {}
    for by, title in GRIDS:
        parts.append(f"<h3>{escape(title)}</h3>")
        try:
            long = compare.grid(ctx.sentences, ctx.codings, cb, by=by)
        except MeasureError as exc:  # e.g. no document issued by a member state
            parts.append(f"<p class='muted'>Not available: {escape(exc.args[0])}</p>")
            continue
        tables[f"grid_{by}"] = long
        parts.append(
            grid_html(
                long,
                by=by,
                field="issuer" if by == "members" else by,  # the drill-down follows the rule
                caption=f"Rows: {by}; in brackets the number of "
                "sentences. Colour scaled to the grid's largest value.",
            )
        )
    parts.append(TOGGLE_JS)
    return Section(
        "compare",
        "Comparisons: member states, years, document types",
        "".join(parts),
        tables=tables,
    )


# -- timeline ----------------------------------------------------------------------------------
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


@register(40)
def timeline_section(ctx: Context) -> Section | None:
    events = _events(ctx)
    if not events:
        return None
    docs = ctx.project.documents()
    linked = link_documents(events, docs)
    figure = svg(
        events, labels=_labels(ctx), links=linked, document_dates=[d for d in docs["date"] if d]
    )
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
            else _badge("unsourced", "miss")
        )
        dates = " ".join(sorted(set(mine["date"])))
        rows.append(
            f'<tr class="tl-event" data-dates="{escape(dates)}" '
            f'data-title="{escape(e.title)}"><td>{e.date.isoformat()}</td>'
            f"<td>{escape(e.title)}{' ' + _badge('key') if e.key else ''}</td>"
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


# -- case windows ------------------------------------------------------------------------------
def _forest(df: pd.DataFrame, title: str) -> Figure:
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


@register(50)
def windows_section(ctx: Context) -> Section | None:
    key = [e for e in _events(ctx) if e.key]
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
        df = windows.window(
            ctx.sentences,
            ctx.codings,
            ctx.project.codebook,
            event=e.date,
            n_boot=m.bootstrap,
            seed=m.seed,
            event_id=e.id,
        )
        frames.append(df)
        head = df.iloc[0]
        flag = _badge(f"warning: {head['warning']}", "miss") if head["warning"] else ""
        source = "" if e.sourced else " " + _badge("unsourced event", "miss")
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
        img, figs = _png(
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


# -- trends ------------------------------------------------------------------------------------
def _trend_figure(yearly: pd.DataFrame, proj: pd.DataFrame) -> Figure:
    """Small multiples, one panel per priority: salience per year with its band, and the
    extrapolation (dashed, hatched band) when one was made."""
    prios = yearly[yearly["kind"] == "priority"]
    cats = list(dict.fromkeys(prios["category"]))
    cols = 4
    rows = -(-len(cats) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.6 * rows), sharex=True, squeeze=False)
    top = float(prios["salience_hi"].max()) * 100 * 1.05 or 1.0
    for ax, cat in zip(axes.flat, cats, strict=False):
        part = prios[prios["category"] == cat]
        ax.fill_between(
            part["year"],
            part["salience_lo"] * 100,
            part["salience_hi"] * 100,
            color="#243b53",
            alpha=0.15,
            lw=0,
        )
        ax.plot(part["year"], part["salience"] * 100, marker="o", ms=2.5, color="#243b53")
        future = proj[(proj["category"] == cat) & (proj["status"] == "extrapolation")]
        if not future.empty:
            ax.axvspan(
                float(future["year"].min()) - 0.5,
                float(future["year"].max()) + 0.5,
                color="#f1f1f1",
                zorder=0,
            )
            ax.fill_between(
                future["year"].astype(float),
                future["pi_lo"] * 100,
                future["pi_hi"] * 100,
                color="#c05621",
                alpha=0.15,
                hatch="//",
                lw=0,
            )
            ax.plot(future["year"], future["salience"] * 100, ls="--", color="#c05621")
        ax.set_title(str(part["label"].iat[0]), fontsize=9)
        ax.set_ylim(0, top)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(cats) :]:
        ax.axis("off")
    fig.supylabel("salience, % of weighted sentences", fontsize=8)
    label = (
        "; dashed: extrapolation with 95% prediction band"
        if (proj["status"] == "extrapolation").any()
        else ""
    )
    fig.suptitle(f"Priorities per year (band: 95% bootstrap interval{label})", fontsize=10)
    fig.tight_layout()
    return fig


def _projection_table(proj: pd.DataFrame) -> pd.DataFrame:
    part = proj[proj["kind"] == "priority"]
    cells = [
        f"{s:.1%} [{lo:.1%}, {hi:.1%}]"
        for s, lo, hi in zip(part["salience"], part["pi_lo"], part["pi_hi"], strict=True)
    ]
    wide = part.assign(cell=cells).pivot(index="label", columns="year", values="cell")
    wide = wide.reindex(list(dict.fromkeys(part["label"])))
    return wide.rename(columns=lambda y: f"{int(y)} (extrapolation)").reset_index()


@register(60)
def trends_section(ctx: Context) -> Section | None:
    m = ctx.project.settings.measure
    yearly = trends.per_year(
        ctx.sentences, ctx.codings, ctx.project.codebook, n_boot=m.bootstrap, seed=m.seed
    )
    if yearly.empty:
        return Section(
            "trends",
            "Trends",
            "<p class='muted'>Not available: no document is dated, so there is no year to "
            "follow. Add <code>date:</code> to the documents' metadata (docs/formats.md).</p>",
        )
    proj = trends.projection(yearly)
    img, figs = _png(_trend_figure(yearly, proj), "salience of each priority per year", "trends")
    made = (proj["status"] == "extrapolation").any()
    status = (
        f"<p><b>Extrapolation</b> ({escape(str(proj['basis'].iat[0]))}): a weighted "
        "straight line continued three years, with 95% prediction intervals. It assumes "
        "nothing changes the trend; read it as a description of the past, not a "
        "forecast.</p>"
        if made
        else f"<p><b>No projection</b>: {escape(str(proj['status'].iat[0]))} (a year counts "
        f"with at least {trends.MIN_SENTENCES} sentences).</p>"
    )
    sizes = yearly.drop_duplicates("year")[["year", "n_documents", "n_sentences"]]
    html = (
        "<p>Salience per year with 95% bootstrap intervals over the year's documents.</p>"
        + img
        + status
        + "<details><summary>Documents and sentences per year</summary>"
        + table(sizes, id="trend-sizes")
        + "</details>"
        + (table(_projection_table(proj), id="projection") if made else "")
    )
    return Section(
        "trends",
        "Trends",
        html,
        tables={"trends": yearly, "projection": proj},
        files=figs,
    )


# -- expert vs evidence ------------------------------------------------------------------------
def _expert_figure(diff: pd.DataFrame, name: str) -> Figure:
    grid = diff[["expert", "evidence_score"]].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(5.6, 0.55 * len(diff) + 1.4))
    ax.imshow(grid, cmap=figures.CMAP, vmin=1, vmax=9, aspect="auto")
    ax.set_xticks([0, 1], [f"expert\n({name})", "evidence\n(95% interval)"])
    ax.set_yticks(range(len(diff)), diff["label"])
    for i, r in enumerate(diff.itertuples(index=False)):
        for j, v in enumerate((r.expert, r.evidence_score)):
            if j and pd.isna(v):
                ax.text(j, i, "no evidence", ha="center", va="center", fontsize=8, color="#666")
                continue
            colour = "white" if v >= 6.5 else "black"
            ax.text(
                j,
                i - (0.1 if j else 0),
                f"{v:.0f}" if j == 0 else f"{v:.1f}",
                ha="center",
                va="center",
                color=colour,
                fontweight="bold",
            )
            if j:
                ax.text(
                    j,
                    i + 0.25,
                    f"[{r.evidence_lo:.1f}–{r.evidence_hi:.1f}]",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=colour,
                )
    ax.set_title("Expert rating vs evidence score (1–9)", fontsize=10)
    fig.tight_layout()
    return fig


def _expert_period_cell(r: pd.Series) -> str:
    n = (
        f"<small class='n'>n={int(r['n_coded'])} sent., {int(r['n_docs_coded'])}/"
        f"{int(r['n_documents'])} docs</small>"
    )
    if pd.isna(r["evidence_score"]):
        return f'<td class="cell none" style="background:#e4e4e4">no evidence<br>{n}</td>'
    v = float(r["evidence_score"])
    thin = r["evidence"] == "insufficient"
    fg = "#fff" if v >= 6.5 and not thin else "#000"
    diff = float(r["diff_score"])
    inside = "rating in CI" if r["expert_in_interval"] else "rating outside CI"
    bg = f"{THIN_BG},{figures.colour(v)}" if thin else figures.colour(v)
    return (
        f'<td class="cell{" thin" if thin else ""}" style="background:{bg};color:{fg}">'
        f"<b>{v:.1f}</b> <small>[{r['evidence_lo']:.1f}–{r['evidence_hi']:.1f}]"
        f"</small><br>Δ {diff:+.1f} <small>({inside})</small><br>{n}"
        + ("<br><small>insufficient evidence</small>" if thin else "")
        + "</td>"
    )


def _expert_periods(ctx: Context, assessment: expert_mod.Assessment) -> tuple[str, pd.DataFrame]:
    """The seed's ratings beside the evidence of every period: score [95% CI], the difference
    and whether the rating falls inside the interval; per period the rank correlation."""
    m = ctx.project.settings.measure
    frames = pd.concat([ctx.scores, ctx.scores_by_period], ignore_index=True)
    per = expert_mod.by_frame(frames, assessment)
    if per.empty:
        return "", per
    order = list(dict.fromkeys(per["frame"]))
    head = "".join(f"<th>{escape(str(f))}</th>" for f in order)
    rows = []
    for _cat, part in per.groupby("category", sort=False):
        by = part.set_index("frame")
        cells = "".join(_expert_period_cell(by.loc[f]) for f in order)
        rows.append(
            f"<tr><th class='rowh'>{escape(str(part['label'].iat[0]))}</th>"
            f'<td class="num"><b>{part["expert"].iat[0]:.0f}</b></td>{cells}</tr>'
        )
    corr_cells = []
    for f in order:
        sents = ctx.sentences if f == order[0] else ctx.sentences[ctx.sentences["period"] == f]
        try:
            c = expert_mod.correlations(
                sents, ctx.codings, ctx.project.codebook, assessment,
                scale=m.scale, n_boot=m.bootstrap, seed=m.seed,
            )  # fmt: skip
            r = c[c["method"] == "spearman"].iloc[0]
            corr_cells.append(
                DASH_CELL
                if pd.isna(r["estimate"])
                else f'<td class="num">{r["estimate"]:.2f} [{r["lo"]:.2f}, {r["hi"]:.2f}]</td>'
            )
        except SecprioError:
            corr_cells.append(DASH_CELL)
    rows.append(
        "<tr><th class='rowh'>Spearman ρ [95% CI]</th><td></td>" + "".join(corr_cells) + "</tr>"
    )
    html = (
        "<h3>Per period: the seed study's ratings beside the evidence</h3>"
        "<p>The study gives one rating per priority for the whole span it covers; here it "
        "stands beside the evidence of every period. In each cell: the evidence score "
        f"(<b>{escape(m.scale)}</b> scale) with its 95% bootstrap interval over the period's "
        "documents, Δ = evidence score − expert rating, whether the rating falls inside "
        "the interval, and n. The last row is the rank correlation between the ratings and "
        "the period's scores (with seven categories and tied ratings, read the interval "
        "first). Also in <code>expert_by_period.csv</code>.</p>"
        '<table class="heat" id="expert-periods"><thead><tr><th></th><th>expert</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return html, per


@register(70)
def expert_section(ctx: Context) -> Section | None:
    assessment = _expert(ctx)
    if assessment is None:
        return None
    m = ctx.project.settings.measure
    diff = expert_mod.differences(ctx.scores, assessment)
    try:
        corr = expert_mod.correlations(
            ctx.sentences,
            ctx.codings,
            ctx.project.codebook,
            assessment,
            scale=m.scale,
            n_boot=m.bootstrap,
            seed=m.seed,
        )
    except SecprioError:
        corr = pd.DataFrame()
    img, figs = _png(
        _expert_figure(diff, assessment.name), "expert vs evidence heatmap", "expert_vs_evidence"
    )
    lines = "".join(
        f"<li>{escape(r.method.title())}: — (the evidence scores do not vary)</li>"
        if pd.isna(r.estimate)
        else f"<li>{escape(r.method.title())}: {r.estimate:.2f} "
        f"[{r.lo:.2f}, {r.hi:.2f}] (p = {r.p:.3f})</li>"
        for r in corr.itertuples(index=False)
    )
    html = (
        f"<p>Expert assessment: <b>{escape(assessment.name)}</b> — "
        f"{escape(assessment.citation)}</p>"
        "<p>Difference = evidence points − expert rating (both 1–9; the evidence on the "
        f"<b>{escape(m.scale)}</b> scale). Rank correlations between the ratings and the "
        "evidence scores, with 95% intervals from a bootstrap over documents (resample "
        "documents, recompute the scores, recompute the correlation):</p>"
        f"<ul>{lines}</ul>" + img + table(diff, id="expert-diff")
    )
    periods, per = _expert_periods(ctx, assessment)
    html += periods
    return Section(
        "expert",
        "Expert vs evidence",
        html,
        tables={"expert": diff, "expert_correlations": corr, "expert_by_period": per},
        files=figs,
    )


# -- claims ------------------------------------------------------------------------------------
@register(75)
def claims_section(ctx: Context) -> Section | None:
    path = ctx.project.context_file("claims")
    if path is None or not path.is_file():
        return None
    results, psg = claim_check(ctx.project, file=path, sentences=ctx.sentences, codings=ctx.codings)
    note = str(results["retrieval"].iat[0]) if len(results) else "no claims"
    rows = []
    for r in results.itertuples(index=False):
        mine = psg[psg["claim"] == r.claim]
        quotes = "".join(
            f"<blockquote>{escape(p.text)}<cite>{escape(str(p.title))} · "
            f"{escape(str(p.evidence_date))} · match {p.match:.2f}</cite>"
            "</blockquote>"
            for p in mine.itertuples(index=False)
        )
        check = "" if r.agrees is None else " ✓" if r.agrees else " ✗"
        rows.append(
            f"<tr><td>{escape(r.text)}<br><small>{escape(r.claim)}</small></td>"
            f"<td>{r.year or ''}</td><td>{_badge(r.verdict)}</td>"
            f"<td>{_badge(r.expected) if r.expected else ''}{check}</td>"
            f"<td>{escape(r.date_agreement)}<br><small>{escape(r.evidence_years)}"
            f"</small></td><td><small>{escape(r.reason)}</small><details>"
            f"<summary>best passages</summary>{quotes}</details></td></tr>"
        )
    known = results[results["expected"] != ""]
    score = (
        f"{int(known['agrees'].sum())} of {len(known)} verdicts match the expected ones."
        if len(known)
        else ""
    )
    html = (
        STYLE + f"<p>Retrieval: {escape(note)}. Verdicts: <b>supported</b> — "
        "a passage holds the claim's terms and is dated as claimed, unqualified; "
        "<b>weak</b> — the evidence is misdated, qualified by a denial, or matches only in "
        "part; <b>not found</b> — the corpus is silent or contradicts the claim (rules in "
        "docs/analyses.md). "
        f"{score}</p>"
        '<table class="t1" id="claims-table"><thead><tr><th>claim</th><th>year</th>'
        "<th>verdict</th><th>expected</th><th>dates</th><th>why</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        + (
            "<h3>Expected × verdict</h3>"
            + table(claims_mod.confusion(results).reset_index(), id="claims-confusion")
            if len(known)
            else ""
        )
    )
    return Section("claims", "Claim check", html, tables={"claims": results, "claim_passages": psg})
