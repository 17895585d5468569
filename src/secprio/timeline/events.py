"""Load and validate ``events.yaml``; an event without a source URL is marked unsourced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from secprio.errors import TimelineError

TYPES = ("summit", "agreement", "statement", "meeting", "conflict", "crisis", "institutional")
SCOPES = ("organization", "bilateral", "external")


@dataclass(frozen=True)
class Event:
    id: str
    date: dt.date
    title: str
    type: str
    scope: str
    parties: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    url: str = ""
    key: bool = False
    note: str = ""

    @property
    def sourced(self) -> bool:
        return bool(self.url.strip())


def _date(value: Any, where: str, path: Path) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    try:
        return dt.date(int(text), 1, 1) if text.isdigit() else dt.date.fromisoformat(text)
    except ValueError as exc:
        raise TimelineError(
            f"{where}: date {text!r} is not an ISO date",
            path=path,
            hint="write dates as YYYY-MM-DD",
            code="E560",
        ) from exc


def _list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def parse(raw: Any, *, path: Path, categories: Iterable[str] | None = None) -> list[Event]:
    if not isinstance(raw, list):
        raise TimelineError(
            "events must be a YAML list of events",
            path=path,
            hint="start each event with '- id: ...' (see docs/formats.md)",
            code="E559",
        )
    known = set(categories) if categories is not None else None
    events, seen = [], set()
    for n, item in enumerate(raw, 1):
        where = f"event {n}"
        if not isinstance(item, dict) or not item.get("id"):
            raise TimelineError(
                f"{where} has no id", path=path, hint="give every event an id", code="E558"
            )
        where = f"event {item['id']!r}"
        missing = [k for k in ("date", "title", "type", "scope") if not item.get(k)]
        if missing:
            raise TimelineError(
                f"{where} lacks {', '.join(missing)}",
                path=path,
                hint="see docs/formats.md, 'Timeline events'",
                code="E557",
            )
        if item["id"] in seen:
            raise TimelineError(
                f"{where} appears twice", path=path, hint="ids must be unique", code="E556"
            )
        seen.add(item["id"])
        for field, allowed in (("type", TYPES), ("scope", SCOPES)):
            if item[field] not in allowed:
                raise TimelineError(
                    f"{where}: {field} {item[field]!r} is unknown",
                    path=path,
                    hint=f"use one of: {', '.join(allowed)}",
                    code="E555",
                )
        domains = _list(item.get("domains"))
        unknown = [d for d in domains if known is not None and d not in known]
        if unknown:
            raise TimelineError(
                f"{where}: unknown domain(s) {', '.join(unknown)}",
                path=path,
                hint="domains are category ids of the codebook",
                code="E554",
            )
        events.append(
            Event(
                id=str(item["id"]),
                date=_date(item["date"], where, path),
                title=str(item["title"]),
                type=item["type"],
                scope=item["scope"],
                parties=_list(item.get("parties")),
                domains=domains,
                url=str(item.get("url") or ""),
                key=bool(item.get("key", False)),
                note=str(item.get("note") or ""),
            )
        )
    return sorted(events, key=lambda e: (e.date, e.id))


def load(path: Path | str, *, categories: Iterable[str] | None = None) -> list[Event]:
    """Events sorted by date; ``categories`` (codebook ids) checks the domains."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TimelineError(
            f"cannot read events: {exc.strerror}",
            path=path,
            hint="check the events: setting in secprio.yaml",
            code="E553",
        ) from exc
    except yaml.YAMLError as exc:
        raise TimelineError(
            f"invalid YAML: {exc}", path=path, hint="fix the YAML", code="E552"
        ) from exc
    return parse(raw or [], path=path, categories=categories)


def find(events: list[Event], event_id: str) -> Event:
    for e in events:
        if e.id == event_id:
            return e
    raise TimelineError(
        f"no event with id {event_id!r}",
        hint=f"known ids: {', '.join(e.id for e in events)}",
        code="E551",
    )


def frame(events: list[Event]) -> pd.DataFrame:
    """One row per event; lists joined by ';' so the table writes to CSV cleanly."""
    return pd.DataFrame(
        [
            {
                "id": e.id,
                "date": e.date.isoformat(),
                "title": e.title,
                "type": e.type,
                "scope": e.scope,
                "parties": ";".join(e.parties),
                "domains": ";".join(e.domains),
                "url": e.url,
                "sourced": e.sourced,
                "key": e.key,
                "note": e.note,
            }
            for e in events
        ],
        columns=[
            "id",
            "date",
            "title",
            "type",
            "scope",
            "parties",
            "domains",
            "url",
            "sourced",
            "key",
            "note",
        ],
    )
