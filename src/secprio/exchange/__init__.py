"""Human coding in and out: gold sets (CSV, JSONL) and REFI-QDA projects (.qdpx, .qdc)."""

from __future__ import annotations

from secprio.errors import ExchangeError  # defined with the others; imported from here too

__all__ = ["ExchangeError"]
