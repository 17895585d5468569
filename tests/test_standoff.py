"""Stand-off gold (labels as hashed spans into documents kept elsewhere); page-grouped intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from secprio.exchange import ExchangeError, standoff
from secprio.measure.validation import evaluate

PAGE = "Summit opens in Baku.\nThe leaders agreed on military cooperation. Trade grew fast.\n"


def _labels(tmp_path: Path, rows: list[tuple[str, int, int, str, str]]) -> Path:
    path = tmp_path / "labels.tsv"
    lines = ["id\tfile\tstart\tend\tsha1\tlang\tfinal"]
    for i, (file, start, end, sha, codes) in enumerate(rows):
        lines.append(f"g{i}\t{file}\t{start}\t{end}\t{sha}\ten\t{codes}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _span(text: str) -> tuple[int, int, str]:
    start = PAGE.index(text)
    return start, start + len(text), standoff.digest(text)


def test_spans_verify_against_their_hash_and_align_to_sentences(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "p.txt").write_text(PAGE, encoding="utf-8")
    mil = _span("The leaders agreed on military cooperation.")
    eco = _span("Trade grew fast.")
    rows = [("p.txt", *mil, "MIL"), ("p.txt", *eco, "ECO"), ("p.txt", 0, 5, "0" * 12, "NONE"),
            ("gone.txt", 0, 4, "0" * 12, "NONE")]  # fmt: skip
    spans = standoff.read(_labels(tmp_path, rows))
    good, bad = standoff.verify(spans, docs)
    assert [s.codes for s in good] == [frozenset({"MIL"}), frozenset({"ECO"})]
    assert sorted(why for _, why in bad) == ["file missing", "text differs from the recorded hash"]
    assert standoff.categories(good, {"MIL": "military", "ECO": "economy"}) == [
        frozenset({"military"}), frozenset({"economy"})]  # fmt: skip
    with pytest.raises(ExchangeError, match="unknown code 'ECO'"):
        standoff.categories(good, {"MIL": "military"})
    # the segmenter cut the labelled sentence in two: both halves belong to it; the next
    # sentence, touching it, does not
    segs = pd.DataFrame({"file": ["p.txt"] * 3, "segment_id": [1, 2, 3],
                         "start": [mil[0], mil[0] + 12, eco[0]],
                         "end": [mil[0] + 12, mil[1] + 1, eco[1]]})  # fmt: skip
    assert standoff.align(good, segs) == [[1, 2], [3]]


def test_a_malformed_labels_file_names_the_problem(tmp_path: Path) -> None:
    bad = _labels(tmp_path, [("p.txt", 0, 5, "0" * 12, "MIL")])
    bad.write_text(bad.read_text().replace("\t0\t5\t", "\tzero\t5\t"), encoding="utf-8")
    with pytest.raises(ExchangeError, match="line 2: start/end are not integers"):
        standoff.read(bad)
    (tmp_path / "x.tsv").write_text("id\tfile\n", encoding="utf-8")
    with pytest.raises(ExchangeError, match="no column 'start'"):
        standoff.read(tmp_path / "x.tsv")


def test_grouped_bootstrap_resamples_whole_pages() -> None:
    # ten pages of five sentences; the coder is right on half the pages and wrong on the rest
    truth = np.ones((50, 1), dtype=bool)
    pred = np.repeat(np.arange(10) % 2 == 0, 5)[:, None]
    groups = np.repeat(np.arange(10), 5)
    flat = evaluate(truth, pred, ["c"], n_boot=2000, seed=1).iloc[0]
    paged = evaluate(truth, pred, ["c"], n_boot=2000, seed=1, groups=groups).iloc[0]
    assert flat["recall"] == paged["recall"] == 0.5
    # sentences of a page move together, so the interval is wider than if they were independent
    assert (paged["recall_hi"] - paged["recall_lo"]) > 1.5 * (flat["recall_hi"] - flat["recall_lo"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id\tfile\tstart\tend\tsha1\tfinal\ng1\tp.txt\n", "line 2: no 'start'"),
        ("id\tfile\tstart\tend\tsha1\tfinal\ng1\tp.txt\t0\t5\tabc\tMIL café\n".encode("latin-1"),
         "is not UTF-8"),
        (b"id\tfile\tstart\tend\tsha1\tfinal\ng1\tp.txt\t-5\t2\tabc\tMIL\n",
         "not 0 <= start <= end"),
        (b"id\tfile\tstart\tend\tsha1\tfinal\ng1\tp.txt\t9\t2\tabc\tMIL\n",
         "not 0 <= start <= end"),
        (("id\tfile\tstart\tend\tsha1\tfinal\ng1\tp.txt\t0\t5\tabc\t" + "M" * 200_000).encode(),
         "field larger than field limit"),
    ],
    ids=["short-row", "latin-1", "negative", "reversed", "huge-cell"],
)  # fmt: skip
def test_a_labels_file_the_fuzzer_broke_is_refused_with_its_fix(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "labels.tsv"
    path.write_bytes(content)
    with pytest.raises(ExchangeError, match=message) as caught:
        standoff.read(path)
    assert caught.value.hint


def test_a_span_never_reads_a_file_outside_the_documents_folder(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text(PAGE, encoding="utf-8")
    (docs / "link.txt").symlink_to(secret)
    (docs / "latin.txt").write_bytes("café".encode("latin-1"))
    start, end, sha = _span("Summit opens in Baku.")
    names = ["../secret.txt", str(secret), "link.txt"]
    rows = [(n, start, end, sha, "MIL") for n in names] + [("latin.txt", 0, 2, "0" * 12, "NONE")]
    good, bad = standoff.verify(standoff.read(_labels(tmp_path, rows)), docs)
    assert good == []
    assert [why for _, why in bad] == ["file missing"] * 4
