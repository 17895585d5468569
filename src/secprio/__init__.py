"""secprio: evidence-backed measurement of a regional organization's security priorities."""

__version__ = "0.1.0"
