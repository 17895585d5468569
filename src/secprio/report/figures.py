"""Figures (PNG and SVG) drawn with matplotlib's Agg backend: no display needed."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

CMAP = "YlOrRd"


def heatmap(scores: pd.DataFrame, *, title: str, value: str = "score") -> Figure:
    """Categories (rows) × frames (columns), each cell the 1–9 score and its interval."""
    grid = scores.pivot(index="label", columns="frame", values=value)
    order = scores.drop_duplicates("label").set_index("label").index
    frames = list(dict.fromkeys(scores["frame"]))
    grid = grid.reindex(index=order, columns=frames)
    lo = scores.pivot(index="label", columns="frame", values="score_lo").reindex_like(grid)
    hi = scores.pivot(index="label", columns="frame", values="score_hi").reindex_like(grid)
    state = scores.pivot(index="label", columns="frame", values="evidence").reindex_like(grid)
    fig, ax = plt.subplots(figsize=(2.0 + 1.45 * len(frames), 1.2 + 0.55 * len(grid)))
    im = ax.imshow(grid.to_numpy(dtype=float), cmap=CMAP, vmin=1, vmax=9, aspect="auto")
    ax.set_xticks(range(len(frames)), frames, rotation=30, ha="right")
    ax.set_yticks(range(len(grid)), grid.index)
    for (i, j), v in np.ndenumerate(grid.to_numpy(dtype=float)):
        if np.isnan(v):
            if state.iat[i, j] == "no evidence":
                ax.text(j, i, "no evidence", ha="center", va="center", fontsize=7, color="#666")
            continue
        thin = state.iat[i, j] == "insufficient"
        colour = "white" if v >= 6.5 else "black"
        ax.text(
            j,
            i - 0.12,
            f"{v:.1f}",
            ha="center",
            va="center",
            fontsize=10,
            color=colour,
            fontweight="bold",
        )
        ax.text(
            j,
            i + 0.22,
            f"[{lo.iat[i, j]:.1f}–{hi.iat[i, j]:.1f}]" + (" insufficient" if thin else ""),
            ha="center",
            va="center",
            fontsize=7,
            color=colour,
        )
    bar = fig.colorbar(im, ax=ax, ticks=range(1, 10))
    bar.set_label("priority score (1–9, 95% interval in brackets)")
    ax.set_facecolor("#eeeeee")  # a cell without evidence stays grey, not the colour of 1
    ax.set_title(title)
    fig.tight_layout()
    return fig


def to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    plt.close(fig)
    return buf.getvalue()


def to_svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    return buf.getvalue()


def colour(value: float) -> str:
    """The heatmap colour of a 1–9 value, as CSS, so HTML tables match the figures."""
    r, g, b, _ = matplotlib.colormaps[CMAP]((value - 1) / 8)
    return f"rgb({int(r * 255)},{int(g * 255)},{int(b * 255)})"
