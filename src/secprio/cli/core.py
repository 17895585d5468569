"""Core commands: init, ingest, code, score, report, demo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Group
from rich.markup import escape
from rich.table import Table

from secprio import packs
from secprio.cli.app import (
    EXIT_SKIPPED,
    ProjectOption,
    app,
    console,
    guard,
    open_project,
    out,
    progress,
)
from secprio.ingest import fetch as fetch_mod
from secprio.project import IngestResult, Project


@app.command()
def init(
    folder: Path = typer.Argument(..., help="Folder to create the project in."),
    pack: str = typer.Option("", help="Start from a bundled case pack, e.g. 'ots'."),
    codebook: Path = typer.Option(None, help="Use this codebook instead of the template."),
) -> None:
    """Create a project: settings (secprio.yaml), a codebook and an empty store."""
    project = guard(lambda: Project.init(folder, pack=pack or None, codebook=codebook))
    console.print(f"created project [bold]{project.settings.name}[/] in {folder}")
    console.print(
        f"next: edit {folder / project.settings.codebook}, then "
        f"`secprio ingest -p {folder} DOCUMENTS...`"
    )


def _print_ingest(result: IngestResult) -> None:
    console.print(
        f"added {len(result.added)}, new versions {len(result.versions)}, "
        f"unchanged {len(result.unchanged)}, skipped {len(result.skipped)}"
    )
    for s in result.skipped:  # a reason quotes file names: never read as Rich markup
        console.print(f"[yellow]skipped[/] {escape(s.reason)}", highlight=False)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders to read."),
    follow_symlinks: bool = typer.Option(
        False, help="Read links whose target is outside the folders given."
    ),
    project: Path = ProjectOption,
) -> None:
    """Read documents (PDF, DOCX, HTML, TXT, MD) and their metadata into the store."""
    proj = open_project(project)
    with progress("ingest") as update:
        result = guard(lambda: proj.ingest(paths, progress=update, follow_symlinks=follow_symlinks))
    _print_ingest(result)
    _print_carried(result)
    if result.skipped:
        raise typer.Exit(EXIT_SKIPPED)


def _print_carried(result: IngestResult) -> None:
    """Human codings on new versions: how many followed, and each one that could not."""
    report = result.carried
    if not result.versions or not (report.carried or report.review):
        return
    console.print(
        f"{report.carried} human coding(s) carried to the new version(s); "
        f"{len(report.review)} listed for review (their sentence changed)"
    )
    for r in report.review[:20]:
        console.print(
            f"[yellow]review[/] {r['coder']}: {r['category']} "
            f"({'applied' if r['value'] else 'rejected'}) on {str(r['sentence'])[:120]!r}",
            highlight=False,
            markup=False,
        )
    if len(report.review) > 20:
        console.print(f"… and {len(report.review) - 20} more: Project.uncarried() lists all")


@app.command()
def code(
    coder: str = typer.Option("", help="Coder name (default: the one in secprio.yaml)."),
    batch: int = typer.Option(25, help="Documents per committed batch."),
    project: Path = ProjectOption,
) -> None:
    """Code every sentence not yet coded; an interrupted run resumes where it stopped."""
    proj = open_project(project)
    guard(lambda: proj.codebook)  # a bad codebook is reported before any work starts
    with progress(f"code ({coder or proj.settings.measure.coder})") as update:
        result = guard(lambda: proj.code(coder or None, batch=batch, progress=update))
    console.print(
        f"run {result.run_id}: coded {result.documents} document(s), "
        f"{result.codings} coding(s) by {result.coder}"
    )


@app.command()
def score(
    by: str = typer.Option("", help="Group by a column: period, year, issuer, doc_type."),
    scale: str = typer.Option("", help="ratio, linear or rank (default: the setting)."),
    csv: Path = typer.Option(None, help="Also write the table to this CSV file."),
    project: Path = ProjectOption,
) -> None:
    """Print the 1–9 scores with 95% bootstrap intervals."""
    proj = open_project(project)
    df = guard(lambda: proj.scores(by=by or None, scale=scale or None))
    if csv:
        df.to_csv(csv, index=False)
    out.print(score_table(df))


def score_table(df: pd.DataFrame) -> Group:
    """Priorities and threats as two compact tables (fits an 80-column terminal)."""
    frames = df["frame"].nunique() > 1
    tables = []
    for kind, title in (("priority", "Security priorities"), ("threat", "Threat factors")):
        part = df[df["kind"] == kind]
        if part.empty:
            continue
        table = Table(title=f"{title}: score 1–9 with 95% interval", title_justify="left")
        for col in (["frame"] if frames else []) + [
            "category",
            "score",
            "95% CI",
            "share",
            "sentences",
        ]:
            table.add_column(col, justify="left" if col in ("frame", "category") else "right")
        for r in part.itertuples(index=False):
            row = [
                r.label,
                f"{r.score:.1f}",
                f"{r.score_lo:.1f}–{r.score_hi:.1f}",
                f"{100 * r.salience:.1f}%",
                str(r.n_coded),
            ]
            table.add_row(*([str(r.frame)] if frames else []), *row)
        tables.append(table)
    return Group(*tables)


@app.command()
def report(
    out_dir: Path = typer.Option(Path("report"), "--out", "-o", help="Output folder."),
    project: Path = ProjectOption,
) -> None:
    """Write the offline HTML report, figures (PNG, SVG) and tables (CSV, JSON)."""
    from secprio.report.build import write as write_report  # matplotlib: import on use

    proj = open_project(project)
    rep = guard(lambda: write_report(proj, out_dir))
    console.print(f"report: [bold]{rep.html}[/] ({len(rep.files)} more files in {out_dir})")


@app.command()
def fetch(
    sources: Path = typer.Argument(..., help="CSV with a url column and metadata columns."),
    folder: Path = typer.Option(Path("downloads"), help="Where to save the files."),
    interval: float = typer.Option(1.0, help="Seconds between requests (rate limit)."),
    retries: int = typer.Option(3, help="Retries on network errors, 429 and 5xx."),
    max_mb: int = typer.Option(25, help="Size limit per document (decoded), in MB."),
    deadline: float = typer.Option(120.0, help="Seconds for one URL, retries included."),
    run_deadline: float = typer.Option(3600.0, help="Seconds for the whole list."),
    allow_private: bool = typer.Option(
        False, help="Also fetch from loopback and private network addresses."
    ),
    project: Path = ProjectOption,
) -> None:
    """Download the documents a sources file lists, then ingest them into the project."""
    proj = open_project(project)
    rows = guard(lambda: fetch_mod.read_sources(sources))
    policy = fetch_mod.Policy(
        interval=interval, retries=retries, max_bytes=max_mb << 20, deadline=deadline,
        run_deadline=run_deadline, allow_private=allow_private,
    )  # fmt: skip
    target = folder if folder.is_absolute() else proj.root / folder
    with progress("fetch") as update:
        results = fetch_mod.fetch_all(rows, target, policy=policy, progress=update)
    failed = [r for r in results if r.path is None]
    for r in failed:
        console.print(f"[yellow]failed[/] {escape(r.error)}", highlight=False)
    ok = [r.path for r in results if r.path is not None]
    console.print(f"downloaded {len(ok)} of {len(results)} into {target}")
    result = guard(lambda: proj.ingest(ok)) if ok else IngestResult()
    _print_ingest(result)
    if failed or result.skipped:
        raise typer.Exit(EXIT_SKIPPED)


@app.command()
def demo(
    out_dir: Path = typer.Option(Path("secprio-demo"), "--out", "-o", help="Output folder."),
    pack: str = typer.Option("ots", help="The bundled case pack to run."),
) -> None:
    """Run the whole pipeline on a bundled case pack and write the report."""
    from secprio.report.build import write as write_report  # matplotlib: import on use

    folder = out_dir / "project"
    proj = guard(
        lambda: (
            Project.open(folder)
            if (folder / "secprio.yaml").exists()
            else Project.init(folder, pack=pack, name=f"{pack.upper()} demo")
        )
    )
    corpus = guard(lambda: packs.path(pack) / "corpus")
    with progress("ingest") as update:
        result = guard(lambda: proj.ingest([corpus], progress=update))
    _print_ingest(result)
    with progress("code") as update:
        guard(lambda: proj.code(progress=update))
    scores = guard(lambda: proj.scores())
    out.print(score_table(scores))
    rep = guard(lambda: write_report(proj, out_dir))
    out.print(f"report: {rep.html.resolve()}")
    if result.skipped:
        raise typer.Exit(EXIT_SKIPPED)
