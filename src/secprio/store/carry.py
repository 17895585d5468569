"""Human codings follow a document to its new version; those that cannot are listed.

When an edited file is ingested again, each human coding on the previous version moves to the
new version's sentence with the same text: at the same offsets, or else the same occurrence of
that text elsewhere (a paragraph was inserted above it). A copy records ``carried_from`` (the
id of the coding it came from) in its evidence. Codings whose sentence changed stay on the old
version, untouched, and are listed by :func:`uncarried` until they are carried or reviewed:
nothing a person decided is dropped silently.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from secprio.store import schema as t

Sentence = tuple[int, int, int]  # segment id, start, end


@dataclass
class CarryReport:
    """What re-ingesting edited documents did with their human codings."""

    carried: int = 0
    review: list[dict[str, object]] = field(default_factory=list)  # not carried: for review


def carry(
    conn: sa.Connection,
    *,
    old_id: int,
    new_id: int,
    old_text: str,
    new_text: str,
    report: CarryReport | None = None,
) -> None:
    """Copy the human codings of document version ``old_id`` to version ``new_id``."""
    old = _sentences(conn, old_id)
    coded = conn.execute(
        sa.select(t.codings)
        .join(t.segments, t.segments.c.id == t.codings.c.segment_id)
        .where(t.segments.c.document_id == old_id, t.codings.c.source == "human")
        .order_by(t.codings.c.id)
    ).mappings()
    rows = list(coded)
    if not rows:
        return
    target = _targets(old, old_text, _sentences(conn, new_id), new_text)
    copies = []
    for r in rows:
        seg = target.get(int(r["segment_id"]))
        if seg is None:
            if report is not None:
                report.review.append(_listing(r, old, old_text))
            continue
        copy = {k: v for k, v in r.items() if k != "id"}
        copy["segment_id"] = seg
        copy["evidence"] = {**(r["evidence"] or {}), "carried_from": int(r["id"])}
        copies.append(copy)
    if copies:
        conn.execute(t.codings.insert(), copies)
    if report is not None:
        report.carried += len(copies)


def _sentences(conn: sa.Connection, doc_id: int) -> list[Sentence]:
    q = (
        sa.select(t.segments.c.id, t.segments.c.start, t.segments.c.end)
        .where(t.segments.c.document_id == doc_id, t.segments.c.kind == "sentence")
        .order_by(t.segments.c.start, t.segments.c.id)
    )
    return [(int(i), int(s), int(e)) for i, s, e in conn.execute(q)]


def _targets(
    old: Sequence[Sentence], old_text: str, new: Sequence[Sentence], new_text: str
) -> dict[int, int]:
    """old segment id -> new segment id, for every old sentence whose text is unchanged."""
    at = {(s, e): i for i, s, e in new if new_text[s:e] == old_text[s:e]}
    out = {i: at[(s, e)] for i, s, e in old if (s, e) in at}
    # the rest: the k-th occurrence of a text maps to the k-th occurrence in the new version
    used = set(out.values())
    by_text: dict[str, list[int]] = defaultdict(list)
    for i, s, e in new:
        by_text[new_text[s:e]].append(i)
    seen: dict[str, int] = defaultdict(int)
    for i, s, e in old:
        text = old_text[s:e]
        k = seen[text]
        seen[text] += 1
        if i in out:
            continue
        candidates = by_text.get(text, [])
        if k < len(candidates) and candidates[k] not in used:
            out[i] = candidates[k]
            used.add(candidates[k])
    return out


def _listing(row: Mapping[Any, object], old: Sequence[Sentence], text: str) -> dict[str, object]:
    span = next(((s, e) for i, s, e in old if i == row["segment_id"]), (0, 0))
    return {
        "coding_id": int(str(row["id"])),
        "category": row["category"],
        "coder": row["coder"],
        "value": row["value"],
        "sentence": text[span[0] : span[1]],
    }


def uncarried(engine: sa.Engine) -> pd.DataFrame:
    """Human codings left on a replaced document version: their sentence changed, so they
    were not carried to the version in use. One row each, with the sentence, for review."""
    q = (
        sa.select(
            t.codings.c.id.label("coding_id"),
            t.documents.c.path,
            t.documents.c.version,
            t.codings.c.category,
            t.codings.c.coder,
            t.codings.c.value,
            t.segments.c.start,
            t.segments.c.end,
            t.documents.c.id.label("document_id"),
        )
        .join(t.segments, t.segments.c.id == t.codings.c.segment_id)
        .join(t.documents, t.documents.c.id == t.segments.c.document_id)
        .where(t.codings.c.source == "human", t.documents.c.active.is_(False))
        .order_by(t.codings.c.id)
    )
    with engine.connect() as conn:
        old = pd.read_sql(q, conn)
        if old.empty:
            return old.assign(sentence=[])
        evidence = conn.execute(
            sa.select(t.codings.c.evidence).where(t.codings.c.source == "human")
        ).scalars()
        carried = {int(e["carried_from"]) for e in evidence if e and "carried_from" in e}
        old = old[~old["coding_id"].isin(carried)]
        ids = [int(i) for i in old["document_id"].unique()]
        texts = dict(
            conn.execute(
                sa.select(t.documents.c.id, t.documents.c.text).where(t.documents.c.id.in_(ids))
            ).all()
        )
    old["sentence"] = [
        texts[d][s:e] for d, s, e in zip(old["document_id"], old["start"], old["end"], strict=True)
    ]
    return old.drop(columns=["start", "end", "document_id"]).reset_index(drop=True)
