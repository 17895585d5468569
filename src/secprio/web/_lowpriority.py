"""Imported first by the trainer's fork server only (never by the web server itself): the fork
server, and every training process forked from it, run at lower CPU priority, so importing the
coder's modules and training never take CPU from the requests."""

import contextlib
import os

with contextlib.suppress(OSError):
    os.nice(10)
