"""Human coding in and out: gold sets (CSV, JSONL), REFI-QDA projects (.qdpx, .qdc), and the
store's tables as Parquet files (``parquet.py``)."""

from __future__ import annotations

from secprio.errors import ExchangeError  # defined with the others; imported from here too

EXPORT_FORMATS = ("qdpx", "qdc", "parquet")  # `secprio export --format`

__all__ = ["EXPORT_FORMATS", "ExchangeError"]
