"""Human coding in and out: gold sets (CSV, JSONL) and REFI-QDA projects (.qdpx, .qdc)."""

from __future__ import annotations

from secprio.errors import SecprioError


class ExchangeError(SecprioError):
    """A gold file or a REFI-QDA file that cannot be read as it is."""

    code = "E350"


__all__ = ["ExchangeError"]
