"""What one imported file may cost: a shared project or gold file is untrusted input."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO

from secprio.exchange import ExchangeError

MiB = 1 << 20


@dataclass(frozen=True)
class ImportLimits:
    """Bounds for ``import-qdpx`` and ``import-gold`` (settings ``imports.*``)."""

    archive_members: int = 100_000  # files inside one .qdpx
    member_bytes: int = 256 * MiB  # project.qde or one source, unpacked
    source_bytes: int = 512 * MiB  # every source text of one .qdpx together, unpacked
    selections: int = 1_000_000  # coded selections in one .qdpx
    gold_bytes: int = 256 * MiB  # one gold CSV/JSONL file
    gold_rows: int = 1_000_000
    gold_field_chars: int = 100_000  # one CSV field (one sentence)

    def too_many(self, what: str, n: int, limit: int, *, path: object, setting: str) -> None:
        if n > limit:
            raise ExchangeError(
                f"{what}: more than {limit:,} (the limit)",
                path=path,
                hint=f"split the file, or raise imports.{setting} in secprio.yaml",
                code="E375",
            )


class Bounded(io.RawIOBase):
    """A read-only stream that fails once more than ``limit`` bytes came out of ``raw``."""

    def __init__(self, raw: IO[bytes], limit: int, *, what: str, path: object) -> None:
        self.raw, self.limit, self.what, self.path, self.count = raw, limit, what, path, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(min(len(buffer), self.limit + 1 - self.count) or 1)
        self.count += len(data)
        if self.count > self.limit:
            raise ExchangeError(
                f"{self.what} unpacks to more than {self.limit // MiB} MiB",
                path=self.path,
                hint="this looks like a zip bomb; if the file is genuine, raise "
                "imports.member_bytes in secprio.yaml",
                code="E374",
            )
        buffer[: len(data)] = data
        return len(data)
