"""Documents and segments: what ingest produces and every later stage reads. They are
defined with the other shared data in ``secprio.model``; this name stays for imports."""

from secprio.model import DOC_TYPES, Document, Metadata, Segment, SegmentKind, Skipped

__all__ = ["DOC_TYPES", "Document", "Metadata", "Segment", "SegmentKind", "Skipped"]
