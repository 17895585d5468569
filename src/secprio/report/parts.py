"""Pieces the analysis sections share: their stylesheet, badges and embedded figures."""

from __future__ import annotations

import base64
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STYLE = """<style>
.t1 td { vertical-align: top; } .t1 ol { margin: 0; padding-left: 1.2rem; }
.t1 li { margin-bottom: .5rem; } .t1 blockquote { margin: .25rem 0 .25rem .5rem;
  padding-left: .5rem; border-left: 3px solid #d0d7de; font-size: .84rem; }
.t1 cite { display: block; color: #555; font-size: .76rem; font-style: normal; }
.badge { display: inline-block; font-size: .72rem; border-radius: 3px; padding: 0 .35rem;
  margin-left: .25rem; background: #eef2f7; }
.badge.sig, .badge.agree, .badge.agrees, .badge.supported { background: #c6f0d0; }
.badge.ns, .badge.partly, .badge.weak, .badge.expert-only { background: #ffe9a8; }
.badge.differs, .badge.not_found, .badge.miss { background: #ffd0d0; }
.toggle button { margin-right: .3rem; } .toggle button.on { background: #243b53; color: #fff; }
table.heat td.cg { text-align: center; min-width: 4rem; }
svg.timeline .tl-event { cursor: pointer; } svg.timeline .tl-event:hover { opacity: .6; }
tr.tl-event { cursor: pointer; } tr.tl-event:hover { background: #f6f8fa; }
</style>"""

DASH_CELL = '<td class="num">—</td>'


def badge(text: str, cls: str = "") -> str:
    return f'<span class="badge {escape(cls or text)}">{escape(text)}</span>'


def png(fig: Figure, alt: str, name: str) -> tuple[str, dict[str, bytes | str]]:
    """The figure embedded in the page, and its files: PNG at 300 dpi, SVG and PDF."""
    from secprio.report import figures

    preview, written = figures.files(name, fig)
    img = base64.b64encode(preview).decode()
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{img}">', written
