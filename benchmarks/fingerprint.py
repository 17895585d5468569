"""What a project stored, as hashes of its rows: to show that two versions ingest and code a
corpus identically (issue 12 item 2's fast paths against the straightforward ones).

    PYTHONPATH=src .venv/bin/python benchmarks/fingerprint.py /tmp/secprio-scale/project-*

Per project: the number of rows and a SHA-256 (first 16 hex digits) of the documents (every
column but ids and times), of the segments (document path, kind, index, start, end,
paragraph) and of the machine and human codings (document path, sentence index, category,
coder, coder version, confidence, pattern, span, value, evidence as stored, source), each in
a stable order. Projects whose three lines are equal stored the same thing.
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
from pathlib import Path

QUERIES = {
    "documents": "SELECT path, sha256, version, active, title, date, year, doc_type, issuer, "
    "members, language, url, extra, text FROM documents ORDER BY path, version",
    "segments": "SELECT d.path, d.version, s.kind, s.idx, s.start, s.end, s.paragraph "
    "FROM segments s JOIN documents d ON d.id = s.document_id ORDER BY d.path, d.version, s.id",
    "codings": "SELECT d.path, d.version, s.idx, c.category, c.coder, c.coder_version, "
    "c.confidence, c.pattern, c.start, c.end, c.value, c.evidence, c.source FROM codings c "
    "JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id "
    "ORDER BY d.path, d.version, s.idx, c.category, c.source, c.coder",
}


def fingerprint(db: Path) -> dict[str, tuple[int, str]]:
    """Rows and hash per table of the store at ``db``."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out = {}
    for name, query in QUERIES.items():
        digest, n = hashlib.sha256(), 0
        for row in con.execute(query):
            digest.update(repr(row).encode())
            n += 1
        out[name] = (n, digest.hexdigest()[:16])
    con.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("projects", nargs="+", type=Path)
    args = ap.parse_args()
    prints = {}
    for project in args.projects:
        prints[project] = fingerprint(project / "secprio.db")
        for name, (n, digest) in prints[project].items():
            print(f"{project}  {name:<9} {n:>9} rows  {digest}")
    if len(prints) > 1:
        same = len({tuple(p.items()) for p in prints.values()}) == 1
        print("identical" if same else "DIFFERENT")


if __name__ == "__main__":
    main()
