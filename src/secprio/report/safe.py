"""What keeps untrusted text inert in the report: documents, titles, URLs and codebook fields
all come from files other people wrote.

- text goes into HTML through ``html.escape`` (quotes too, so attributes are safe);
- data for the page's script goes into ``<script type="application/json">`` through
  :func:`script_json`, which escapes ``<``, ``>`` and ``&``: neither ``</script>`` nor
  ``<!--`` can end or confuse the data block;
- URLs are kept only when they are http(s) (:func:`http_url`);
- the page's own scripts are registered with :func:`script`, and the Content-Security-Policy
  allows exactly those by hash: any other script, inline handler or request is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import urlsplit

_TRUSTED: dict[str, str] = {}  # script body -> its CSP source ('sha256-…')
_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def script_json(data: object) -> str:
    """JSON to embed in a ``<script type="application/json">`` block, whatever it holds."""
    return json.dumps(data, ensure_ascii=False, default=str).translate(_JSON_ESCAPES)


def http_url(url: object) -> str:
    """``url`` when it is an http(s) URL with a host, else "" (no javascript:, data:, file:)."""
    text = str(url or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    return text if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def script(body: str) -> str:
    """A ``<script>`` element for code secprio wrote; only registered bodies may run."""
    if "</script" in body.lower():
        raise ValueError("a script body cannot contain </script")
    digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
    _TRUSTED[body] = f"'sha256-{digest}'"
    return f"<script>{body}</script>"


def csp() -> str:
    """The report's Content-Security-Policy: nothing from outside, only secprio's scripts."""
    scripts = " ".join(sorted(set(_TRUSTED.values()))) or "'none'"
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src {scripts}; base-uri 'none'; form-action 'none'"
    )
