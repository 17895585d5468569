"""The review workspace: read the corpus and its codings, accept and correct them, alone or as a
team (``secprio serve``)."""

from secprio.web.app import create_app

__all__ = ["create_app"]
