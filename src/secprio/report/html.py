"""Small HTML helpers shared by sections: tables, heatmap grids with drill-down cells."""

from __future__ import annotations

from html import escape

import pandas as pd

from secprio.display import DASH
from secprio.measure.scores import ALL
from secprio.report.anchors import cell as cell_id
from secprio.report.figures import NO_EVIDENCE, colour


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


NO_EVIDENCE_BG = NO_EVIDENCE
THIN_BG = (
    "repeating-linear-gradient(135deg,rgba(255,255,255,.72) 0 5px,rgba(255,255,255,.35) 5px 8px)"
)


def _n_line(r: pd.Series) -> str:
    """n under every cell: sentences coded, documents coding it / documents in the frame."""
    return (
        f"<small class='n' data-n='{int(r['n_coded'])}'>n={int(r['n_coded'])} sent., "
        f"{int(r['n_docs_coded'])}/{int(r['n_documents'])} docs</small>"
    )


def _heat_cell(r: pd.Series, cat: str, field: str, frame: str, value: str) -> str:
    """One cell: the score, its interval and n; "no evidence" or a hatched "insufficient
    evidence" state where the evidence is missing or below the settings' thresholds."""
    state = str(r.get("evidence", "measured"))
    anchor = cell_id(cat) if frame == ALL else cell_id(cat, field, frame)  # report/anchors.py
    attrs = (
        f'id="{anchor}" data-cat="{escape(cat)}" data-field="{escape(field)}" '
        f'data-value="{escape(frame)}" data-evidence="{escape(state)}"'
    )
    title = (
        f'title="{int(r["n_coded"])} sentences coded in {int(r["n_docs_coded"])} of '
        f'{int(r["n_documents"])} documents"'
    )
    if state == "no evidence":
        return (
            f'<td class="cell none" style="background:{NO_EVIDENCE_BG};color:#555" {attrs} '
            f"{title}><small>no evidence</small><br>{_n_line(r)}</td>"
        )
    v = float(r[value])
    thin = state == "insufficient"
    fg = "#fff" if v >= 6.5 and not thin else "#000"
    bg = f"{THIN_BG},{colour(v)}" if thin else colour(v)
    note = "<br><small class='thin'>insufficient evidence</small>" if thin else ""
    return (
        f'<td class="cell{" thin" if thin else ""}" style="background:{bg};color:{fg}" '
        f"{attrs} {title}><b>{v:.1f}</b><br><small>[{r['score_lo']:.1f}–{r['score_hi']:.1f}]"
        f"</small><br>{_n_line(r)}{note}</td>"
    )


def legend(*, scale: str, min_documents: int, min_docs_coded: int) -> str:
    """The colour key of the score heatmaps: the 1–9 ramp with its units and both states."""
    stops = ",".join(colour(v) for v in range(1, 10))
    ticks = "".join(f"<span>{v}</span>" for v in range(1, 10))
    return (
        '<div class="legend" role="img" aria-label="colour legend">'
        f"<div><b>Colour</b>: priority score, 1–9 on the <code>{escape(scale)}</code> scale "
        "(9 = the frame's most salient category of its kind)</div>"
        f'<div class="ramp" style="background:linear-gradient(90deg,{stops})"></div>'
        f'<div class="ticks">{ticks}</div>'
        '<div class="keys">'
        f'<span class="key" style="background:{THIN_BG},{colour(5)}"></span> insufficient '
        f"evidence: fewer than {min_documents} documents in the frame or the category coded "
        f"in fewer than {min_docs_coded} documents "
        f'<span class="key" style="background:{NO_EVIDENCE_BG}"></span> no evidence: no '
        "coded sentence (not a low score)</div>"
        "<div>In each cell: score, [95% interval], n = sentences coded, documents coding the "
        "category / documents in the frame.</div></div>"
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
