"""A sentence as the reader shows it: text with highlighted evidence, every coding with its
coder, confidence and evidence, and the viewer's own decision to start the keyboard from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from secprio.web.auth import User
from secprio.web.workspace import Workspace


@dataclass
class Card:
    id: int
    document_id: int
    title: str
    language: str
    parts: list[tuple[str, str | None]]  # (text, category of the highlight or None)
    machine: list[dict[str, Any]] = field(default_factory=list)
    humans: list[dict[str, Any]] = field(default_factory=list)
    on: list[str] = field(default_factory=list)  # categories the toggles start with
    version: int = 0  # the viewer's decision version (0: none yet)
    memo: str = ""
    decided: bool = False


def highlight(text: str, spans: Sequence[tuple[int, int, str]]) -> list[tuple[str, str | None]]:
    """Cut ``text`` into plain and highlighted runs; overlapping spans keep the first."""
    parts: list[tuple[str, str | None]] = []
    pos = 0
    for start, end, cat in sorted(spans):
        if start < pos or start >= end or end > len(text):
            continue
        if start > pos:
            parts.append((text[pos:start], None))
        parts.append((text[start:end], cat))
        pos = end
    if pos < len(text):
        parts.append((text[pos:], None))
    return parts


def build(
    ws: Workspace, segment_ids: Sequence[int], user: User, *, blind: bool = False
) -> list[Card]:
    """Cards for these sentences. ``blind``: no machine codings and no one else's decisions,
    and the toggles start empty unless the viewer decided already."""
    sents = ws.store.sentences_of(segment_ids)
    ids = [s["id"] for s in sents]
    codings = [] if blind else ws.store.codings_of(ids)
    mine = {
        d["segment_id"]: d
        for d in ws.store.latest_decisions(coders=[user.name], segment_ids=ids, empty=True)
    }
    default = ws.project.settings.measure.coder
    cards = []
    for s in sents:
        own = [c for c in codings if c["segment_id"] == s["id"]]
        machine = [c for c in own if c["source"] == "machine" and c["value"] == 1]
        humans = [c for c in own if c["source"] == "human"]
        spans = [(c["start"], c["end"], c["category"]) for c in machine if c["start"] >= 0]
        card = Card(
            s["id"],
            s["document_id"],
            s["title"],
            s["language"],
            highlight(s["text"], spans),
            machine=machine,
            humans=_by_coder(humans),
        )
        decision = mine.get(s["id"])
        if decision is not None and decision["labels"]:
            card.on = sorted(c for c, v in decision["labels"].items() if v)
            card.version, card.memo, card.decided = decision["version"], decision["memo"], True
        else:
            card.version = decision["version"] if decision else 0
            card.on = _effective(machine, humans, default) if not blind else []
        cards.append(card)
    return cards


def _by_coder(humans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for c in humans:
        h = out.setdefault(
            c["coder"],
            {
                "coder": c["coder"],
                "applied": [],
                "at": c["created_at"],
                "memo": (c["evidence"] or {}).get("memo", ""),
            },
        )
        if c["value"] == 1:
            h["applied"].append(c["category"])
    return list(out.values())


def _effective(
    machine: list[dict[str, Any]], humans: list[dict[str, Any]], coder: str
) -> list[str]:
    """What the project currently counts: the newest human decision per category, else the
    project coder's codings."""
    on = {c["category"] for c in machine if c["coder"] == coder}
    for c in sorted(humans, key=lambda c: c["created_at"]):
        (on.add if c["value"] == 1 else on.discard)(c["category"])
    return sorted(on)
