"""Timeline: dated events (summits, agreements, conflicts) beside the documents."""

from secprio.timeline.events import Event, TimelineError, frame, load

__all__ = ["Event", "TimelineError", "frame", "load"]
