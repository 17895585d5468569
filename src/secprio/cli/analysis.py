"""Analysis commands: links, compare, claims, trends, expert, timeline (thin over secprio.api)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from secprio import api, files
from secprio.cli.app import (
    ProjectOption,
    app,
    choices,
    console,
    fail,
    guard,
    open_project,
    out,
    value,
    warn,
)
from secprio.cli.core import Attribution, AttributionOption, Grouping
from secprio.display import percent, points
from secprio.errors import MeasureError
from secprio.measure import compare as compare_mod
from secprio.measure.claims import confusion
from secprio.measure.links import UNITS
from secprio.timeline import events as tl
from secprio.timeline.figure import link_documents, svg

Unit = choices("Unit", UNITS)
GridValue = choices("GridValue", compare_mod.VALUES)
CsvOption = typer.Option(None, "--csv", help="Also write the table to this CSV file.")
JsonOption = typer.Option(None, "--json", help="Also write the table to this JSON file.")


def _save(df: pd.DataFrame, csv: Path | None, json: Path | None) -> None:
    if csv:
        files.write_csv(csv, df)
    if json:
        df.to_json(json, orient="records", force_ascii=False, indent=1)


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*r)
    return t


@app.command()
def links(
    unit: Unit = typer.Option(Unit.paragraph, help="Co-occurrence unit."),  # type: ignore[attr-defined,valid-type]
    window: int = typer.Option(1, help="With --unit sentence: sentences per block."),
    alpha: float = typer.Option(0.05, help="BH q below which a link is significant."),
    min_count: int = typer.Option(2, help="Shared units a significant link needs at least."),
    all_pairs: bool = typer.Option(False, "--all", help="Every pair, not the Table 1 view."),
    csv: Path = CsvOption,
    json: Path = JsonOption,
    project: Path = ProjectOption,
) -> None:
    """Threat → response links: lift, log-odds ratio [95% CI], Fisher p and BH q per pair."""
    proj = open_project(project)
    fn = api.links if all_pairs else api.table1
    df = guard(lambda: fn(proj, unit=value(unit), window=window, alpha=alpha, min_count=min_count))
    _save(df, csv, json)
    if all_pairs:
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
            for r in df.itertuples(index=False)
        ]
        out.print(
            _table(
                f"Threat × priority over {value(unit)}s",
                [
                    "threat",
                    "priority",
                    "a/b/c/d",
                    "lift",
                    "log-OR [95% CI]",
                    "p",
                    "q",
                    "significant",
                ],
                rows,
            )
        )
        return
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
        for r in df.itertuples(index=False)
    ]
    out.print(
        _table(
            "Table 1: threat → responses (lift, BH q; expert = the seed study)",
            ["threat", "response", "lift", "q", "status", "vs expert", "threat"],
            rows,
        )
    )


@app.command("compare")
def compare_cmd(
    event: str = typer.Option("", help="An event id (events.yaml) or ISO date: case window."),
    before: str = typer.Option("2y", help="Window before the event: 2y, 18m, 90d."),
    after: str = typer.Option("2y", help="Window from the event on."),
    by: Grouping = typer.Option(None, help="Without --event: a grid by this field."),  # type: ignore[valid-type]
    show: GridValue = typer.Option(GridValue.count, "--value", help="Grid value."),  # type: ignore[valid-type]
    attribution: Attribution = AttributionOption,  # type: ignore[valid-type]
    csv: Path = CsvOption,
    json: Path = JsonOption,
    project: Path = ProjectOption,
) -> None:
    """Salience before vs after an event (--event), or a comparison grid (--by)."""
    proj = open_project(project)
    if not event and not by:
        console.print("[bold red]error[/] give --event ID (case window) or --by FIELD (grid)")
        raise typer.Exit(2)
    if event:
        df = guard(lambda: api.window(proj, event=event, before=before, after=after))
        _save(df, csv, json)
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
        out.print(
            _table(
                f"{event}: {df.attrs['start']} … {df.attrs['event']} … "
                f"{df.attrs['end']} ({first['n_docs_before']} vs "
                f"{first['n_docs_after']} documents)",
                ["category", "kind", "before", "after", "change pp [95% CI]", ""],
                rows,
            )
        )
        if first["warning"]:
            warn(str(first["warning"]))
        return
    field, rule, mode = value(by) or "", value(attribution) or "", value(show) or "count"
    df = guard(lambda: api.grid(proj, by=field, attribution=rule))
    _save(df, csv, json)
    wide = compare_mod.wide(df, mode)
    labels = dict(zip(df["category"], df["label"], strict=False))
    fmt = "{:g}" if mode == "count" else "{:.1f}%"
    rows = [[str(g)] + [fmt.format(v) for v in wide.loc[g]] for g in wide.index]
    cols = [field] + [labels[c] for c in wide.columns]
    out.print(_table(f"{field} × priority ({mode})", cols, rows))
    if field == "members":
        console.print(f"member states by the rule '{rule}' (--attribution; docs/analyses.md)")


@app.command()
def claims(
    file: Path = typer.Argument(None, help="Claims YAML (default: the project's claims file)."),
    lexical: bool = typer.Option(False, "--lexical-only", help="Skip semantic retrieval."),
    csv: Path = CsvOption,
    json: Path = JsonOption,
    project: Path = ProjectOption,
) -> None:
    """Check claims against the corpus: best passages, date agreement, a verdict."""
    proj = open_project(project)
    df = guard(lambda: api.claims(proj, file=file, semantic=not lexical))
    _save(df, csv, json)
    rows = [
        [
            r.claim,
            str(r.year or ""),
            r.verdict,
            r.expected or "",
            "" if r.agrees is None else ("✓" if r.agrees else "✗"),
            r.date_agreement,
            r.reason.split(": “")[0],
        ]
        for r in df.itertuples(index=False)
    ]
    out.print(
        _table("Claim check", ["claim", "year", "verdict", "expected", "", "dates", "why"], rows)
    )
    if (df["expected"] != "").any():
        out.print(confusion(df).to_string())
    console.print(str(df["retrieval"].iat[0]) if len(df) else "no claims")


@app.command()
def trends(
    years: int = typer.Option(3, help="Years to extrapolate, when the data allow it."),
    csv: Path = CsvOption,
    json: Path = JsonOption,
    project: Path = ProjectOption,
) -> None:
    """Salience per year with 95% intervals, and a labelled extrapolation."""
    proj = open_project(project)
    df = guard(lambda: api.trends(proj))
    if df.empty:
        fail(
            MeasureError(
                "no document is dated, so there is no year to follow",
                path=proj.root,
                hint="add `date:` to the documents' metadata (docs/formats.md), then ingest again",
                code="E502",
            )
        )
    _save(df, csv, json)
    prios = df[df["kind"] == "priority"]
    wide = prios.pivot(index="year", columns="label", values="salience")
    rows = [[str(y)] + [f"{v:.1%}" for v in wide.loc[y]] for y in wide.index]
    out.print(_table("Salience per year (priorities)", ["year", *wide.columns], rows))
    from secprio.measure.trends import projection

    proj_df = projection(df, years=years)
    if (proj_df["status"] == "extrapolation").any():
        part = proj_df[proj_df["kind"] == "priority"]
        rows = [
            [r.label, str(r.year), f"{r.salience:.1%} [{r.pi_lo:.1%}, {r.pi_hi:.1%}]"]
            for r in part.itertuples(index=False)
        ]
        out.print(
            _table(
                f"EXTRAPOLATION ({proj_df['basis'].iat[0]}), 95% prediction interval",
                ["category", "year", "salience"],
                rows,
            )
        )
    elif len(proj_df):
        console.print(f"no projection: {proj_df['status'].iat[0]}")


@app.command()
def expert(
    file: Path = typer.Option(None, help="Expert assessment YAML (default: the project's)."),
    csv: Path = CsvOption,
    json: Path = JsonOption,
    project: Path = ProjectOption,
) -> None:
    """Expert ratings vs evidence scores: differences and rank correlations with 95% CIs."""
    proj = open_project(project)
    df = guard(lambda: api.expert(proj, file=file))
    corr = guard(lambda: api.expert_correlations(proj, file=file))
    _save(df, csv, json)
    rows = [
        [
            r.label,
            f"{r.expert:.0f}",
            "no evidence"
            if pd.isna(r.evidence_score)
            else f"{r.evidence_score:.1f} [{r.evidence_lo:.1f}, {r.evidence_hi:.1f}]"
            + (" insufficient" if r.evidence == "insufficient" else ""),
            "—" if pd.isna(r.diff) else f"{r.diff:+.0f}",
        ]
        for r in df.itertuples(index=False)
    ]
    out.print(
        _table(
            "Expert vs evidence (1–9)",
            ["category", "expert", "evidence [95% CI]", "points − expert"],
            rows,
        )
    )
    for r in corr.itertuples(index=False):
        if pd.isna(r.estimate):
            out.print(f"{r.method}: — (the evidence scores do not vary; no rank correlation)")
        else:
            out.print(f"{r.method}: {r.estimate:.2f} [{r.lo:.2f}, {r.hi:.2f}] (p = {r.p:.3f})")


@app.command()
def timeline(
    file: Path = typer.Option(None, help="Events YAML (default: the project's events file)."),
    svg_out: Path = typer.Option(None, "--svg", help="Write the timeline figure (SVG) here."),
    csv: Path = CsvOption,
    json: Path = JsonOption,
    project: Path = ProjectOption,
) -> None:
    """Events by date, scope and sourcing, with the documents of the same dates."""
    proj = open_project(project)
    df = guard(lambda: api.timeline(proj, file=file))
    _save(df, csv, json)
    rows = [
        [r.date, r.title[:70], r.scope, "yes" if r.sourced else "UNSOURCED", str(r.n_documents)]
        for r in df.itertuples(index=False)
    ]
    out.print(_table("Timeline", ["date", "event", "scope", "sourced", "documents"], rows))
    if svg_out:
        path = file or proj.context_file("events") or Path("events.yaml")
        events = guard(lambda: tl.load(path, categories=proj.codebook.ids()))
        docs = proj.documents()
        labels = {c.id: c.label for c in proj.codebook.categories}
        svg_out.write_text(
            svg(
                events,
                labels=labels,
                links=link_documents(events, docs),
                document_dates=[d for d in docs["date"] if d],
            ),
            encoding="utf-8",
        )
        console.print(f"figure: {svg_out}")


@app.command()
def methods(
    out_dir: Path = typer.Option(
        None, "--out", "-o", help="Also write methods.txt and codebook.md/.tex/.docx here."
    ),
    project: Path = ProjectOption,
) -> None:
    """A methods paragraph from the run's provenance, ready to paste, and the codebook appendix."""
    from secprio.report import methods as methods_mod  # python-docx: import on use

    proj = open_project(project)
    guard(lambda: proj.require_codings())
    typer.echo(guard(lambda: methods_mod.paragraph(proj)))
    if out_dir is not None:
        written = guard(lambda: methods_mod.write(proj, out_dir))
        console.print(f"wrote {', '.join(str(p) for p in written)}", highlight=False)
