"""Timeline: loading and validating events, linking documents, the SVG figure, the CLI."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from secprio import packs
from secprio.cli import app
from secprio.project import Project
from secprio.timeline import TimelineError, frame, load
from secprio.timeline.events import Event
from secprio.timeline.figure import link_documents, svg

EVENTS = """\
- id: summit-2019
  date: 2019-05-01
  title: Summit
  type: summit
  scope: organization
  domains: [military_cooperation]
  url: https://example.org/summit
- id: crisis-2021
  date: 2021-03-01
  title: Crisis
  type: crisis
  scope: external
  domains: [terrorism_transnational, counter_terrorism]
  key: true
"""


def test_the_pack_events_load_and_mark_the_unsourced() -> None:
    events = load(packs.path("ots") / "events.yaml")
    assert len(events) >= 30 and events == sorted(events, key=lambda e: (e.date, e.id))
    unsourced = {e.id for e in events if not e.sourced}
    assert unsourced == {
        "karabakh-war-2020",
        "kazakhstan-january-events-2022",
        "russia-invades-ukraine-2022",
    }
    assert unsourced <= {e.id for e in events if e.key}
    df = frame(events)
    assert df.loc[df["id"] == "karabakh-war-2020", "sourced"].item() is False


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("type: summit", "type 'party' is unknown"),
        ("date: 2019-05-01", "is not an ISO date"),
        ("id: crisis-2021", "appears twice"),
        ("domains: [military_cooperation]", r"unknown domain\(s\) nonsense"),
    ],
)
def test_invalid_events_name_the_event_and_the_fix(tmp_path: Path, edit: str, message: str) -> None:
    bad = {
        "type: summit": "type: party",
        "date: 2019-05-01": "date: 1 May 2019",
        "id: crisis-2021": "id: summit-2019",
        "domains: [military_cooperation]": "domains: [nonsense]",
    }[edit]
    path = tmp_path / "events.yaml"
    path.write_text(EVENTS.replace(edit, bad, 1), encoding="utf-8")
    with pytest.raises(TimelineError, match=message) as err:
        load(
            path,
            categories=["military_cooperation", "counter_terrorism", "terrorism_transnational"],
        )
    assert "fix:" in str(err.value)


def test_documents_link_by_date_tolerance_and_reported_event() -> None:
    event = Event("e", dt.date(2021, 6, 15), "Declaration", "agreement", "bilateral")
    docs = pd.DataFrame(
        {
            "document_id": [1, 2, 3, 4],
            "title": ["same", "next day", "ratified", "other"],
            "date": ["2021-06-15", "2021-06-16", "2022-02-03", "2021-07-01"],
            "doc_type": ["agreement"] * 4,
            "language": ["en"] * 4,
            "extra": [{}, {}, {"event": "2021-06-15"}, {}],
        }
    )
    got = link_documents([event], docs).set_index("title")["how"].to_dict()
    assert got == {"same": "same date", "next day": "within 3 days", "ratified": "reports on it"}


def test_svg_marks_scope_sourcing_and_dates() -> None:
    events = [
        Event(
            "a",
            dt.date(2019, 5, 1),
            "Summit",
            "summit",
            "organization",
            domains=("mil",),
            url="https://x",
        ),
        Event(
            "b",
            dt.date(2021, 3, 1),
            "Crisis",
            "crisis",
            "external",
            domains=("war", "mil"),
            key=True,
        ),
    ]
    links = pd.DataFrame({"event": ["a"], "date": ["2019-05-02"]})
    text = svg(
        events,
        labels={"mil": "Military", "war": "War"},
        links=links,
        document_dates=["2019-05-02", "2020-01-01"],
    )
    root = ET.fromstring(text)
    ns = "{http://www.w3.org/2000/svg}"
    groups = [g for g in root.iter(f"{ns}g") if g.get("class") == "tl-event"]
    marks = [g for g in groups if g.get("data-event")]
    assert len(marks) == 3  # one per (event, domain)
    assert {g.get("data-dates") for g in marks if g.get("data-event") == "a"} == {"2019-05-02"}
    hollow = [g for g in marks if g.get("data-event") == "b"]
    polygons = [g.find(f"{ns}polygon") for g in hollow]
    assert all(p is not None and p.get("fill") == "#fff" for p in polygons)
    assert len(groups) - len(marks) == 2  # the two document dates
    assert "Military" in text and "UNSOURCED" in text


def test_timeline_command(coded: Project, tmp_path: Path) -> None:
    (coded.root / "events.yaml").write_text(EVENTS, encoding="utf-8")
    out = tmp_path / "t.svg"
    res = CliRunner().invoke(
        app,
        [
            "timeline",
            "-p",
            str(coded.root),
            "--file",
            str(coded.root / "events.yaml"),
            "--svg",
            str(out),
            "--csv",
            str(tmp_path / "t.csv"),
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert "UNSOURCED" in res.output and out.read_text().startswith("<svg")
    df = pd.read_csv(tmp_path / "t.csv")
    assert df.set_index("id").loc["summit-2019", "n_documents"] == 1  # a.md of 2019-05-01
