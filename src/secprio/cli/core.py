"""Core commands: init, ingest, code, score, report, demo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Group
from rich.markup import escape
from rich.table import Table

from secprio import config, files, packs
from secprio.cli.app import (
    EXIT_SKIPPED,
    ProjectOption,
    app,
    choices,
    console,
    guard,
    open_project,
    out,
    progress,
    value,
    warn,
)
from secprio.coders.registry import REGISTRY, make_coder, validity
from secprio.config import SCALES
from secprio.errors import MissingDependency
from secprio.ingest import fetch as fetch_mod
from secprio.measure import groups
from secprio.measure.scores import INSUFFICIENT, NO_EVIDENCE
from secprio.parallel import EXECUTORS
from secprio.project import IngestResult, Project

Grouping = choices("Grouping", groups.GROUPINGS)
Scale = choices("Scale", SCALES)
Attribution = choices("Attribution", groups.ATTRIBUTIONS)
Executor = choices("Executor", EXECUTORS)
ExecutorOption = typer.Option(
    Executor.local,  # type: ignore[attr-defined]
    help="local: this machine's processes; dask: tasks on a Dask cluster "
    "(pip install 'secprio[dask]'; docs/coders.md).",
)
SchedulerOption = typer.Option(
    "",
    help="With --executor dask: the scheduler's address (tcp://HOST:8786); none: a local cluster.",
)
AttributionOption = typer.Option(
    Attribution.issuer,  # type: ignore[attr-defined]
    help="With --by members: issuer (the state that issued the document), fractional "
    "(1/k to each of k listed states) or every (full weight to each listed state).",
)


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
        f"unchanged {len(result.unchanged)}, skipped {len(result.skipped)}, "
        f"metadata warnings {len(result.warnings)}"
    )
    for s in result.skipped:
        console.print(f"[yellow]skipped[/] {escape(s.reason)}", highlight=False)
    for w in result.warnings[:SHOWN]:
        warn(w)
    if len(result.warnings) > SHOWN:
        console.print(
            f"… {len(result.warnings) - SHOWN} more metadata warning(s): `secprio status "
            "--warnings` lists them all; the report lists them too"
        )


SHOWN = 20  # warnings printed by ingest; `status --warnings` and the report list them all


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders to read."),
    follow_symlinks: bool = typer.Option(
        False, help="Read links whose target is outside the folders given."
    ),
    jobs: int = typer.Option(
        None,
        min=1,
        help="Reader processes (default: one per core for a corpus worth it; with --executor "
        "dask and no --scheduler: the local cluster's workers, which must see the files at "
        "the same paths).",
        show_default=False,
    ),
    executor: Executor = ExecutorOption,  # type: ignore[valid-type]
    scheduler: str = SchedulerOption,
    project: Path = ProjectOption,
) -> None:
    """Read documents (PDF, DOCX, HTML, TXT, MD) and their metadata into the store."""
    proj = open_project(project)
    with progress("ingest") as update:
        result = guard(
            lambda: proj.ingest(
                paths, progress=update, follow_symlinks=follow_symlinks, workers=jobs,
                executor=value(executor), scheduler=scheduler or None,
            )
        )  # fmt: skip
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
    batch: int = typer.Option(25, min=1, help="Documents per committed batch."),
    jobs: int = typer.Option(
        None,
        min=1,
        help="Worker processes that code the batches (default 1; with --executor dask and no "
        "--scheduler: the local cluster's workers, default one per core).",
        show_default=False,
    ),
    executor: Executor = ExecutorOption,  # type: ignore[valid-type]
    scheduler: str = SchedulerOption,
    project: Path = ProjectOption,
) -> None:
    """Code every sentence not yet coded; an interrupted run resumes where it stopped."""
    proj = open_project(project)
    guard(lambda: proj.codebook)  # a bad codebook is reported before any work starts
    with progress(f"code ({proj.coder(coder or None)})") as update:
        result = guard(
            lambda: proj.code(
                coder or None, batch=batch, progress=update, jobs=jobs,
                executor=value(executor), scheduler=scheduler or None,
            )
        )  # fmt: skip
    console.print(
        f"run {result.run_id}: coded {result.documents} document(s), "
        f"{result.codings} coding(s) by {result.coder}"
    )
    if result.trained_on:
        console.print(f"  trained on: {result.trained_on}", highlight=False)
    console.print(f"  validity: {validity(result.coder, proj)}", highlight=False)


CoderOption = typer.Option(
    "", "--coder", help="Whose codings to measure (default: the setting; auto = best validated)."
)


def use_coder(proj: Project, coder: str) -> Project:
    """Measure ``coder``'s codings in this command (the setting is left as it is)."""
    if coder:
        name = guard(lambda: proj.coder(coder))
        if name not in REGISTRY:
            guard(lambda: make_coder(name, proj))  # the error lists the valid names
        proj.settings.measure.coder = name
    return proj


@app.command()
def score(
    by: Grouping = typer.Option(None, help="Group by a metadata field (a frame per value)."),  # type: ignore[valid-type]
    scale: Scale = typer.Option(None, help="The 1–9 mapping (default: the setting)."),  # type: ignore[valid-type]
    attribution: Attribution = AttributionOption,  # type: ignore[valid-type]
    csv: Path = typer.Option(None, help="Also write the table to this CSV file."),
    coder: str = CoderOption,
    project: Path = ProjectOption,
) -> None:
    """Print the 1–9 scores with 95% bootstrap intervals and the evidence behind each."""
    proj = use_coder(open_project(project), coder)
    df = guard(
        lambda: proj.scores(by=value(by), scale=value(scale), attribution=value(attribution))
    )
    console.print(f"coder: {validity(proj.coder(), proj)}", highlight=False)
    if csv:
        files.write_csv(csv, df)
    out.print(score_table(df))
    if df.attrs.get("attribution"):
        console.print(f"member states by the rule '{df.attrs['attribution']}' (--attribution)")
    if df.attrs.get("warning"):
        warn(df.attrs["warning"])


def _cells(r: object) -> list[str]:
    """score, interval and evidence of one row, never a number where there is no evidence."""
    state = getattr(r, "evidence", "measured")
    if state == NO_EVIDENCE:
        return ["—", "", "no evidence"]
    note = f"insufficient ({r.n_docs_coded}/{r.n_documents} docs)" if state == INSUFFICIENT else ""  # type: ignore[attr-defined]
    return [f"{r.score:.1f}", f"{r.score_lo:.1f}–{r.score_hi:.1f}", note]  # type: ignore[attr-defined]


def score_table(df: pd.DataFrame) -> Group:
    """Priorities and threats as two compact tables (fits an 80-column terminal)."""
    frames = df["frame"].nunique() > 1
    tables = []
    for kind, title in (("priority", "Security priorities"), ("threat", "Threat factors")):
        part = df[df["kind"] == kind]
        if part.empty:
            continue
        table = Table(title=f"{title}: score 1–9 with 95% interval", title_justify="left")
        cols = ["category", "score", "95% CI", "share", "sentences", "evidence"]
        for col in (["frame"] if frames else []) + cols:
            left = col in ("frame", "category", "evidence")
            table.add_column(col, justify="left" if left else "right")
        for r in part.itertuples(index=False):
            score, ci, note = _cells(r)
            row = [r.label, score, ci, f"{100 * r.salience:.1f}%", str(r.n_coded), note]
            table.add_row(*([str(r.frame)] if frames else []), *row)
        tables.append(table)
    return Group(*tables)


@app.command()
def report(
    out_dir: Path = typer.Option(Path("report"), "--out", "-o", help="Output folder."),
    coder: str = CoderOption,
    project: Path = ProjectOption,
) -> None:
    """Write the offline HTML report, figures (PNG at 300 dpi, SVG, PDF) and tables (CSV, JSON)."""
    from secprio.report.build import write as write_report  # matplotlib: import on use

    proj = use_coder(open_project(project), coder)
    # one state of the store throughout, even while a `code` commits batches
    with progress("report") as update, proj.store.snapshot():
        rep = guard(lambda: write_report(proj, out_dir, progress=update))
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
        console.print(f"[yellow]failed[/] {escape(str(r.error))}", highlight=False)
    ok = [r.path for r in results if r.path is not None]
    console.print(f"downloaded {len(ok)} of {len(results)} into {target}")
    result = guard(lambda: proj.ingest(ok)) if ok else IngestResult()
    _print_ingest(result)
    if failed or result.skipped:
        raise typer.Exit(EXIT_SKIPPED)


def _semantic_note(proj: Project) -> str:
    """A note naming the extra when the sentence-embedding model is not installed."""
    from importlib import import_module

    from secprio.coders.embed import backend

    b = guard(lambda: backend(proj.settings.measure.embedding))
    try:
        import_module(b.module)
    except ImportError:
        return (
            f"{b.package} is not installed, so claims are checked by lexical retrieval only "
            "and the semantic and ensemble coders are off: pip install 'secprio[semantic]'"
        )
    return ""


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
    notes = [n for n in (_semantic_note(proj),) if n]
    with progress("code") as update:
        try:
            proj.code(progress=update)
        except MissingDependency as exc:  # a plain install still runs the demo
            notes.append(f"the {proj.coder()} coder is unavailable ({exc.hints.cli})")
            notes.append("the demo coded with the dictionary coder instead")
            proj.settings.measure.coder = "dictionary"
            config.save(proj.settings, proj.root / config.CONFIG_NAME)
            guard(lambda: proj.code(progress=update))
    scores = guard(lambda: proj.scores())
    out.print(score_table(scores))
    # one state of the store throughout, even while a `code` commits batches
    with progress("report") as update, proj.store.snapshot():
        rep = guard(lambda: write_report(proj, out_dir, progress=update))
    out.print(f"report: {rep.html.resolve()}")
    for n in notes:
        console.print(f"[yellow]note[/] {escape(n)}", highlight=False)
    if result.skipped:
        raise typer.Exit(EXIT_SKIPPED)


@app.command()
def status(
    documents: bool = typer.Option(False, "--documents", help="List every document."),
    runs: bool = typer.Option(False, "--runs", help="List every run with its provenance."),
    warnings: bool = typer.Option(False, "--warnings", help="List every metadata warning."),
    project: Path = ProjectOption,
) -> None:
    """What is in a project: documents, runs, coders and their codings, warnings."""
    proj = open_project(project)
    cb = guard(lambda: proj.codebook)
    docs = proj.documents()
    out.print(
        f"project [bold]{proj.settings.name}[/] in {proj.root}; codebook {cb.name} "
        f"{cb.version} ({len(cb.categories)} categories, sha256 {cb.sha256[:12]})"
    )
    dated = docs["date"][docs["date"] != ""]
    span = f"{dated.min()} … {dated.max()}" if len(dated) else "none dated"
    out.print(
        f"documents: {len(docs)} ({span}; {len(docs) - len(dated)} undated); languages: "
        f"{_counts(docs['language'])}; types: {_counts(docs['doc_type'])}"
    )
    out.print(_coder_table(proj))
    notes = proj.warnings()
    out.print(f"skipped files: {len(proj.skipped())}; metadata warnings: {len(notes)}")
    if documents:
        out.print(_documents_table(docs))
    if runs:
        out.print(_runs_table(proj))
    if warnings:
        for w in notes["warning"]:
            out.print(w, highlight=False, markup=False)


def _counts(col: pd.Series) -> str:
    counts = col.replace("", "(none)").value_counts()
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "—"


def _coder_table(proj: Project) -> Table:
    runs = proj.runs()
    cod = proj.store.table("codings")
    table = Table(title="Coders and their codings", title_justify="left")
    for col in ("coder", "source", "runs", "codings", "documents (current codebook)", "stale"):
        table.add_column(col, justify="left" if col in ("coder", "source") else "right")
    machine = runs[runs["kind"] == "code"]["coder"].unique().tolist() if len(runs) else []
    for name in machine:
        cov = proj.coverage(name)
        n = int(((cod["coder"] == name) & (cod["source"] == "machine")).sum())
        n_runs = int((runs["coder"] == name).sum())
        table.add_row(
            name, "machine", str(n_runs), str(n), f"{cov['current']} of {cov['documents']}",
            str(cov["stale"]),
        )  # fmt: skip
    human = cod[cod["source"] == "human"]
    for name, part in human.groupby("coder"):
        table.add_row(str(name), "human", "", str(len(part)), "", "")
    if not machine and human.empty:
        table.add_row("(none)", "", "", "0", "", "")
    return table


def _runs_table(proj: Project) -> Table:
    table = Table(title="Runs", title_justify="left")
    for col in ("id", "kind", "coder", "version", "codebook", "status", "started", "finished"):
        table.add_column(col, overflow="fold")
    sha = proj.codebook.sha256
    for r in proj.runs().itertuples(index=False):
        book = "current" if r.codebook_sha256 == sha else f"other ({r.codebook_sha256[:12]})"
        table.add_row(
            str(r.id), r.kind, r.coder, r.coder_version, book, r.status,
            str(r.started_at)[:19], str(r.finished_at or "")[:19],
        )  # fmt: skip
    return table


def _documents_table(docs: pd.DataFrame) -> Table:
    table = Table(title="Documents", title_justify="left")
    for col in ("id", "path", "date", "doc_type", "issuer", "members", "language", "warnings"):
        table.add_column(col, overflow="fold")
    for r in docs.itertuples(index=False):
        table.add_row(
            str(r.document_id), str(r.path), r.date or "—", r.doc_type, r.issuer or "—",
            " ".join(r.members) or "—", r.language or "—",
            str(len((r.extra or {}).get("warnings", []))),
        )  # fmt: skip
    return table
