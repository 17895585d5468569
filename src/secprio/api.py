"""The Python API of the analyses: one function per analysis, each returning a DataFrame.

Every function takes a project (a ``Project`` or the path of a project folder) and keyword
options, and computes from the store's effective codings (human decisions win)::

    from secprio import api
    api.table1("mystudy")                          # the Table 1 view
    api.grid("mystudy", by="year")                 # year × priority grid
    api.window("mystudy", event="karabakh-war-2020", before="2y", after="2y")

The same functions feed the report and the CLI, so the three always agree. See
``docs/analyses.md`` for what each computes and how to read it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from secprio.errors import MeasureError
from secprio.measure import claims as claims_mod
from secprio.measure import compare, windows
from secprio.measure import expert as expert_mod
from secprio.measure import links as links_mod
from secprio.measure import shifts as shifts_mod
from secprio.measure import trends as tr
from secprio.project import Project
from secprio.timeline import events as tl
from secprio.timeline.figure import link_documents

ProjectLike = Project | str | Path


def _open(project: ProjectLike) -> Project:
    return project if isinstance(project, Project) else Project.open(project)


def _codings(p: Project, coder: str | None) -> pd.DataFrame:
    """The effective codings, after checking there are any to measure with (else an error
    that says to run ``secprio code``)."""
    p.require_codings(coder)
    return p.codings(coder)


def _context(p: Project, key: str, file: Path | str | None) -> Path:
    path = Path(file) if file else p.context_file(key)
    if path is None or not path.is_file():
        raise MeasureError(
            f"no {key} file",
            path=path or p.root,
            hint=f"pass file=..., or set '{key}:' in secprio.yaml",
            code="E501",
        )
    return path


def links(
    project: ProjectLike,
    *,
    unit: str = "paragraph",
    window: int = 1,
    alpha: float = 0.05,
    min_count: int = 2,
    coder: str | None = None,
) -> pd.DataFrame:
    """Every (threat, priority) pair: a b c d, lift, log-odds ratio [95% CI], Fisher p, BH q."""
    p = _open(project)
    return links_mod.link_table(
        p.sentences(),
        _codings(p, coder),
        p.codebook,
        unit=unit,
        window=window,
        alpha=alpha,
        min_count=min_count,
    )


def link_passages(
    project: ProjectLike,
    *,
    unit: str = "paragraph",
    window: int = 1,
    top: int = 3,
    coder: str | None = None,
) -> pd.DataFrame:
    """The ``top`` strongest passages of every (threat, priority) pair that co-occurs."""
    p = _open(project)
    cb = p.codebook
    pairs = [(t, q) for t in cb.ids("threat") for q in cb.ids("priority")]
    return links_mod.passages(
        p.sentences(text=True), _codings(p, coder), cb, pairs, unit=unit, window=window, top=top
    )


def table1(
    project: ProjectLike,
    *,
    unit: str = "paragraph",
    window: int = 1,
    alpha: float = 0.05,
    min_count: int = 2,
    expert_file: Path | str | None = None,
    coder: str | None = None,
) -> pd.DataFrame:
    """The Table 1 view: per threat its significant responses ranked by lift (or its best
    ones marked "not significant"), the expert's pairs beside them, three passages each."""
    p = _open(project)
    cb = p.codebook
    sents, cods = p.sentences(text=True), _codings(p, coder)
    table = links_mod.link_table(
        sents, cods, cb, unit=unit, window=window, alpha=alpha, min_count=min_count
    )
    pairs: dict[str, list[str]] = {}
    if expert_file or p.context_file("expert"):
        path = _context(p, "expert", expert_file)
        pairs = expert_mod.load(path, categories=cb.ids()).pairs
    view = links_mod.table1(table, expert_pairs=pairs)
    shown = list(view[view["priority"] != ""][["threat", "priority"]].itertuples(index=False))
    psg = links_mod.passages(sents, cods, cb, [tuple(x) for x in shown], unit=unit, window=window)
    return with_passages(view, psg)


def with_passages(view: pd.DataFrame, psg: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """Add columns passage_1..top ("title (date): text") to a Table 1 view."""
    out = view.copy()
    for k in range(1, top + 1):
        col = psg[psg["rank"] == k].set_index(["threat", "priority"])
        text = col["title"] + " (" + col["date"] + "): " + col["text"]
        out[f"passage_{k}"] = [
            text.get((t, q), "") for t, q in zip(out["threat"], out["priority"], strict=True)
        ]
    return out


def grid(
    project: ProjectLike,
    *,
    by: str = "members",
    kind: str = "priority",
    attribution: str = "issuer",
    coder: str | None = None,
) -> pd.DataFrame:
    """A comparison grid: ``by`` (members, year, doc_type, …) × category; count, pct, row_pct.
    ``attribution``: how sentences count for member states (issuer, fractional, every)."""
    p = _open(project)
    cod = _codings(p, coder)
    return compare.grid(p.sentences(), cod, p.codebook, by=by, kind=kind, attribution=attribution)


def _event(p: Project, event: str) -> tuple[dt.date, str]:
    try:
        return dt.date.fromisoformat(event), ""
    except ValueError:
        found = tl.find(tl.load(_context(p, "events", None)), event)
        return found.date, found.id


def window(
    project: ProjectLike,
    *,
    event: str,
    before: str = "2y",
    after: str = "2y",
    coder: str | None = None,
) -> pd.DataFrame:
    """Salience before vs after an event (an id from events.yaml or an ISO date), with the
    change and its 95% bootstrap interval; n documents per window and a warning when thin."""
    p = _open(project)
    day, event_id = _event(p, event)
    m = p.settings.measure
    return windows.window(
        p.sentences(),
        _codings(p, coder),
        p.codebook,
        event=day,
        before=before,
        after=after,
        n_boot=m.bootstrap,
        seed=m.seed,
        event_id=event_id or event,
    )


def shifts(
    project: ProjectLike,
    *,
    window: str = "30d",
    baseline: str = "",
    by: tuple[str, ...] = (),
    fdr: float = 0.05,
    coder: str | None = None,
    unit: str = "documents",
) -> pd.DataFrame:
    """Each category's shift in the newest ``window`` (by document date) against the baseline
    before it: counts, rate ratio with its 95% interval, p and BH q values, whether it
    alerts and the segment ids of the sentences that drive it (docs/watch.md). ``unit``:
    ``documents`` (permutation test over documents) or ``sentences`` (exact binomial)."""
    p = _open(project)
    sents = p.sentences()
    win, base, info = shifts_mod.date_windows(sents, window, baseline)
    out = shifts_mod.shifts(
        sents, _codings(p, coder), p.codebook, window=win, baseline=base, by=by, fdr=fdr,
        unit=unit, random_state=p.settings.measure.seed,
    )  # fmt: skip
    out.attrs.update(info)
    return out


def trends(project: ProjectLike, *, coder: str | None = None) -> pd.DataFrame:
    """Salience per year and category with 95% bootstrap intervals."""
    p = _open(project)
    m = p.settings.measure
    return tr.per_year(
        p.sentences(), _codings(p, coder), p.codebook, n_boot=m.bootstrap, seed=m.seed
    )


def projection(
    project: ProjectLike,
    *,
    years: int = 3,
    min_years: int = tr.MIN_YEARS,
    min_sentences: int = tr.MIN_SENTENCES,
    coder: str | None = None,
) -> pd.DataFrame:
    """A labelled extrapolation of yearly salience with 95% prediction intervals, or one
    "withheld" row per category when the data are too thin."""
    return tr.projection(
        trends(project, coder=coder), years=years, min_years=min_years, min_sentences=min_sentences
    )


def _assessment(p: Project, file: Path | str | None) -> expert_mod.Assessment:
    return expert_mod.load(_context(p, "expert", file), categories=p.codebook.ids())


def expert(
    project: ProjectLike,
    *,
    file: Path | str | None = None,
    scale: str | None = None,
    coder: str | None = None,
) -> pd.DataFrame:
    """Per rated category: expert rating, evidence score [95% CI] and points, difference."""
    p = _open(project)
    return expert_mod.differences(p.scores(scale=scale, coder=coder), _assessment(p, file))


def expert_by_period(
    project: ProjectLike,
    *,
    file: Path | str | None = None,
    scale: str | None = None,
    coder: str | None = None,
) -> pd.DataFrame:
    """The expert ratings beside the evidence of all documents and of every period."""
    p = _open(project)
    assessment = _assessment(p, file)
    frames = pd.concat(
        [p.scores(scale=scale, coder=coder), p.scores(by="period", scale=scale, coder=coder)],
        ignore_index=True,
    )
    return expert_mod.by_frame(frames, assessment)


def expert_correlations(
    project: ProjectLike,
    *,
    file: Path | str | None = None,
    scale: str | None = None,
    coder: str | None = None,
) -> pd.DataFrame:
    """Spearman and Kendall correlations of expert ratings and evidence scores, with 95%
    intervals from a bootstrap over documents."""
    p = _open(project)
    m = p.settings.measure
    assessment = expert_mod.load(_context(p, "expert", file), categories=p.codebook.ids())
    return expert_mod.correlations(
        p.sentences(),
        _codings(p, coder),
        p.codebook,
        assessment,
        scale=scale or m.scale,
        n_boot=m.bootstrap,
        seed=m.seed,
    )


def claims(
    project: ProjectLike,
    *,
    file: Path | str | None = None,
    semantic: bool = True,
    coder: str | None = None,
) -> pd.DataFrame:
    """One row per claim: verdict (supported, weak, not_found), date agreement, best passage,
    and the expected verdict when the claims file gives one."""
    return claim_check(project, file=file, semantic=semantic, coder=coder)[0]


def claim_passages(
    project: ProjectLike,
    *,
    file: Path | str | None = None,
    semantic: bool = True,
    coder: str | None = None,
) -> pd.DataFrame:
    """The retrieved passages of every claim, ranked, with their scores and dates."""
    return claim_check(project, file=file, semantic=semantic, coder=coder)[1]


def claim_check(
    project: ProjectLike,
    *,
    file: Path | str | None = None,
    semantic: bool = True,
    coder: str | None = None,
    sentences: pd.DataFrame | None = None,
    codings: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``claims`` and ``claim_passages`` in one pass. ``sentences`` (with text) and
    ``codings``: the project's, when the caller has them already (the report does)."""
    p = _open(project)
    items = claims_mod.load(_context(p, "claims", file), categories=p.codebook.ids())
    corpus = claims_mod.Corpus.build(
        p.sentences(text=True) if sentences is None else sentences,
        _codings(p, coder) if codings is None else codings,
        semantic=semantic,
        cache=claims_mod.cache_path(p.root),
    )
    return claims_mod.check(items, corpus)


def export_parquet(
    project: ProjectLike, folder: Path | str, *, coder: str | None = None
) -> pd.DataFrame:
    """Write every table of the store and the sentence × category codings (of ``coder``,
    default the project's) as Parquet files into ``folder``; one row per file written."""
    from secprio.exchange import parquet

    p = _open(project)
    written = parquet.export(p, folder, coder=coder)
    out = Path(folder)
    return pd.DataFrame(
        [{"table": k, "rows": n, "path": str(out / f"{k}.parquet")} for k, n in written.items()]
    )


def timeline(
    project: ProjectLike, *, file: Path | str | None = None, tolerance_days: int = 3
) -> pd.DataFrame:
    """Events with their sourcing and the documents of the same dates."""
    p = _open(project)
    events = tl.load(_context(p, "events", file), categories=p.codebook.ids())
    linked = link_documents(events, p.documents(), tolerance_days=tolerance_days)
    frame = tl.frame(events)
    docs = linked.groupby("event")["title"].agg("; ".join)
    frame["n_documents"] = frame["id"].map(linked.groupby("event").size()).fillna(0)
    frame["documents"] = frame["id"].map(lambda i: docs.get(i, ""))
    return frame.astype({"n_documents": int})


def robustness(
    project: ProjectLike, *, coder: str | None = None, variants: bool = False
) -> pd.DataFrame:
    """The range each score moves within under equal weights, the other 1–9 mappings and
    leaving out each document type or member state (``variants=True``: every variant's score)."""
    from secprio.measure import robustness as rb

    p = _open(project)
    m = p.settings.measure
    long = rb.run(
        p.sentences(), _codings(p, coder), p.codebook, scale=m.scale, members=p.settings.members
    )
    return long if variants else rb.summary(long)
