"""Coding commands: suggest sentences to review, validate against gold, REFI-QDA and gold I/O."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from secprio import files, packs
from secprio.cli.app import (
    ProjectOption,
    app,
    choices,
    console,
    guard,
    open_project,
    out,
    progress,
    require_file,
    value,
)
from secprio.exchange import EXPORT_FORMATS, ExchangeError
from secprio.exchange.gold import Gold, locate, project_documents, read
from secprio.measure.agreement import RELIABLE, TENTATIVE
from secprio.project import Project

if TYPE_CHECKING:
    from secprio.exchange.qdpx import ImportResult

ExportFormat = choices("ExportFormat", EXPORT_FORMATS)


@app.command()
def suggest(
    n: int = typer.Argument(20, help="How many sentences to propose."),
    out_file: Path = typer.Option(
        None, "--out", "-o", help="CSV to write (default: suggest.csv in the project)."
    ),
    project: Path = ProjectOption,
) -> None:
    """List the sentences whose human label would teach the supervised coder most."""
    from secprio.coders.build import suggest as propose

    proj = open_project(project)
    df = guard(lambda: propose(proj, n))
    path = out_file or proj.root / "suggest.csv"
    files.write_csv(path, df)
    table = Table(title=f"{len(df)} sentences to review (most uncertain first)")
    for col in ("id", "uncertain", "probability", "machine", "text"):
        table.add_column(col, overflow="fold")
    for r in df.itertuples(index=False):
        table.add_row(r.id, r.uncertain, f"{r.probability:.2f}", r.machine, r.text)
    out.print(table)
    console.print(
        f"wrote {path}: fill `category` (one row per category, empty for none) and "
        f"`coder`, then `secprio import-gold -p {proj.root} {path}`",
        highlight=False,
    )


def _gold(proj: Project, gold: Path | None) -> Gold:
    path = gold or locate(proj)
    if path is None:
        raise ExchangeError(
            "no gold file given and none in the project",
            hint="pass a file, or put gold.csv in the project folder",
            code="E353",
        )
    if gold is None and packs.ROOT in path.resolve().parents:
        console.print(
            f"[yellow]note[/] validating against the bundled pack's gold set ({path.name}): "
            "sentences written by the secprio project, not your documents — a figure about "
            "your corpus needs your own gold file (secprio validate GOLD.csv)",
            highlight=False,
        )
    return read(path, categories=proj.codebook.ids(), documents=project_documents(proj),
                limits=proj.settings.imports)  # fmt: skip


@app.command()
def validate(
    gold: Path = typer.Argument(
        None, help="Gold CSV/JSONL (default: the project's gold.csv), or a codebook YAML to check."
    ),
    coder: list[str] = typer.Option(
        None, "--coder", "-c", help="Coder(s) to validate (default: all available)."
    ),
    folds: int = typer.Option(5, help="Cross-validation folds over gold sentences."),
    boot: int = typer.Option(0, help="Bootstrap replicates (default: the project setting)."),
    out_dir: Path = typer.Option(None, "--out", "-o", help="Also write the tables as CSV here."),
    project: Path = ProjectOption,
) -> None:
    """Machine vs human coding: P, R, F1 (95% intervals), confusions, Krippendorff's alpha."""
    from secprio.measure.validation import f1_table
    from secprio.measure.validation import validate as run
    from secprio.report.validation import save

    if gold is not None and gold.suffix.lower() in (".yaml", ".yml"):
        _check_codebook(gold)
        return
    proj = open_project(project)
    gold_set = guard(lambda: _gold(proj, gold))
    m = proj.settings.measure
    with progress("validate (cross-fitted coders, then each coder)") as update:
        result = guard(
            lambda: run(
                proj,
                gold_set,
                coders=coder or None,
                folds=folds,
                n_boot=boot or m.bootstrap,
                seed=m.seed,
                progress=update,
            )
        )
    console.print(
        f"gold: {result.gold} — {result.n_sentences} sentences coded by "
        f"{result.reference}; supervised and ensemble cross-fitted over "
        f"{result.folds} folds"
    )
    out.print(_frame_table(f1_table(result.metrics), "F1 per category (machine vs human)"))
    macro = result.metrics[result.metrics["category"] == "macro"]
    out.print(
        _frame_table(
            macro[["coder", "precision", "recall", "f1", "f1_lo", "f1_hi"]],
            "Macro averages (F1 with 95% interval)",
        )
    )
    for name, part in result.confusions.groupby("coder", sort=False):
        out.print(
            _frame_table(part.drop(columns="coder").head(5), f"Most frequent confusions: {name}")
        )
    pooled = result.alpha[result.alpha["category"] == "all categories (pooled)"]
    out.print(
        _frame_table(
            pooled[["pair", "alpha", "alpha_lo", "alpha_hi", "verdict"]],
            f"Krippendorff's alpha (reliable >= {RELIABLE:.3f}, tentative >= {TENTATIVE:.3f})",
        )
    )
    save(result, proj.root, proj.codebook.sha256)  # the report shows it from now on
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        files.write_csv(out_dir / "validation_metrics.csv", result.metrics)
        files.write_csv(out_dir / "validation_confusions.csv", result.confusions)
        files.write_csv(out_dir / "validation_alpha.csv", result.alpha)
        console.print(f"tables written to {out_dir}")


def _check_codebook(path: Path) -> None:
    """`secprio validate codebook.yaml` checks a codebook, as its template promises."""
    from secprio.codebook.load import validate as check

    problems = check(path)
    for p in problems:
        console.print(str(p), highlight=False)
    if problems:
        raise typer.Exit(2)
    console.print(f"{path}: no problems found")


def _frame_table(df: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for col in df.columns:
        table.add_column(str(col), overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    return table


@app.command()
def export(
    target: Path = typer.Argument(
        ..., help="A .qdpx project or a .qdc codebook to write; a folder with --format parquet."
    ),
    format_: ExportFormat = typer.Option(  # type: ignore[valid-type]
        None, "--format", "-f", help="What to write (default: by the target's suffix)."
    ),
    coder: list[str] = typer.Option(
        None,
        "--coder",
        "-c",
        help="Only these coders' codings (default: all); parquet: whose sentence_codings.",
    ),
    project: Path = ProjectOption,
) -> None:
    """Export to REFI-QDA for NVivo, MAXQDA, ATLAS.ti or QualCoder, or to Parquet tables.

    ``--format parquet`` writes every table of the store and the sentence × category codings
    into the folder TARGET (docs/formats.md, 'Parquet export')."""
    from secprio.exchange.qdpx import export_codebook, export_project

    proj = open_project(project)
    kind = value(format_) or target.suffix.lower().lstrip(".")
    if kind == "parquet":
        _export_parquet(proj, target, coder)
        return
    if kind == "qdc":
        guard(lambda: export_codebook(proj.codebook, target))
    elif kind == "qdpx":
        guard(lambda: export_project(proj, target, coders=coder or None))
    else:
        _fail(
            ExchangeError(
                f"cannot export to {target.suffix or 'no suffix'}",
                path=target,
                hint="name the file .qdpx or .qdc, or write Parquet into a folder: "
                "--format parquet",
                code="E352",
            )
        )
    console.print(f"wrote {target}")


def _export_parquet(proj: Project, target: Path, coder: list[str] | None) -> None:
    from secprio.api import export_parquet

    if coder and len(coder) > 1:
        _fail(
            ExchangeError(
                "the Parquet export takes one --coder (whose codings sentence_codings holds)",
                path=target,
                hint="give --coder once, or leave it out for the project's coder",
                code="E357",
            )
        )
    files_ = guard(lambda: export_parquet(proj, target, coder=coder[0] if coder else None))
    rows = ", ".join(f"{r.table} {r.rows:,}" for r in files_.itertuples(index=False))
    console.print(f"wrote {len(files_)} Parquet files to {target} ({rows} rows)")


def _fail(exc: ExchangeError) -> NoReturn:
    console.print(f"[bold red]error[/] {escape(str(exc))}", highlight=False)
    raise typer.Exit(2)


@app.command("import-gold")
def import_gold(
    gold: Path = typer.Argument(..., help="Gold CSV/JSONL (e.g. a filled-in suggest.csv)."),
    project: Path = ProjectOption,
) -> None:
    """Store human codings from a gold file on the project's sentences."""
    from secprio.exchange.gold import to_store

    proj = open_project(project)
    require_file(gold, "the gold file", "give the path of a gold CSV/JSONL (docs/formats.md)")
    gold_set = guard(lambda: _gold(proj, gold))
    n, missing = guard(lambda: to_store(proj, gold_set))
    console.print(f"stored {n} human decision(s); {len(missing)} sentence(s) not in the corpus")
    if missing:
        console.print(
            "[yellow]sentences not found[/] (kept in the file; put it in the project "
            "folder as gold.csv to train and validate with them): "
            + escape(", ".join(missing[:5]))
            + (" …" if len(missing) > 5 else ""),
            highlight=False,
        )


@app.command("import-qdpx")
def import_qdpx(
    qdpx: Path = typer.Argument(..., help="A REFI-QDA project exported by a QDA tool."),
    map_: list[str] = typer.Option(
        None, "--map", "-m", help="Code name to category id: 'Code name=category_id'."
    ),
    no_ingest: bool = typer.Option(False, help="Do not add documents missing from the project."),
    project: Path = ProjectOption,
) -> None:
    """Import codings made in NVivo, MAXQDA, ATLAS.ti or QualCoder as human codings."""
    from secprio.exchange.qdpx import import_qdpx as run

    proj = open_project(project)
    require_file(qdpx, "the REFI-QDA project", "give the path of a .qdpx file a QDA tool exported")
    mapping = {}
    for item in map_ or []:
        name, sep, cat = item.rpartition("=")
        if not sep:
            _fail(
                ExchangeError(
                    f"--map {item!r} has no '='",
                    hint="write --map 'Code name=category_id'",
                    code="E351",
                )
            )
        mapping[name.strip()] = cat.strip()
    result = guard(lambda: run(proj, qdpx, mapping=mapping, ingest_missing=not no_ingest))
    if result.codings:
        console.print(
            f"stored {result.codings} sentence coding(s) from {result.selections} "
            f"selection(s) by {', '.join(result.coders)}"
        )
    else:
        console.print(_nothing_stored(result), highlight=False)
    for name, count in result.unmapped_codes.items():
        console.print(
            f"[yellow]code not mapped[/] {escape(repr(name))} ({count} selections): "
            f"add --map '{escape(name)}=CATEGORY_ID'",
            highlight=False,
        )
    for name in result.unmatched_sources:
        console.print(f"[yellow]source not found[/] {escape(name)}", highlight=False)


def _nothing_stored(result: ImportResult) -> str:
    """Why an import stored no human coding, and what to do."""
    n, machine = result.selections, result.machine_skipped
    why = []
    if machine:
        why.append(
            f"{machine} of {n} selection(s) are machine codings exported by secprio (only "
            "human codings are imported; the machine ones are recomputed by `secprio code`)"
        )
    if result.unmapped_codes:
        why.append("codes not mapped to a category (see below: add --map)")
    if result.unmatched_sources:
        why.append("sources not found in the project (see below)")
    if not n:
        why.append("the file holds no coded selection")
    return "stored no human coding: " + ("; ".join(why) or f"none of {n} selection(s) matched")
