"""Comparison grids: group (member state, year, document type, …) × category, as counts,
shares of the group's sentences and row percentages (``secprio compare --by``, the report's
comparisons)."""

from __future__ import annotations

from html import escape

import pandas as pd

from secprio.analyses.registry import CODER, Analysis, Cli, Data, Param, View, register, tables
from secprio.errors import MeasureError
from secprio.measure import compare, groups
from secprio.report.anchors import cell as cell_id
from secprio.report.parts import STYLE
from secprio.report.safe import script
from secprio.report.sections import Section


def _grid(data: Data, *, by: str, kind: str, attribution: str) -> pd.DataFrame:
    return compare.grid_counts(
        data.counts, data.project.codebook, by=by, kind=kind,
        attribution=attribution,
    )  # fmt: skip


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
    from secprio.report import figures

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


def compare_section(ctx: Data) -> Section | None:
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
    frames = {}
    for by, title in GRIDS:
        parts.append(f"<h3>{escape(title)}</h3>")
        try:
            long = ctx.run("grid", by=by)
        except MeasureError as exc:  # e.g. no document issued by a member state
            parts.append(f"<p class='muted'>Not available: {escape(exc.args[0])}</p>")
            continue
        frames[f"grid_{by}"] = long
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
        tables=frames,
    )


def _show(v: View) -> None:
    df, field, mode = v.frame, v.options["by"], v.options["show"]
    wide = compare.wide(df, mode)
    labels = dict(zip(df["category"], df["label"], strict=False))
    fmt = "{:g}" if mode == "count" else "{:.1f}%"
    rows = [[str(g)] + [fmt.format(x) for x in wide.loc[g]] for g in wide.index]
    cols = [field] + [labels[c] for c in wide.columns]
    v.table(f"{field} × priority ({mode})", cols, rows)
    if field == "members":
        rule = v.options["attribution"]
        v.note(f"member states by the rule '{rule}' (--attribution; docs/analyses.md)")


register(
    Analysis(
        "grid",
        _grid,
        "A comparison grid: ``by`` (members, year, doc_type, …) × category; count, pct, "
        "row_pct. ``attribution``: how sentences count for member states (issuer, "
        "fractional, every).",
        params=(
            Param(
                "by",
                str,
                "members",
                "Without --event: a grid by this field.",
                choices=groups.GROUPINGS,
                kind="Grouping",
                metavar="FIELD",
            ),
            Param("kind", str, "priority", "The kind of category in the columns.", cli=False),
            Param(
                "attribution",
                str,
                "issuer",
                "With --by members: issuer (the state that "
                "issued the document), fractional (1/k to each of k listed states) or every "
                "(full weight to each listed state).",
                choices=groups.ATTRIBUTIONS,
                kind="Attribution",
            ),
            CODER,
        ),  # fmt: skip
        columns=(
            "group",
            "category",
            "label",
            "kind",
            "count",
            "n_sentences",
            "pct",
            "row_pct",
        ),
        cli=Cli(
            "compare",
            when="by",
            view=(
                Param(
                    "show",
                    str,
                    "count",
                    "Grid value.",
                    choices=compare.VALUES,
                    kind="GridValue",
                    flag="--value",
                ),
            ),  # fmt: skip
            show=_show,
        ),
        section=compare_section,
        order=35,
        report_tables=tables(*((f"grid_{by}", {"by": by}) for by, _ in GRIDS)),
    )
)
