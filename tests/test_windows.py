"""Case windows: boundaries, salience by hand, the bootstrap on the difference, the CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from secprio.cli import app
from secprio.codebook.model import Category, Codebook
from secprio.errors import MeasureError
from secprio.measure import windows
from secprio.project import Project

EVENT = dt.date(2020, 9, 27)


def _codebook() -> Codebook:
    return Codebook(
        name="t",
        version="1",
        categories=(
            Category(id="mil", kind="priority", label="Military", definition="d"),
            Category(id="war", kind="threat", label="War", definition="d"),
        ),
    )


def _corpus(docs: list[tuple[str, int, int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Documents as (date, sentences, of which coded 'mil'); weight 1."""
    rows, cods, sid = [], [], 0
    for d, (date, n, k) in enumerate(docs):
        for i in range(n):
            rows.append({"segment_id": sid, "document_id": d, "date": date, "weight": 1.0})
            if i < k:
                cods.append({"segment_id": sid, "category": "mil", "value": 1})
            sid += 1
    return pd.DataFrame(rows), pd.DataFrame(cods, columns=["segment_id", "category", "value"])


def test_offsets() -> None:
    assert windows.offset("2y") == pd.DateOffset(months=24)
    assert windows.offset("18m") == pd.DateOffset(months=18)
    assert windows.offset("90d") == pd.DateOffset(days=90)
    assert windows.offset("1.5y") == pd.DateOffset(months=18)
    with pytest.raises(MeasureError, match="2y, 18m"):
        windows.offset("two years")


def test_windows_split_documents_at_the_event_and_compute_salience() -> None:
    sents, cods = _corpus(
        [
            ("2018-09-27", 4, 1),  # first day of the before window: in
            ("2018-09-26", 4, 4),  # one day earlier: out
            ("2019-06-01", 4, 1),
            ("2020-09-26", 4, 1),
            ("2020-09-27", 2, 2),  # the event day belongs to the after window
            ("2021-01-01", 4, 2),
            ("2022-09-27", 4, 2),  # last day of the after window: in
            ("2022-09-28", 4, 0),  # out
        ]
    )
    df = windows.window(sents, cods, _codebook(), event=EVENT, n_boot=300, seed=5)
    mil = df.set_index("category").loc["mil"]
    assert (mil.n_docs_before, mil.n_docs_after) == (3, 3)
    assert mil.salience_before == pytest.approx(3 / 12)
    assert mil.salience_after == pytest.approx(6 / 10)
    assert mil["diff"] == pytest.approx(6 / 10 - 3 / 12)
    assert mil.diff_lo <= mil["diff"] <= mil.diff_hi
    assert mil.warning == ""
    assert df.attrs == {"start": "2018-09-27", "event": "2020-09-27", "end": "2022-09-27"}


def test_bootstrap_resamples_each_window_on_its_own() -> None:
    # every document before has the same salience, so the before-replicates do not vary and
    # the interval of the difference is the after-window's interval shifted by 0.5
    sents, cods = _corpus(
        [
            ("2019-01-01", 4, 2),
            ("2019-05-01", 4, 2),
            ("2020-01-01", 4, 2),
            ("2021-01-01", 4, 0),
            ("2021-06-01", 4, 4),
            ("2022-01-01", 4, 1),
        ]
    )
    df = windows.window(sents, cods, _codebook(), event=EVENT, n_boot=400, seed=9)
    mil = df.set_index("category").loc["mil"]
    assert mil.salience_before_lo == mil.salience_before_hi == pytest.approx(0.5)
    assert mil.diff_lo == pytest.approx(mil.salience_after_lo - 0.5)
    assert mil.diff_hi == pytest.approx(mil.salience_after_hi - 0.5)
    again = windows.window(sents, cods, _codebook(), event=EVENT, n_boot=400, seed=9)
    pd.testing.assert_frame_equal(df, again)  # seeded: the same intervals every run


def test_thin_and_empty_windows_warn() -> None:
    sents, cods = _corpus([("2019-01-01", 4, 2), ("2021-01-01", 4, 1)])
    df = windows.window(sents, cods, _codebook(), event=EVENT, n_boot=50, seed=1)
    assert "before window has 1 document(s), fewer than 3" in df["warning"].iat[0]
    empty = windows.window(sents, cods, _codebook(), event=dt.date(2030, 1, 1), n_boot=50, seed=1)
    assert empty["n_docs_after"].iat[0] == 0 and pd.isna(empty["diff"].iat[0])


def test_compare_command(coded: Project, tmp_path: Path) -> None:
    run = CliRunner()
    res = run.invoke(
        app,
        [
            "compare",
            "-p",
            str(coded.root),
            "--event",
            "2021-01-01",
            "--before",
            "3y",
            "--after",
            "2y",
            "--json",
            str(tmp_path / "w.json"),
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert "fewer than 3" in res.output and "Military cooperation" in res.output
    got = pd.read_json(tmp_path / "w.json")
    assert set(got["n_docs_before"]) == {1} and set(got["n_docs_after"]) == {2}
    res = run.invoke(
        app, ["compare", "-p", str(coded.root), "--by", "year"], catch_exceptions=False
    )
    assert res.exit_code == 0 and "2019" in res.output
    res = run.invoke(app, ["compare", "-p", str(coded.root), "--event", "no-such-event"])
    assert res.exit_code == 2
    assert run.invoke(app, ["compare", "-p", str(coded.root)]).exit_code == 2


def test_comparison_grid_counts_percent_and_row_percent() -> None:
    cb = Codebook(
        name="t",
        version="1",
        categories=(
            Category(id="mil", kind="priority", label="Military", definition="d"),
            Category(id="eco", kind="priority", label="Economy", definition="d"),
        ),
    )
    sents = pd.DataFrame(
        {
            "segment_id": [1, 2, 3, 4],
            "document_id": [1, 1, 2, 2],
            "members": [["AZ", "TR"], ["AZ", "TR"], ["KZ"], ["KZ"]],
            "year": [2020.0, 2020.0, None, None],
            "weight": [1.0, 1.0, 0.5, 0.5],
        }
    )
    cods = pd.DataFrame(
        {
            "segment_id": [1, 2, 2, 3],
            "category": ["mil", "mil", "eco", "eco"],
            "value": [1, 1, 1, 1],
        }
    )
    from secprio.measure.compare import grid, wide

    g = grid(sents, cods, cb, by="members", attribution="every")
    g = g.set_index(["group", "category"])
    assert g.loc[("AZ", "mil"), "count"] == 2 and g.loc[("TR", "eco"), "count"] == 1
    assert g.loc[("AZ", "mil"), "pct"] == pytest.approx(100.0)  # both AZ sentences
    assert g.loc[("AZ", "eco"), "pct"] == pytest.approx(50.0)
    assert g.loc[("AZ", "mil"), "row_pct"] == pytest.approx(100 * 2 / 3)
    assert g.loc[("KZ", "eco"), "pct"] == pytest.approx(50.0)  # weights cancel within a group
    years = grid(sents, cods, cb, by="year")
    assert list(dict.fromkeys(years["group"])) == ["2020", "undated"]
    assert wide(years, "count").loc["undated", "eco"] == 1
