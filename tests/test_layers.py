"""The package's layers: each depends only on the layers below it (ARCHITECTURE.md).

Read from the source, every import statement counted, those inside functions too: a lazy
import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "secprio"

# package (a folder or a module of secprio) -> the secprio packages it may import
ALLOWED = {
    "model": set(),
    "errors": set(),
    "text": {"text", "errors", "model"},
    "store": {"store", "errors", "model", "__init__"},  # __init__: secprio.__version__
}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> set[str]:
    """The secprio packages ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "secprio":
                found.add("__init__")
            elif node.module.startswith("secprio."):
                found.add(_package(node.module))
        elif isinstance(node, ast.Import):
            found |= {_package(a.name) for a in node.names if a.name.startswith("secprio.")}
    return found


def _files(package: str) -> list[Path]:
    folder = SRC / package
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [SRC / f"{package}.py"]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(package: str) -> None:
    files = _files(package)
    assert files and all(f.is_file() for f in files), package
    for path in files:
        extra = imports(path) - ALLOWED[package] - {package}
        assert not extra, f"{path.relative_to(SRC)} imports secprio.{sorted(extra)[0]}"


def test_the_check_sees_an_import_that_breaks_a_layer(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("def f():\n    from secprio.ingest.model import Segment\n", encoding="utf-8")
    assert imports(bad) == {"ingest"}
