"""The analysis registry: one entry per analysis, from which ``secprio.api``, the CLI's analysis
commands and the report's analysis sections are made.

An entry (``Analysis``) says everything about one analysis in one place:

- ``function(data, **options) -> DataFrame``: the computation over a project's ``Data`` (the
  project, its per-document counts and its effective codings streamed from the store — or the
  frames a notebook passes —, read once and shared by the analyses of one call, one command
  or one report);
- ``params``: its options (name, type, default, help; how the CLI shows them);
- ``columns``: the columns of the frame it returns (checked by the tests);
- ``cli``: the command that shows it (several analyses may share a command, one selected by an
  option: ``links --all``, ``compare --event`` / ``--by``), its help and its terminal view;
- ``section``: its report section (``order`` places it among the others), and
  ``report_tables``: the report tables that hold its frame, with the options it was computed
  with — so a test can check that the report, the CLI's ``--csv`` and ``api`` agree.

The built-in analyses are the modules of ``secprio.analyses``; every module of the package is
imported the first time the registry is read. Another package adds an analysis with an entry
point in the group ``secprio.analyses`` whose value is an ``Analysis`` (docs/plugins.md).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secprio.errors import DuplicateName, MeasureError, PluginError
from secprio.plugins import Registry

if TYPE_CHECKING:
    import pandas as pd

    from secprio.measure.counts import DocCounts
    from secprio.project import Project
    from secprio.report.sections import Section

REQUIRED = inspect.Parameter.empty  # the default of a parameter without one
GROUP = "secprio.analyses"


@dataclass(frozen=True)
class Param:
    """One option of an analysis. ``type``: str, int, float, bool, Path (a file) or tuple.
    The CLI shows it as ``--name`` (``flag`` when another), a positional argument
    (``argument``), a choice among ``choices`` (``kind`` names the choice type), or not at all
    (``cli=False``); ``negate``: a bool whose CLI flag says the opposite (``--lexical-only``
    for ``semantic=False``)."""

    name: str
    type: Any
    default: Any = REQUIRED
    help: str = ""
    choices: tuple[str, ...] = ()
    kind: str = ""
    flag: str = ""
    negate: bool = False
    argument: bool = False
    cli: bool = True
    metavar: str = ""


CODER = Param("coder", str, None, "The coder whose codings count (default: the project's).",
              cli=False)  # fmt: skip


@dataclass(frozen=True)
class View:
    """What a command's terminal view gets: the frame, every option of the command by
    parameter name, the ``Data`` it was computed on, and where to write."""

    frame: pd.DataFrame
    options: Mapping[str, Any]
    data: Data
    table: Callable[[str, list[str], list[list[str]]], None]  # a titled table on stdout
    print: Callable[[str], None]  # a line on stdout
    note: Callable[[str], None]  # a line on stderr
    warn: Callable[[str], None]  # a warning on stderr


@dataclass(frozen=True)
class Cli:
    """How the CLI shows an analysis: the ``command`` (several analyses may share one; the one
    whose ``when`` option is set runs, else the one without ``when``), the command's one-line
    ``help`` (given once per command), ``view``: options of the terminal view only, and
    ``show``: the terminal view (default: the frame as a table)."""

    command: str
    help: str = ""
    when: str = ""
    view: tuple[Param, ...] = ()
    show: Callable[[View], None] | None = None


TableSpec = Iterable[tuple[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class Analysis:
    """One analysis; calling it runs it on a project (``Project`` or folder) like its ``api``
    function."""

    name: str
    function: Callable[..., pd.DataFrame]
    help: str
    params: tuple[Param, ...] = ()
    columns: tuple[str, ...] = ()
    cli: Cli | None = None
    section: Callable[[Data], Section | None] | None = None
    order: float = 50.0
    report_tables: Callable[[Data], TableSpec] | None = None

    def run(self, data: Data, options: Mapping[str, Any]) -> pd.DataFrame:
        """The frame on ``data`` with ``options`` (the defaults for the others; ``coder`` is
        the data's)."""
        given = {p.name: p.default for p in self.params if p.default is not REQUIRED}
        given.update(options)
        given.pop("coder", None)
        return self.function(data, **given)

    def __call__(self, project: Project | str | Path, /, **options: Any) -> pd.DataFrame:
        return self.api(project, **options)

    @cached_property
    def signature(self) -> inspect.Signature:
        first = inspect.Parameter("project", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        rest = [
            inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default)
            for p in self.params
        ]
        return inspect.Signature([first, *rest])

    @cached_property
    def api(self) -> Callable[..., pd.DataFrame]:
        """The ``secprio.api`` function: ``(project, **options) -> DataFrame``."""
        sig = self.signature

        def fn(*args: Any, **kwargs: Any) -> pd.DataFrame:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            options = dict(bound.arguments)
            data = Data.of(options.pop("project"), coder=options.get("coder"))
            return self.run(data, options)

        fn.__name__ = fn.__qualname__ = self.name
        fn.__module__ = "secprio.api"
        fn.__doc__ = self.help + _params_doc(self.params)
        fn.__signature__ = sig  # type: ignore[attr-defined]
        return fn


def _params_doc(params: tuple[Param, ...]) -> str:
    lines = [f"    {p.name}: {p.help}" for p in params if p.help]
    return "\n\nParameters:\n" + "\n".join(lines) if lines else ""


class Data:
    """A project's inputs to the analyses, read once: ``counts`` (per document its
    sentences and coded sentences, read by aggregation: what the document-level analyses
    use), ``sentences`` (with their text) and ``codings`` (the effective codings of
    ``coder``) for the analyses that need single sentences, scores, and ``run(name, **options)``,
    which computes an analysis of the registry once per set of options.

    ``strict`` (``api`` and the CLI): measuring what is not coded is refused, and a context
    file the settings name must exist; the report is lenient (it leaves out what it cannot
    show)."""

    def __init__(
        self,
        project: Project,
        *,
        coder: str | None = None,
        strict: bool = True,
        sentences: pd.DataFrame | None = None,
        codings: pd.DataFrame | None = None,
    ) -> None:
        self.project, self.coder, self.strict = project, coder, strict
        self.framed = sentences is not None or codings is not None  # the caller's frames
        self._memo: dict[object, Any] = {}
        if sentences is not None:  # the caller's, read already
            self.__dict__["sentences"] = sentences
        if codings is not None:
            self.__dict__["codings"] = codings

    @classmethod
    def of(cls, project: Project | str | Path, **kwargs: Any) -> Data:
        """The data of a ``Project`` or of the project in a folder."""
        from secprio.project import Project

        p = project if isinstance(project, Project) else Project.open(project)
        return cls(p, **kwargs)

    @cached_property
    def sentences(self) -> pd.DataFrame:
        return self.project.sentences(text=True)

    @cached_property
    def codings(self) -> pd.DataFrame:
        """The effective codings without their ``evidence`` JSON (no analysis reads it)."""
        if self.strict:
            self.project.require_codings(self.coder)
        return self.project.codings(self.coder, evidence=False)

    @cached_property
    def counts(self) -> DocCounts:
        """Per document its metadata, sentences and coded sentences per category
        (secprio.measure.counts): what the document-level analyses read. From the store by
        aggregation, so neither the sentences nor the codings are held; from the frames when
        the caller passed them."""
        from secprio.measure.counts import from_sentences

        if self.framed:
            return from_sentences(self.sentences, self.codings, self.project.codebook.ids())
        self.check_coded()
        return self.project.document_counts(self.coder)

    @property
    def counts_read(self) -> DocCounts | None:
        """The store's ``counts`` for the scores: read now when lenient (the report reads
        them once for every section), when strict only if read already (so that an empty or
        uncoded project fails as ``Project.scores`` says); None with the caller's frames."""
        if self.framed:
            return None
        return self.counts if not self.strict else self.__dict__.get("counts")

    def check_coded(self) -> None:
        """When strict: refuse to measure what is not coded (E522, E523)."""
        if self.strict:
            self.project.require_codings(self.coder)

    def coding_batches(
        self, columns: Sequence[str], *, segment: Sequence[str] = ()
    ) -> Iterator[pd.DataFrame]:
        """The effective codings streamed in segment order, a batch at a time (each frame:
        ``document_id``, ``columns`` and the sentence's columns ``segment``; a document's
        codings are consecutive) — for the analyses that need single sentences, without
        the codings whole in memory (secprio.store.aggregate.effective_batches)."""
        from secprio.store import aggregate

        self.check_coded()
        p = self.project
        return aggregate.effective_batches(
            p.store, p.coder(self.coder), p.codebook.sha256, columns=columns, segment=segment
        )

    def scored(self, *, by: str | None = None, scale: str | None = None) -> pd.DataFrame:
        """The project's scores, overall or per value of ``by``, on ``scale``: from counts
        per document the store aggregates, so scoring never needs the sentences in memory."""
        return self.memo(
            ("scores", by, scale),
            lambda: self.project.scores(
                by=by, scale=scale, coder=self.coder, counts=self.counts_read
            ),
        )

    def memo(self, key: object, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per ``key`` on this data."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def run(self, name: str, **options: Any) -> pd.DataFrame:
        """The analysis ``name`` on this data, with its defaults for the options not given
        (computed once per set of options)."""
        entry = REGISTRY.get_or_fail(name)
        bound = entry.signature.bind(self.project, **options)
        bound.apply_defaults()
        given = {k: v for k, v in bound.arguments.items() if k not in ("project", "coder")}
        key = ("analysis", name, tuple(sorted((k, repr(v)) for k, v in given.items())))
        return self.memo(key, lambda: entry.run(self, given))

    def context_file(self, key: str, file: Path | str | None = None) -> Path | None:
        """The context file ``key`` (events, expert, claims): ``file`` when given, else the one
        the settings name; None when none is named. A file named but missing is an error when
        strict (or when ``file`` is given), else None."""
        path = Path(file) if file else self.project.context_file(key)
        if path is None or path.is_file():
            return path
        if file or self.strict:
            raise MeasureError(
                f"no {key} file",
                path=path,
                hint=f"pass file=..., or set '{key}:' in secprio.yaml",
                code="E501",
            )
        return None

    def require_context(self, key: str, file: Path | str | None = None) -> Path:
        """``context_file``, which must exist."""
        path = self.context_file(key, file)
        if path is None:
            raise MeasureError(
                f"no {key} file",
                path=self.project.root,
                hint=f"pass file=..., or set '{key}:' in secprio.yaml",
                code="E501",
            )
        return path


class Analyses(Registry[Analysis]):
    """The registry of analyses: secprio's modules, then the entry-point group's plugins."""

    def add(self, name: str, item: Analysis, *, origin: str = "secprio") -> Analysis:
        if not isinstance(item, Analysis):
            raise PluginError(
                f"the analysis {name!r} ({origin}) is a {type(item).__name__}, not an Analysis",
                hint="point the entry point at a secprio.analyses.Analysis (docs/plugins.md)",
                code="E015",
            )
        if item.name != name:
            raise PluginError(
                f"the analysis {item.name!r} ({origin}) is registered as {name!r}",
                hint="give the entry point the analysis's name",
                code="E016",
            )
        return super().add(name, item, origin=origin)

    def load(self) -> None:
        if not self._loaded:
            self._loaded = True
            from secprio import analyses

            for info in pkgutil.iter_modules(analyses.__path__, f"{analyses.__name__}."):
                importlib.import_module(info.name)
        super().load()

    def commands(self) -> dict[str, list[Analysis]]:
        """The CLI's analysis commands: name → the analyses it shows, in registry order. Two
        analyses of one command without a ``when`` option to tell them apart are refused."""
        out: dict[str, list[Analysis]] = {}
        for entry in self.values():
            if entry.cli is None:
                continue
            mates = out.setdefault(entry.cli.command, [])
            clash = [m for m in mates if m.cli is not None and m.cli.when == entry.cli.when]
            if clash:
                raise DuplicateName(
                    f"the analyses {clash[0].name!r} and {entry.name!r} both run as "
                    f"'secprio {entry.cli.command}'"
                    + (f" with --{entry.cli.when}" if entry.cli.when else ""),
                    hint="give one of them another command, or a `when` option of its own",
                    code="E017",
                )
            mates.append(entry)
        for mates in out.values():  # the analysis that gives the command's help first
            mates.sort(key=lambda e: not (e.cli is not None and e.cli.help))
        return out


REGISTRY = Analyses("analysis", GROUP, plural="analyses")


def register(entry: Analysis) -> Analysis:
    """Add a built-in analysis (a module of ``secprio.analyses`` calls it on import)."""
    fn = entry.function
    return REGISTRY.add(entry.name, entry, origin=f"{fn.__module__}:{fn.__qualname__}")


def tables(*specs: tuple[str, Mapping[str, Any]]) -> Callable[[Data], TableSpec]:
    """``report_tables`` for tables that do not depend on the project."""
    return lambda _data: list(specs)


__all__ = [
    "CODER",
    "GROUP",
    "REGISTRY",
    "REQUIRED",
    "Analysis",
    "Cli",
    "Data",
    "Param",
    "View",
    "register",
    "tables",
]
