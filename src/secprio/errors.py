"""One exception base, a subclass per stage. Every error names its input and the fix.

Every condition has its own code (``code=`` where it is raised; the class's code is the
stage's default), listed in docs/errors.md. A fix that names an option is a ``Hint``: the
CLI shows its flag, Python its parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Interface = Literal["python", "cli"]


@dataclass(frozen=True)
class Hint:
    """A fix worded for each interface: ``cli`` names flags and commands, ``python``
    parameters and methods (``str(hint)`` is the Python wording)."""

    cli: str
    python: str

    def __str__(self) -> str:
        return self.python

    def render(self, interface: Interface) -> str:
        return self.cli if interface == "cli" else self.python


class SecprioError(Exception):
    """Base of every error secprio raises on purpose."""

    code = "E000"
    condition = ""  # set when the class is one condition (its code is that condition's)

    def __init__(
        self, message: str, *, path: object = None, hint: str | Hint = "", code: str = ""
    ) -> None:
        self.path = str(path) if path is not None else None
        self.message = message
        self.hints = hint if isinstance(hint, Hint) else Hint(hint, hint)
        self.hint = self.hints.python
        if code:
            self.code = code
        super().__init__(self.render("python"))

    def __reduce__(self) -> tuple[object, ...]:
        # from a worker process or a Dask worker: the same error, without calling __init__
        # again on its rendered text (which would prefix the class's code a second time)
        return _restore, (type(self), self.args, self.__dict__)

    def render(self, interface: Interface) -> str:
        """The message with the fix in the words of ``interface``."""
        where = f"{self.path}: " if self.path else ""
        hint = self.hints.render(interface)
        fix = f"\n  fix: {hint}" if hint else ""
        return f"[{self.code}] {where}{self.message}{fix}"


def _restore(
    cls: type[SecprioError], args: tuple[object, ...], state: dict[str, object]
) -> SecprioError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class PluginError(SecprioError):
    """A component cannot be registered or an installed plugin cannot be loaded."""

    code = "E010"


class DuplicateName(PluginError):
    code = "E011"


class UnknownName(PluginError):
    code = "E012"


class IngestError(SecprioError):
    code = "E100"


class CodebookError(SecprioError):
    code = "E200"


class CoderError(SecprioError):
    code = "E300"


class NotFittedError(CoderError):
    code = "E317"
    condition = "a coder that needs fitting was asked to code before fit"

    def __init__(self, coder: str) -> None:
        super().__init__(
            f"the {coder} coder is not fitted yet",
            hint=Hint(
                f"use `--coder {coder}`, which builds it for the project",
                f"call fit(units, labels) first, or build it with make_coder({coder!r}, project)",
            ),
        )


class StoreError(SecprioError):
    code = "E400"


class MeasureError(SecprioError):
    code = "E500"


class ReportError(SecprioError):
    code = "E600"


class ProjectError(SecprioError):
    code = "E700"


class TimelineError(SecprioError):
    code = "E550"


class ExchangeError(SecprioError):
    """A gold file or a REFI-QDA file that cannot be read as it is."""

    code = "E350"


class FetchError(SecprioError):
    code = "E800"


class MissingDependency(SecprioError):
    code = "E900"
    condition = "an optional dependency is not installed (the fix is its pip install line)"

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"the optional dependency '{module}' is not installed",
            hint=f"pip install 'secprio[{extra}]'  (or: pip install {module})",
        )


class ConflictError(StoreError):
    """Someone else changed the thing first: the caller sees the newer state, nothing is lost."""

    code = "E410"
    condition = "someone else changed the decision first (the web app answers 409)"

    def __init__(self, message: str, *, current: int, hint: str = "") -> None:
        self.current = current
        super().__init__(message, hint=hint or "reload to see the newer decision, then decide")
