"""Project settings, read from and written to ``secprio.yaml``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from secprio.errors import Hint, ProjectError
from secprio.exchange.limits import ImportLimits
from secprio.ingest.limits import Limits

CONFIG_NAME = "secprio.yaml"
SCALES = ("ratio", "linear", "rank")

DEFAULT_WEIGHTS = {
    "declaration": 1.0,
    "agreement": 1.0,
    "strategy": 1.0,
    "statement": 0.8,
    "speech": 0.6,
    "news": 0.4,
    "analysis": 0.3,
}


@dataclass
class MeasureSettings:
    coder: str = "auto"  # the best validated coder installed (coders/registry.resolve)
    embedding: str = "e5"  # sentence-embedding model of the semantic coders: e5 | use
    scale: str = "ratio"
    bootstrap: int = 1000
    seed: int = 20240101
    # below these a cell is "insufficient evidence" (docs/measurement.md): a frame of fewer
    # documents, or a category coded in fewer documents, decides a score by one or two texts
    min_documents: int = 3
    min_docs_coded: int = 2
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    periods: list[str] = field(
        default_factory=lambda: ["2009-2017", "2018-2020", "2021-2022", "2023-2025"]
    )


@dataclass
class Settings:
    name: str = "secprio-project"
    codebook: str = "codebook.yaml"
    store: str = "sqlite:///secprio.db"
    events: str = ""  # timeline events (YAML), relative to the project folder
    expert: str = ""  # an expert assessment to compare the evidence with
    claims: str = ""  # claims to check against the corpus
    # codes ingest checks issuers and members against (warnings, never errors); empty: any
    # ISO 3166 country code is accepted as a member and any name as an issuer
    members: list[str] = field(default_factory=list)  # the organization's states (observers too)
    issuers: list[str] = field(default_factory=list)  # issuers besides member states, e.g. OTS
    measure: MeasureSettings = field(default_factory=MeasureSettings)
    ingest: Limits = field(default_factory=Limits)  # what one input file may cost
    imports: ImportLimits = field(default_factory=ImportLimits)  # what one shared file may cost

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load(path: Path) -> Settings:
    """Read settings; every unknown key or bad value is an error naming the fix."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError, ValueError) as exc:
        raise ProjectError(
            f"cannot read settings: {exc}",
            path=path,
            hint=Hint(
                "fix the YAML or run `secprio init` in a new folder",
                "fix the YAML or call Project.init on a new folder",
            ),
            code="E709",
        ) from exc
    if not isinstance(raw, dict):
        raise ProjectError(
            "the settings are not a set of key: value lines",
            path=path,
            hint=Hint(
                "fix secprio.yaml or run `secprio init` in a new folder",
                "fix secprio.yaml or call Project.init on a new folder",
            ),
            code="E708",
        )
    measure = raw.pop("measure", {}) or {}
    ingest = raw.pop("ingest", {}) or {}
    imports = raw.pop("imports", {}) or {}
    _check_keys(raw, Settings, path, "")
    _check_keys(measure, MeasureSettings, path, "measure.")
    _check_keys(ingest, Limits, path, "ingest.")
    _check_keys(imports, ImportLimits, path, "imports.")
    bad = [k for k, v in imports.items() if type(v) is not int or v < 1]
    if bad:
        raise ProjectError(
            f"imports.{bad[0]} is {imports[bad[0]]!r}",
            path=path,
            hint="limits are whole numbers of at least 1 (bytes, rows, selections)",
            code="E707",
        )
    settings = Settings(
        **raw,
        measure=MeasureSettings(**measure),
        ingest=Limits(**ingest),
        imports=ImportLimits(**imports),
    )
    settings.ingest.check(path)
    for key in ("min_documents", "min_docs_coded"):
        value = getattr(settings.measure, key)
        if type(value) is not int or value < 1:
            raise ProjectError(
                f"measure.{key} is {value!r}",
                path=path,
                hint="a whole number of documents, at least 1 (default "
                f"{getattr(MeasureSettings(), key)})",
                code="E706",
            )
    if settings.measure.scale not in SCALES:
        raise ProjectError(
            f"measure.scale is {settings.measure.scale!r}",
            path=path,
            hint=f"use one of: {', '.join(SCALES)}",
            code="E705",
        )
    return settings


def _check_keys(raw: dict[str, Any], cls: type, path: Path, prefix: str) -> None:
    if not isinstance(raw, dict):
        raise ProjectError(
            f"{prefix.rstrip('.') or 'the settings'} must be a set of key: value lines",
            path=path,
            hint="indent its settings under it, one 'key: value' per line",
            code="E704",
        )
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(map(str, raw)) - known)
    if unknown:
        raise ProjectError(
            f"unknown setting(s): {', '.join(prefix + str(k) for k in unknown)}",
            path=path,
            hint=f"known settings: {', '.join(sorted(known))}",
            code="E703",
        )


def save(settings: Settings, path: Path) -> None:
    path.write_text(
        yaml.safe_dump(settings.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
