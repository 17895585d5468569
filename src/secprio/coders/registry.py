"""Named coders: ``make_coder(name, project)`` builds one ready to ``code``.

Each name has a factory taking the project (``register``): it reads what it needs from the
project (coders/build.py) and builds the coder from that plain data; coder modules never see
a ``Project``. ``configured(name, project)`` is the coder with the project's settings but
not trained on its data (no shipped weights, none of its labels): what validation
cross-fits. Every function taking a coder's name refuses an unknown one (E306, ``check``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from secprio.coders.base import Codes, clone
from secprio.errors import CoderError, Hint
from secprio.plugins import Registry

if TYPE_CHECKING:
    from secprio.project import Project

Factory = Callable[["Project"], Codes]
Configured = Callable[["Project", "int | None"], Codes]
Needs = Callable[["Project"], list[str]]
# the coders by name; installed packages add theirs in the entry-point group secprio.coders
REGISTRY: Registry[Factory] = Registry("coder", "secprio.coders")
# filled by ``register`` only: a coder's entries live at its one registration
_CONFIGURED: dict[str, Configured] = {}
_NEEDS: dict[str, Needs] = {}


def register(
    name: str, *, configured: Configured | None = None, needs: Needs | None = None
) -> Callable[[Factory], Factory]:
    """Register the coder factory ``name`` (a duplicate name is refused). ``configured``:
    how validation builds the coder untrained with the project's settings (default: an
    unfitted ``clone`` of the factory's coder); ``needs``: the optional packages it needs for
    a project (default: none), so ``auto`` skips it where they are missing."""

    def add(factory: Factory) -> Factory:
        REGISTRY.register(name)(factory)
        if configured is not None:
            _CONFIGURED[name] = configured
        if needs is not None:
            _NEEDS[name] = needs
        return factory

    return add


def _plain(cls_path: str, embeds: bool) -> Configured:
    def make(project: Project, random_state: int | None) -> Codes:
        from importlib import import_module

        from secprio.coders import build

        module, _, name = cls_path.rpartition(".")
        cls = getattr(import_module(module), name)
        extra = build.settings(project) if embeds else {}
        if "random_state" in cls.param_names():
            extra["random_state"] = (
                project.settings.measure.seed if random_state is None else random_state
            )
        return cast(Codes, cls(project.codebook, **extra))

    return make


def _embedding(project: Project) -> list[str]:
    from secprio.coders.embed import BACKENDS, DEFAULT_MODEL

    return [BACKENDS[project.settings.measure.embedding or DEFAULT_MODEL].module]


def _supervised_needs(project: Project) -> list[str]:
    """The shipped weights' features decide (embeddings: the model's package); without
    weights, auto never picks it unvalidated, so it asks for the embedding model too."""
    from secprio.coders import build
    from secprio.coders.supervised import needs_embedding

    weights = build.shipped(project)
    return _embedding(project) if weights is None or needs_embedding(weights) else []


@register("dictionary", configured=_plain("secprio.coders.dictionary.DictionaryCoder", False))
def _dictionary(project: Project) -> Codes:
    from secprio.coders.dictionary import DictionaryCoder

    return DictionaryCoder(project.codebook)


AUTO = "auto"


def validation_file(project: Project) -> Path | None:
    """The pack's validation.yaml, when the project uses that pack's codebook unchanged (else
    nothing is known)."""
    from secprio import packs

    folder = packs.matching(project.codebook.sha256)
    path = folder / "validation.yaml" if folder else None
    return path if path is not None and path.is_file() else None


def validation_record(project: Project) -> dict[str, Any]:
    """What validation_file says ({} when there is none)."""
    import yaml

    path = validation_file(project)
    record = yaml.safe_load(path.read_text(encoding="utf-8")) if path else None
    return record if isinstance(record, dict) else {}


def validated(project: Project) -> list[dict[str, object]]:
    """The pack's record of how each coder agreed with human coding of real text, best first:
    by the held-out set's figures where the coder was scored there (the dev set's are
    optimistic, even cross-validated: the codebook was written from it), else by its
    out-of-sample dev figure (``rank_score``; none for in-sample figures)."""
    record = validation_record(project)
    fresh = record.get("fresh") or {}
    coders = dict(record.get("coders") or {})
    for name, held in fresh.items():  # scored held out only: described by those figures
        if isinstance(held, dict) and name != "keywords" and name not in coders:
            coders[name] = {
                **{k: held[k] for k in ("macro_f1_priority", "macro_f1_threat", "alpha")},
                "protocol": "not measured on the development set; held-out figures",
                "data": fresh.get("data", ""),
            }
    rows = []
    for name, fields in coders.items():
        row: dict[str, object] = {"coder": name, **fields}
        held = fresh.get(name)
        if isinstance(held, dict):
            mean = (float(held["macro_f1_priority"]) + float(held["macro_f1_threat"])) / 2
            row["rank_score"], row["ranked_by"] = round(mean, 3), "held-out set"
            for key in ("tied_with_best", "sentences_per_s"):
                if key in held:
                    row[key] = held[key]
        rows.append(row)
    return sorted(rows, key=lambda r: -float(str(r.get("rank_score") or -1)))


def held_out(name: str, project: Project) -> dict[str, Any] | None:
    """The coder's agreement on the pack's held-out set (``fresh:``), labelled after the
    codebook and weights were fixed and never tuned on: the honest estimate."""
    fresh = validation_record(project).get("fresh") or {}
    row = fresh.get(name)
    return {**row, "data": fresh.get("data", "")} if isinstance(row, dict) else None


def resolve(name: str, project: Project) -> str:
    """``auto``: the best validated coder whose dependencies are installed, else dictionary.

    Where the pack's held-out record says which coders the data cannot tell from the best
    (``tied_with_best``: a paired bootstrap over pages, benchmarks/realtext.py), the fastest
    of those is taken: a coder 100 times slower must earn its place by a difference larger
    than noise."""
    if name != AUTO:
        return name
    usable = [r for r in validated(project) if str(r["coder"]) in REGISTRY
              and installed(str(r["coder"]), project)]  # fmt: skip
    return choose(usable) or "dictionary"


def choose(rows: Sequence[Mapping[str, object]]) -> str | None:
    """The coder ``auto`` takes among validated rows (best first, as ``validated`` gives
    them): the fastest of those tied with the best, else the best ranked; None if none is."""
    ranked = [r for r in rows if r.get("rank_score") is not None]
    if not ranked:
        return None
    tied = [r for r in ranked if r.get("tied_with_best") is True]
    if not tied:
        return str(ranked[0]["coder"])
    return str(max(tied, key=lambda r: float(str(r.get("sentences_per_s") or 0)))["coder"])


def validity(name: str, project: Project) -> str:
    """One sentence on how far the coder's codings can be trusted, from the pack's record."""
    row = next((r for r in validated(project) if r["coder"] == name), None)
    if row is None:
        return f"{name}: not validated on real text for this codebook (run `secprio validate`)"
    text = (
        f"{name}: macro-F1 {float(str(row['macro_f1_priority'])):.2f} on the priorities and "
        f"{float(str(row['macro_f1_threat'])):.2f} on the threats, Krippendorff's alpha "
        f"{float(str(row['alpha'])):.2f}, against adjudicated human coding of {row['data']} "
        f"({row['protocol']})"
    )
    fresh = held_out(name, project)
    if fresh is not None and row["data"] != fresh["data"]:  # else those are the figures above
        text += (
            f"; on the held-out set ({fresh['data']}): macro-F1 "
            f"{float(fresh['macro_f1_priority']):.2f} and {float(fresh['macro_f1_threat']):.2f}, "
            f"alpha {float(fresh['alpha']):.2f}"
        )
    return text


def installed(name: str, project: Project) -> bool:
    """Whether the coder can be built here (its optional dependencies are importable)."""
    from importlib.util import find_spec

    check([name])
    needs = _NEEDS.get(name)
    return all(find_spec(m) is not None for m in needs(project)) if needs else True


def check(names: Sequence[str]) -> None:
    """Refuse an unknown coder name (``auto`` is one), never treat it as one that codes
    nothing."""
    unknown = [n for n in names if n != AUTO and n not in REGISTRY]
    if unknown:
        raise CoderError(
            f"unknown coder {unknown[0]!r}",
            hint=Hint(
                f"use one of: {AUTO}, {', '.join(REGISTRY)} (--coder NAME)",
                f"use one of: {AUTO}, {', '.join(REGISTRY)} (coder='NAME')",
            ),
            code="E306",
        )


def make_coder(name: str, project: Project) -> Codes:
    """The coder ``name`` (or the one ``auto`` resolves to), ready to code the project."""
    check([name])
    return REGISTRY[resolve(name, project)](project)


def configured(name: str, project: Project, *, random_state: int | None = None) -> Codes:
    """The coder ``name`` with the project's settings, not trained on its data: for
    secprio's own coders their defaults with the project's embedding model and cache; for
    another coder an unfitted copy (``clone``) of the one its factory builds, or that coder
    itself where it has no ``get_params``. ``random_state``: replaces its seed, if it has one."""
    check([name])
    name = resolve(name, project)
    make = _CONFIGURED.get(name)
    if make is not None:
        return make(project, random_state)
    coder = REGISTRY[name](project)
    if not hasattr(coder, "get_params"):
        return coder
    params = coder.get_params()
    if random_state is not None and "random_state" in params:
        params["random_state"] = random_state
    return cast(Codes, clone(coder, **params))


@register(
    "semantic",
    configured=_plain("secprio.coders.semantic.SemanticCoder", True),
    needs=_embedding,
)
def _semantic(project: Project) -> Codes:
    from secprio.coders import build

    return build.semantic(project)


@register(
    "supervised",
    configured=_plain("secprio.coders.supervised.SupervisedCoder", True),
    needs=_supervised_needs,
)
def _supervised(project: Project) -> Codes:
    from secprio.coders import build

    return build.supervised(project)


@register(
    "ensemble",
    configured=_plain("secprio.coders.ensemble.EnsembleCoder", True),
    needs=_embedding,
)
def _ensemble(project: Project) -> Codes:
    from secprio.coders import build

    return build.ensemble(project)
