"""Figures (PNG at 300 dpi, SVG and PDF) drawn with matplotlib's Agg backend: no display needed."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

CMAP = "YlOrRd"
NO_EVIDENCE = "#e4e4e4"


SCORE_UNITS = "priority score, 1–9 (9 = the frame's most salient category)"
THIN_HATCH = "////"


def _cell_text(ax: Axes, j: int, i: int, v: float, ci: str, n: str, thin: bool) -> None:
    colour = "white" if v >= 6.5 and not thin else "black"
    ax.text(
        j,
        i - 0.2,
        f"{v:.1f}",
        ha="center",
        va="center",
        fontsize=10,
        color=colour,
        fontweight="bold",
    )
    ax.text(j, i + 0.08, ci, ha="center", va="center", fontsize=6.5, color=colour)
    ax.text(j, i + 0.32, n, ha="center", va="center", fontsize=6, color=colour)


def heatmap(scores: pd.DataFrame, *, title: str, value: str = "score") -> Figure:
    """Categories (rows) × frames (columns): in each cell the 1–9 score, its 95% interval and
    n (sentences coded, documents); cells of insufficient evidence are pale and hatched,
    cells without evidence grey; a colour bar with units and a key for both states."""
    frames = list(dict.fromkeys(scores["frame"]))
    order = scores.drop_duplicates("label").set_index("label").index

    def pivot(col: str) -> pd.DataFrame:
        return scores.pivot(index="label", columns="frame", values=col).reindex(
            index=order, columns=frames
        )

    grid, lo, hi, state = pivot(value), pivot("score_lo"), pivot("score_hi"), pivot("evidence")
    n_coded, n_docs, n_frame = pivot("n_coded"), pivot("n_docs_coded"), pivot("n_documents")
    fig, ax = plt.subplots(figsize=(3.2 + 1.5 * len(frames), 1.9 + 0.62 * len(grid)))
    values = grid.to_numpy(dtype=float)
    im = ax.imshow(values, cmap=CMAP, vmin=1, vmax=9, aspect="auto")
    ax.set_xticks(range(len(frames)), frames, rotation=30, ha="right")
    ax.set_yticks(range(len(grid)), grid.index)
    ax.set_facecolor(NO_EVIDENCE)  # a cell without evidence stays grey, not the colour of 1
    for (i, j), v in np.ndenumerate(values):
        st = state.iat[i, j]
        if not isinstance(st, str):
            continue
        n = (
            f"n={int(n_coded.iat[i, j])} sent., "
            f"{int(n_docs.iat[i, j])}/{int(n_frame.iat[i, j])} docs"
        )
        if st == "no evidence" or np.isnan(v):
            ax.text(j, i - 0.1, "no evidence", ha="center", va="center", fontsize=7, color="#555")
            ax.text(j, i + 0.25, n, ha="center", va="center", fontsize=6, color="#555")
            continue
        thin = st == "insufficient"
        if thin:  # white-washed and hatched: a reader sees it is not a measured value
            ax.add_patch(
                Rectangle(
                    (j - 0.5, i - 0.5),
                    1,
                    1,
                    facecolor=(1, 1, 1, 0.55),
                    hatch=THIN_HATCH,
                    edgecolor="#888",
                    linewidth=0,
                )
            )
        ci = f"[{lo.iat[i, j]:.1f}–{hi.iat[i, j]:.1f}]" + (" insufficient" if thin else "")
        _cell_text(ax, j, i, v, ci, n, thin)
    bar = fig.colorbar(im, ax=ax, ticks=range(1, 10), fraction=0.05, pad=0.02)
    bar.set_label(SCORE_UNITS, fontsize=8)
    key = [
        Patch(facecolor="white", hatch=THIN_HATCH, edgecolor="#888", label="insufficient evidence"),
        Patch(facecolor=NO_EVIDENCE, edgecolor="#888", label="no evidence (no coded sentence)"),
    ]
    ax.legend(
        handles=key,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16 - 0.02 * len(frames)),
        ncol=2,
        fontsize=7,
        frameon=False,
    )
    ax.set_title(title, fontsize=10)
    fig.text(
        0.01,
        0.01,
        "Cell: score, [95% bootstrap interval over documents], n = coded "
        "sentences and documents coded / documents in the frame.",
        fontsize=6.5,
        color="#444",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


# The same data makes the same bytes: no creation date, SVG ids from a fixed salt.
NO_DATE: dict[str, dict[str, None]] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}


def render(fig: Figure, *, dpi: int = 300, preview_dpi: int = 110) -> dict[str, bytes]:
    """The figure as print PNG (``dpi``), SVG, PDF and a light PNG for embedding in the page."""
    out = {}
    for fmt, res in (("png", dpi), ("svg", dpi), ("pdf", dpi), ("preview", preview_dpi)):
        buf = io.BytesIO()
        with matplotlib.rc_context({"svg.hashsalt": "secprio"}):
            fig.savefig(buf, format="png" if fmt == "preview" else fmt, dpi=res,
                        metadata=NO_DATE.get(fmt))  # fmt: skip
        out[fmt] = buf.getvalue()
    plt.close(fig)
    return out


def files(name: str, fig: Figure) -> tuple[bytes, dict[str, bytes | str]]:
    """The embeddable preview and the figure files ``name``.png/.svg/.pdf for a section."""
    r = render(fig)
    return r["preview"], {f"{name}.png": r["png"], f"{name}.svg": r["svg"], f"{name}.pdf": r["pdf"]}


def to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=300)
    plt.close(fig)
    return buf.getvalue()


def to_svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "secprio"}):
        fig.savefig(buf, format="svg", metadata=NO_DATE["svg"])
    plt.close(fig)
    return buf.getvalue()


def colour(value: float) -> str:
    """The heatmap colour of a 1–9 value, as CSS, so HTML tables match the figures."""
    r, g, b, _ = matplotlib.colormaps[CMAP]((value - 1) / 8)
    return f"rgb({int(r * 255)},{int(g * 255)},{int(b * 255)})"
