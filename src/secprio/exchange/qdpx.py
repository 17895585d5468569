"""REFI-QDA exchange: a project as ``.qdpx`` (NVivo, MAXQDA, ATLAS.ti, QualCoder) and ``.qdc``.

Export writes the REFI-QDA 1.5 project schema (``urn:QDA-XML:project:1.0``): Users (one per
coder, machine coders named ``secprio:NAME``), the CodeBook (a non-codable parent code per
kind, one code per category, the category id on the first line of its Description), and one
TextSource per document with its text in ``sources/GUID.txt``. Every coding of a sentence is a
PlainTextSelection over the sentence's characters (code points, as the standard counts them)
holding a Coding with a CodeRef. GUIDs are derived from names, so re-exporting the same project
gives the same GUIDs and a tool can match an updated export with an earlier one.

Import reads any tool's ``.qdpx``: code names are mapped to category ids (a given mapping,
then the id in the description, the id itself, the label), each selection codes the sentences
it covers (at least half of the sentence, or at least half of the selection lies in it), and
the codings are stored as human codings under the REFI user's name. REFI-QDA cannot say
"this coder looked at this sentence and applied nothing", so no rejection is imported.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import re
import struct
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET

from secprio import __version__, files
from secprio.codebook.model import Codebook
from secprio.exchange import ExchangeError
from secprio.exchange.limits import Bounded, ImportLimits, MiB

if TYPE_CHECKING:
    from secprio.project import Project

NS = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
GUID_ROOT = uuid.UUID("6f1d2c1e-5b0a-4f57-9a43-2c1d7e0b9a10")  # secprio's namespace for uuid5
MACHINE_PREFIX = "secprio:"
ReadFile = Callable[[str], bytes | None]
KIND_LABELS = {"priority": "Priorities (responses)", "threat": "Threats (external factors)"}


def guid(*parts: object) -> str:
    return str(uuid.uuid5(GUID_ROOT, "\x1f".join(map(str, parts))))


@dataclass(frozen=True)
class QdaCode:
    guid: str
    name: str
    description: str = ""
    codable: bool = True


@dataclass(frozen=True)
class QdaSource:
    guid: str
    name: str
    text: str
    description: str = ""


@dataclass(slots=True)
class QdaCoding:
    source: str  # source GUID
    start: int
    end: int
    code: str  # code GUID
    coder: str  # the user's name ("" when the tool recorded none)


@dataclass
class QdaProject:
    name: str
    users: dict[str, str] = field(default_factory=dict)  # GUID -> name
    codes: dict[str, QdaCode] = field(default_factory=dict)
    sources: dict[str, QdaSource] = field(default_factory=dict)
    codings: list[QdaCoding] = field(default_factory=list)
    textless: list[str] = field(default_factory=list)  # sources whose text is not in the file


# -- writing --------------------------------------------------------------------------------
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: object) -> str:
    """Text XML 1.0 can hold: control characters (and lone surrogates) would make the
    whole project.qde unreadable, so they are dropped from names and descriptions."""
    return _NOT_XML.sub("", str(text))


def _q(tag: str, ns: str = NS) -> str:
    return f"{{{ns}}}{tag}"


def _stamp(when: object = None) -> str:
    moment = when if isinstance(when, dt.datetime) else dt.datetime.now(dt.UTC)
    return moment.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _codes_element(parent: ET.Element, codebook: Codebook, ns: str) -> None:
    codes = ET.SubElement(parent, _q("Codes", ns))
    for kind, label in KIND_LABELS.items():
        cats = [c for c in codebook.categories if c.kind == kind]
        if not cats:
            continue
        group = ET.SubElement(
            codes, _q("Code", ns), guid=guid("kind", kind), name=_x(label), isCodable="false"
        )
        for c in cats:
            code = ET.SubElement(
                group, _q("Code", ns), guid=guid("code", c.id), name=_x(c.label), isCodable="true"
            )
            ET.SubElement(code, _q("Description", ns)).text = _x(f"id: {c.id}\n{c.definition}")


def codebook_xml(codebook: Codebook) -> bytes:
    """A REFI-QDA codebook (``.qdc``) of the categories."""
    ET.register_namespace("", NS_CODEBOOK)
    root = ET.Element(_q("CodeBook", NS_CODEBOOK), origin=f"secprio {__version__}")
    _codes_element(root, codebook, NS_CODEBOOK)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def export_codebook(codebook: Codebook, path: Path | str) -> Path:
    return files.write_bytes(path, codebook_xml(codebook))


def project_xml(qda: QdaProject, *, creator: str, codebook: Codebook) -> bytes:
    ET.register_namespace("", NS)
    root = ET.Element(
        _q("Project"),
        name=_x(qda.name),
        origin=f"secprio {__version__}",
        creatingUserGUID=creator,
        creationDateTime=_stamp(),
    )
    users = ET.SubElement(root, _q("Users"))
    for g, name in qda.users.items():
        ET.SubElement(users, _q("User"), guid=g, name=_x(name))
    _codes_element(ET.SubElement(root, _q("CodeBook")), codebook, NS)
    sources = ET.SubElement(root, _q("Sources"))
    by_source: dict[str, list[QdaCoding]] = {}
    for c in qda.codings:
        by_source.setdefault(c.source, []).append(c)
    for s in qda.sources.values():
        el = ET.SubElement(
            sources,
            _q("TextSource"),
            guid=s.guid,
            name=_x(s.name),
            plainTextPath=f"internal://{s.guid}.txt",
            creatingUser=creator,
        )
        if s.description:
            ET.SubElement(el, _q("Description")).text = _x(s.description)
        for c in sorted(by_source.get(s.guid, []), key=lambda c: (c.start, c.end, c.coder)):
            _selection(el, c, users={v: k for k, v in qda.users.items()})
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _selection(parent: ET.Element, c: QdaCoding, *, users: Mapping[str, str]) -> None:
    user = users[c.coder]
    key = (c.source, c.start, c.end, c.code, c.coder)
    sel = ET.SubElement(
        parent,
        _q("PlainTextSelection"),
        guid=guid("sel", *key),
        startPosition=str(c.start),
        endPosition=str(c.end),
        creatingUser=user,
    )
    coding = ET.SubElement(sel, _q("Coding"), guid=guid("coding", *key), creatingUser=user)
    ET.SubElement(coding, _q("CodeRef"), targetGUID=c.code)


def write_qdpx(qda: QdaProject, path: Path | str, *, codebook: Codebook) -> Path:
    path = Path(path)
    creator = guid("user", MACHINE_PREFIX + "export")
    qda.users.setdefault(creator, MACHINE_PREFIX + "export")
    # a killed export leaves the previous .qdpx as it was, never half of a new one
    with files.atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", project_xml(qda, creator=creator, codebook=codebook))
        for s in qda.sources.values():
            zf.writestr(f"sources/{s.guid}.txt", s.text.encode("utf-8"))
    return path


# -- reading --------------------------------------------------------------------------------
# Only these are read; anything else (another method, an encrypted member) is refused by name.
COMPRESSIONS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
# ValueError: a member name that is not the UTF-8 its flag claims (found by fuzzing)
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
               RuntimeError, ValueError, struct.error)  # fmt: skip


def read_qdpx(path: Path | str, *, limits: ImportLimits | None = None) -> QdaProject:
    """Parse a ``.qdpx`` from any REFI-QDA tool (text sources only; other media are skipped).

    The archive is untrusted: members are read through a byte cap (zip bombs), the XML
    is streamed with DTDs and entities refused, and selections are counted against a limit.
    """
    path = Path(path)
    limits = limits or ImportLimits()
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            limits.too_many("members in the archive", len(infos), limits.archive_members,
                            path=path, setting="archive_members")  # fmt: skip
            qde = next((i for i in infos if i.filename.lower().endswith(".qde")), None)
            if qde is None:
                raise ExchangeError(
                    "no project.qde inside the archive",
                    path=path,
                    hint="export the project from your QDA tool as REFI-QDA",
                    code="E388",
                )
            members = {
                i.filename.split("/")[-1]: i
                for i in infos
                if i.filename.lower().startswith("sources/")
            }
            reader = _Members(zf, path, limits)
            with reader.open(qde) as stream:
                return _parse(stream, reader.source(members), path=path, limits=limits)
    except (ET.ParseError, DefusedXmlException, LookupError) as exc:  # Lookup: the encoding
        raise ExchangeError(
            f"project.qde is not REFI-QDA XML: {exc}",
            path=path,
            hint="a .qdpx holds project.qde without a DTD or entities; re-export it",
            code="E387",
        ) from exc
    except READ_ERRORS as exc:
        raise ExchangeError(
            f"not a readable REFI-QDA project: {exc}",
            path=path,
            hint="a .qdpx is a zip with project.qde; re-export it",
            code="E386",
        ) from exc


class _Members:
    """Reads archive members, refusing what cannot be read and what unpacks too far."""

    def __init__(self, zf: zipfile.ZipFile, path: Path, limits: ImportLimits) -> None:
        self.zf, self.path, self.limits, self.total = zf, path, limits, 0

    def open(self, info: zipfile.ZipInfo) -> Bounded:
        if info.flag_bits & 0x1:
            raise ExchangeError(
                f"{info.filename} is encrypted",
                path=self.path,
                hint="export the project again without a password",
                code="E385",
            )
        if info.compress_type not in COMPRESSIONS:
            raise ExchangeError(
                f"{info.filename} uses compression method {info.compress_type}, "
                "which secprio cannot unpack",
                path=self.path,
                hint="re-export the project, or re-zip it with plain deflate compression",
                code="E384",
            )
        limit = self.limits.member_bytes
        return Bounded(self.zf.open(info), limit, what=info.filename, path=self.path)

    def source(self, files: Mapping[str, zipfile.ZipInfo]) -> ReadFile:
        def read(name: str) -> bytes | None:
            name = name.replace("\\", "/").split("/")[-1]  # members are looked up by name only
            if name not in files:
                return None
            with self.open(files[name]) as stream:
                data = stream.read()
            self.total += len(data)
            if self.total > self.limits.source_bytes:
                raise ExchangeError(
                    f"the sources unpack to more than {self.limits.source_bytes // MiB} MiB",
                    path=self.path,
                    hint="import the project in parts, or raise imports.source_bytes",
                    code="E383",
                )
            return data

        return read


class _Stream:
    """Streams project.qde: each selection is read and dropped, so memory follows the
    number of codings, not the size of the XML tree."""

    def __init__(self, read_file: ReadFile, path: Path, limits: ImportLimits) -> None:
        self.read_file, self.path, self.limits = read_file, path, limits
        self.ns = ""
        self.qda = QdaProject("")

    def tag(self, el: ET.Element) -> str:
        return el.tag.rpartition("}")[2]

    def run(self, stream: Bounded) -> QdaProject:
        events = DefusedET.iterparse(stream, events=("start", "end"), forbid_dtd=True)
        source: ET.Element | None = None
        for event, el in events:
            if event == "start":  # only two tags need their attributes early
                if el.tag.endswith("TextSource"):
                    source = el
                elif el.tag.endswith("Project") and not self.qda.name:
                    self.qda.name = el.get("name", "")
                continue
            name = self.tag(el)
            if name == "User":
                self.qda.users[el.get("guid", "")] = (
                    el.get("name") or el.get("id") or el.get("guid") or ""
                )
            elif name == "Code":
                self._code(el)
            elif name == "PlainTextSelection" and source is not None:
                self._selection(el, source.get("guid", ""), source.get("name", ""))
                el.clear()
            elif name == "TextSource":
                self._source(el)
                el.clear()
                source = None
        users = self.qda.users
        for c in self.qda.codings:
            c.coder = users.get(c.coder, c.coder)
        return self.qda

    def _child(self, el: ET.Element, name: str) -> ET.Element | None:
        return next((c for c in el if self.tag(c) == name), None)

    def _code(self, el: ET.Element) -> None:
        desc = self._child(el, "Description")
        g = el.get("guid", "")
        self.qda.codes[g] = QdaCode(
            g,
            el.get("name", ""),
            (desc.text or "") if desc is not None else "",
            el.get("isCodable", "true").lower() == "true",
        )

    def _selection(self, sel: ET.Element, source: str, source_name: str) -> None:
        start, end = (
            self._offset(sel, key, source_name) for key in ("startPosition", "endPosition")
        )
        if end < start:
            raise ExchangeError(
                f"selection {sel.get('guid', '?')!r} in source {source_name!r} ends "
                f"({end}) before it starts ({start})",
                path=self.path,
                hint="fix or delete that selection in the QDA tool and export again",
                code="E382",
            )
        for coding in (c for c in sel if self.tag(c) == "Coding"):
            ref = self._child(coding, "CodeRef")
            user = coding.get("creatingUser") or sel.get("creatingUser") or ""
            self.qda.codings.append(
                QdaCoding(source, start, end, ref.get("targetGUID", "") if ref is not None else "",
                          user)
            )  # fmt: skip
        n = len(self.qda.codings)
        if n > self.limits.selections:
            self.limits.too_many("coded selections", n, self.limits.selections,
                                 path=self.path, setting="selections")  # fmt: skip

    def _offset(self, sel: ET.Element, key: str, source_name: str) -> int:
        raw = sel.get(key, "0").strip()
        if not raw.isascii() or not raw.isdigit():
            raise ExchangeError(
                f"selection {sel.get('guid', '?')!r} in source {source_name!r} has "
                f"{key}={raw[:40]!r}, not a whole number of characters",
                path=self.path,
                hint="REFI-QDA positions are non-negative integers; re-export the project",
                code="E381",
            )
        return int(raw)

    def _source(self, el: ET.Element) -> None:
        desc = self._child(el, "Description")
        src = QdaSource(
            el.get("guid", ""),
            el.get("name", ""),
            self._text(el),
            (desc.text or "") if desc is not None else "",
        )
        self.qda.sources[src.guid] = src
        if not src.text:
            self.qda.textless.append(src.name or src.guid)

    def _text(self, el: ET.Element) -> str:
        content = self._child(el, "PlainTextContent")
        if content is not None and content.text:
            return content.text
        ref = el.get("plainTextPath", "")
        if not ref.startswith("internal://"):
            return ""
        data = self.read_file(ref.removeprefix("internal://"))
        if data is None:
            return ""
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ExchangeError(
                f"source {el.get('name', '')!r} ({ref}) is not UTF-8 text "
                f"(byte {exc.start}: {exc.reason})",
                path=self.path,
                hint="REFI-QDA text sources are UTF-8: convert the source and export again",
                code="E380",
            ) from exc


def _parse(stream: Bounded, read_file: ReadFile, *, path: Path, limits: ImportLimits) -> QdaProject:
    return _Stream(read_file, path, limits).run(stream)


def iter_codings(qda: QdaProject) -> Iterable[tuple[QdaSource, QdaCode, QdaCoding]]:
    for c in qda.codings:
        if c.source in qda.sources and c.code in qda.codes:
            yield qda.sources[c.source], qda.codes[c.code], c


def metadata(source: QdaSource) -> dict[str, object]:
    """The document metadata secprio writes into a source's description (empty otherwise)."""
    try:
        meta = json.loads(source.description)
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


# -- a secprio project in and out -----------------------------------------------------------
@dataclass
class ImportResult:
    codings: int = 0  # sentence-level human codings stored
    selections: int = 0  # REFI codings read
    coders: list[str] = field(default_factory=list)
    unmapped_codes: dict[str, int] = field(default_factory=dict)  # code name -> selections
    unmatched_sources: list[str] = field(default_factory=list)
    ingested: list[str] = field(default_factory=list)
    machine_skipped: int = 0


META_KEYS = ("title", "date", "doc_type", "issuer", "members", "language", "url")


def export_project(
    project: Project, path: Path | str, *, coders: Iterable[str] | None = None
) -> Path:
    """Write documents, codebook and codings (value 1; every coder unless ``coders``)."""
    docs = project.documents()
    texts = _texts(project)
    qda = QdaProject(project.settings.name)
    source_of: dict[int, str] = {}
    for d in docs.itertuples(index=False):
        g = guid("source", texts[d.document_id][1])
        meta = {k: getattr(d, k) for k in META_KEYS}
        meta["path"] = d.path
        qda.sources[g] = QdaSource(
            g,
            Path(d.path).name,
            texts[d.document_id][0],
            json.dumps(meta, ensure_ascii=False, default=str),
        )
        source_of[int(d.document_id)] = g
    rows = project.store.applied_spans()
    if coders is not None:
        rows = rows[rows["coder"].isin(list(coders))]
    known = set(project.codebook.ids())
    for r in rows.itertuples(index=False):
        if r.document_id not in source_of or r.category not in known:
            continue  # an old document version, or a category no longer in the codebook
        name = r.coder if r.source == "human" else MACHINE_PREFIX + r.coder
        qda.users.setdefault(guid("user", name), name)
        qda.codings.append(
            QdaCoding(
                source_of[r.document_id], int(r.start), int(r.end), guid("code", r.category), name
            )
        )
    return write_qdpx(qda, path, codebook=project.codebook)


def _texts(project: Project) -> dict[int, tuple[str, str]]:
    """document id -> (text, sha256 of the file) for active documents."""
    return {doc.id: (doc.text, doc.sha256) for doc in project.store.sources()}


def code_map(
    qda: QdaProject, codebook: Codebook, mapping: Mapping[str, str] | None = None
) -> dict[str, str]:
    """code GUID -> category id: a given mapping (by code name), then the ``id:`` line of the
    description, the id itself, the label (case-insensitive)."""
    by_label = {c.label.casefold(): c.id for c in codebook.categories}
    ids = set(codebook.ids())
    given = {k.casefold(): v for k, v in (mapping or {}).items()}
    for v in given.values():
        if v not in ids:
            raise ExchangeError(
                f"the mapping names an unknown category {v!r}",
                hint=f"map code names to one of: {', '.join(sorted(ids))}",
                code="E379",
            )
    out = {}
    for g, code in qda.codes.items():
        first = code.description.strip().splitlines()[0] if code.description.strip() else ""
        described = first.removeprefix("id:").strip() if first.startswith("id:") else ""
        name = code.name.strip().casefold()
        found = (
            given.get(name)
            or (described if described in ids else None)
            or (code.name.strip() if code.name.strip() in ids else None)
            or by_label.get(name)
        )
        if found and code.codable:
            out[g] = found
    return out


def import_qdpx(
    project: Project,
    path: Path | str,
    *,
    mapping: Mapping[str, str] | None = None,
    ingest_missing: bool = True,
    limits: ImportLimits | None = None,
) -> ImportResult:
    """Store the human codings of a ``.qdpx`` as sentence codings of the project.

    ExchangeError when the file holds nothing that can be stored, saying why (no selections,
    only secprio's machine codings, unmapped codes, sources missing from the archive).
    Holds the project's writer lock from finding the sentences to storing the codings (and
    the documents it ingests): another writer is refused, as by ``code``.
    """
    qda = read_qdpx(path, limits=limits or project.settings.imports)
    codes = code_map(qda, project.codebook, mapping)
    with project.store.lock("import-qdpx"):
        return _store_codings(project, qda, codes, Path(path), ingest_missing)


def _store_codings(
    project: Project, qda: QdaProject, codes: dict[str, str], path: Path, ingest_missing: bool
) -> ImportResult:
    from secprio.model import Coding

    result = ImportResult(selections=len(qda.codings))
    where = _locate(project, qda, result, ingest_missing=ingest_missing)
    sentences = _sentences(project, {d for d, _ in where.values()})
    codings: dict[tuple[int, str, str], Coding] = {}
    file_name = path.name
    for src, code, c in iter_codings(qda):
        if c.coder.startswith(MACHINE_PREFIX):
            result.machine_skipped += 1
            continue
        if code.guid not in codes:
            result.unmapped_codes[code.name] = result.unmapped_codes.get(code.name, 0) + 1
            continue
        if src.guid not in where:
            continue
        doc, shift = where[src.guid]
        coder = " ".join(c.coder.split())[:CODER_CHARS] or "qdpx"
        for seg_id, s, e in covered(sentences.get(doc, []), c.start + shift, c.end + shift):
            lo, hi = max(c.start + shift, s) - s, min(c.end + shift, e) - s
            codings[(seg_id, codes[code.guid], coder)] = Coding(
                seg_id,
                codes[code.guid],
                coder,
                "qdpx",
                1.0,
                code.name,
                lo,
                hi,
                evidence={
                    "source": src.name,
                    "file": file_name,
                    "selection": [c.start, c.end],
                },
            )
    if not codings:
        raise ExchangeError(
            "nothing to import: " + _why_nothing(qda, result),
            path=path,
            hint=_fix_nothing(result),
            code="E378",
        )
    result.codings = project.store.add_human(codings.values())
    result.coders = sorted({k[2] for k in codings})
    return result


CODER_CHARS = 64  # the store's column width for a coder's name


def _why_nothing(qda: QdaProject, result: ImportResult) -> str:
    if not qda.codings:
        return "the project has no coded text selections"
    reasons = []
    if result.machine_skipped:
        reasons.append(f"{result.machine_skipped} selection(s) are secprio machine codings")
    if result.unmapped_codes:
        names = ", ".join(repr(n) for n in list(result.unmapped_codes)[:5])
        reasons.append(f"codes not mapped to a category: {names}")
    missing = sorted(set(qda.textless) | set(result.unmatched_sources))
    if missing:
        reasons.append(
            f"{len(missing)} source(s) have no text in the archive or in the project: "
            + ", ".join(missing[:5])
        )
    return "; ".join(reasons) or "no selection covers a sentence of the project"


def _fix_nothing(result: ImportResult) -> str:
    if result.unmapped_codes:
        name = next(iter(result.unmapped_codes))
        return f"map codes with --map '{name}=CATEGORY_ID'"
    if result.unmatched_sources:
        return "export the project with its sources included, or ingest the documents first"
    return "export the human codings from the QDA tool again"


def covered(
    sentences: list[tuple[int, int, int]], start: int, end: int
) -> list[tuple[int, int, int]]:
    """Sentences a selection codes: half the sentence, or half the selection, lies in it.
    ``sentences`` are (id, start, end) in text order."""
    out = []
    first = bisect.bisect_right(sentences, start, key=lambda seg: seg[2])
    for seg in sentences[first:]:
        _, s, e = seg
        if s >= end:
            break
        overlap = min(end, e) - max(start, s)
        if overlap > 0 and (2 * overlap >= e - s or 2 * overlap >= end - start):
            out.append(seg)
    return out


def _sentences(project: Project, doc_ids: set[int]) -> dict[int, list[tuple[int, int, int]]]:
    return project.store.sentence_spans(sorted(doc_ids))


def _locate(
    project: Project, qda: QdaProject, result: ImportResult, *, ingest_missing: bool
) -> dict[str, tuple[int, int]]:
    """source GUID -> (document id, offset of the source text in the document)."""
    coded = {c.source for c in qda.codings if not c.coder.startswith(MACHINE_PREFIX)}
    where: dict[str, tuple[int, int]] = {}
    missing = []
    texts = _texts(project)
    for g in coded & set(qda.sources):
        hit = _find(qda.sources[g].text, texts)
        if hit:
            where[g] = hit
        else:
            missing.append(g)
    if missing and ingest_missing:
        files = [_write_source(project, qda.sources[g]) for g in missing]
        project.ingest(files)
        result.ingested = [str(f) for f in files]
        texts = _texts(project)
        for g in missing:
            hit = _find(qda.sources[g].text, texts)
            if hit:
                where[g] = hit
    result.unmatched_sources = sorted(
        qda.sources[g].name for g in coded & set(qda.sources) if g not in where
    )
    return where


def _find(text: str, texts: Mapping[int, tuple[str, str]]) -> tuple[int, int] | None:
    if not text.strip():
        return None
    for doc_id, (doc_text, _) in texts.items():
        if doc_text == text:
            return doc_id, 0
    for doc_id, (doc_text, _) in texts.items():
        at = doc_text.find(text)
        if at >= 0:
            return doc_id, at
        at = text.find(doc_text)  # e.g. a trailing newline the reader dropped
        if at >= 0 and doc_text.strip():
            return doc_id, -at
    return None


_UNSAFE = re.compile(r"[^\w.\- ]+")


def _stem(source: QdaSource) -> str:
    """A file stem from a source's name: never a path, whatever the archive says."""
    for raw in (source.name, source.guid):
        base = re.split(r"[\\/]", raw)[-1]  # `../x`, `/etc/x`, `C:\x`: the last part only
        stem = _UNSAFE.sub("_", base.rsplit(".", 1)[0] if "." in base[1:] else base)
        stem = stem.strip(" ._")[:80]
        if stem:
            return stem
    return "source"


def _imported_folder(project: Project) -> Path:
    folder = project.root / "imported"
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise ExchangeError(
            "imported/ is not a folder of the project (a link or a file)",
            path=folder,
            hint="remove or rename it; import-qdpx writes missing sources there",
            code="E377",
        )
    folder.mkdir(exist_ok=True)
    return folder


def _write_source(project: Project, source: QdaSource) -> Path:
    """Save a source that is not in the project as a text file (with its metadata sidecar)
    inside the project's imported/ folder. A file already there with other text is never
    replaced: the source is written beside it, under its GUID or its text's hash."""
    import yaml

    folder = _imported_folder(project)
    stem = _stem(source)
    digest = hashlib.sha256(source.text.encode("utf-8", "surrogatepass")).hexdigest()
    for name in (stem, f"{stem}-{hashlib.sha256(source.guid.encode()).hexdigest()[:8]}",
                 f"{stem}-{digest[:12]}"):  # fmt: skip
        path = folder / f"{name}.txt"
        if not path.exists() and not path.is_symlink():
            break
        if path.is_file() and not path.is_symlink() and _same_text(path, source.text):
            return path
    else:
        raise ExchangeError(
            f"imported/ already holds other files named {stem}.txt, …",
            path=folder,
            hint="move those files out of imported/ and import again",
            code="E376",
        )
    assert path.resolve().parent == folder.resolve()  # _stem leaves no separator
    files.write_text(path, source.text)
    meta = {k: v for k, v in metadata(source).items() if k in META_KEYS and v not in (None, "")}
    if meta:
        sidecar = yaml.safe_dump(meta, allow_unicode=True)
        files.write_text(path.with_suffix(".yaml"), sidecar)
    return path


def _same_text(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False
