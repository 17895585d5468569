"""Named coders: ``make_coder(name, project)`` builds one ready to ``code``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from secprio.coders.base import Coder
from secprio.errors import CoderError

if TYPE_CHECKING:
    from secprio.project import Project

Factory = Callable[["Project"], Coder]
REGISTRY: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    def wrap(factory: Factory) -> Factory:
        REGISTRY[name] = factory
        return factory

    return wrap


@register("dictionary")
def _dictionary(project: Project) -> Coder:
    from secprio.coders.dictionary import DictionaryCoder

    return DictionaryCoder(project.codebook)


def make_coder(name: str, project: Project) -> Coder:
    if name not in REGISTRY:
        raise CoderError(f"unknown coder {name!r}", hint=f"use one of: {', '.join(REGISTRY)}")
    return REGISTRY[name](project)


@register("semantic")
def _semantic(project: Project) -> Coder:
    from secprio.coders.semantic import from_project

    return from_project(project)


@register("supervised")
def _supervised(project: Project) -> Coder:
    from secprio.coders.supervised import from_project

    return from_project(project)


@register("ensemble")
def _ensemble(project: Project) -> Coder:
    from secprio.coders.ensemble import from_project

    return from_project(project)
