"""Map salience onto the 1–9 priority scale.

``ratio`` (default): 9 for the most salient category of the frame and one point less for each
halving, ``9 - log2(s_max / s)`` clipped to 1–9. Attention in documents spreads over orders of
magnitude and expert 1–9 scales (Saaty's among them) are ratio judgements, so this is the
mapping that can be set beside expert ratings. ``linear``: ``1 + 8 s / s_max``. ``rank``: 9 for
the first, one point less per rank, ties sharing the better rank. A category never coded gets 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from secprio.errors import MeasureError

Floats = NDArray[np.float64]


def to_scale(salience: Floats, method: str = "ratio") -> Floats:
    """Scores for the categories on the last axis; leading axes are replicates or frames."""
    s = np.asarray(salience, dtype=float)
    s_max = s.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "ratio":
            out = 9.0 - np.log2(s_max / s)
        elif method == "linear":
            out = 1.0 + 8.0 * s / s_max
        elif method == "rank":
            # rank 1 + the number of strictly more salient categories: ties share the better
            ranks = 1 + (s[..., None, :] > s[..., :, None]).sum(axis=-1)
            out = 10.0 - ranks
        else:
            raise MeasureError(
                f"unknown scale {method!r}", hint="use ratio, linear or rank", code="E519"
            )
    out = np.where(s > 0, out, 1.0)
    return np.clip(np.nan_to_num(out, nan=1.0), 1.0, 9.0)
