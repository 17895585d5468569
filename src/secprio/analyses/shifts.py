"""Shifts: each category's rate in the newest window against the baseline before it — the
test the watch digest alerts on (``secprio.api.shifts``; docs/watch.md)."""

from __future__ import annotations

import pandas as pd

from secprio.analyses.registry import CODER, Analysis, Data, Param, register
from secprio.measure import shifts as shifts_mod


def _shifts(
    data: Data, *, window: str, baseline: str, by: tuple[str, ...], fdr: float, unit: str
) -> pd.DataFrame:
    sents = data.sentences
    win, base, info = shifts_mod.date_windows(sents, window, baseline)
    out = shifts_mod.shifts(
        sents, data.codings, data.project.codebook, window=win, baseline=base, by=by, fdr=fdr,
        unit=unit, random_state=data.project.settings.measure.seed,
    )  # fmt: skip
    out.attrs.update(info)
    return out


register(
    Analysis(
        "shifts",
        _shifts,
        "Each category's shift in the newest ``window`` (by document date) against the "
        "baseline before it: counts, rate ratio with its 95% interval, p and BH q values, "
        "whether it alerts and the segment ids of the sentences that drive it (docs/watch.md).",
        params=(
            Param("window", str, "30d", "The newest window, by document date: 30d, 6w, 3m."),
            Param("baseline", str, "", "The baseline before it (default: everything before)."),
            Param("by", tuple, (), "Fields to test each value of separately."),
            Param("fdr", float, 0.05, "The false discovery rate (Benjamini–Hochberg)."),
            CODER,
            Param(
                "unit",
                str,
                "documents",
                "documents (permutation test over documents) or sentences (exact binomial).",
            ),
        ),  # fmt: skip
        columns=(
            "frame",
            "group",
            "category",
            "label",
            "kind",
            "direction",
            "window_documents",
            "window_sentences",
            "window_count",
            "baseline_documents",
            "baseline_sentences",
            "baseline_count",
            "window_share",
            "baseline_share",
            "rate_ratio",
            "ratio_low",
            "ratio_high",
            "p_value",
            "q_value",
            "significant",
            "evidence_documents",
            "segment_ids",
            "reason",
        ),
    )
)
