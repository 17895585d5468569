"""Readers, metadata and the corpus scan on real files written by the tests."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter

from secprio.errors import IngestError
from secprio.ingest.corpus import load, scan, sha256_file
from secprio.ingest.model import Document, Skipped
from secprio.ingest.readers import read

RU = (
    "Государства-члены Организации тюркских государств подтвердили приверженность укреплению "
    "региональной безопасности.\n\nОни договорились расширять сотрудничество в борьбе с "
    "терроризмом и экстремизмом."
)
HTML = """<html><head><title>Samarkand Declaration | OTS</title></head><body>
<nav><a href="/">Home</a> | <a href="/news">News archive</a> | <a href="/about">About us</a></nav>
<header><div class="menu">Menu: Members Observers Contact</div></header>
<main><article><h1>Samarkand Declaration</h1>
<p>The heads of state of the Organization of Turkic States met in Samarkand on 11 November 2022.
</p><p>They agreed to strengthen cooperation on security, counter-terrorism and the fight against
transnational organized crime across the region.</p>
<p>The leaders welcomed the progress in energy and transport connectivity across the Caspian Sea.
</p></article></main>
<footer><p>Copyright 2024 OTS Secretariat. All rights reserved. Privacy policy.</p></footer>
</body></html>"""


def write_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A minimal valid PDF: Helvetica text, one line per entry, objects and xref by hand."""
    n = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * i} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        shown = "\n".join(f"({line.replace('(', '[').replace(')', ']')}) Tj T*" for line in lines)
        stream = f"BT /F1 11 Tf 14 TL 72 720 Td\n{shown}\nET".encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


def write_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Agreement on Military Cooperation", level=1)
    document.add_paragraph("The Parties shall hold joint exercises every year.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Article"
    table.cell(0, 1).text = "Subject"
    table.cell(1, 0).text = "1"
    table.cell(1, 1).text = "Exchange of military information."
    document.add_paragraph("This Agreement enters into force on signature.")
    document.save(str(path))
    return path


def test_pdf_pages_lines_and_hyphenation(tmp_path: Path) -> None:
    pdf = write_pdf(
        tmp_path / "decl.pdf",
        [
            [
                "The heads of state of the Organization of Turkic States agreed to deepen",
                "their cooperation on regional secu-",
                "rity and on the fight against terrorism in the region.",
                "Short closing line.",
                "A new paragraph begins here with a capital letter and runs on",
                "to a second line.",
            ],
            ["Page two speaks of the Azerbaijan-", "Turkiye strategic partnership."],
        ],
    )
    text, front = read(pdf)
    assert front == {}
    assert "regional security and" in text
    assert "Azerbaijan-Turkiye" in text
    assert "Short closing line.\n\nA new paragraph" in text
    assert "\n\nPage two" in text
    doc = load(pdf)
    first = doc.slice(doc.sentences()[0])
    assert first.startswith("The heads of state") and first.endswith("in the region.")


def test_docx_paragraphs_and_table_cells(tmp_path: Path) -> None:
    text, _ = read(write_docx(tmp_path / "agreement.docx"))
    blocks = text.split("\n\n")
    assert blocks[0] == "Agreement on Military Cooperation"
    assert "Exchange of military information." in blocks
    assert blocks[-1] == "This Agreement enters into force on signature."


def test_docx_merged_cell_once_and_every_other_cell_kept(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "Merged header"
    for r in (1, 2):
        for c in range(3):
            table.cell(r, c).text = f"cell {r}{c}"
    document.save(str(tmp_path / "merged.docx"))
    blocks = read(tmp_path / "merged.docx")[0].split("\n\n")
    assert blocks == ["Merged header"] + [f"cell {r}{c}" for r in (1, 2) for c in range(3)]


def test_html_main_text_without_boilerplate(tmp_path: Path) -> None:
    page = tmp_path / "samarkand.html"
    page.write_text(HTML, encoding="utf-8")
    text, front = read(page)
    assert "met in Samarkand on 11 November 2022." in text
    assert "Caspian Sea." in text
    for boilerplate in ("Home", "News archive", "Menu:", "Copyright", "Privacy"):
        assert boilerplate not in text
    assert front.get("title")
    assert "\n\n" in text  # one paragraph per block


def test_html_without_text_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "app.htm"
    page.write_text("<html><body><script>render()</script><div></div></body></html>")
    with pytest.raises(IngestError, match="no text found") as err:
        read(page)
    assert "app.htm" in str(err.value) and "fix:" in str(err.value)


def test_txt_in_cp1251_and_utf8_with_bom(tmp_path: Path) -> None:
    (tmp_path / "ru.txt").write_bytes(RU.encode("cp1251"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + "Türkiye ve Özbekistan.".encode())
    (tmp_path / "crlf.txt").write_bytes(b"First line.\r\n\r\nSecond.\r\n")
    assert read(tmp_path / "ru.txt")[0] == RU
    assert read(tmp_path / "bom.txt")[0] == "Türkiye ve Özbekistan."
    assert read(tmp_path / "crlf.txt")[0] == "First line.\n\nSecond.\n"
    assert load(tmp_path / "ru.txt").meta.language == "ru"


def test_markdown_front_matter(tmp_path: Path) -> None:
    md = tmp_path / "summit.md"
    md.write_text(
        "---\ntitle: Astana Summit\ndate: 2023-11-03\ndoc_type: News\nmembers: [az, kz]\n"
        "synthetic_summary: true\nevent: astana-2023\n---\n\n"
        "The tenth summit was held in Astana.\n",
        encoding="utf-8",
    )
    text, front = read(md)
    assert text == "The tenth summit was held in Astana.\n"
    assert front["title"] == "Astana Summit"
    meta = load(md).meta
    assert (meta.title, meta.date, meta.doc_type) == ("Astana Summit", dt.date(2023, 11, 3), "news")
    assert meta.members == ("AZ", "KZ")
    assert meta.language == "en"
    assert meta.extra["synthetic_summary"] is True and meta.extra["event"] == "astana-2023"
    assert meta.extra["metadata_source"] == "front matter"


def test_metadata_precedence_sidecar_then_csv_then_front_matter(tmp_path: Path) -> None:
    body = "---\ntitle: From front matter\ndate: 2020\n---\nOTS leaders met in Baku.\n"
    for name in ("a.md", "b.md", "c.md"):
        (tmp_path / name).write_text(body, encoding="utf-8")
    (tmp_path / "a.yaml").write_text("title: From sidecar\ndate: 2022-11-11\ndoc_type: speech\n")
    (tmp_path / "metadata.csv").write_text(
        "file,title,date,members,doc_type,synthetic_summary\n"
        "a.md,From CSV,2021,TR,news,\n"
        "b.md,From CSV,2021-05,tr; uz ;kz,declaration,true\n",
        encoding="utf-8",
    )
    a, b, c = (load(tmp_path / name).meta for name in ("a.md", "b.md", "c.md"))
    assert (a.title, a.date, a.doc_type) == ("From sidecar", dt.date(2022, 11, 11), "speech")
    assert a.extra["metadata_source"] == "sidecar a.yaml"
    assert (b.title, b.date, b.members) == ("From CSV", dt.date(2021, 5, 1), ("TR", "UZ", "KZ"))
    assert {k: v for k, v in b.extra.items() if k != "warnings"} == {
        "synthetic_summary": True,
        "metadata_source": "metadata.csv",
        "date_precision": "month",
    }
    warnings = b.extra["warnings"]
    assert isinstance(warnings, list)
    assert [w.split(": ", 1)[1][:9] for w in warnings] == ["no issuer"]
    assert (c.title, c.date, c.extra["date_precision"]) == (
        "From front matter",
        dt.date(2020, 1, 1),
        "year",
    )


def test_title_falls_back_to_first_line_then_stem(tmp_path: Path) -> None:
    (tmp_path / "short.txt").write_text("Bishkek Declaration\n\nThe summit met.", encoding="utf-8")
    (tmp_path / "long.txt").write_text("word " * 100, encoding="utf-8")
    assert load(tmp_path / "short.txt").meta.title == "Bishkek Declaration"
    assert load(tmp_path / "long.txt").meta.title == "long"


def test_bad_metadata_names_the_file_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("A statement on security.", encoding="utf-8")
    (tmp_path / "x.yaml").write_text("doc_type: communique\n")
    with pytest.raises(IngestError) as err:
        load(tmp_path / "x.txt")
    message = str(err.value)
    assert "x.yaml" in message and "communique" in message
    assert "declaration, agreement, statement, strategy, speech, news, analysis" in message
    (tmp_path / "x.yaml").write_text("date: 11/11/2022\n")
    with pytest.raises(IngestError, match="2022-11-11"):
        load(tmp_path / "x.txt")
    (tmp_path / "x.yaml").write_text("title: [unclosed\n")
    with pytest.raises(IngestError, match="not valid UTF-8 YAML"):
        load(tmp_path / "x.txt")


def test_encrypted_pdf_is_an_error(tmp_path: Path) -> None:
    plain = write_pdf(tmp_path / "plain.pdf", [["Secret protocol text."]])
    writer = PdfWriter(clone_from=plain)
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    with (tmp_path / "locked.pdf").open("wb") as handle:
        writer.write(handle)
    with pytest.raises(IngestError, match="encrypted") as err:
        read(tmp_path / "locked.pdf")
    assert "locked.pdf" in str(err.value) and "fix:" in str(err.value)


def test_scan_skips_bad_files_and_keeps_the_good(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    write_pdf(corpus / "decl.pdf", [["The summit adopted a declaration on security."]])
    write_docx(corpus / "sub" / "good.docx")
    (corpus / "good.md").write_text("---\ndoc_type: news\n---\nLeaders met.\n", encoding="utf-8")
    (corpus / "decl.yaml").write_text("doc_type: declaration\n")  # a sidecar, not a document
    (corpus / "metadata.csv").write_text("file,doc_type\ngood.md,analysis\n")
    (corpus / "sub" / "metadata.csv").write_text("file,doc_type\ngood.docx,agreement\n")
    (corpus / ".hidden.txt").write_text("not a document")
    (corpus / "~$good.docx").write_bytes(b"lock")
    rng = random.Random(3)
    bad = {
        "empty.txt": b"",
        "corrupt.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage without xref",
        "notzip.docx": b"This is plain text saved with a .docx name.",
        "binary.txt": bytes(rng.randrange(256) for _ in range(2000)) + b"\x00\x00",
        "controls.txt": b"ok\x01\x02\x03\x04\x05\x06\x07\x08 text" * 20,
        "undecodable.txt": bytes(rng.randrange(0x80, 0x100) for _ in range(300)),
        "table.xlsx": b"PK\x03\x04",
    }
    for name, data in bad.items():
        (corpus / name).write_bytes(data)
    results = list(scan([corpus, corpus / "good.md"]))  # the repeated file comes out once
    docs = {Path(r.path).name: r for r in results if isinstance(r, Document)}
    skipped = {Path(r.path).name: r for r in results if isinstance(r, Skipped)}
    assert set(docs) == {"decl.pdf", "good.md", "good.docx"}
    assert set(skipped) == set(bad)
    assert docs["decl.pdf"].meta.doc_type == "declaration"
    assert docs["good.docx"].meta.doc_type == "agreement"
    assert docs["good.md"].meta.doc_type == "analysis"  # metadata.csv wins over front matter
    for name, item in skipped.items():
        assert name in item.reason and "fix:" in item.reason, item.reason
    expected = {
        "empty.txt": "empty",
        "corrupt.pdf": "cannot read the PDF",
        "notzip.docx": "not a valid .docx",
        "binary.txt": "NUL bytes",
        "controls.txt": "control codes",
        "undecodable.txt": "encoding could not be recognized",
        "table.xlsx": "unsupported file type",
    }
    for name, words in expected.items():
        assert words in skipped[name].reason, skipped[name].reason


def test_scan_streams_and_reports_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("One sentence here.", encoding="utf-8")
    stream = scan(tmp_path)
    first = next(stream)
    assert isinstance(first, Document) and first.meta.title == "One sentence here."
    assert list(stream) == []
    (missing,) = scan([tmp_path / "nowhere.pdf"])
    assert isinstance(missing, Skipped) and "not found" in missing.reason


def test_document_fields(tmp_path: Path) -> None:
    path = tmp_path / "d.txt"
    path.write_bytes("Türk Devletleri Teşkilatı'nın 9. Zirvesi yapıldı. Liderler görüştü.".encode())
    doc = load(path)
    assert doc.sha256 == sha256_file(path) and len(doc.sha256) == 64
    assert doc.meta.language == "tr"
    assert [doc.slice(s) for s in doc.sentences()] == [
        "Türk Devletleri Teşkilatı'nın 9. Zirvesi yapıldı.",
        "Liderler görüştü.",
    ]
