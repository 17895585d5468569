"""Krippendorff's alpha: our coincidence-matrix implementation against the krippendorff package."""

from __future__ import annotations

import numpy as np
import pytest

from secprio.measure.agreement import alpha, alpha_interval, by_category, verdict

krippendorff = pytest.importorskip("krippendorff")


def reference(data: np.ndarray) -> float:
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


@pytest.mark.parametrize("seed", range(6))
def test_matches_krippendorff_package_with_missing_values(seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 3, size=(3, 60)).astype(float)
    # agreement well above chance, so the comparison is not only near zero
    data[1] = np.where(rng.random(60) < 0.7, data[0], data[1])
    data[rng.random(data.shape) < 0.15] = np.nan
    assert alpha(data) == pytest.approx(reference(data), abs=1e-12)


def test_binary_two_coders_textbook_values() -> None:
    data = np.array([[1, 1, 0, 0, 1, np.nan], [1, 0, 0, 0, 1, 1]], dtype=float)
    assert alpha(data) == pytest.approx(reference(data), abs=1e-12)
    assert alpha(np.array([[1, 0, 1, 0], [1, 0, 1, 0]], dtype=float)) == 1.0


def test_no_variation_is_undefined_not_perfect() -> None:
    assert np.isnan(alpha(np.ones((2, 5))))
    assert verdict(float("nan")) == "undefined"


def test_thresholds() -> None:
    assert verdict(0.81) == "reliable"
    assert verdict(0.70) == "tentative"
    assert verdict(0.60) == "unreliable"


def test_interval_brackets_point_and_is_seeded() -> None:
    rng = np.random.default_rng(3)
    truth = rng.random(200) < 0.3
    other = np.where(rng.random(200) < 0.85, truth, ~truth)
    data = np.vstack([truth, other]).astype(float)
    lo, hi = alpha_interval(data, n_boot=500, seed=1)
    assert lo < alpha(data) < hi
    assert (lo, hi) == alpha_interval(data, n_boot=500, seed=1)


def test_by_category_units_are_sentences() -> None:
    labels = {
        "a": {"s1": {"x"}, "s2": {"x", "y"}, "s3": set(), "s4": {"y"}},
        "b": {"s1": {"x"}, "s2": {"x"}, "s3": set(), "s5": {"y"}},
    }
    df = by_category(labels, ["a", "b"], ["x", "y"], n_boot=50, seed=0).set_index("category")
    assert df.loc["x", "n_units"] == 3  # s4 and s5 were seen by one coder only
    assert df.loc["x", "alpha"] == 1.0
    expected_y = reference(np.array([[0, 1, 0], [0, 0, 0]], dtype=float))
    assert df.loc["y", "alpha"] == pytest.approx(expected_y)
    assert "all categories (pooled)" in df.index
