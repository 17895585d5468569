"""Delivery of a watch digest: a JSON POST to a webhook, a text/plain mail over SMTP.

Both use the standard library with a timeout; a failure is a SecprioError with its reason.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any

import pandas as pd

from secprio import __version__
from secprio.errors import ProjectError
from secprio.measure import shifts as shifts_mod

TIMEOUT = 30.0
USER_AGENT = f"secprio/{__version__} (watch webhook)"


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(v) or v in (float("inf"), float("-inf")) else v


def payload(
    found: pd.DataFrame, sentences: pd.DataFrame, info: dict[str, str], meta: dict[str, Any],
    *, report: str = "",
) -> dict[str, Any]:  # fmt: skip
    """The significant shifts with their evidence (segment id, text, title, date, path) and,
    with the ``report`` URL, the link to each shift's cell in the report (``report``)."""
    from secprio.report.digest import report_link

    sig = found[found["significant"]].sort_values(["q_value", "frame", "group", "category"])
    sents = sentences.set_index("segment_id")
    out = []
    for r in sig.itertuples():
        evidence = []
        for s in r.segment_ids:
            if s in sents.index:
                row = sents.loc[s]
                evidence.append({"segment_id": int(s), "text": str(row["text"]),
                                 "title": str(row["title"]), "date": row["date"] or None,
                                 "path": str(row["path"])})  # fmt: skip
        out.append({
            "frame": "all" if r.frame == shifts_mod.ALL else r.frame,
            "group": None if r.frame == shifts_mod.ALL else str(r.group),
            "category": r.category, "label": r.label, "direction": r.direction,
            "window_count": int(r.window_count), "window_sentences": int(r.window_sentences),
            "baseline_count": int(r.baseline_count),
            "baseline_sentences": int(r.baseline_sentences),
            "rate_ratio": _num(r.rate_ratio), "ratio_low": _num(r.ratio_low),
            "ratio_high": _num(r.ratio_high), "p_value": _num(r.p_value),
            "q_value": _num(r.q_value), "evidence": evidence,
            **({"report": report_link(report, r)[0]} if report else {}),
        })  # fmt: skip
    test = {"window": info["window"], "baseline": info["baseline"],
            "test": found.attrs.get("test"), "fdr": found.attrs.get("fdr")}  # fmt: skip
    return {**meta, **test, "shifts": out}


def check_webhook(url: str) -> str:
    if not url.lower().startswith(("http://", "https://")):
        raise ProjectError(f"the webhook {url!r} is not an http(s) URL", path=url,
                           hint="give --webhook http://… or https://…", code="E724")  # fmt: skip
    return url


def post(url: str, body: dict[str, Any], timeout: float = TIMEOUT, *, key: str = "") -> int:
    """POST ``body`` as JSON; the HTTP status, or a ProjectError when it is not 2xx. ``key``
    (the cycle key) goes in an ``Idempotency-Key`` header: a receiver can drop the second copy
    that a watch killed between the POST and recording it sends again."""
    data = json.dumps(body, ensure_ascii=False, default=str).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               **({"Idempotency-Key": key} if key else {})}  # fmt: skip
    req = urllib.request.Request(check_webhook(url), data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (checked)
            status = int(resp.status)
    except urllib.error.HTTPError as exc:
        raise ProjectError(f"the webhook answered HTTP {exc.code}", path=url,
                           hint="check the URL and that the receiver accepts JSON",
                           code="E723",
                           ) from exc  # fmt: skip
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ProjectError(
            f"the webhook cannot be reached ({exc})",
            path=url,
            hint="check the address; the next run tries again",
            code="E722",
        ) from exc
    if not 200 <= status < 300:
        raise ProjectError(
            f"the webhook answered HTTP {status}",
            path=url,
            hint="check the URL and that the receiver accepts JSON",
            code="E721",
        )
    return status


def smtp_address(value: str) -> tuple[str, int]:
    """HOST:PORT (PORT defaults to 25)."""
    host, _, port = value.rpartition(":") if ":" in value else (value, "", "25")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT")
    return host, int(port)


def mail(
    server: str, to: str, sender: str, subject: str, text: str, timeout: float = TIMEOUT,
    *, key: str = "",
) -> None:  # fmt: skip
    """Send ``text`` as a text/plain UTF-8 mail through the SMTP server HOST:PORT; with the
    cycle ``key`` in its Message-ID, so a copy sent again after a kill is recognisably one."""
    host, port = smtp_address(server)
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, sender, to
    if key:
        msg["Message-ID"] = f"<secprio-watch-{key}@{host}>"
    msg.set_content(text)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise ProjectError(f"the mail was not sent ({exc})", path=server,
                           hint="check --smtp HOST:PORT and --mail-to; the next run tries again",
                           code="E720",
                           ) from exc  # fmt: skip
