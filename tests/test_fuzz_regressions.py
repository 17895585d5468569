"""Every crash the fuzzer (scripts/fuzz.py) found, as the input that triggers it, made here.

Each test names the target and the exception the fuzzer saw; the product must answer with its
own error type (a message naming the file and the fix), never with another exception.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from secprio import config
from secprio.errors import FetchError, IngestError, ProjectError
from secprio.ingest.fetch import read_sources
from secprio.ingest.readers import read


def test_config_not_utf8(tmp_path: Path) -> None:
    # fuzz target "config": UnicodeDecodeError at codecs
    path = tmp_path / "secprio.yaml"
    path.write_bytes("name: Türkiye\n".encode("cp1254"))
    with pytest.raises(ProjectError, match="cannot read settings"):
        config.load(path)


@pytest.mark.parametrize(
    "text", ["measure: [1, 2]\n", "ingest: 3\n", "- a\n- b\n", "7: x\n", "x: " + "[" * 1500]
)
def test_config_of_the_wrong_shape(tmp_path: Path, text: str) -> None:
    path = tmp_path / "secprio.yaml"
    path.write_text(text)
    with pytest.raises(ProjectError):
        config.load(path)


def test_sources_not_utf8(tmp_path: Path) -> None:
    # fuzz target "sources": UnicodeDecodeError at utf_8_sig
    path = tmp_path / "sources.csv"
    path.write_bytes("url,title\nhttps://example.org/a,Türkiye\n".encode("cp1254"))
    with pytest.raises(FetchError, match="cannot read sources"):
        read_sources(path)


def test_sources_with_a_nul_byte_or_a_huge_field(tmp_path: Path) -> None:
    path = tmp_path / "sources.csv"
    path.write_text("url,title\nhttps://example.org/a," + "x" * 200_000 + "\n")
    with pytest.raises(FetchError, match="field larger"):
        read_sources(path)


@pytest.mark.parametrize(
    "page",
    [
        b"<table><tr><td>a<nav>n</nav>\x01 b</td></tr></table>",
        b"<p>Leaders met<script>s</script>\x01</p>",
        b"<div><nav>x</nav>\x00\x01 Leaders met.</div>",
    ],
)
def test_html_fallback_with_control_characters_after_page_furniture(
    tmp_path: Path, page: bytes
) -> None:
    # fuzz target "html": ValueError at lxml apihelpers.pxi (drop_tree set a text with \x01)
    path = tmp_path / "page.html"
    path.write_bytes(page)
    try:
        text, _ = read(path)
    except IngestError as exc:
        assert "page.html" in str(exc)
    else:
        assert text.strip()
