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

import datetime as dt
import json
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from secprio import __version__
from secprio.codebook.model import Codebook
from secprio.exchange import ExchangeError

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


@dataclass(frozen=True)
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


# -- writing --------------------------------------------------------------------------------
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
            codes, _q("Code", ns), guid=guid("kind", kind), name=label, isCodable="false"
        )
        for c in cats:
            code = ET.SubElement(
                group, _q("Code", ns), guid=guid("code", c.id), name=c.label, isCodable="true"
            )
            ET.SubElement(code, _q("Description", ns)).text = f"id: {c.id}\n{c.definition}"


def codebook_xml(codebook: Codebook) -> bytes:
    """A REFI-QDA codebook (``.qdc``) of the categories."""
    ET.register_namespace("", NS_CODEBOOK)
    root = ET.Element(_q("CodeBook", NS_CODEBOOK), origin=f"secprio {__version__}")
    _codes_element(root, codebook, NS_CODEBOOK)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def export_codebook(codebook: Codebook, path: Path | str) -> Path:
    path = Path(path)
    path.write_bytes(codebook_xml(codebook))
    return path


def project_xml(qda: QdaProject, *, creator: str, codebook: Codebook) -> bytes:
    ET.register_namespace("", NS)
    root = ET.Element(
        _q("Project"),
        name=qda.name,
        origin=f"secprio {__version__}",
        creatingUserGUID=creator,
        creationDateTime=_stamp(),
    )
    users = ET.SubElement(root, _q("Users"))
    for g, name in qda.users.items():
        ET.SubElement(users, _q("User"), guid=g, name=name)
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
            name=s.name,
            plainTextPath=f"internal://{s.guid}.txt",
            creatingUser=creator,
        )
        if s.description:
            ET.SubElement(el, _q("Description")).text = s.description
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
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", project_xml(qda, creator=creator, codebook=codebook))
        for s in qda.sources.values():
            zf.writestr(f"sources/{s.guid}.txt", s.text.encode("utf-8"))
    return path


# -- reading --------------------------------------------------------------------------------
def read_qdpx(path: Path | str) -> QdaProject:
    """Parse a ``.qdpx`` from any REFI-QDA tool (text sources only; other media are skipped)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            qde = next((n for n in names if n.lower().endswith(".qde")), None)
            if qde is None:
                raise ExchangeError(
                    "no project.qde inside the archive",
                    path=path,
                    hint="export the project from your QDA tool as REFI-QDA",
                )
            root = ET.fromstring(zf.read(qde))
            files = {n.split("/")[-1]: n for n in names if n.lower().startswith("sources/")}
            return _parse(root, lambda name: zf.read(files[name]) if name in files else None)
    except (zipfile.BadZipFile, ET.ParseError) as exc:
        raise ExchangeError(
            f"not a REFI-QDA project: {exc}",
            path=path,
            hint="a .qdpx is a zip with project.qde; re-export it",
        ) from exc


def _parse(root: ET.Element, read_file: ReadFile) -> QdaProject:
    ns = root.tag[1 : root.tag.index("}")] if root.tag.startswith("{") else ""

    def q(tag: str) -> str:
        return f"{{{ns}}}{tag}" if ns else tag

    qda = QdaProject(root.get("name", ""))
    for u in root.iter(q("User")):
        qda.users[u.get("guid", "")] = u.get("name") or u.get("id") or u.get("guid") or ""
    for c in root.iter(q("Code")):
        desc = c.find(q("Description"))
        qda.codes[c.get("guid", "")] = QdaCode(
            c.get("guid", ""),
            c.get("name", ""),
            (desc.text or "") if desc is not None else "",
            c.get("isCodable", "true").lower() == "true",
        )
    for s in root.iter(q("TextSource")):
        text = _source_text(s, q, read_file)
        desc = s.find(q("Description"))
        src = QdaSource(
            s.get("guid", ""),
            s.get("name", ""),
            text,
            (desc.text or "") if desc is not None else "",
        )
        qda.sources[src.guid] = src
        for sel in s.iter(q("PlainTextSelection")):
            for coding in sel.findall(q("Coding")):
                ref = coding.find(q("CodeRef"))
                user = coding.get("creatingUser") or sel.get("creatingUser") or ""
                qda.codings.append(
                    QdaCoding(
                        src.guid,
                        int(sel.get("startPosition", 0)),
                        int(sel.get("endPosition", 0)),
                        ref.get("targetGUID", "") if ref is not None else "",
                        qda.users.get(user, user),
                    )
                )
    return qda


def _source_text(s: ET.Element, q: Callable[[str], str], read_file: ReadFile) -> str:
    content = s.find(q("PlainTextContent"))
    if content is not None and content.text:
        return content.text
    ref = s.get("plainTextPath", "")
    if ref.startswith("internal://"):
        data = read_file(ref.removeprefix("internal://"))
        if data is not None:
            return data.decode("utf-8-sig")
    return ""


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
    import sqlalchemy as sa

    from secprio.store import schema as t

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
    q = (
        sa.select(
            t.codings.c.category,
            t.codings.c.coder,
            t.codings.c.source,
            t.segments.c.document_id,
            t.segments.c.start,
            t.segments.c.end,
        )
        .join(t.segments, t.segments.c.id == t.codings.c.segment_id)
        .where(t.codings.c.value == 1)
    )
    rows = project.store.frame(q)
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
    import sqlalchemy as sa

    from secprio.store import schema as t

    q = sa.select(t.documents.c.id, t.documents.c.text, t.documents.c.sha256).where(
        t.documents.c.active.is_(True)
    )
    with project.store.engine.connect() as conn:
        return {int(i): (text, sha) for i, text, sha in conn.execute(q)}


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
) -> ImportResult:
    """Store the human codings of a ``.qdpx`` as sentence codings of the project."""
    from secprio.coders.base import Coding

    qda = read_qdpx(path)
    result = ImportResult(selections=len(qda.codings))
    codes = code_map(qda, project.codebook, mapping)
    where = _locate(project, qda, result, ingest_missing=ingest_missing)
    sentences = _sentences(project, {d for d, _ in where.values()})
    codings: dict[tuple[int, str, str], Coding] = {}
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
        coder = c.coder or "qdpx"
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
                    "file": Path(path).name,
                    "selection": [c.start, c.end],
                },
            )
    result.codings = project.store.add_human(codings.values())
    result.coders = sorted({k[2] for k in codings})
    return result


def covered(
    sentences: list[tuple[int, int, int]], start: int, end: int
) -> list[tuple[int, int, int]]:
    """Sentences a selection codes: half the sentence, or half the selection, lies in it."""
    out = []
    for seg in sentences:
        _, s, e = seg
        overlap = min(end, e) - max(start, s)
        if overlap > 0 and (2 * overlap >= e - s or 2 * overlap >= end - start):
            out.append(seg)
    return out


def _sentences(project: Project, doc_ids: set[int]) -> dict[int, list[tuple[int, int, int]]]:
    import sqlalchemy as sa

    from secprio.store import schema as t

    q = (
        sa.select(t.segments.c.document_id, t.segments.c.id, t.segments.c.start, t.segments.c.end)
        .where(t.segments.c.kind == "sentence", t.segments.c.document_id.in_(list(doc_ids)))
        .order_by(t.segments.c.id)
    )
    out: dict[int, list[tuple[int, int, int]]] = {}
    with project.store.engine.connect() as conn:
        for d, i, s, e in conn.execute(q):
            out.setdefault(int(d), []).append((int(i), int(s), int(e)))
    return out


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


def _write_source(project: Project, source: QdaSource) -> Path:
    """Save a source that is not in the project as a text file (with its metadata sidecar)."""
    import yaml

    folder = project.root / "imported"
    folder.mkdir(exist_ok=True)
    stem = Path(source.name).stem or source.guid
    path = folder / f"{stem}.txt"
    path.write_text(source.text, encoding="utf-8")
    meta = {k: v for k, v in metadata(source).items() if k in META_KEYS and v not in (None, "")}
    if meta:
        (folder / f"{stem}.yaml").write_text(
            yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8"
        )
    return path
