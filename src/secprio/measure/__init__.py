"""Measurement: salience, the 1–9 scale, bootstrap intervals and the analyses built on them."""
