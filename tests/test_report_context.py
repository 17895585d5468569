"""The report's context holds the corpus once, and computes what the project computes."""

from __future__ import annotations

import pandas as pd

from secprio.project import Project
from secprio.report.sections import Context


def test_the_context_scores_as_the_project_does(coded: Project) -> None:
    ctx = Context(coded)
    sentences = ctx.sentences.copy()
    pd.testing.assert_frame_equal(ctx.scores, coded.scores())
    pd.testing.assert_frame_equal(ctx.scores_by_period, coded.scores(by="period"))
    pd.testing.assert_frame_equal(ctx.sentences, sentences)  # scoring leaves them as they were


def test_the_context_codings_leave_out_only_the_evidence_json(coded: Project) -> None:
    full = coded.codings()
    assert "evidence" in full.columns
    pd.testing.assert_frame_equal(Context(coded).codings, full.drop(columns="evidence"))
