"""The analyses: one module each, registered in ``secprio.analyses.registry``, from which
``secprio.api``, the CLI's analysis commands and the report's analysis sections are made.

A new analysis is a module here that calls ``register(Analysis(...))`` (the statistics it
needs may live in ``secprio.measure``); another package adds one through the entry-point group
``secprio.analyses``.
"""

from __future__ import annotations

from secprio.analyses.registry import (
    CODER,
    GROUP,
    REGISTRY,
    REQUIRED,
    Analysis,
    Cli,
    Data,
    Param,
    View,
    register,
    tables,
)

__all__ = [
    "CODER",
    "GROUP",
    "REGISTRY",
    "REQUIRED",
    "Analysis",
    "Cli",
    "Data",
    "Param",
    "View",
    "register",
    "tables",
]
