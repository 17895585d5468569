"""The codebook: categories, their patterns and examples, read from and written to YAML."""

from __future__ import annotations

from secprio.codebook.load import TEMPLATE, Problem, dump, load, validate
from secprio.codebook.model import Category, Codebook, Example, Kind

__all__ = [
    "TEMPLATE",
    "Category",
    "Codebook",
    "Example",
    "Kind",
    "Problem",
    "dump",
    "load",
    "validate",
]
