"""How numbers are written for people (CLI and report): a missing value is a dash, never nan."""

from __future__ import annotations

import math

DASH = "—"


def missing(x: object) -> bool:
    try:
        return x is None or math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def percent(share: object, digits: int = 1) -> str:
    """A share (0–1) as a percentage: ``12.5%``; a dash when it cannot be computed."""
    return DASH if missing(share) else f"{100 * float(share):.{digits}f}%"  # type: ignore[arg-type]


def points(pp: object, lo: object, hi: object) -> str:
    """A change in percentage points with its interval: ``+3.1 [+0.2, +6.0]``."""
    if missing(pp):
        return DASH
    span = "" if missing(lo) or missing(hi) else f" [{float(lo):+.1f}, {float(hi):+.1f}]"  # type: ignore[arg-type]
    return f"{float(pp):+.1f}{span}"  # type: ignore[arg-type]
