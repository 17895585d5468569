"""Context features: a sentence is read with the document around it, as a human coder reads it."""

from __future__ import annotations

import numpy as np
import pytest

from secprio import packs
from secprio.codebook.load import load
from secprio.coders.base import Unit
from secprio.coders.features import NEIGHBOUR_CHARS, Featurizer
from secprio.coders.supervised import Examples, combine

# One page of our own: it names its topic once, then speaks of "the conflict".
PAGE = [
    "The foreign ministers discussed the war in Ukraine and its consequences for the region.",
    "They said the conflict had disrupted transit routes across the Caspian.",
    "The ministers also visited a museum of applied arts.",
]


@pytest.fixture(scope="module")
def featurizer() -> Featurizer:
    return Featurizer(load(packs.path("ots") / "codebook.yaml"), blocks=("context",))


def page_units(doc: str = "7") -> list[Unit]:
    units, offset = [], 0
    for i, text in enumerate(PAGE):
        units.append(Unit(i, text, "en", doc, offset))
        offset += len(text) + 1
    return units


def test_a_sentence_inherits_the_topic_its_page_names(featurizer: Featurizer) -> None:
    units = page_units()
    hits = featurizer.matches(units)
    ua = featurizer.categories.index("russia_ukraine_war")
    k = len(featurizer.categories)
    assert hits[0, ua] == 1 and hits[1, ua] == 0  # the dictionary alone misses sentence 2
    ctx = featurizer.context(units, hits)
    assert ctx[1, k + ua] == 1  # its neighbour names the war
    assert ctx[1, ua] == pytest.approx(1 / 3)  # one sentence of three on the page does
    assert ctx[0, k + ua] == 0  # a sentence is not its own context


def test_a_sentence_without_a_document_is_its_own_page(featurizer: Featurizer) -> None:
    alone = [Unit(0, PAGE[0], "en"), Unit(1, PAGE[1], "en")]
    hits = featurizer.matches(alone)
    ctx = featurizer.context(alone, hits)
    k = len(featurizer.categories)
    assert np.array_equal(ctx[:, :k], hits) and not ctx[:, k:].any()


def test_far_sentences_are_not_neighbours(featurizer: Featurizer) -> None:
    units = page_units()
    far = [units[0], Unit(1, PAGE[1], "en", "7", units[0].start + 2 * NEIGHBOUR_CHARS + 200)]
    ctx = featurizer.context(far, featurizer.matches(far))
    k = len(featurizer.categories)
    assert not ctx[1, k:].any()


def test_training_context_comes_from_the_whole_page(featurizer: Featurizer) -> None:
    # only sentence 2 is labelled, but its features must see the page as a coder will
    units = page_units()
    labelled = [units[1]]
    alone = featurizer.context(labelled, featurizer.matches(labelled))
    with_page = featurizer.context(labelled, featurizer.matches(labelled), {"7": units})
    coded = featurizer.context(units, featurizer.matches(units))
    assert not np.array_equal(alone, with_page)
    assert np.array_equal(with_page[0], coded[1])


def test_examples_keep_their_documents_through_take_and_combine() -> None:
    labels = np.zeros((2, 1), bool)
    units = page_units("p")
    a = Examples(PAGE[:2], ["en", "en"], labels, ["dev", "dev"], ["p", "p"],
                 [units[0].start, units[1].start], {"p": units})  # fmt: skip
    b = Examples(["A sentence on its own."], ["en"], np.zeros((1, 1), bool), ["codebook"])
    both = combine(b, a.take([1]))
    assert both.docs == ["", "p"] and both.starts == [-1, units[1].start]
    assert both.pages == {"p": units}
    assert [(u.doc, u.start) for u in both.units()] == [("", -1), ("p", units[1].start)]
