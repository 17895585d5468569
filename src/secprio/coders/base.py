"""The contract every coder follows, after scikit-learn's estimators.

A coder is built from plain data: a ``Codebook`` and keyword settings, each stored unchanged
under its own name in ``__init__`` (so ``get_params()`` returns them and
``type(coder)(**coder.get_params())`` is an unfitted copy: ``clone``). Then:

- ``fit(units, labels=None) -> self``: ``units`` a sequence of ``Unit``, ``labels`` a
  units × categories 0/1 matrix in ``codebook.ids()`` order. A coder that learns nothing from
  labels (``learns = False``) accepts and ignores them; what it learns otherwise (the semantic
  coder calibrates on the codebook's examples) is its own. Attributes learned in ``fit`` end
  in ``_``; a coder that draws random numbers takes them from its ``random_state`` only.
- ``predict_proba(units) -> ndarray``: units × categories, floats in [0, 1].
- ``code(units) -> Iterator[Coding]``: a coding for each (unit, category) whose probability
  reaches the category's threshold (``thresholds_`` where the coder has them, else 0.5).

``requires_fit = True`` says that ``predict_proba`` and ``code`` need a fitted coder: before
``fit`` they raise ``NotFittedError`` (E317), never an AttributeError. ``coders/checks.py``
checks all of this for any coder, as scikit-learn's ``check_estimator`` does.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np

from secprio.codebook.model import Codebook
from secprio.errors import CoderError, Hint, NotFittedError
from secprio.model import Coding, Unit


@runtime_checkable
class Codes(Protocol):
    """The least a coder is: a name, a version and ``code`` (a plugin's coder may stop here;
    it then codes, but validation cannot cross-fit it nor the checks check it)."""

    name: str
    version: str

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]: ...


@runtime_checkable
class Coder(Protocol):
    """The whole contract (see the module doc). ``BaseCoder`` gives the parts every coder
    shares; a coder need not inherit from it."""

    name: str
    version: str
    codebook: Codebook
    learns: ClassVar[bool]  # fit learns from the labels it is given
    requires_fit: ClassVar[bool]  # predict_proba and code need fit first

    def get_params(self) -> dict[str, Any]: ...

    def fit(self, units: Sequence[Unit], labels: np.ndarray | None = None) -> Any: ...

    def predict_proba(self, units: Sequence[Unit]) -> np.ndarray: ...

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]: ...


C = TypeVar("C", bound="BaseCoder")


class BaseCoder:
    """Shared parts: ``get_params`` from ``__init__``'s signature, the fitted check, the
    labels check, and a ``fit`` that learns nothing (for coders with ``learns = False``)."""

    name: str = ""
    version: str = ""
    learns: ClassVar[bool] = False
    requires_fit: ClassVar[bool] = False

    @classmethod
    def param_names(cls) -> list[str]:
        """The parameters of ``__init__``, in order (``codebook`` first)."""
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        """The settings the coder was built with, as given: ``type(c)(**c.get_params())``
        builds an unfitted copy."""
        return {p: getattr(self, p) for p in self.param_names()}

    def fit(self: C, units: Sequence[Unit] = (), labels: np.ndarray | None = None) -> C:
        """Nothing to learn: ``units`` and ``labels`` are checked, then ignored."""
        check_labels(self, units, labels)
        return self

    def is_fitted(self) -> bool:
        """Whether ``fit`` has run (attributes ending in ``_`` exist), or none is needed."""
        if not self.requires_fit:
            return True
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    def check_fitted(self) -> None:
        if not self.is_fitted():
            raise NotFittedError(self.name or type(self).__name__)

    def predict_proba(self, units: Sequence[Unit]) -> np.ndarray:
        """1 for each (unit, category) ``code`` codes, else 0: for a coder whose codings
        are yes or no."""
        units = list(units)
        cats = self.codebook.ids()  # type: ignore[attr-defined]
        out = np.zeros((len(units), len(cats)))
        row = {u.id: i for i, u in enumerate(units)}
        col = {c: j for j, c in enumerate(cats)}
        for c in self.code(units):
            out[row[c.unit_id], col[c.category]] = 1.0
        return out

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:  # pragma: no cover - abstract
        raise NotImplementedError


def check_labels(coder: object, units: Sequence[Unit], labels: np.ndarray | None) -> None:
    """``labels``, when given, is a units × categories matrix of 0/1 (or booleans)."""
    if labels is None:
        return
    cats = coder.codebook.ids()  # type: ignore[attr-defined]
    arr = np.asarray(labels)
    if arr.shape != (len(units), len(cats)) or not np.isin(arr, (0, 1)).all():
        raise CoderError(
            f"labels must be a {len(units)} × {len(cats)} matrix of 0 and 1 (units × the "
            f"codebook's categories), not {arr.shape}",
            hint=Hint(
                "give each labelled sentence one column per category, in codebook order",
                "pass labels[i, j] = 1 when units[i] has codebook.ids()[j]",
            ),
            code="E319",
        )


def thresholds(coder: object) -> np.ndarray | float:
    """Where ``code`` cuts ``predict_proba``: the coder's ``thresholds_``, else 0.5."""
    found = getattr(coder, "thresholds_", None)
    return np.asarray(found) if found is not None else 0.5


def clone(coder: Any, **changes: Any) -> Any:
    """An unfitted coder with the same settings (``changes`` replace some)."""
    return type(coder)(**{**coder.get_params(), **changes})
