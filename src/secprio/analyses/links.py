"""Threat → response links: every (threat, priority) pair's co-occurrence statistics, the
Table 1 view and the passages behind each pair (``secprio links``, the report's Table 1)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from secprio.analyses.registry import CODER, Analysis, Cli, Data, Param, View, register, tables
from secprio.measure import expert as expert_mod
from secprio.measure import linkcounts
from secprio.measure import links as links_mod
from secprio.report.parts import STYLE, badge
from secprio.report.sections import Section
from secprio.store import aggregate

UNIT = Param("unit", str, "paragraph", "Co-occurrence unit.", choices=links_mod.UNITS, kind="Unit")
WINDOW = Param("window", int, 1, "With --unit sentence: sentences per block.")
ALPHA = Param("alpha", float, 0.05, "BH q below which a link is significant.")
MIN_COUNT = Param("min_count", int, 2, "Shared units a significant link needs at least.")


def _links(data: Data, *, unit: str, window: int, alpha: float, min_count: int) -> pd.DataFrame:
    cb = data.project.codebook
    if data.framed:
        return links_mod.link_table(
            data.sentences, data.codings, cb,
            unit=unit, window=window, alpha=alpha, min_count=min_count,
        )  # fmt: skip
    links_mod.need_both(cb)
    links_mod.check_unit(unit, window)
    batches = data.coding_batches(("segment_id", "category", "value"), segment=SEGMENT)
    n_units = aggregate.unit_count(data.project.store, unit=unit, window=window)
    return linkcounts.link_table(batches, n_units, cb, unit=unit, window=window, alpha=alpha,
                                 min_count=min_count)  # fmt: skip


SEGMENT = ("paragraph", "idx")


def passages(
    data: Data, pairs: list[tuple[str, str]], *, unit: str, window: int, top: int = 3
) -> pd.DataFrame:
    """The ``top`` strongest passages of each pair (secprio.measure.links.passages): from the
    caller's frames, else streamed from the store, reading the text of the shown units only."""
    if data.framed:
        return links_mod.passages(
            data.sentences, data.codings, data.project.codebook, pairs, unit=unit,
            window=window, top=top,
        )  # fmt: skip
    links_mod.check_unit(unit, window)
    store = data.project.store
    batches = data.coding_batches(("segment_id", "category", "value", "pattern"), segment=SEGMENT)
    return linkcounts.passages(
        batches, data.counts.documents, pairs,
        lambda keys: aggregate.unit_sentences(store, keys, unit=unit, window=window),
        unit=unit, window=window, top=top,
    )  # fmt: skip


def with_passages(view: pd.DataFrame, psg: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """Add columns passage_1..top ("title (date): text") to a Table 1 view."""
    out = view.copy()
    for k in range(1, top + 1):
        col = psg[psg["rank"] == k].set_index(["threat", "priority"])
        text = col["title"] + " (" + col["date"] + "): " + col["text"]
        out[f"passage_{k}"] = [
            text.get((t, q), "") for t, q in zip(out["threat"], out["priority"], strict=True)
        ]
    return out


def table1_parts(data: Data, **options: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Table 1 view (with its passages) and the passages of the pairs it shows."""
    opts = {"unit": "paragraph", "window": 1, "alpha": 0.05, "min_count": 2,
            "expert_file": None, **options}  # fmt: skip
    return data.memo(("table1", tuple(sorted(opts.items()))), lambda: _table1_parts(data, **opts))


def _table1_parts(
    data: Data, *, unit: str, window: int, alpha: float, min_count: int, expert_file: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    cb = data.project.codebook
    table = data.run("links", unit=unit, window=window, alpha=alpha, min_count=min_count)
    path = data.context_file("expert", expert_file)
    pairs = expert_mod.load(path, categories=cb.ids()).pairs if path else {}
    view = links_mod.table1(table, expert_pairs=pairs)
    shown = [(str(t), str(p)) for t, p in zip(view["threat"], view["priority"], strict=True) if p]
    psg = passages(data, shown, unit=unit, window=window)
    return with_passages(view, psg), psg


def _table1(data: Data, **options: Any) -> pd.DataFrame:
    return table1_parts(data, **options)[0]


def _link_passages(data: Data, *, unit: str, window: int, top: int) -> pd.DataFrame:
    cb = data.project.codebook
    pairs = [(t, q) for t in cb.ids("threat") for q in cb.ids("priority")]
    return passages(data, pairs, unit=unit, window=window, top=top)


# -- the report's section ----------------------------------------------------------------------
def links_section(ctx: Data) -> Section | None:
    from secprio.report.html import table

    cb = ctx.project.codebook
    if not cb.ids("threat") or not cb.ids("priority"):
        return None
    full = ctx.run("links")
    view, psg = table1_parts(ctx)
    path = ctx.context_file("expert")
    assessment = expert_mod.load(path, categories=cb.ids()) if path else None
    intro = (
        f"<p>Co-occurrence of threat and priority codings within a <b>paragraph</b> "
        f"({int(full['n_units'].iat[0])} paragraphs). Per pair: lift = a·N/((a+b)(a+c)), "
        "log-odds ratio with 0.5 added to each cell and Woolf's 95% interval, Fisher's "
        "exact test (one-sided) and Benjamini–Hochberg q over all pairs. A response is "
        "<b>significant</b> at q &lt; 0.05 with at least 2 shared paragraphs; a threat "
        "with none shows its best responses by lift, marked not significant. The seed "
        "study's pairs (from the expert assessment) stand beside the evidence.</p>"
    )
    labels = {c.id: c.label for c in cb.categories}
    html = STYLE + intro + _table1_html(view, psg, assessment, labels)
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
            mark = badge(r.agreement, r.agreement.replace(" ", "-")) if r.agreement else ""
            lift = "—" if pd.isna(r.lift) else f"{r.lift:.2f}"
            items.append(
                f"<li><b>{escape(r.priority_label)}</b>{badge(r.status, cls)}{mark}<br>"
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
            f"<td>{badge(str(part['threat_agreement'].iat[0]))}</td></tr>"
        )
    return (
        '<table class="t1" id="table1"><thead><tr><th>External threat</th>'
        "<th>Responses in the evidence, ranked by lift</th><th>Seed study's pair</th>"
        f"<th>Agreement</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _lift_grid(full: pd.DataFrame) -> str:
    from secprio.report import figures

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


# -- the terminal views ------------------------------------------------------------------------
def _show_links(v: View) -> None:
    rows = [
        [
            r.threat_label,
            r.priority_label,
            f"{r.a}/{r.b}/{r.c}/{r.d}",
            "—" if pd.isna(r.lift) else f"{r.lift:.2f}",
            f"{r.log_or:.2f} [{r.log_or_lo:.2f}, {r.log_or_hi:.2f}]",
            f"{r.p:.3g}",
            f"{r.q:.3g}",
            "yes" if r.significant else "",
        ]
        for r in v.frame.itertuples(index=False)
    ]
    v.table(
        f"Threat × priority over {v.options['unit']}s",
        ["threat", "priority", "a/b/c/d", "lift", "log-OR [95% CI]", "p", "q", "significant"],
        rows,
    )


def _show_table1(v: View) -> None:
    rows = [
        [
            r.threat_label if r.rank == 1 else "",
            r.priority_label or "—",
            "—" if pd.isna(r.lift) else f"{r.lift:.2f}",
            f"{r.q:.3g}",
            r.status,
            r.agreement,
            r.threat_agreement if r.rank == 1 else "",
        ]
        for r in v.frame.itertuples(index=False)
    ]
    v.table(
        "Table 1: threat → responses (lift, BH q; expert = the seed study)",
        ["threat", "response", "lift", "q", "status", "vs expert", "threat"],
        rows,
    )


ALL_PAIRS = Param("all_pairs", bool, False, "Every pair, not the Table 1 view.", flag="--all")

register(
    Analysis(
        "table1",
        _table1,
        "The Table 1 view: per threat its significant responses ranked by lift (or its best "
        'ones marked "not significant"), the expert\'s pairs beside them, three passages each.',
        params=(
            UNIT,
            WINDOW,
            ALPHA,
            MIN_COUNT,
            Param(
                "expert_file",
                Path,
                None,
                "Expert assessment YAML whose pairs stand "
                "beside the evidence (default: the project's).",
                cli=False,
            ),
            CODER,
        ),  # fmt: skip
        columns=(
            "threat",
            "threat_label",
            "rank",
            "priority",
            "priority_label",
            "a",
            "lift",
            "log_or",
            "log_or_lo",
            "log_or_hi",
            "p",
            "q",
            "status",
            "expert_pair",
            "agreement",
            "threat_agreement",
            "passage_1",
            "passage_2",
            "passage_3",
        ),
        cli=Cli(
            "links",
            help="Threat → response links: lift, log-odds ratio [95% CI], Fisher p and BH q "
            "per pair.",
            view=(ALL_PAIRS,),
            show=_show_table1,
        ),
        section=links_section,
        order=30,
        report_tables=tables(("table1", {})),
    )
)
register(
    Analysis(
        "links",
        _links,
        "Every (threat, priority) pair: a b c d, lift, log-odds ratio [95% CI], Fisher p, BH q.",
        params=(UNIT, WINDOW, ALPHA, MIN_COUNT, CODER),
        columns=(
            "threat",
            "threat_label",
            "priority",
            "priority_label",
            "a",
            "b",
            "c",
            "d",
            "n_units",
            "lift",
            "log_or",
            "log_or_lo",
            "log_or_hi",
            "p",
            "q",
            "significant",
        ),
        cli=Cli("links", when="all_pairs", show=_show_links),
        report_tables=tables(("links", {})),
    )
)
register(
    Analysis(
        "link_passages",
        _link_passages,
        "The ``top`` strongest passages of every (threat, priority) pair that co-occurs.",
        params=(UNIT, WINDOW, Param("top", int, 3, "Passages per pair."), CODER),
        columns=(
            "threat",
            "priority",
            "rank",
            "document_id",
            "unit",
            "title",
            "date",
            "doc_type",
            "url",
            "strength",
            "text",
            "unit_text",
        ),
    )
)
