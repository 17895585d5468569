"""Document metadata: from a sidecar YAML, a folder's metadata.csv or front matter.

The first source found wins as a whole (docs/formats.md); fields are then validated, and
title and language are filled in from the text when absent. Keys secprio does not know are kept
in ``Metadata.extra``, with ``metadata_source`` saying where the record came from.

What is readable but doubtful — no metadata at all, no date, doc_type or issuer, a date out
of range, a code that is no ISO 3166 country or not one of the project's — becomes a warning
(``extra["warnings"]``, each naming the file and the fix): the document is kept, and the
warnings are printed by ``ingest`` and listed in the report.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from secprio.errors import IngestError
from secprio.ingest.countries import is_country
from secprio.ingest.limits import MB, Limits
from secprio.ingest.readers import yaml_mapping
from secprio.model import DOC_TYPES, Metadata
from secprio.text.language import detect

FIELDS = ("title", "date", "doc_type", "issuer", "members", "language", "url")
CSV_NAME = "metadata.csv"
SIDECAR_SUFFIXES = (".yaml", ".yml")
_MEMBER = re.compile(r"[A-Z]{2}")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
METADATA_MB = 1  # a sidecar or metadata.csv larger than this is not metadata
NESTING = 20  # levels of lists and mappings kept in Metadata.extra
# One rule for dates: a document's date lies between MIN_DATE and today (a day's grace for time
# zones). A date outside is a typo or hostile: the document is kept, undated, with a warning,
# so it can neither vanish from the corpus nor stretch years, trends and windows.
MIN_DATE = dt.date(1900, 1, 1)
Fail = Callable[[str, str], IngestError]  # (message, hint) -> the error to raise


def resolve(
    path: str | Path,
    text: str,
    *,
    front: Mapping[str, Any] | None = None,
    limits: Limits = Limits(),
) -> Metadata:
    """Metadata of the document at ``path`` whose text is ``text``."""
    path = Path(path)
    raw, source, origin = _find(path, front or {}, limits)
    return _validate(raw, text=text, path=path, source=source, origin=origin)


def _find(
    path: Path, front: Mapping[str, Any], limits: Limits
) -> tuple[Mapping[str, Any], str, Path]:
    """The first record found, the name of its source, and the file to fix when it is wrong."""
    for suffix in SIDECAR_SUFFIXES:
        sidecar = path.with_suffix(suffix)
        if _metadata_file(sidecar, limits):
            return read_sidecar(sidecar), f"sidecar {sidecar.name}", sidecar
    table = path.parent / CSV_NAME
    if _metadata_file(table, limits):
        row = read_csv(table).get(path.name)
        if row is not None:
            return row, CSV_NAME, table
    if front:
        return front, "front matter", path
    return {}, "none", path


def _metadata_file(path: Path, limits: Limits) -> bool:
    """Is there a metadata file here that secprio may read? Links and huge files are refused."""
    if path.is_symlink() and not limits.follow_symlinks:
        raise IngestError(
            "the metadata file is a symbolic link; secprio reads no file through a link",
            path=path,
            hint="replace the link with a copy of the file, or pass --follow-symlinks",
            code="E112",
        )
    if not path.is_file():
        return False
    size = path.stat().st_size
    if size > METADATA_MB * MB:
        raise IngestError(
            f"the metadata file has {size / MB:.1f} MB, over the {METADATA_MB} MB that metadata "
            "can need",
            path=path,
            hint="keep only the metadata fields in it (title, date, doc_type, ...)",
            code="E111",
        )
    return True


def read_sidecar(path: Path) -> dict[str, Any]:
    hint = "fix the YAML (quote values that contain ':' or '#'), saved as UTF-8"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"the metadata sidecar is not UTF-8: {exc}", path=path,
                          hint=hint, code="E110") from exc  # fmt: skip
    return yaml_mapping(text, path=path, what="the metadata sidecar", hint=hint,
                        form="UTF-8 YAML")  # fmt: skip


def read_csv(path: Path) -> dict[str, dict[str, Any]]:
    """Rows of a metadata.csv by file name; empty cells are left out."""
    stat = path.stat()
    return _read_csv(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)  # a folder of many documents reads its metadata.csv once
def _read_csv(path: Path, mtime_ns: int, size: int) -> dict[str, dict[str, Any]]:
    try:
        return _csv_rows(path)
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"metadata.csv is not UTF-8 ({exc.reason} at byte {exc.start})",
            path=path,
            hint="save it again as UTF-8 (spreadsheets: Save as → CSV UTF-8)",
            code="E109",
        ) from exc
    except csv.Error as exc:  # a field over the csv module's size limit, a NUL byte
        raise IngestError(
            f"metadata.csv cannot be read as CSV: {exc}",
            path=path,
            hint="check it in a spreadsheet: one row per file, short fields, saved as CSV UTF-8",
            code="E108",
        ) from exc


def _csv_rows(path: Path) -> dict[str, dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if "file" not in (reader.fieldnames or []):
            raise IngestError(
                "metadata.csv has no 'file' column",
                path=path,
                hint="add a first column 'file' with each document's file name",
                code="E107",
            )
        rows = {}
        for row in reader:
            cells = {k.strip(): _cell(v) for k, v in row.items() if k and v and v.strip()}
            name = str(cells.pop("file", "")).strip()
            if name:
                rows[Path(name).name] = cells
    return rows


def _cell(value: str) -> Any:
    value = value.strip()
    lowered = value.lower()
    return {"true": True, "false": False}.get(lowered, value)


def _validate(
    raw: Mapping[str, Any], *, text: str, path: Path, source: str, origin: Path
) -> Metadata:
    def fail(message: str, hint: str) -> IngestError:
        return IngestError(
            f"{message} (metadata of {path.name}, from {source})",
            path=origin,
            hint=hint,
            code="E106",
        )

    date, precision = parse_date(raw.get("date"), fail=fail)
    extra = {str(k): plain(v) for k, v in raw.items() if k not in FIELDS}
    extra["metadata_source"] = source
    if date is not None and not in_range(date):
        extra["date_out_of_range"] = date.isoformat()
        date, precision = None, "day"
    if precision != "day":
        extra["date_precision"] = precision
    meta = Metadata(
        title=str(raw.get("title") or "").strip() or fallback_title(text, path),
        date=date,
        doc_type=parse_doc_type(raw.get("doc_type"), fail=fail),
        issuer=str(raw.get("issuer") or "").strip(),
        members=parse_members(raw.get("members"), fail=fail),
        language=parse_language(raw.get("language"), fail=fail) or detect(text),
        url=str(raw.get("url") or "").strip(),
        extra=extra,
    )
    found = _doubts(raw, meta, path=path, origin=origin)
    if found:
        extra["warnings"] = found
    return meta


def _where(path: Path, origin: Path) -> str:
    return f"in {origin.name}" if origin != path else "in its front matter"


def _doubts(raw: Mapping[str, Any], meta: Metadata, *, path: Path, origin: Path) -> list[str]:
    """Warnings about metadata that is readable but doubtful (module docstring)."""
    if not raw:
        return [
            f"{path}: no metadata (no {path.stem}.yaml sidecar, no row in {CSV_NAME}, no "
            "front matter), so it is undated, of doc_type analysis (weight 0.3) and issued "
            f"by no one; fix: write {path.with_suffix('.yaml').name} with date, doc_type, "
            "issuer (docs/formats.md)"
        ]
    where = _where(path, origin)
    out = []
    if "date_out_of_range" in meta.extra:
        out.append(
            f"{path}: date {meta.extra['date_out_of_range']} is out of range (before "
            f"{MIN_DATE.year} or after today), so the document is kept undated: left out of "
            f"years, periods, trends and case windows; fix: correct `date:` {where}"
        )
    elif meta.date is None:
        out.append(
            f"{path}: no date, so it is left out of years, periods, trends and case "
            f"windows; fix: add `date: YYYY-MM-DD` {where}"
        )
    if not raw.get("doc_type"):
        out.append(
            f"{path}: no doc_type, so it counts as analysis (the lowest weight); fix: add "
            f"`doc_type:` ({', '.join(DOC_TYPES)}) {where}"
        )
    if not meta.issuer:
        out.append(
            f"{path}: no issuer, so it counts for no member state; fix: add `issuer:` (the "
            f"organization or a country code) {where}"
        )
    odd = [m for m in meta.members if not is_country(m)]
    if len(meta.issuer) == 2 and meta.issuer.isupper() and not is_country(meta.issuer):
        odd.insert(0, meta.issuer)
    if odd:
        out.append(
            f"{path}: {', '.join(odd)} {'is' if len(odd) == 1 else 'are'} not ISO 3166 "
            f"country code(s); fix: correct `issuer:`/`members:` {where} (AZ, KZ, KG, TR, …)"
        )
    return out


def project_warnings(
    meta: Metadata, path: str | Path, *, members: list[str], issuers: list[str]
) -> list[str]:
    """Warnings about codes outside the project's ``members`` and ``issuers`` settings (no
    check when both are empty)."""
    if not members and not issuers:
        return []
    out = []
    unknown = [m for m in meta.members if members and m not in members]
    if unknown:
        out.append(
            f"{path}: members {', '.join(unknown)} are not among the project's members "
            f"({', '.join(members)}); fix: correct the code, or add it to `members:` in "
            "secprio.yaml"
        )
    if meta.issuer and meta.issuer not in {*members, *issuers}:
        out.append(
            f"{path}: issuer {meta.issuer} is neither one of the project's members nor one "
            f"of its issuers ({', '.join([*issuers, *members])}); fix: correct `issuer:`, or "
            "add it to `issuers:` in secprio.yaml"
        )
    return out


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON data (str keys; lists; str, int, float, bool, None), so any YAML a
    sidecar holds can be stored; nesting beyond NESTING levels is kept as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if depth >= NESTING:
        return "…"
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v, depth + 1) for v in value]
    return str(value)


def in_range(date: dt.date) -> bool:
    """Whether ``date`` can be a document's date (see MIN_DATE)."""
    return MIN_DATE <= date <= dt.date.today() + dt.timedelta(days=1)


def parse_date(value: Any, *, fail: Fail) -> tuple[dt.date | None, str]:
    """A date and its precision (day, month, year); not a date at all is an error."""
    return _parse_date(value, fail=fail)


def _parse_date(value: Any, *, fail: Fail) -> tuple[dt.date | None, str]:
    """A date and its precision (day, month, year) from a YAML date, a year or an ISO string."""
    if value is None or value == "":
        return None, "day"
    if isinstance(value, dt.datetime):
        return value.date(), "day"
    if isinstance(value, dt.date):
        return value, "day"
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            return dt.date(int(text), 1, 1), "year"  # a year alone: 1 January, marked as such
        if re.fullmatch(r"\d{4}-\d{2}", text):
            return dt.date.fromisoformat(text + "-01"), "month"
        return dt.date.fromisoformat(text), "day"
    except ValueError:
        raise fail(
            f"date '{value}' is not an ISO date or a year", "write e.g. 2022-11-11, 2022-11 or 2022"
        ) from None


def parse_doc_type(value: Any, *, fail: Fail) -> str:
    if value is None or value == "":
        return Metadata.doc_type  # the lowest-weight kind: an unlabelled text speaks for no one
    kind = str(value).strip().lower()
    if kind not in DOC_TYPES:
        raise fail(f"doc_type '{value}' is not known", f"use one of: {', '.join(DOC_TYPES)}")
    return kind


def parse_members(value: Any, *, fail: Fail) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list | tuple) else re.split(r"[;,\s]+", str(value))
    codes = tuple(dict.fromkeys(str(m).strip().upper() for m in items if str(m).strip()))
    bad = [c for c in codes if not _MEMBER.fullmatch(c)]
    if bad:
        raise fail(
            f"members {bad} are not ISO 3166 alpha-2 codes",
            "use two-letter codes separated by ';' in a CSV or as a YAML list: [AZ, KZ, KG]",
        )
    return codes


def parse_language(value: Any, *, fail: Fail) -> str:
    if value is None or value == "":
        return ""
    code = str(value).strip().lower()
    if not _LANGUAGE.fullmatch(code):
        raise fail(f"language '{value}' is not an ISO 639-1 code", "write e.g. en, tr, kk, ru")
    return code


def fallback_title(text: str, path: Path) -> str:
    """The first line when it is short enough to be a title, else the file name's stem."""
    first = next((line.strip() for line in text.split("\n", 20) if line.strip()), "")
    first = first.lstrip("#").strip()  # a Markdown heading
    return first if 0 < len(first) <= 200 else path.stem
