"""The common checks every coder passes, after scikit-learn's ``parametrize_with_checks``.

Each check tests one property of the contract (coders/base.py) on an unfitted coder built
from plain data, with a few labelled sentences to fit it on. ``all_checks()`` lists them, so a
test parametrizes over (coder, check) pairs and a third party runs the same checks on its own
coder::

    @pytest.mark.parametrize("check", all_checks(), ids=lambda c: c.__name__)
    def test_my_coder(check):
        check(MyCoder(codebook), units, labels)

``units``: sentences to fit on and code; ``labels``: units × categories 0/1, codebook order.
A failure raises AssertionError naming what broke.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from secprio.coders.base import Coder, Unit, clone, thresholds
from secprio.errors import NotFittedError

Check = Callable[[Any, Sequence[Unit], np.ndarray], None]


def _fitted(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> Any:
    return clone(coder).fit(list(units), labels)


def _params_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    return all(a[k] is b[k] or _same(a[k], b[k]) for k in a)


def _same(x: Any, y: Any) -> bool:
    try:
        return bool(x == y)
    except (TypeError, ValueError):  # arrays and the like
        return bool(np.array_equal(x, y))


def check_protocol(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    """The coder has the contract's members and is built from its codebook."""
    assert isinstance(coder, Coder), f"{type(coder).__name__} lacks a member of Coder"
    assert isinstance(type(coder).learns, bool) and isinstance(type(coder).requires_fit, bool)
    assert coder.name and isinstance(coder.version, str) and coder.version


def check_get_params(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    """``__init__`` stores each parameter unchanged under its own name: ``get_params``
    returns them, and a clone has the same ones."""
    params = coder.get_params()
    assert list(params)[:1] == ["codebook"], "a coder is built from a codebook first"
    again = clone(coder).get_params()
    assert _params_equal(params, again), "a clone has other parameters"


def check_fit_returns_self(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    fresh = clone(coder)
    assert fresh.fit(list(units), labels) is fresh, "fit must return the coder itself"


def check_fit_keeps_params(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    """fit learns into attributes ending in ``_``; it never changes a parameter."""
    fresh = clone(coder)
    before = dict(fresh.get_params())
    fresh.fit(list(units), labels)
    assert _params_equal(before, fresh.get_params()), "fit changed a parameter"


def check_learned_attributes_end_in_underscore(
    coder: Any, units: Sequence[Unit], labels: np.ndarray
) -> None:
    """What fit adds to the coder ends in ``_`` (private ``_x`` aside)."""
    fresh = clone(coder)
    before = set(vars(fresh))
    fresh.fit(list(units), labels)
    added = {k for k in set(vars(fresh)) - before if not k.startswith("_")}
    assert all(k.endswith("_") for k in added), f"fit added {sorted(added)}"


def check_predict_proba(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    """units × categories floats in [0, 1]."""
    prob = _fitted(coder, units, labels).predict_proba(list(units))
    k = len(coder.codebook.ids())
    assert isinstance(prob, np.ndarray) and prob.shape == (len(units), k), prob.shape
    assert np.issubdtype(prob.dtype, np.floating), prob.dtype
    assert np.isfinite(prob).all() and (prob >= 0).all() and (prob <= 1).all()


def check_codings(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    """Codings name the coder and its version, a category of the codebook, a unit of the
    input, a confidence in [0, 1] and a span inside the unit's text."""
    fitted = _fitted(coder, units, labels)
    texts = {u.id: u.text for u in units}
    cats = set(coder.codebook.ids())
    for c in fitted.code(list(units)):
        assert c.coder == fitted.name and c.coder_version == fitted.version, c
        assert c.category in cats, f"category {c.category!r} is not in the codebook"
        assert c.unit_id in texts, f"unit {c.unit_id} was not in the input"
        assert 0.0 <= c.confidence <= 1.0 and c.value == 1, c
        if c.start >= 0 or c.end >= 0:
            assert 0 <= c.start < c.end <= len(texts[c.unit_id]), (c.start, c.end)


def check_code_agrees_with_predict_proba(
    coder: Any, units: Sequence[Unit], labels: np.ndarray
) -> None:
    """A (unit, category) is coded exactly where its probability reaches the threshold."""
    fitted = _fitted(coder, units, labels)
    units = list(units)
    expected = fitted.predict_proba(units) >= thresholds(fitted)
    row = {u.id: i for i, u in enumerate(units)}
    col = {c: j for j, c in enumerate(coder.codebook.ids())}
    got = np.zeros_like(expected, dtype=bool)
    for c in fitted.code(units):
        got[row[c.unit_id], col[c.category]] = True
    assert (got == expected).all(), f"{int((got != expected).sum())} cells disagree"


def check_deterministic(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    """The same parameters (random_state among them) fit to the same output."""
    a, b = _fitted(coder, units, labels), _fitted(coder, units, labels)
    assert np.array_equal(a.predict_proba(list(units)), b.predict_proba(list(units)))
    assert list(a.code(list(units))) == list(b.code(list(units)))


def check_random_state_only(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    """No randomness from outside: NumPy's global seed does not change the output."""
    np.random.seed(1)
    a = _fitted(coder, units, labels).predict_proba(list(units))
    np.random.seed(2)
    b = _fitted(coder, units, labels).predict_proba(list(units))
    assert np.array_equal(a, b), "the output depends on numpy's global random state"


def check_empty_input(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    fitted = _fitted(coder, units, labels)
    assert list(fitted.code([])) == []
    assert fitted.predict_proba([]).shape == (0, len(coder.codebook.ids()))


def check_unfitted(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    """A coder that needs fitting says so with a coded error, not an AttributeError."""
    if not type(coder).requires_fit:
        list(clone(coder).code(list(units)))  # codes without fit
        return
    for call in (lambda c: c.predict_proba(list(units)), lambda c: list(c.code(list(units)))):
        try:
            call(clone(coder))
        except NotFittedError as err:
            assert err.code == "E317" and err.hint
        else:
            raise AssertionError("an unfitted coder coded instead of raising NotFittedError")


def check_ignores_labels_when_it_learns_nothing(
    coder: Any, units: Sequence[Unit], labels: np.ndarray
) -> None:
    """A coder with ``learns = False`` codes the same whatever labels it was fitted on."""
    if type(coder).learns:
        return
    a = _fitted(coder, units, labels).predict_proba(list(units))
    b = _fitted(coder, units, 1 - labels).predict_proba(list(units))
    assert np.array_equal(a, b), "learns = False, yet the labels changed the output"


def check_bad_labels_refused(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    """Labels of the wrong shape are refused with a coded error."""
    from secprio.errors import SecprioError

    try:
        clone(coder).fit(list(units), labels[:, :1] if labels.shape[1] > 1 else labels[:0])
    except SecprioError as err:
        assert err.code.startswith("E3"), err.code
    else:
        raise AssertionError("fit took labels that do not match the units and categories")


def check_odd_text(coder: Any, units: Sequence[Unit], labels: np.ndarray) -> None:
    """Unicode, very long and empty sentences are coded without a crash."""
    fitted = _fitted(coder, units, labels)
    odd = [
        Unit(10_001, ""),
        Unit(10_002, "   \t\n "),
        Unit(10_003, "Ünïcödé — 中文, العربية, \u200b, 🛰️, \U0001f600 \x00 nul", "ru"),
        Unit(10_004, " ".join(u.text for u in units) * 4),  # thousands of characters
        Unit(10_005, "\ud800 a lone surrogate", "en"),
    ]
    assert len(odd[3].text) > 2000
    prob = fitted.predict_proba(odd)
    assert prob.shape == (len(odd), len(coder.codebook.ids()))
    check_codings_of(fitted, odd)


def check_codings_of(fitted: Any, units: Sequence[Unit]) -> None:
    texts = {u.id: u.text for u in units}
    for c in fitted.code(list(units)):
        assert c.unit_id in texts and c.category in fitted.codebook.ids()
        if c.start >= 0:
            assert 0 <= c.start < c.end <= len(texts[c.unit_id])


def all_checks() -> list[Check]:
    """Every check, in the order they are best read."""
    return [
        check_protocol,
        check_get_params,
        check_fit_returns_self,
        check_fit_keeps_params,
        check_learned_attributes_end_in_underscore,
        check_predict_proba,
        check_codings,
        check_code_agrees_with_predict_proba,
        check_deterministic,
        check_random_state_only,
        check_empty_input,
        check_unfitted,
        check_ignores_labels_when_it_learns_nothing,
        check_bad_labels_refused,
        check_odd_text,
    ]
