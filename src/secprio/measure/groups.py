"""Which sentences belong to which group when scores or grids are split by a metadata field.

A plain field (year, doc_type, issuer, language, period) puts each sentence in the group of
its document's value; a document without one is in the group ``(none)`` (``undated`` for
year and period). ``members`` is a list, so a rule says how a sentence is attributed to member
states (``ATTRIBUTIONS``, documented in docs/analyses.md):

- ``issuer`` (default): to the state that issued the document, when the issuer is a country
  code (ISO 3166); documents of the organization itself or without an issuer count for no state. A
  joint declaration says what all members signed, not how they differ.
- ``fractional``: to every state the document lists, each with 1/k of the sentence's weight
  (k states listed), so every sentence counts once in total.
- ``every``: to every state the document lists, each with the full weight (a sentence of a
  declaration of five states counts five times; rows look alike by construction).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from secprio.errors import Hint, MeasureError
from secprio.ingest.countries import is_country

GROUPINGS = ("period", "year", "doc_type", "issuer", "language", "members")
ATTRIBUTIONS = ("issuer", "fractional", "every")
UNDATED = "undated"
NONE = "(none)"


def check(by: str, attribution: str = "issuer") -> None:
    if by not in GROUPINGS:
        raise MeasureError(
            f"cannot group by {by!r}", hint=f"use one of: {', '.join(GROUPINGS)}", code="E515"
        )
    if attribution not in ATTRIBUTIONS:
        raise MeasureError(
            f"unknown member attribution {attribution!r}",
            hint=f"use one of: {', '.join(ATTRIBUTIONS)}",
            code="E514",
        )


def assign(sentences: pd.DataFrame, by: str, *, attribution: str = "issuer") -> pd.DataFrame:
    """One row per (sentence, group): ``pos`` (row position in ``sentences``), ``group``
    (text) and ``share`` (the fraction of the sentence's weight the group gets)."""
    check(by, attribution)
    pos = np.arange(len(sentences))
    if by == "members":
        return _members(sentences, attribution)
    col = sentences[by] if by in sentences.columns else pd.Series([None] * len(sentences))
    if by == "year":
        groups = col.map(lambda y: UNDATED if pd.isna(y) else str(int(y)))
    else:
        groups = col.map(lambda v: NONE if v is None or pd.isna(v) or v == "" else str(v))
    return pd.DataFrame({"pos": pos, "group": groups.to_numpy(), "share": 1.0})


def _members(sentences: pd.DataFrame, attribution: str) -> pd.DataFrame:
    if attribution == "issuer":
        issuer = sentences["issuer"].fillna("").astype(str).to_numpy()
        keep = np.array([is_country(i) for i in issuer], dtype=bool)
        return pd.DataFrame({"pos": np.flatnonzero(keep), "group": issuer[keep], "share": 1.0})
    rows = [
        (i, m, 1.0 / len(ms) if attribution == "fractional" else 1.0)
        for i, ms in enumerate(sentences["members"])
        if isinstance(ms, list | tuple)
        for m in ms
    ]
    return pd.DataFrame(rows, columns=["pos", "group", "share"]).astype(
        {"pos": int, "group": str, "share": float}
    )


def order(groups: list[str], by: str) -> list[str]:
    """Groups in reading order: years ascending with undated last, else alphabetical."""
    tail = {UNDATED, NONE, "other"}
    return sorted(groups, key=lambda g: (g in tail, g))


def empty_reason(
    sentences: pd.DataFrame, by: str, attribution: str, *, n_sentences: int | None = None
) -> MeasureError:
    """The error when no sentence falls in any group, with the alternatives (``n_sentences``:
    how many sentences there are, when ``sentences`` holds one row per document)."""
    if by == "members" and attribution == "issuer":
        return MeasureError(
            "no document is issued by a member state, so no sentence is attributed to one "
            "under the rule 'issuer'",
            hint=Hint(
                "use --attribution fractional or every (documents' members lists), or "
                "give documents an issuer that is a state code (docs/formats.md)",
                "use attribution='fractional' or 'every' (documents' members lists), or "
                "give documents an issuer that is a state code (docs/formats.md)",
            ),
            code="E513",
        )
    what = "members lists" if by == "members" else f"{by} values"
    return MeasureError(
        f"no document has {what} to group by "
        f"({len(sentences) if n_sentences is None else n_sentences} sentences)",
        hint=f"add `{by}:` to the documents' metadata (docs/formats.md), or group by "
        f"another field: {', '.join(g for g in GROUPINGS if g != by)}",
        code="E512",
    )
