"""Heatmap figures and the evidence thresholds: n in every cell, the insufficient state, files."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from secprio import config
from secprio.errors import ProjectError
from secprio.measure.scores import INSUFFICIENT, MEASURED, NO_EVIDENCE, evidence
from secprio.report import figures
from secprio.report.html import heat_grid


def test_the_thresholds_are_settings() -> None:
    assert evidence(5, 2) == MEASURED
    assert evidence(5, 2, min_docs_coded=3) == INSUFFICIENT
    assert evidence(5, 4, min_documents=6) == INSUFFICIENT
    assert evidence(5, 0) == NO_EVIDENCE


@pytest.mark.parametrize("value", [0, -1, "3", 2.5])
def test_a_bad_threshold_names_the_setting(tmp_path: Path, value: object) -> None:
    path = tmp_path / config.CONFIG_NAME
    path.write_text(f"measure:\n  min_documents: {value!r}\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="measure.min_documents"):
        config.load(path)


def _scores() -> pd.DataFrame:
    row = dict(kind="priority", score_lo=5.0, score_hi=8.0, n_sentences=50, n_documents=6)
    return pd.DataFrame(
        [
            dict(row, frame="A", category="a", label="A", score=7.0, evidence=MEASURED,
                 n_coded=12, n_docs_coded=4),
            dict(row, frame="A", category="b", label="B", score=4.0, evidence=INSUFFICIENT,
                 n_coded=3, n_docs_coded=1),
            dict(row, frame="A", category="c", label="C", score=float("nan"),
                 evidence=NO_EVIDENCE, n_coded=0, n_docs_coded=0),
        ]
    )  # fmt: skip


def test_every_html_cell_shows_its_n_and_its_state() -> None:
    html = heat_grid(_scores(), field="period")
    assert "n=12 sent., 4/6 docs" in html
    assert "n=3 sent., 1/6 docs" in html and "insufficient evidence" in html
    assert "n=0 sent., 0/6 docs" in html and "no evidence" in html


def test_figures_come_as_300_dpi_png_svg_and_pdf() -> None:
    from PIL import Image

    preview, files = figures.files("heatmap", figures.heatmap(_scores(), title="t"))
    assert set(files) == {"heatmap.png", "heatmap.svg", "heatmap.pdf"}
    dpi = Image.open(io.BytesIO(files["heatmap.png"])).info["dpi"]  # type: ignore[arg-type]
    assert round(dpi[0]) == 300
    pdf, svg = files["heatmap.pdf"], files["heatmap.svg"]
    assert isinstance(pdf, bytes) and isinstance(svg, bytes)
    assert pdf[:5] == b"%PDF-" and b"<svg" in svg
    assert preview[:4] == b"\x89PNG"
