"""One Project: store + codebook + settings. The CLI, the web app and notebooks sit on it."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import pandas as pd

from secprio import config, packs
from secprio.codebook.load import load as load_codebook
from secprio.codebook.model import Codebook
from secprio.coders.registry import make_coder
from secprio.errors import Hint, IngestError, MeasureError, ProjectError
from secprio.ingest.corpus import scan, sha256_file, walk
from secprio.ingest.limits import Limits
from secprio.ingest.metadata import project_warnings
from secprio.measure.counts import DocCounts
from secprio.measure.scores import score as score_sentences
from secprio.measure.scores import score_documents
from secprio.model import Document, Skipped
from secprio.store import aggregate
from secprio.store.carry import CarryReport
from secprio.store.store import Store, run_key

Progress = Callable[[int, int], None]
TEMPLATE = Path(__file__).parent / "codebook" / "template.yaml"


def _quiet(_done: int, _total: int) -> None:
    return None


@dataclass
class IngestResult:
    added: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # doubtful metadata, file and fix each
    carried: CarryReport = field(default_factory=CarryReport)  # human codings of new versions


@dataclass
class CodeResult:
    run_id: int
    coder: str
    documents: int
    codings: int
    trained_on: str = ""  # what a learning coder was trained on ("" for the dictionary)


def trained_on(coder: object) -> str:
    """A coder's account of its training data, recorded in the run's provenance."""
    return str(getattr(coder, "trained_on_", ""))


class Project:
    def __init__(self, root: Path, settings: config.Settings) -> None:
        self.root = root
        self.settings = settings

    # -- life cycle ------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        root: Path | str,
        *,
        pack: str | None = None,
        codebook: Path | None = None,
        name: str | None = None,
        settings: config.Settings | None = None,
    ) -> Project:
        """Create a project folder: settings, codebook (a pack's, a given one or a template),
        the pack's context files (events, expert ratings, claims) and the store."""
        root = Path(root)
        if (root / config.CONFIG_NAME).exists():
            raise ProjectError(
                "a project already exists here",
                path=root,
                hint="open it with Project.open, or choose another folder",
                code="E713",
            )
        if codebook is not None and not Path(codebook).is_file():
            raise ProjectError(
                "the codebook file does not exist",
                path=codebook,
                hint=Hint(
                    "give the path of a codebook YAML, or leave --codebook out for a template",
                    "give the path of a codebook YAML, or codebook=None for a template",
                ),
                code="E712",
            )
        root.mkdir(parents=True, exist_ok=True)
        settings = settings or config.Settings(name=name or root.resolve().name)
        if pack:
            folder = packs.path(pack)
            codebook = codebook or folder / "codebook.yaml"
            for key in ("events", "expert", "claims"):
                src = folder / f"{key}.yaml"
                if src.is_file():
                    shutil.copyfile(src, root / src.name)
                    setattr(settings, key, src.name)
            settings.members, settings.issuers = packs.codes(pack)
        shutil.copyfile(codebook or TEMPLATE, root / settings.codebook)
        config.save(settings, root / config.CONFIG_NAME)
        ignore = root / ".gitignore"
        if not ignore.exists():  # caches and SQLite's side files are not part of the study
            ignore.write_text(".secprio/\n*.db-wal\n*.db-shm\n*.db.lock\n", encoding="utf-8")
        project = cls(root, settings)
        project.store  # noqa: B018 - creating the store now surfaces a bad URL at init
        return project

    @classmethod
    def open(cls, root: Path | str = ".") -> Project:
        root = Path(root)
        path = root / config.CONFIG_NAME
        if not path.is_file():
            raise ProjectError(
                "not a secprio project (no secprio.yaml)",
                path=root,
                hint=Hint(f"run `secprio init {root}` first", f"Project.init({str(root)!r}) first"),
                code="E711",
            )
        return cls(root, config.load(path))

    @cached_property
    def store(self) -> Store:
        url = self.settings.store
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            url = f"sqlite:///{(self.root / url.removeprefix('sqlite:///')).resolve()}"
        return Store(url)

    @cached_property
    def codebook(self) -> Codebook:
        return load_codebook(self.root / self.settings.codebook)

    def coder(self, name: str | None = None) -> str:
        """The coder a command uses: ``name``, else the setting; ``auto`` resolves to the best
        coder validated on real text for this codebook that is installed (else dictionary)."""
        from secprio.coders.registry import resolve

        return resolve(name or self.settings.measure.coder, self)

    # -- stages ----------------------------------------------------------------------------
    def ingest(
        self, paths: Iterable[Path | str], *, workers: int | None = None,
        progress: Progress = _quiet, follow_symlinks: bool = False,
        executor: str = "local", scheduler: str | None = None,
    ) -> IngestResult:  # fmt: skip
        """Read documents into the store; unreadable files are listed, never fatal.

        Files whose bytes are already stored are not read again. ``workers`` processes read
        and segment the others (default: one per core, for corpora worth the start-up), each
        file under the ``ingest`` limits of the settings; ``executor="dask"``: Dask tasks do,
        on the cluster of ``scheduler`` or a local one of ``workers`` processes. Only this
        process writes the store, in the files' order: the same store whatever the executor.
        """
        from secprio.parallel import check

        check(workers, executor, scheduler)
        limits = self.settings.ingest
        if follow_symlinks:
            limits = dataclasses.replace(limits, follow_symlinks=True)
        with self.store.lock("ingest"):
            return self._ingest(paths, limits, workers, progress, (executor, scheduler))

    def _ingest(
        self, paths: Iterable[Path | str], limits: Limits, workers: int | None, progress: Progress,
        where: tuple[str, str | None] = ("local", None),
    ) -> IngestResult:  # fmt: skip
        result = IngestResult()
        roots = [Path(p) for p in paths]
        for path in roots:
            if not path.exists() and not path.is_symlink():  # a broken link is a Skipped
                raise IngestError(
                    "no such file or folder",
                    path=path,
                    hint="check the path (relative paths start from the current folder)",
                    code="E101",
                )
        files = list(walk(roots, limits=limits))
        known = self.store.known_hashes()
        todo = []
        for entry in files:
            if isinstance(entry, Skipped):
                result.skipped.append(entry)
            elif entry.is_file() and sha256_file(entry) in known:
                result.unchanged.append(str(entry))
            else:
                todo.append(entry)
        progress(len(result.unchanged) + len(result.skipped), len(files))
        n_workers = workers or min(os.cpu_count() or 1, max(1, len(todo) // 8))
        if where[0] == "dask" and not workers:
            n_workers = os.cpu_count() or 1
        # scan streams one document at a time: memory stays flat whatever the corpus size
        done = len(result.unchanged) + len(result.skipped) + 1
        found = scan(todo, workers=n_workers, limits=limits, executor=where[0], scheduler=where[1])
        for i, item in enumerate(found, done):
            if isinstance(item, Skipped):
                result.skipped.append(item)
            else:
                item = self._checked(item)
                result.warnings += item.meta.extra.get("warnings", [])  # type: ignore[arg-type]
                _, status = self.store.add_document(item, carried=result.carried)
                {"added": result.added, "version": result.versions,
                 "unchanged": result.unchanged}[status].append(item.path)  # fmt: skip
            progress(i, len(files))
        self.store.record_skipped(None, result.skipped)
        return result

    def _checked(self, doc: Document) -> Document:
        """The document with warnings about codes outside the project's members/issuers."""
        more = project_warnings(
            doc.meta, doc.path, members=self.settings.members, issuers=self.settings.issuers
        )
        if not more:
            return doc
        extra = {**doc.meta.extra, "warnings": [*doc.meta.extra.get("warnings", []), *more]}  # type: ignore[misc]
        return replace(doc, meta=replace(doc.meta, extra=extra))

    def warnings(self) -> pd.DataFrame:
        """Metadata warnings of the active documents: one row per (path, warning)."""
        docs = self.documents()
        rows = [
            {"path": path, "warning": str(w)}
            for path, extra in zip(docs["path"], docs["extra"], strict=True)
            for w in (extra or {}).get("warnings", [])
        ]
        return pd.DataFrame(rows, columns=["path", "warning"])

    def code(
        self,
        coder: str | None = None,
        *,
        batch: int = 25,
        progress: Progress = _quiet,
        jobs: int | None = None,
        executor: str = "local",
        scheduler: str | None = None,
    ) -> CodeResult:
        """Code every document not yet coded by this coder configuration; resumable.

        ``jobs`` worker processes code the batches (``executor="local"``; default 1: this
        process), or the tasks run on Dask (``executor="dask"``): on the cluster of the
        scheduler at ``scheduler``, else on a local cluster of ``jobs`` processes (default: one
        per core). Only this process writes to
        the store, batch by batch in document order: the run and its codings are the same as
        with one process (secprio.parallel)."""
        from secprio import parallel

        parallel.check(jobs, executor, scheduler)  # before the lock and any work
        with self.store.lock("code"):
            return self._code(coder, batch, progress, jobs, executor, scheduler)

    def _code(
        self,
        coder: str | None,
        batch: int,
        progress: Progress,
        jobs: int | None = None,
        executor: str = "local",
        scheduler: str | None = None,
    ) -> CodeResult:
        from secprio import parallel

        name = self.coder(coder)
        impl = make_coder(name, self)
        key = run_key(coder=name, version=impl.version, codebook=self.codebook.sha256)
        run_id = self.store.start_run(
            "code",
            key=key,
            coder=name,
            coder_version=impl.version,
            codebook_sha256=self.codebook.sha256,
            settings={**self.settings.to_dict(), "coder_trained_on": trained_on(impl)},
        )
        pending = self.store.pending_documents(key)
        batches = [pending[lo : lo + batch] for lo in range(0, len(pending), batch)]
        n_codings = done = 0
        if batches:  # no workers to start for nothing
            with parallel.mapper(impl, jobs=jobs, executor=executor, scheduler=scheduler) as run:
                # units are read here as the workers ask for them (a bounded window ahead)
                coded = run(self.store.units(docs) for docs in batches)
                for docs, codings in zip(batches, coded, strict=True):
                    n_codings += self.store.save_batch(
                        run_id, coder=name, doc_ids=docs, codings=codings
                    )
                    done += len(docs)
                    progress(done, len(pending))
        self.store.finish_run(run_id)
        return CodeResult(run_id, name, len(pending), n_codings, trained_on(impl))

    # -- tables ----------------------------------------------------------------------------
    def documents(self) -> pd.DataFrame:
        """Active documents with their metadata (members as lists)."""
        df = self.store.document_frame()
        df["members"] = df["members"].map(lambda s: [m for m in s.split(";") if m])
        df["date"] = df["date"].fillna("").astype(str)  # undated: "", never NaN
        return df.rename(columns={"id": "document_id"})

    def sentences(
        self,
        *,
        text: bool = False,
        documents: Sequence[int] | None = None,
        segments: Sequence[int] | None = None,
    ) -> pd.DataFrame:
        """One row per sentence of the active documents, with document metadata and weight;
        ``documents``, ``segments``: of these documents, these sentences only."""
        sents = self.store.sentence_frame(documents, segments=segments).merge(
            self.documents(), on="document_id", how="left"
        )
        weights = self.settings.measure.weights
        sents["weight"] = sents["doc_type"].map(lambda d: weights.get(d, 1.0)).astype(float)
        sents["period"] = sents["year"].map(self.period)
        if text:
            sents["text"] = self._texts(sents)
        return sents

    def _texts(self, sents: pd.DataFrame) -> list[str]:
        texts = self.store.texts(sents["document_id"].unique().tolist())
        return [
            texts[d][s:e]
            for d, s, e in zip(sents["document_id"], sents["start"], sents["end"], strict=True)
        ]

    def period(self, year: float | None) -> str:
        if year is None or pd.isna(year):
            return "undated"
        for label in self.settings.measure.periods:
            lo, _, hi = label.partition("-")
            if int(lo) <= int(year) <= int(hi or lo):
                return label
        return "other"

    def codings(
        self,
        coder: str | None = None,
        *,
        human: bool = True,
        between: tuple[int, int] | None = None,
        evidence: bool = True,
    ) -> pd.DataFrame:
        """Effective codings: the coder's, with any human decision on the same cell winning.

        Machine codings made with another version of the codebook are left out: a changed
        codebook means a recode (``secprio code``), never a silent mix of old and new.
        ``between``: only the codings of segments with ids in this closed range (a batch).
        ``evidence=False`` leaves out the ``evidence`` JSON, which no measurement reads: over a
        third of the frame's memory (a dict per coding)."""
        name = self.coder(coder)
        df = self.store.coding_frame(
            name, codebook_sha256=self.codebook.sha256, human=human, between=between,
            evidence=evidence,
        )  # fmt: skip
        return aggregate.effective(df) if human else df

    def human_codings(self) -> pd.DataFrame:
        """The human decisions in effect (the latest per sentence and category), without
        their evidence: what ``codings`` keeps of them, read without the machine codings."""
        return aggregate.effective(self.store.human_frame())

    def coverage(self, coder: str | None = None) -> dict[str, int]:
        """Active documents coded by ``coder`` with the current codebook, with another
        version of it only (stale), and not at all."""
        name = self.coder(coder)
        rows, n_active = self.store.coded_documents(name)
        current = {d for d, sha in rows if sha == self.codebook.sha256}
        stale = {d for d, _ in rows} - current
        return {
            "documents": int(n_active),
            "current": len(current),
            "stale": len(stale),
            "uncoded": int(n_active) - len(current) - len(stale),
        }

    def require_codings(self, coder: str | None = None) -> str:
        """Raise when nothing is coded by ``coder`` with the current codebook (a score would
        be a row of empty numbers); return a warning when only part of the corpus is."""
        name = self.coder(coder)
        cov = self.coverage(name)
        fix = f"run `secprio code -p {self.root}" + (f" --coder {name}`" if coder else "`")
        call = "run project.code(" + (f"{name!r})" if coder else ")")
        if cov["current"] == 0 and cov["stale"]:
            raise MeasureError(
                f"the codebook changed since the {name} coder coded the corpus: its codings "
                f"of {cov['stale']} document(s) were made with another codebook version and "
                "are not used",
                path=self.root / self.settings.codebook,
                hint=Hint(f"{fix} to recode with the current codebook", f"{call} to recode"),
                code="E523",
            )
        if cov["current"] == 0:
            raise MeasureError(
                f"nothing is coded by the {name} coder yet, so there is nothing to measure",
                path=self.root,
                hint=Hint(f"{fix} first", f"{call} first"),
                code="E522",
            )
        missing = cov["documents"] - cov["current"]
        if not missing:
            return ""
        why = " (coded with an older codebook)" if cov["stale"] else " (ingested since)"
        return (
            f"{missing} of {cov['documents']} document(s) are not coded by {name} with the "
            f"current codebook{why}: their sentences count as uncoded; {fix}"
        )

    def scores(
        self,
        *,
        by: str | None = None,
        coder: str | None = None,
        scale: str | None = None,
        attribution: str = "issuer",
        sentences: pd.DataFrame | None = None,
        codings: pd.DataFrame | None = None,
        counts: DocCounts | None = None,
    ) -> pd.DataFrame:
        """The 1–9 scores with 95% bootstrap intervals, overall or per value of ``by``
        (``attribution``: how sentences count for member states, secprio.measure.groups).
        ``attrs["warning"]`` says when part of the corpus is not coded. ``sentences`` and
        ``codings``: ``self.sentences()`` and ``self.codings(coder)`` when the caller holds
        them already, so that the corpus is not in memory twice; ``counts``: the document
        counts (``document_counts``) when the caller read them already. What it reads
        is one state of the store (``Store.snapshot``), even while ``code`` writes."""
        with self.store.snapshot():
            if counts is not None:  # the caller's document counts (the report's, read once)
                return self._scores_by_document(by, coder, scale, attribution, counts)
            return self._scores(by, coder, scale, attribution, sentences, codings)

    def _scores(
        self, by: str | None, coder: str | None, scale: str | None, attribution: str,
        sentences: pd.DataFrame | None, codings: pd.DataFrame | None,
    ) -> pd.DataFrame:  # fmt: skip
        m = self.settings.measure
        if sentences is None and codings is None:  # per document, never the sentences whole
            return self._scores_by_document(by, coder, scale, attribution)
        sentences = self.sentences() if sentences is None else sentences
        if sentences.empty:
            raise MeasureError(
                "the project has no documents to score",
                path=self.root,
                hint=Hint(
                    f"run `secprio ingest -p {self.root} DOCUMENTS...` first",
                    "run project.ingest([FOLDER_OR_FILES]) first",
                ),
                code="E521",
            )
        warning = self.require_codings(coder)
        out = score_sentences(
            sentences,
            self.codings(coder) if codings is None else codings,
            self.codebook,
            scale=scale or m.scale,
            n_boot=m.bootstrap,
            seed=m.seed,
            by=by,
            attribution=attribution,
            min_documents=m.min_documents,
            min_docs_coded=m.min_docs_coded,
        )
        out.attrs["warning"] = warning
        return out

    def _scores_by_document(
        self, by: str | None, coder: str | None, scale: str | None, attribution: str,
        counts: DocCounts | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """``_scores`` from per-document counts the store aggregates (``document_counts``):
        the same numbers, without the sentences and codings in memory."""
        m = self.settings.measure
        none = aggregate.sentence_counts(self.store)
        if none.empty:
            return self._scores(by, coder, scale, attribution, none, None)  # E521
        warning = self.require_codings(coder)
        counts = self.document_counts(coder) if counts is None else counts
        out = score_documents(
            counts.documents, counts.coded, self.codebook, scale=scale or m.scale,
            n_boot=m.bootstrap, seed=m.seed, by=by, attribution=attribution,
            min_documents=m.min_documents, min_docs_coded=m.min_docs_coded,
        )  # fmt: skip
        out.attrs["warning"] = warning
        return out

    def document_counts(self, coder: str | None = None) -> DocCounts:
        """Per active document with sentences: its metadata, ``n_sentences``, ``weight``,
        ``period``, and per category of the codebook its sentences coded 1 by the effective
        codings of ``coder`` (secprio.measure.counts) — read by SQL aggregation and the codings
        streamed in batches, so memory grows with the documents, not the sentences."""
        m = self.settings.measure
        docs = aggregate.sentence_counts(self.store).merge(self.documents(), on="document_id")
        docs["weight"] = docs["doc_type"].map(lambda d: m.weights.get(d, 1.0)).astype(float)
        docs["period"] = docs["year"].map(self.period)
        cats = self.codebook.ids()
        counts = aggregate.coded_counts(self.store, self.coder(coder), self.codebook.sha256,
                                        cats)  # fmt: skip
        coded = (
            counts.pivot(index="document_id", columns="category", values="n_coded")
            .reindex(index=docs["document_id"], columns=cats)
            .fillna(0)
            .to_numpy(dtype="int64")
        )
        return DocCounts(docs, coded, tuple(cats))

    def context_file(self, key: str) -> Path | None:
        """The path of a context file named in the settings (events, expert, claims)."""
        name = getattr(self.settings, key)
        return self.root / name if name else None

    def skipped(self) -> pd.DataFrame:
        """Files that could not be read, each with its latest reason; a file that has since
        been fixed and ingested is no longer listed."""
        df = self.store.table("skipped").drop_duplicates("path", keep="last")
        return df[~df["path"].isin(self.documents()["path"])]

    def uncarried(self) -> pd.DataFrame:
        """Human codings on replaced document versions whose sentence changed, for review."""
        return self.store.uncarried()

    def runs(self) -> pd.DataFrame:
        return self.store.table("runs")


def explode_members(df: pd.DataFrame, column: str = "members") -> pd.DataFrame:
    """One row per member state listed in ``column``."""
    return df.explode(column).dropna(subset=[column])
