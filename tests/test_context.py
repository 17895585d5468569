"""Context features: a sentence is read with the document around it, as a human coder reads it."""

from __future__ import annotations

import numpy as np
import pytest

from secprio import packs
from secprio.codebook.load import load
from secprio.coders.base import Unit
from secprio.coders.features import Featurizer
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
    return [Unit(i, text, "en", doc) for i, text in enumerate(PAGE)]


def test_a_sentence_inherits_the_topic_its_page_names(featurizer: Featurizer) -> None:
    units = page_units()
    hits = featurizer.matches(units)
    ua = featurizer.categories.index("russia_ukraine_war")
    assert hits[0, ua] == 1 and hits[1, ua] == 0  # the dictionary alone misses sentence 2
    ctx = featurizer.context(units)
    assert ctx[:, ua] == pytest.approx([1 / 3] * 3)  # one sentence of three names the war
    other = featurizer.context(page_units("8")[2:])  # the museum sentence on a page of its own
    assert other[0, ua] == 0


def test_a_sentence_without_a_document_has_no_context(featurizer: Featurizer) -> None:
    # codebook examples come without a page: they must not teach the model that a page's
    # profile equals the sentence's own matches
    alone = [Unit(0, PAGE[0], "en"), Unit(1, PAGE[1], "en")]
    assert featurizer.matches(alone).any() and not featurizer.context(alone).any()


def test_training_context_comes_from_the_whole_page(featurizer: Featurizer) -> None:
    # only sentence 2 is labelled, but its features must see the page as a coder will
    units = page_units()
    labelled = [units[1]]
    with_page = featurizer.context(labelled, {"7": units})
    assert not np.array_equal(featurizer.context(labelled), with_page)
    assert np.array_equal(with_page[0], featurizer.context(units)[1])


def test_examples_keep_their_documents_through_take_and_combine() -> None:
    labels = np.zeros((2, 1), bool)
    units = page_units("p")
    a = Examples(PAGE[:2], ["en", "en"], labels, ["dev", "dev"], ["p", "p"], {"p": units})
    b = Examples(["A sentence on its own."], ["en"], np.zeros((1, 1), bool), ["codebook"])
    both = combine(b, a.take([1]))
    assert both.docs == ["", "p"] and both.pages == {"p": units}
    assert [u.doc for u in both.units()] == ["", "p"]
