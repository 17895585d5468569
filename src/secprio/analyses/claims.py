"""The claim check: each claim of a claims file against the corpus — the best passages, date
agreement and a verdict (``secprio claims``, the report's claim check)."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from secprio.analyses.registry import CODER, Analysis, Cli, Data, Param, View, register, tables
from secprio.measure import claims as claims_mod
from secprio.measure import claimstream
from secprio.report.parts import STYLE, badge
from secprio.report.sections import Section
from secprio.store import aggregate

FILE = Param("file", Path, None, "Claims YAML (default: the project's claims file).",
             argument=True)  # fmt: skip
SEMANTIC = Param("semantic", bool, True, "Skip semantic retrieval.", flag="--lexical-only",
                 negate=True)  # fmt: skip


def claim_check(
    data: Data, file: Path | str | None = None, semantic: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The claims and their passages, in one pass (once per file and retrieval)."""
    path = data.require_context("claims", file)

    def run() -> tuple[pd.DataFrame, pd.DataFrame]:
        items = claims_mod.load(path, categories=data.project.codebook.ids())
        cache = claims_mod.cache_path(data.project.root)
        if data.framed:
            corpus = claims_mod.Corpus.build(data.sentences, data.codings, semantic=semantic,
                                             cache=cache)  # fmt: skip
            return claims_mod.check(items, corpus)
        return _streamed(data, items, semantic=semantic, cache=cache)

    return data.memo(("claims", path, semantic), run)


def _streamed(
    data: Data, items: list[claims_mod.Claim], *, semantic: bool, cache: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The claim check over the corpus streamed from the store (secprio.measure.claimstream):
    the sentences and codings are never held whole."""
    data.check_coded()
    p, coder = data.project, data.coder
    store = p.store

    def texts(segments: list[int]) -> list[str]:
        found = aggregate.passages(store, segments).set_index("segment_id")["text"]
        return [str(found[s]) for s in segments]

    scratch = p.root / ".secprio"
    scratch.mkdir(parents=True, exist_ok=True)
    return claimstream.check(
        items,
        lambda: aggregate.sentence_texts(store),
        lambda lo, hi: p.codings(coder, between=(lo, hi), evidence=False),
        lambda ids: p.sentences(text=True, documents=ids),
        texts,
        semantic=semantic,
        cache=cache,
        scratch=scratch,
    )


def _claims(data: Data, *, file: Path | str | None, semantic: bool) -> pd.DataFrame:
    return claim_check(data, file, semantic)[0]


def _passages(data: Data, *, file: Path | str | None, semantic: bool) -> pd.DataFrame:
    return claim_check(data, file, semantic)[1]


# -- the report's section ----------------------------------------------------------------------
def claims_section(ctx: Data) -> Section | None:
    from secprio.report.html import table

    if ctx.context_file("claims") is None:
        return None
    results, psg = ctx.run("claims"), ctx.run("claim_passages")
    note = str(results["retrieval"].iat[0]) if len(results) else "no claims"
    rows = []
    for r in results.itertuples(index=False):
        mine = psg[psg["claim"] == r.claim]
        quotes = "".join(
            f"<blockquote>{escape(p.text)}<cite>{escape(str(p.title))} · "
            f"{escape(str(p.evidence_date))} · match {p.match:.2f}</cite>"
            "</blockquote>"
            for p in mine.itertuples(index=False)
        )
        check = "" if r.agrees is None else " ✓" if r.agrees else " ✗"
        rows.append(
            f"<tr><td>{escape(r.text)}<br><small>{escape(r.claim)}</small></td>"
            f"<td>{r.year or ''}</td><td>{badge(r.verdict)}</td>"
            f"<td>{badge(r.expected) if r.expected else ''}{check}</td>"
            f"<td>{escape(r.date_agreement)}<br><small>{escape(r.evidence_years)}"
            f"</small></td><td><small>{escape(r.reason)}</small><details>"
            f"<summary>best passages</summary>{quotes}</details></td></tr>"
        )
    known = results[results["expected"] != ""]
    score = (
        f"{int(known['agrees'].sum())} of {len(known)} verdicts match the expected ones."
        if len(known)
        else ""
    )
    html = (
        STYLE + f"<p>Retrieval: {escape(note)}. Verdicts: <b>supported</b> — "
        "a passage holds the claim's terms and is dated as claimed, unqualified; "
        "<b>weak</b> — the evidence is misdated, qualified by a denial, or matches only in "
        "part; <b>not found</b> — the corpus is silent or contradicts the claim (rules in "
        "docs/analyses.md). "
        f"{score}</p>"
        '<table class="t1" id="claims-table"><thead><tr><th>claim</th><th>year</th>'
        "<th>verdict</th><th>expected</th><th>dates</th><th>why</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        + (
            "<h3>Expected × verdict</h3>"
            + table(claims_mod.confusion(results).reset_index(), id="claims-confusion")
            if len(known)
            else ""
        )
    )
    return Section("claims", "Claim check", html, tables={"claims": results, "claim_passages": psg})


def _show(v: View) -> None:
    df = v.frame
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
    v.table("Claim check", ["claim", "year", "verdict", "expected", "", "dates", "why"], rows)
    if (df["expected"] != "").any():
        v.print(claims_mod.confusion(df).to_string())
    v.note(str(df["retrieval"].iat[0]) if len(df) else "no claims")


register(
    Analysis(
        "claims",
        _claims,
        "One row per claim: verdict (supported, weak, not_found), date agreement, best "
        "passage, and the expected verdict when the claims file gives one.",
        params=(FILE, SEMANTIC, CODER),
        columns=(
            "claim",
            "text",
            "year",
            "categories",
            "verdict",
            "expected",
            "agrees",
            "date_agreement",
            "evidence_years",
            "reason",
            "best_match",
            "best_passage",
            "best_source",
            "retrieval",
        ),
        cli=Cli(
            "claims",
            help="Check claims against the corpus: best passages, date agreement, a verdict.",
            show=_show,
        ),
        section=claims_section,
        order=75,
        report_tables=tables(("claims", {})),
    )
)
register(
    Analysis(
        "claim_passages",
        _passages,
        "The retrieved passages of every claim, ranked, with their scores and dates.",
        params=(FILE, SEMANTIC, CODER),
        columns=(
            "claim",
            "rank",
            "segment_id",
            "document_id",
            "title",
            "date",
            "evidence_date",
            "url",
            "lexical",
            "semantic",
            "fused",
            "match",
            "sentence_match",
            "missing",
            "denial",
            "denies_year",
            "date_agrees",
            "text",
        ),
        report_tables=tables(("claim_passages", {})),
    )
)
