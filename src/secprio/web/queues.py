"""Review queues, the background retraining of the supervised coder, and live agreement of
each machine coder with the decisions so far.

Queues: ``teach`` (the sentences whose label would teach the supervised coder most: today's
``secprio suggest``), ``uncertain`` (machine codings of lowest confidence), ``disagree``
(sentences some machine coders code with a category and others do not) and ``validation``
(a seeded random sample: an unbiased check, never used to train).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from secprio.errors import SecprioError
from secprio.measure.agreement import by_category

if TYPE_CHECKING:
    from secprio.project import Project
    from secprio.web.auth import User
    from secprio.web.workspace import Workspace

QUEUES = {
    "teach": "Would teach the coders most",
    "uncertain": "Low-confidence machine codings",
    "disagree": "Machine coders disagree",
    "validation": "Random sample (validation set, not used to train)",
}
SIZE = 20


class Trainer:
    """Retrains the supervised coder in the background (a thread waiting on a child process,
    see ``train_elsewhere``) once ``every`` new decisions are stored, and keeps the ranking
    of the ``teach`` queue from the newest model.

    New decisions are counted in memory (``poke(new=1)`` from each stored decision), not in
    the store: a decision request costs no query for it. A round starts at least
    ``min_gap`` seconds (or as long as the last round took, if longer) after the last one
    ended: with many reviewers "every 10 decisions" would otherwise mean training without
    pause, and its reads of the store slowed everyone's decisions (p99 ×4 on PostgreSQL in
    benchmarks/load.py)."""

    min_gap = 30.0

    def __init__(self, ws: Workspace, *, every: int = 10) -> None:
        self.ws, self.every = ws, every
        self.ranking: pd.DataFrame | None = None
        self.error = ""
        self.rounds = 0
        self._new = 0  # decisions since the last round started
        self._started = False
        self._next_at = 0.0  # time.monotonic() before which no round starts
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def poke(self, new: int = 0) -> None:
        """Count ``new`` decisions; start a retraining if none runs and this is the first
        round or ``every`` decisions came in since the last one started."""
        with self._lock:
            self._new += new
            due = not self._started or (
                self._new >= self.every and time.monotonic() >= self._next_at
            )
            if due and not self.busy:
                self._new, self._started = 0, True
                self._thread = threading.Thread(target=self._train, daemon=True)
                self._thread.start()

    def _train(self) -> None:
        began = time.monotonic()
        try:
            ranking, error = train_elsewhere(self.ws.project, validation_texts(self.ws))
        except Exception as exc:  # keep serving; say why the queue is empty
            ranking, error = None, f"the supervised coder could not be trained: {exc}"
        if ranking is not None:
            self.ranking = ranking
        self.error = error
        if error:
            print(f"secprio serve: {error}", file=sys.stderr)
        self.rounds += 1
        took = time.monotonic() - began
        self._next_at = time.monotonic() + max(self.min_gap, took)

    def wait(self, timeout: float = 300.0) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


TRAIN_TIMEOUT = 1800.0


def train_elsewhere(
    project: Project, exclude: list[str], timeout: float = TRAIN_TIMEOUT
) -> tuple[pd.DataFrame | None, str]:
    """Train and rank in a child process at lower priority: (the ranking, "") or (None, why).

    In the server's own process the training held the GIL for seconds at a time and every
    request waited behind it (a decision's p95 latency under load rose by a quarter). The
    child comes from a fork server that has the coder's modules imported, so a round starts
    in milliseconds; it opens the project afresh (its own connections) and dies with us.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(
        ["secprio.web._lowpriority", "secprio.coders.supervised", "secprio.project"]
    )
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_rank, args=(project.root, project.settings, exclude, send), daemon=True
    )
    child.start()
    send.close()
    try:
        if not recv.poll(timeout):
            child.kill()
            return None, f"the supervised coder took over {int(timeout)} s to train: stopped"
        result: tuple[pd.DataFrame | None, str] = recv.recv()
        return result
    except EOFError:
        child.join(5)
        return None, f"the training process died (exit code {child.exitcode})"
    finally:
        recv.close()
        child.join(5)


def _rank(root: Path, settings: Any, exclude: list[str], send: Connection) -> None:
    """In the child (niced by ``_lowpriority``, as its fork server is): suggest() on a fresh
    Project; the answer goes back through ``send``."""
    from secprio.coders.build import suggest
    from secprio.project import Project

    try:
        send.send((suggest(Project(root, settings), 500, exclude=exclude), ""))
    except SecprioError as exc:
        send.send((None, str(exc)))
    except Exception as exc:
        send.send((None, f"the supervised coder could not be trained: {exc!r}"))
    finally:
        send.close()


def validation_texts(ws: Workspace) -> list[str]:
    rows = ws.store.latest_decisions(queue="validation")
    return [s["text"] for s in ws.store.sentences_of([d["segment_id"] for d in rows])]


def _decided(ws: Workspace, user: User) -> set[int]:
    return {d["segment_id"] for d in ws.store.latest_decisions(coders=[user.name], empty=True)}


def queue(ws: Workspace, kind: str, user: User, n: int = SIZE) -> tuple[list[int], str]:
    """Sentence ids of a queue the user has not decided yet, and a note to show."""
    done = _decided(ws, user)
    if kind == "teach":
        ws.trainer.poke()
        rank = ws.trainer.ranking
        if rank is None:
            note = ws.trainer.error or "the supervised coder is training: reload in a moment"
            return [], note
        ids = [int(i[4:]) for i in rank["id"]]
        note = f"model round {ws.trainer.rounds}" + (" (retraining…)" if ws.trainer.busy else "")
        return [i for i in ids if i not in done][:n], note
    codings = ws.store.table("codings")
    machine = codings[(codings["source"] == "machine") & (codings["value"] == 1)]
    if kind == "uncertain":
        low = machine.sort_values(["confidence", "segment_id"], kind="stable")
        ids = list(dict.fromkeys(int(s) for s in low["segment_id"]))
        return [i for i in ids if i not in done][:n], "lowest confidence first"
    if kind == "disagree":
        return [i for i in _disagreements(machine) if i not in done][
            :n
        ], "sentences where the machine coders split"
    if kind == "validation":
        sents = ws.project.sentences()
        rng = np.random.default_rng(ws.project.settings.measure.seed)
        order = rng.permutation(sents["segment_id"].to_numpy()) if len(sents) else np.empty(0, int)
        return [int(i) for i in order if int(i) not in done][
            :n
        ], "a seeded random sample: an unbiased validation set"
    raise KeyError(kind)


def _disagreements(machine: pd.DataFrame) -> list[int]:
    coders = machine["coder"].nunique()
    if coders < 2:
        return []
    n = machine.groupby(["segment_id", "category"])["coder"].nunique()
    split = n[n < coders].reset_index()
    return sorted({int(s) for s in split["segment_id"]})


def metrics(ws: Workspace) -> dict[str, pd.DataFrame]:
    """Precision, recall, F1 and pooled alpha of each machine coder against the open human
    decisions (all of them, and the validation sample alone)."""
    decisions = [d for d in ws.store.latest_decisions() if d["assignment_id"] is None]
    codings = ws.store.table("codings")
    machine = codings[(codings["source"] == "machine") & (codings["value"] == 1)]
    out = {}
    for name, rows in (
        ("all decisions", decisions),
        ("validation sample", [d for d in decisions if d["queue"] == "validation"]),
    ):
        out[name] = _score(ws, rows, machine)
    return out


def _score(ws: Workspace, decisions: list[dict[str, Any]], machine: pd.DataFrame) -> pd.DataFrame:
    human: dict[str, frozenset[str]] = {}
    for d in decisions:  # several people on one sentence: the newest decision counts
        human[str(d["segment_id"])] = frozenset(c for c, v in d["labels"].items() if v)
    rows = []
    for coder, part in machine.groupby("coder"):
        applied = part.groupby("segment_id")["category"].agg(frozenset)
        guess = {u: applied.get(int(u), frozenset()) for u in human}
        tp = sum(len(guess[u] & human[u]) for u in human)
        fp = sum(len(guess[u] - human[u]) for u in human)
        fn = sum(len(human[u] - guess[u]) for u in human)
        alpha = (
            by_category(
                {"machine": guess, "human": human}, ["machine", "human"], ws.categories, n_boot=0
            )
            if human
            else None
        )
        pooled = float(alpha["alpha"].iat[-1]) if alpha is not None else float("nan")
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / (tp + fn) if tp + fn else float("nan")
        rows.append(
            {
                "coder": coder,
                "sentences": len(human),
                "precision": p,
                "recall": r,
                "f1": 2 * p * r / (p + r) if p + r else float("nan"),
                "alpha": pooled,
            }
        )
    return pd.DataFrame(rows, columns=["coder", "sentences", "precision", "recall", "f1", "alpha"])
