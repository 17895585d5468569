"""Small HTML helpers shared by sections: tables, heatmap grids with drill-down cells."""

from __future__ import annotations

from html import escape

import pandas as pd

from secprio.report.figures import colour


def table(df: pd.DataFrame, *, id: str = "", floats: int = 2) -> str:
    """A plain HTML table; numbers right-aligned and rounded for reading."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append(f'<td class="num">{v:.{floats}f}</td>')
            elif isinstance(v, int):
                cells.append(f'<td class="num">{v}</td>')
            else:
                cells.append(f"<td>{escape(str(v))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    ident = f' id="{escape(id)}"' if id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


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
            r = by_frame.loc[f]
            v = float(r[value])
            fg = "#fff" if v >= 6.5 else "#000"
            cells.append(
                f'<td class="cell" style="background:{colour(v)};color:{fg}" '
                f'data-cat="{escape(str(cat))}" data-field="{escape(field)}" '
                f'data-value="{escape(str(f))}" title="{int(r["n_coded"])} sentences">'
                f"<b>{v:.1f}</b><br><small>[{r['score_lo']:.1f}–{r['score_hi']:.1f}]</small></td>"
            )
        rows.append(f"<tr><th class='rowh'>{label}</th>{''.join(cells)}</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="heat">{cap}<thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
