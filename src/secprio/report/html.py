"""Small HTML helpers shared by sections: tables, heatmap grids with drill-down cells."""

from __future__ import annotations

from html import escape

import pandas as pd

from secprio.display import DASH
from secprio.report.figures import colour


def table(df: pd.DataFrame, *, id: str = "", floats: int = 2) -> str:
    """A plain HTML table; numbers right-aligned and rounded for reading."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if v is pd.NA or (isinstance(v, float) and v != v):  # missing: a dash, not "nan"
                cells.append(f'<td class="num">{DASH}</td>')
            elif isinstance(v, float):
                cells.append(f'<td class="num">{v:.{floats}f}</td>')
            elif isinstance(v, int):
                cells.append(f'<td class="num">{v}</td>')
            else:
                cells.append(f"<td>{escape(str(v))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    ident = f' id="{escape(id)}"' if id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


NO_EVIDENCE_BG = "#eeeeee"


def _heat_cell(r: pd.Series, cat: str, field: str, frame: str, value: str) -> str:
    """One cell: the score and its interval; "no evidence" or an "insufficient" mark with n
    where the evidence is missing or too thin to be read as certain."""
    state = str(r.get("evidence", "measured"))
    attrs = (
        f'data-cat="{escape(cat)}" data-field="{escape(field)}" data-value="{escape(frame)}" '
        f'data-evidence="{escape(state)}"'
    )
    if state == "no evidence":
        return (
            f'<td class="cell none" style="background:{NO_EVIDENCE_BG};color:#666" {attrs} '
            f'title="no sentence coded in {int(r["n_documents"])} documents">'
            "<small>no evidence</small></td>"
        )
    v = float(r[value])
    fg = "#fff" if v >= 6.5 else "#000"
    thin = state == "insufficient"
    note = (
        f"<br><small class='thin'>insufficient: {int(r['n_docs_coded'])} of "
        f"{int(r['n_documents'])} docs</small>"
        if thin
        else ""
    )
    return (
        f'<td class="cell{" thin" if thin else ""}" style="background:{colour(v)};color:{fg}'
        f'{";opacity:.55" if thin else ""}" {attrs} title="{int(r["n_coded"])} sentences in '
        f'{int(r["n_docs_coded"])} of {int(r["n_documents"])} documents">'
        f"<b>{v:.1f}</b><br><small>[{r['score_lo']:.1f}–{r['score_hi']:.1f}]</small>{note}</td>"
    )


def heat_grid(scores: pd.DataFrame, *, field: str, value: str = "score", caption: str = "") -> str:
    """Categories × frames as coloured cells; a click lists the sentences behind a cell.

    ``field`` names the sentence attribute a frame filters on (``period``, ``issuer``, …);
    the frame "All documents" filters on nothing.
    """
    frames = list(dict.fromkeys(scores["frame"]))
    head = "".join(f"<th>{escape(f)}</th>" for f in frames)
    rows = []
    for cat, part in scores.groupby("category", sort=False):
        label = escape(str(part["label"].iat[0]))
        cells = []
        by_frame = part.set_index("frame")
        for f in frames:
            if f not in by_frame.index:
                cells.append("<td></td>")
                continue
            cells.append(_heat_cell(by_frame.loc[f], str(cat), field, str(f), value))
        rows.append(f"<tr><th class='rowh'>{label}</th>{''.join(cells)}</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="heat">{cap}<thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
