"""One exception base, a subclass per stage. Every error names its input and the fix."""

from __future__ import annotations


class SecprioError(Exception):
    """Base of every error secprio raises on purpose."""

    code = "E000"

    def __init__(self, message: str, *, path: object = None, hint: str = "") -> None:
        self.path = str(path) if path is not None else None
        self.hint = hint
        where = f"{self.path}: " if self.path else ""
        fix = f"\n  fix: {hint}" if hint else ""
        super().__init__(f"[{self.code}] {where}{message}{fix}")


class IngestError(SecprioError):
    code = "E100"


class CodebookError(SecprioError):
    code = "E200"


class CoderError(SecprioError):
    code = "E300"


class StoreError(SecprioError):
    code = "E400"


class MeasureError(SecprioError):
    code = "E500"


class ReportError(SecprioError):
    code = "E600"


class ProjectError(SecprioError):
    code = "E700"


class FetchError(SecprioError):
    code = "E800"


class MissingDependency(SecprioError):
    code = "E900"

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"the optional dependency '{module}' is not installed",
            hint=f"pip install 'secprio[{extra}]'  (or: pip install {module})",
        )


class ConflictError(StoreError):
    """Someone else changed the thing first: the caller sees the newer state, nothing is lost."""

    code = "E410"

    def __init__(self, message: str, *, current: int, hint: str = "") -> None:
        self.current = current
        super().__init__(message, hint=hint or "reload to see the newer decision, then decide")
