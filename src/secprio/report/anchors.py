"""Stable anchors of the report's cells, written by the report and linked to by the watch
digest (report/digest.py), so the two cannot drift apart:

- ``cell-all-CATEGORY``: the category's "All documents" cell of the priority or threat
  heatmap (every category has one);
- ``cell-period-PERIOD-CATEGORY``: its cell in a period column of the heatmap;
- ``cell-members-STATE-CATEGORY``, ``cell-year-YEAR-CATEGORY``,
  ``cell-doc_type-TYPE-CATEGORY``: a priority's cell in the comparison grids.

Each part is escaped so that the mapping is one to one and the id is plain ASCII: letters,
digits and ``_`` stay, every other character becomes ``.`` and its code point in hex and
``.`` (``2025-07`` → ``2025.2d.07``).
"""

from __future__ import annotations

import re

# the shift frames (measure/shifts.py) that have cells of their own in the comparison grids;
# the grids hold priorities only, and attribute a sentence to the state that issued it
GRID_FRAMES = ("members", "doc_type")
_KEEP = re.compile(r"[A-Za-z0-9_]")


def part(text: object) -> str:
    return "".join(c if _KEEP.fullmatch(c) else f".{ord(c):x}." for c in str(text)) or "_"


def cell(category: str, field: str = "all", value: object = "") -> str:
    """The id of the cell of ``category`` in the frame ``field`` = ``value``
    (``field="all"``: all documents)."""
    if field == "all":
        return f"cell-all-{part(category)}"
    return f"cell-{part(field)}-{part(value)}-{part(category)}"


def shift_cell(frame: str, group: object, category: str, kind: str) -> tuple[str, bool]:
    """The cell a shift of the watch digest links to, and whether it is the shift's own
    frame (True) or, for a frame the report has no cell for (issuer, language, a threat
    outside all documents), the category's all-documents cell (False)."""
    if frame == "all":
        return cell(category), True
    if frame in GRID_FRAMES and kind == "priority" and str(group):
        return cell(category, frame, group), True
    return cell(category), False
