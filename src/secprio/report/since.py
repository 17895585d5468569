"""The report's "since the last update": what ``secprio watch`` found in its newest digest.

Each digest ``watch`` writes has a record in the store (``watch_digests``, store/watch.py: the
shifts, their counts, rate ratios with intervals, q-values and the sentences that drive them;
also written beside the pages as ``watch/digest-DATE.json``). This section shows the newest
record and lists the earlier ones; a project that is not watched has no such section. The
trend series need nothing of their own: they are computed from the corpus, which each cycle
extends.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from secprio.report.sections import Context, Section, register
from secprio.store.store import Store

EVIDENCE = 3  # sentences shown per shift (the digest itself has them all)


def records(store: Store) -> list[tuple[Path, dict[str, Any]]]:
    """The written digests of a project with their records, oldest first. A digest counts as
    written in the transaction that stores its record, after its files are on disk, so one
    from a cycle that stopped midway is left out, as is a record that is not one."""
    out = [
        (Path(path), record)
        for path, record in store.digests()
        if isinstance(record.get("shifts"), list)
    ]
    return sorted(out, key=lambda item: (str(item[1].get("at") or ""), item[0].name))


def shifts_frame(record: dict[str, Any]) -> pd.DataFrame:
    """One row per significant shift of a record."""
    columns = ["frame", "group", "category", "label", "direction", "window_count",
               "window_sentences", "baseline_count", "baseline_sentences", "rate_ratio",
               "ratio_low", "ratio_high", "q_value"]  # fmt: skip
    rows = [{c: s.get(c) for c in columns} for s in record["shifts"] if isinstance(s, dict)]
    return pd.DataFrame(rows, columns=columns)


def _share(k: object, n: object) -> str:
    try:
        return f"{int(str(k))}/{int(str(n))} ({int(str(k)) / int(str(n)):.1%})"
    except (ValueError, ZeroDivisionError):
        return ""


def _ratio(s: dict[str, Any]) -> str:
    def num(x: object) -> str:
        return f"{float(str(x)):.2f}" if x is not None else "–"

    return f"{num(s.get('rate_ratio'))} [{num(s.get('ratio_low'))}–{num(s.get('ratio_high'))}]"


def _row(s: dict[str, Any]) -> str:
    frame = "all documents" if s.get("frame") == "all" else f"{s.get('frame')} = {s.get('group')}"
    quotes = "".join(
        f"<blockquote>{escape(str(e.get('text', '')))}<cite>{escape(str(e.get('title', '')))}"
        f" · {escape(str(e.get('date') or 'undated'))}</cite></blockquote>"
        for e in (s.get("evidence") or [])[:EVIDENCE]
        if isinstance(e, dict)
    )
    return (
        f"<tr><td>{escape(str(s.get('label') or s.get('category')))}</td>"
        f"<td>{escape(frame)}</td><td>{escape(str(s.get('direction')))}</td>"
        f"<td>{_share(s.get('window_count'), s.get('window_sentences'))}</td>"
        f"<td>{_share(s.get('baseline_count'), s.get('baseline_sentences'))}</td>"
        f"<td>{_ratio(s)}</td><td>{escape(str(s.get('q_value')))}</td>"
        f"<td><details><summary>sentences</summary>{quotes}</details></td></tr>"
    )


def _shown(path: Path, root: Path) -> str:
    """The path inside the project folder when it is there, else as stored."""
    try:
        return f"{path.relative_to(root)} in the project folder"
    except ValueError:
        return str(path)


@register(15)
def since_section(ctx: Context) -> Section | None:
    found = records(ctx.project.store)
    if not found:
        return None
    path, newest = found[-1]
    rows = "".join(_row(s) for s in newest["shifts"] if isinstance(s, dict))
    history = pd.DataFrame(
        [
            {
                "digest": p.name,
                "at": r.get("at"),
                "window": r.get("window"),
                "baseline": r.get("baseline"),
                "shifts": len(r["shifts"]),
            }
            for p, r in found
        ]  # fmt: skip
    )
    html = (
        f"<p>The newest watch digest ({escape(str(newest.get('at') or path.stem))}; "
        f"{escape(str(newest.get('summary') or ''))}): {len(newest['shifts'])} significant "
        f"shift(s) of the window <i>{escape(str(newest.get('window')))}</i> against "
        f"<i>{escape(str(newest.get('baseline')))}</i> ({escape(str(newest.get('test')))}, "
        f"false discovery rate {escape(str(newest.get('fdr')))}). The full digest is "
        f"<code>{escape(_shown(path.with_suffix('.html'), ctx.project.root))}</code>.</p>"
        "<table><thead><tr><th>category</th><th>frame</th><th>direction</th><th>window</th>"
        "<th>baseline</th><th>rate ratio [95% CI]</th><th>q</th><th>evidence</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f"<p><small>{len(found)} digest(s) so far; the earlier ones are in "
        "<code>watch_digests.csv</code>.</small></p>"
    )
    return Section(
        "since",
        "Since the last update",
        html,
        tables={"since_last_update": shifts_frame(newest), "watch_digests": history},
    )
