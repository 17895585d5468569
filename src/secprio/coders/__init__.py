"""Coders: dictionary, semantic, supervised, ensemble — one contract (see base.py)."""
