"""Trends: salience per year with 95% bootstrap intervals, and a labelled extrapolation when
the data allow one (``secprio trends``, the report's trends)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import pandas as pd

from secprio.analyses.registry import CODER, Analysis, Cli, Data, Param, View, register, tables
from secprio.errors import MeasureError
from secprio.measure import trends
from secprio.report.parts import png
from secprio.report.sections import Section

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _trends(data: Data) -> pd.DataFrame:
    m = data.project.settings.measure
    return trends.per_year_counts(
        data.counts, data.project.codebook, n_boot=m.bootstrap, seed=m.seed
    )


def _projection(data: Data, *, years: int, min_years: int, min_sentences: int) -> pd.DataFrame:
    return trends.projection(
        data.run("trends"), years=years, min_years=min_years, min_sentences=min_sentences
    )


# -- the report's section ----------------------------------------------------------------------
def _trend_figure(yearly: pd.DataFrame, proj: pd.DataFrame) -> Figure:
    import matplotlib.pyplot as plt

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


def trends_section(ctx: Data) -> Section | None:
    from secprio.report.html import table

    yearly = ctx.run("trends")
    if yearly.empty:
        return Section(
            "trends",
            "Trends",
            "<p class='muted'>Not available: no document is dated, so there is no year to "
            "follow. Add <code>date:</code> to the documents' metadata (docs/formats.md).</p>",
        )
    proj = ctx.run("projection")
    img, figs = png(_trend_figure(yearly, proj), "salience of each priority per year", "trends")
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


def _show(v: View) -> None:
    df = v.frame
    if df.empty:
        raise MeasureError(
            "no document is dated, so there is no year to follow",
            path=v.data.project.root,
            hint="add `date:` to the documents' metadata (docs/formats.md), then ingest again",
            code="E502",
        )
    prios = df[df["kind"] == "priority"]
    wide = prios.pivot(index="year", columns="label", values="salience")
    rows = [[str(y)] + [f"{x:.1%}" for x in wide.loc[y]] for y in wide.index]
    v.table("Salience per year (priorities)", ["year", *wide.columns], rows)
    proj_df = v.data.run("projection", years=v.options["years"])
    if (proj_df["status"] == "extrapolation").any():
        part = proj_df[proj_df["kind"] == "priority"]
        rows = [
            [r.label, str(r.year), f"{r.salience:.1%} [{r.pi_lo:.1%}, {r.pi_hi:.1%}]"]
            for r in part.itertuples(index=False)
        ]
        v.table(
            f"EXTRAPOLATION ({proj_df['basis'].iat[0]}), 95% prediction interval",
            ["category", "year", "salience"],
            rows,
        )
    elif len(proj_df):
        v.note(f"no projection: {proj_df['status'].iat[0]}")


register(
    Analysis(
        "trends",
        _trends,
        "Salience per year and category with 95% bootstrap intervals.",
        params=(CODER,),
        columns=(
            "year",
            "category",
            "label",
            "kind",
            "n_documents",
            "n_sentences",
            "n_coded",
            "salience",
            "salience_lo",
            "salience_hi",
        ),
        cli=Cli(
            "trends",
            help="Salience per year with 95% intervals, and a labelled extrapolation.",
            view=(Param("years", int, 3, "Years to extrapolate, when the data allow it."),),
            show=_show,
        ),
        section=trends_section,
        order=60,
        report_tables=tables(("trends", {})),
    )
)
register(
    Analysis(
        "projection",
        _projection,
        "A labelled extrapolation of yearly salience with 95% prediction intervals, or one "
        '"withheld" row per category when the data are too thin.',
        params=(
            Param("years", int, 3, "Years to extrapolate, when the data allow it."),
            Param(
                "min_years",
                int,
                trends.MIN_YEARS,
                "Years with enough sentences an extrapolation needs at least.",
            ),
            Param("min_sentences", int, trends.MIN_SENTENCES, "Sentences a year needs to count."),
            CODER,
        ),  # fmt: skip
        columns=(
            "category",
            "label",
            "kind",
            "year",
            "salience",
            "pi_lo",
            "pi_hi",
            "status",
            "basis",
        ),
        report_tables=tables(("projection", {})),
    )
)
