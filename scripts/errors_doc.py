"""Write docs/errors.md: every error code secprio raises, with its condition and its fix.

The list is read from the source: each place an error class of ``secprio.errors`` is called
(``code=`` there, else the class's code), its message and its hint, as literal text with
``…`` for what is filled in at run time. Run it after adding or changing an error:

    .venv/bin/python scripts/errors_doc.py        # rewrites docs/errors.md
"""

from __future__ import annotations

import ast
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "secprio"


@dataclass(frozen=True)
class Site:
    code: str
    error: str
    message: str
    hint: str
    file: str
    line: int
    explicit: bool  # code= given where it is raised (else the class's code)


def classes() -> dict[str, str]:
    """Every error class of secprio.errors by name, with its default code."""
    return {name: cls.code for name, cls in _classes().items()}


def _classes() -> dict[str, type]:
    sys.path.insert(0, str(ROOT / "src"))
    from secprio import errors

    return {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls) and issubclass(cls, errors.SecprioError)
    }


def _text(node: ast.expr | None) -> str:
    if node is None:
        return ""
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "…" for v in node.values)
    if isinstance(node, ast.BinOp):
        return _text(node.left) + _text(node.right)
    if isinstance(node, ast.Call) and node.args:  # Hint(cli, python): the CLI wording
        return _text(node.args[0])
    return "…"


def sites() -> list[Site]:
    """Every call of an error class in the package."""
    known = classes()
    single = {name: cls.condition for name, cls in _classes().items() if cls.condition}
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in known or rel == "errors.py":
                continue
            kw = {k.arg: k.value for k in node.keywords if k.arg}
            code = kw.get("code")
            explicit = isinstance(code, ast.Constant) or node.func.id in single
            out.append(
                Site(
                    code=str(code.value) if isinstance(code, ast.Constant) else known[node.func.id],
                    error=node.func.id,
                    message=single.get(node.func.id) or _text(node.args[0] if node.args else None),
                    hint=_text(kw.get("hint")),
                    file=rel,
                    line=node.lineno,
                    explicit=explicit,
                )
            )
    return out


# conditions whose message is built at run time: what the code means, in words
CONDITIONS = {
    "E203": "a codebook pattern that cannot be compiled (the message says what is wrong)",
    "E201": "the codebook file has problems (each listed with its line and fix)",
}


def render() -> str:
    rows: dict[str, list[Site]] = {}
    for s in sites():
        rows.setdefault(s.code, []).append(s)
    for code in classes().values():
        rows.setdefault(code, [])
    lines = [
        "# Errors",
        "",
        "Every error secprio reports starts with its code, `[E306] …`, then names the input",
        "and the fix. The fix is worded for where you are: the CLI names flags and commands",
        "(`--coder`), Python names parameters and methods (`coder=`). A code without a condition",
        "below is a stage's general code (a condition raised in a module that has not been",
        "given its own codes yet, or one whose message says what it is). This page is written",
        "by `scripts/errors_doc.py`; `tests/test_errors.py` checks it lists every code.",
        "",
        "| code | error | condition | fix | raised in |",
        "|---|---|---|---|---|",
    ]
    names = {code: name for name, code in classes().items()}
    for code in sorted(rows):
        found = rows[code]
        if not found:
            lines.append(f"| {code} | {names.get(code, '')} | (the stage's general code) | | |")
            continue
        first = found[0]
        where = ", ".join(sorted({s.file for s in found}))
        if not all(s.explicit for s in found) and len({s.message for s in found}) > 1:
            lines.append(
                f"| {code} | {first.error} | the stage's general code: {len(found)} place(s) not "
                f"yet given a code of their own; the message says what happened | | {where} |"
            )
            continue
        lines.append(
            f"| {code} | {first.error} | {_cell(CONDITIONS.get(code, first.message))} "
            f"| {_cell(first.hint)} | {where} |"
        )
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


if __name__ == "__main__":
    (ROOT / "docs" / "errors.md").write_text(render(), encoding="utf-8")
    print(f"wrote {ROOT / 'docs' / 'errors.md'}")
