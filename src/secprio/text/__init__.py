"""Text utilities shared by every stage: normalization for matching, language, segmentation."""

from __future__ import annotations

from secprio.text.language import Guess, detect, identify
from secprio.text.normalize import normalize, offset_map, original_span
from secprio.text.segment import segment

__all__ = [
    "Guess",
    "detect",
    "identify",
    "normalize",
    "offset_map",
    "original_span",
    "segment",
]
