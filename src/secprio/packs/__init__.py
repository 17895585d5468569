"""Case packs: a codebook, a corpus and context data for one organization."""

from __future__ import annotations

from pathlib import Path

from secprio.errors import ProjectError

ROOT = Path(__file__).parent


def path(name: str) -> Path:
    """The folder of a bundled pack (``ots``)."""
    folder = ROOT / name
    if not (folder / "codebook.yaml").is_file():
        known = sorted(p.name for p in ROOT.iterdir() if (p / "codebook.yaml").is_file())
        raise ProjectError(
            f"no bundled pack named {name!r}",
            hint=f"bundled packs: {', '.join(known) or 'none'}",
            code="E710",
        )
    return folder


def matching(codebook_sha256: str) -> Path | None:
    """The bundled pack whose codebook file has this sha256 (a project using it unchanged)."""
    import hashlib

    for folder in sorted(p for p in ROOT.iterdir() if (p / "codebook.yaml").is_file()):
        if hashlib.sha256((folder / "codebook.yaml").read_bytes()).hexdigest() == codebook_sha256:
            return folder
    return None


def codes(name: str) -> tuple[list[str], list[str]]:
    """The pack's member-state codes and other issuers (``members.yaml``), for the settings."""
    import yaml

    file = path(name) / "members.yaml"
    raw = yaml.safe_load(file.read_text(encoding="utf-8")) if file.is_file() else None
    raw = raw if isinstance(raw, dict) else {}
    return [str(m) for m in raw.get("members", [])], [str(i) for i in raw.get("issuers", [])]
