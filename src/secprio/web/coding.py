"""Coding: store a decision (or undo one) on a sentence; the review queues; live metrics."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from secprio.web import cards, queues
from secprio.web.routing import HTTPProblem, Req, page

MAX_MEMO = 4000
OPEN_QUEUES = ("reader", *queues.QUEUES)


def _segment(req: Req) -> int:
    try:
        seg = int(req.data.get("segment"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise HTTPProblem(400, "segment must be a sentence id") from exc
    if not req.ws.store.is_sentence(seg):
        raise HTTPProblem(404, f"no sentence {seg}")
    return seg


def _version(req: Req) -> int:
    v = req.data.get("version", 0)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise HTTPProblem(400, "version must be the decision version you saw (0 for none)")
    return v


def labels(req: Req) -> dict[str, int]:
    """Every category of the codebook: 1 if the coder applied it, 0 (rejected) otherwise."""
    applied = req.data.get("labels", [])
    if not isinstance(applied, list) or not all(isinstance(c, str) for c in applied):
        raise HTTPProblem(400, "labels must be a list of category ids")
    unknown = sorted(set(applied) - set(req.ws.categories))
    if unknown:
        raise HTTPProblem(400, f"unknown categories: {', '.join(unknown)}")
    return {c: int(c in applied) for c in req.ws.categories}


def _memo(req: Req) -> str:
    memo = req.data.get("memo", "")
    if not isinstance(memo, str) or len(memo) > MAX_MEMO:
        raise HTTPProblem(400, f"memo must be text of at most {MAX_MEMO} characters")
    return memo


def assignment_of(req: Req, seg: int) -> tuple[int | None, bool]:
    """The assignment a decision belongs to (checked: open, and the sentence is the user's)."""
    aid = req.data.get("assignment")
    if aid in (None, ""):
        return None, False
    a = req.ws.store.assignment(int(aid)) if str(aid).isdigit() else None
    if a is None or a["status"] != "open":
        raise HTTPProblem(400, "no open assignment with that id")
    if seg not in req.ws.store.assignment_segments(a["id"], req.user.name):
        raise HTTPProblem(403, "this sentence is not assigned to you")
    return a["id"], bool(a["blind"])


@page("/api/decide", "coder", methods=("POST",))
def decide(req: Req) -> Response:
    seg, version, memo = _segment(req), _version(req), _memo(req)
    aid, blind = assignment_of(req, seg)
    # a decision in an assignment belongs to it (its page says queue "assignment"); any
    # other names the queue it was made in
    queue = "assignment" if aid else req.data.get("queue", "reader")
    if not aid and queue not in OPEN_QUEUES:
        raise HTTPProblem(400, f"queue must be one of {', '.join(OPEN_QUEUES)}")
    new = req.ws.store.decide(
        seg,
        req.user.name,
        labels(req),
        expected=version,
        memo=memo,
        queue=queue,
        assignment_id=aid,
        blind=blind,
    )
    if not blind:
        req.ws.trainer.poke(new=1)
    return JSONResponse({"segment": seg, "version": new})


@page("/api/undo", "coder", methods=("POST",))
def undo(req: Req) -> Response:
    seg, version = _segment(req), _version(req)
    if version < 1:
        raise HTTPProblem(400, "nothing to undo: version must be the decision to undo")
    aid, blind = assignment_of(req, seg)
    new = req.ws.store.undo(seg, req.user.name, version=version, blind=blind)
    state = req.ws.store.decision_at(seg, req.user.name, new)
    applied = sorted(c for c, v in (state or {}).get("labels", {}).items() if v)
    return JSONResponse({"segment": seg, "version": new, "labels": applied})


@page("/queue/{kind}", "viewer")
def queue(req: Req) -> Response:
    kind = req.param("kind")
    if kind not in queues.QUEUES:
        raise HTTPProblem(404, f"no queue {kind!r}: use one of {', '.join(queues.QUEUES)}")
    ids, note = queues.queue(req.ws, kind, req.user)
    return req.ws.render(
        req.request,
        req.user,
        "queue.html",
        kind=kind,
        title=queues.QUEUES[kind],
        note=note,
        queues=queues.QUEUES,
        cards=cards.build(req.ws, ids, req.user),
        queue=kind,
    )


@page("/metrics", "viewer")
def metrics(req: Req) -> Response:
    tables = queues.metrics(req.ws)
    return req.ws.render(
        req.request, req.user, "metrics.html", tables=_records(tables), trainer=req.ws.trainer
    )


def _records(tables: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {k: v.to_dict("records") for k, v in tables.items()}
