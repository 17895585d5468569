"""Readers: one signature for every format, ``read(path) -> (text, front matter)``.

Every failure is an IngestError that names the file and says how to fix it; the corpus scan
turns it into a Skipped entry so one bad file never stops a run.
"""

from __future__ import annotations

import re
import statistics
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from secprio.errors import IngestError
from secprio.ingest.limits import MB, Limits, over
from secprio.plugins import Registry

Reader = Callable[[Path, Limits], tuple[str, dict[str, Any]]]
CONTROL_SHARE = 0.01  # more control characters than this and a .txt is binary, not text
SAMPLE = 100_000  # characters checked for control codes: binary shows at once
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_HYPHEN = re.compile(r"(?<=[^\W\d_])-[ \t]*\n[ \t]*(?=[^\W\d_])")
_CLOSES = tuple(".!?:;\"'”»)")
_START_TAG = re.compile(rb"<[A-Za-z]")  # an upper bound of an HTML page's elements
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# UTF-32 before UTF-16: FF FE starts both
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def read(path: str | Path, limits: Limits = Limits()) -> tuple[str, dict[str, Any]]:
    """Text of the document at ``path`` (lines joined by \\n) and its front-matter metadata."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise IngestError(
            f"unsupported file type '{path.suffix or '(none)'}'",
            path=path,
            hint=f"convert it to one of {', '.join(sorted(READERS))}, or move it out of the corpus",
            code="E130",
        )
    if not path.is_file():
        raise IngestError("file not found", path=path, hint="check the path", code="E129")
    size = path.stat().st_size
    if size == 0:
        raise IngestError(
            "the file is empty", path=path, hint="re-export or remove it", code="E128"
        )
    if size > limits.max_file_mb * MB:
        raise over(path, f"the file has {size / MB:.0f} MB", "max_file_mb", limits.max_file_mb)
    text, front = reader(path, limits)
    if len(text) > limits.max_chars:
        raise over(path, f"its text has {len(text)} characters", "max_chars", limits.max_chars)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise IngestError(
            "no text could be extracted",
            path=path,
            hint="if it is a scan, run OCR first (e.g. ocrmypdf); otherwise remove it",
            code="E127",
        )
    return text, front


def read_pdf(path: Path, limits: Limits) -> tuple[str, dict[str, Any]]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(
                "the PDF is encrypted with a password",
                path=path,
                hint="save an unprotected copy (e.g. qpdf --decrypt in.pdf out.pdf)",
                code="E126",
            )
        pages = _pdf_pages(path, reader, limits)
    except IngestError:
        raise
    except DependencyError as exc:  # AES-encrypted, even with an empty password
        raise IngestError(
            f"the PDF is encrypted and pypdf needs a crypto library to open it ({exc})",
            path=path,
            hint="pip install cryptography  (or save an unprotected copy of the PDF)",
            code="E125",
        ) from exc
    except Exception as exc:  # pypdf raises many types on damaged files; all mean the same
        raise IngestError(
            f"cannot read the PDF ({type(exc).__name__}: {exc})",
            path=path,
            hint="the file is damaged or not a PDF: download or export it again",
            code="E124",
        ) from exc
    return "\n\n".join(_reflow(_HYPHEN.sub(_join_hyphen, page)) for page in pages), {}


def _pdf_pages(path: Path, reader: Any, limits: Limits) -> list[str]:
    count = len(reader.pages)  # the page tree's own count; a lying one is caught below
    if count > limits.max_pages:
        raise over(path, f"the PDF has {count} pages", "max_pages", limits.max_pages)
    pages: list[str] = []
    chars = 0
    for i, page in enumerate(reader.pages):
        if i >= limits.max_pages:
            raise over(path, "the PDF has more pages than it says", "max_pages", limits.max_pages)
        pages.append(page.extract_text() or "")
        chars += len(pages[-1])
        if chars > limits.max_chars:
            raise over(path, f"its text has over {chars} characters", "max_chars", limits.max_chars)
    return pages


def _join_hyphen(match: re.Match[str]) -> str:
    # "secu-\nrity" was one word broken by the layout; "Azerbaijan-\nTürkiye" keeps its hyphen
    following = match.string[match.end()]
    return "" if following.islower() else "-"


def _reflow(page: str) -> str:
    """Mark paragraph ends in PDF text, where lines are wrapped and blank lines are rare."""
    lines = page.split("\n")
    lengths = [len(line.strip()) for line in lines if line.strip()]
    if len(lengths) < 3:
        return page
    typical = statistics.quantiles(lengths, n=4)[2]  # a full line is about the 75th percentile
    out = []
    for line, nxt in zip(lines, [*lines[1:], ""], strict=True):
        out.append(line)
        ends = line.rstrip().endswith(_CLOSES)
        short = len(line.strip()) < 0.85 * typical
        if ends and short and nxt.strip()[:1].isupper():
            out.append("")  # a short line ending a sentence, then a capital: a paragraph ends
    return "\n".join(out)


def read_docx(path: Path, limits: Limits) -> tuple[str, dict[str, Any]]:
    import docx
    from docx.table import Table

    if not zipfile.is_zipfile(path):
        raise IngestError(
            "not a valid .docx (a .docx is a zip archive)",
            path=path,
            hint="if it is an old Word .doc or another format, save it again as .docx from Word",
            code="E123",
        )
    _check_package(path, limits)
    try:
        document = docx.Document(str(path))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.extend(_cells(item))
            else:
                blocks.append(item.text)
    except Exception as exc:  # python-docx raises KeyError/ValueError on broken packages
        raise IngestError(
            f"cannot read the .docx ({type(exc).__name__}: {exc})",
            path=path,
            hint="open it in Word or LibreOffice and save it again as .docx",
            code="E122",
        ) from exc
    return "\n\n".join(b.strip() for b in blocks if b.strip()), {}


def _check_package(path: Path, limits: Limits) -> None:
    """Refuse a zip bomb, and a body too large or too deep, before python-docx loads it."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            unpacked = sum(i.file_size for i in infos)
            if len(infos) > limits.max_elements:
                raise over(path, f"the .docx has {len(infos)} parts", "max_elements",
                           limits.max_elements)  # fmt: skip
            ratio = unpacked / max(1, path.stat().st_size)
            if ratio > limits.max_ratio:
                raise over(path, f"the .docx unpacks to {ratio:.0f} times its size (a zip bomb?)",
                           "max_ratio", limits.max_ratio)  # fmt: skip
            if unpacked > limits.max_unpacked_mb * MB:
                raise over(path, f"the .docx unpacks to {unpacked / MB:.0f} MB",
                           "max_unpacked_mb", limits.max_unpacked_mb)  # fmt: skip
            if "word/document.xml" in archive.namelist():
                with archive.open("word/document.xml") as body:
                    _check_xml(path, body, limits)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
        # damaged, encrypted or with a compression method zipfile cannot read
        raise IngestError(
            f"cannot read the .docx archive ({type(exc).__name__}: {exc})",
            path=path,
            hint="open it in Word or LibreOffice and save it again as .docx",
            code="E121",
        ) from exc


def _check_xml(path: Path, stream: Any, limits: Limits) -> None:
    """Count elements (a table cell counts once per grid column it spans) and nesting depth,
    streaming: the tree is never built."""
    from lxml import etree

    elements = depth = 0
    span = f"{_W}gridSpan"
    try:
        for event, el in etree.iterparse(
            stream, events=("start", "end"), resolve_entities=False, no_network=True
        ):
            if event == "end":
                depth -= 1
                el.clear(keep_tail=False)
                continue
            depth += 1
            elements += 1
            if el.tag == span:
                value = el.get(f"{_W}val", "1")
                elements += int(value) if value.isdigit() else 0
            if depth > limits.max_depth:
                raise over(path, "its XML is nested too deeply", "max_depth", limits.max_depth)
            if elements > limits.max_elements:
                raise over(path, f"its XML has over {elements} elements and cells",
                           "max_elements", limits.max_elements)  # fmt: skip
    except etree.LxmlError as exc:
        if "Excessive depth" in str(exc):  # libxml2's own cap (256) can come first: same limit
            raise over(path, "its XML is nested too deeply", "max_depth",
                       limits.max_depth) from None  # fmt: skip
        raise IngestError(
            f"the .docx body is not valid XML ({exc})",
            path=path,
            hint="open it in Word or LibreOffice and save it again as .docx",
            code="E120",
        ) from exc


def _cells(table: Any) -> list[str]:
    # A merged cell is repeated in every row and column it spans. Keep the cell elements
    # themselves, not their id(): lxml proxies are freed after use and their ids reused, which
    # once dropped a real cell as a "repeat".
    seen: set[Any] = set()
    out = []
    for row in table.rows:
        for cell in row.cells:
            if cell._tc not in seen:
                seen.add(cell._tc)
                out.append(cell.text)
    return out


def read_html(path: Path, limits: Limits) -> tuple[str, dict[str, Any]]:
    import trafilatura

    data = path.read_bytes()
    tags = len(_START_TAG.findall(data))
    if tags > limits.max_elements:
        raise over(path, f"the page has about {tags} elements", "max_elements", limits.max_elements)
    try:
        found = trafilatura.bare_extraction(data, include_comments=False, with_metadata=True)
    except Exception:  # a crash in the main-text heuristics: the plain-text fallback remains
        found = None
    text = title = ""
    if found is not None and not isinstance(found, dict):
        text, title = found.text or "", found.title or ""
    front = {"title": title} if title else {}
    # trafilatura puts one block per line; secprio paragraphs are blank-line separated.
    # Dates are not taken: trafilatura guesses them from copyright lines and the like.
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    if not paragraphs:
        paragraphs = _html_blocks(data)
    if not paragraphs:
        raise IngestError(
            "no text found in the HTML page",
            path=path,
            hint="the page may be built by JavaScript: save the rendered page or its text",
            code="E119",
        )
    return "\n\n".join(paragraphs), front


def _html_blocks(data: bytes) -> list[str]:
    """Text of the leaf block elements, without navigation, scripts and page furniture."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fromstring(data)
    except (etree.LxmlError, ValueError):
        return []
    for junk in root.xpath("//script|//style|//nav|//header|//footer|//aside|//form|//noscript"):
        try:
            junk.drop_tree()  # keeps the text after the element
        except ValueError:  # that text holds a control character lxml cannot set: drop it too
            parent = junk.getparent()
            if parent is not None:
                parent.remove(junk)
    blocks = "p h1 h2 h3 h4 h5 h6 li td th dt dd blockquote pre div section article main body"
    tags = set(blocks.split())
    # mark every ancestor of a block once (stopping at one already marked): linear, where
    # searching each block's descendants for another block is quadratic on deep pages
    inner: set[Any] = set()
    for el in root.iter(*tags):
        parent = el.getparent()
        while parent is not None and parent not in inner:
            inner.add(parent)
            parent = parent.getparent()
    out = []
    for el in root.iter(*tags):
        if el not in inner:
            text = " ".join(el.text_content().split())
            if text:
                out.append(text)
    return out


def read_plain(path: Path, limits: Limits) -> tuple[str, dict[str, Any]]:
    text = _decode(path, path.read_bytes()).replace("\r\n", "\n").replace("\r", "\n")
    return split_front_matter(path, text)


def _decode(path: Path, data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data:
        raise _binary(path, "it contains NUL bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _detect(path, data)
    sample = text[:SAMPLE]
    controls = len(_CONTROL.findall(sample))
    if controls > CONTROL_SHARE * len(sample):
        raise _binary(path, f"{controls} of its first {len(sample)} characters are control codes")
    return text


CODE_PAGES = (
    "utf_8",
    "utf_16",
    "cp1251",
    "cp1254",
    "iso8859_9",
    "koi8_r",
    "cp866",
    "cp1252",
    "iso8859_5",
    "mac_cyrillic",
    "kz1048",
    "cp1250",
    "iso8859_15",
)


def _detect(path: Path, data: bytes) -> str:
    import charset_normalizer

    # only the code pages documents of this region come in: an unrestricted guess happily
    # "decodes" noise as EBCDIC or Big5
    best = charset_normalizer.from_bytes(data, cp_isolation=list(CODE_PAGES)).best()
    if best is None:
        raise IngestError(
            "the text encoding could not be recognized",
            path=path,
            hint="re-save the file as UTF-8 (most editors: Save as → Encoding: UTF-8)",
            code="E118",
        )
    return str(best)


def _binary(path: Path, why: str) -> IngestError:
    return IngestError(
        f"this looks like a binary file, not text: {why}",
        path=path,
        hint="give it the suffix of its real format (.pdf, .docx, …) or remove it from the corpus",
        code="E117",
    )


class _MetadataLoader(yaml.SafeLoader):
    """Safe YAML without aliases: metadata needs none, and ``*name`` references are how a few
    hundred bytes expand to gigabytes (or refer to themselves)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "references (*name) are not allowed in metadata", mark
            )
        return super().compose_node(parent, index)


def yaml_mapping(
    text: str, *, path: Path, what: str, first_line: int = 1, hint: str, form: str = "YAML"
) -> dict[str, Any]:
    """Parse ``text`` as a YAML mapping of metadata; errors name the file, the line and the fix.

    ``first_line`` is the file line the text starts on, so line numbers point into the file.
    """
    try:
        data = yaml.load(text, Loader=_MetadataLoader) or {}  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + first_line}" if mark is not None else ""
        raise IngestError(
            f"{what} is not valid {form}{where}: {getattr(exc, 'problem', exc)}",
            path=path, hint=hint,
            code="E116",
        ) from exc  # fmt: skip
    except RecursionError as exc:
        raise IngestError(
            f"{what} is nested too deeply", path=path, hint=hint, code="E115"
        ) from exc
    except (ValueError, TypeError, OverflowError) as exc:  # a date like 2020-02-30, a huge int
        raise IngestError(f"{what} has a value YAML cannot hold: {exc}", path=path,
                          hint=hint, code="E114") from exc  # fmt: skip
    if not isinstance(data, dict):
        raise IngestError(
            f"{what} is not a set of key: value lines",
            path=path, hint="write one 'key: value' per line, e.g. 'date: 2022-11-11'",
            code="E113",
        )  # fmt: skip
    return data


def split_front_matter(path: Path, text: str) -> tuple[str, dict[str, Any]]:
    """YAML between a first line ``---`` and the next ``---`` (or ``...``) line, removed."""
    if not text.startswith("---"):
        return text, {}
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return text, {}
    close = next((i for i, ln in enumerate(lines[1:], 1) if ln.rstrip() in ("---", "...")), None)
    if close is None:
        return text, {}  # a leading rule in Markdown, not front matter
    front = yaml_mapping(
        "\n".join(lines[1:close]), path=path, what="the front matter", first_line=2,
        hint="fix the YAML between the --- lines (quote values that contain ':' or '#')",
    )  # fmt: skip
    return "\n".join(lines[close + 1 :]).lstrip("\n"), front


_DEPENDENCIES = {
    ".pdf": ("pypdf",),
    ".docx": ("docx", "lxml.etree"),
    ".html": ("trafilatura", "lxml.html"),
    ".htm": ("trafilatura", "lxml.html"),
    ".txt": ("charset_normalizer",),
    ".md": ("charset_normalizer",),
}


def prepare(suffixes: Iterable[str]) -> None:
    """Import what the readers of these suffixes need, and load the language model, once:
    forked reader processes then start warm, and a file's time limit is spent on the file."""
    import importlib

    from secprio.text.language import detect

    for suffix in set(suffixes):
        for module in _DEPENDENCIES.get(suffix.lower(), ()):
            importlib.import_module(module)
    detect("warm up")


# the readers by file suffix; installed packages add theirs in the entry-point group
# secprio.readers (name: the suffix with its dot, value: a function like read_plain)
READERS: Registry[Reader] = Registry("reader", "secprio.readers")
for _suffix, _reader in {
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".html": read_html,
    ".htm": read_html,
    ".txt": read_plain,
    ".md": read_plain,
}.items():
    READERS.add(_suffix, _reader)
