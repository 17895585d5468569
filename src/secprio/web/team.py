"""Team mode: users, blind assignments, adjudication into the project's gold, the audit log."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from starlette.responses import JSONResponse, RedirectResponse, Response

from secprio.measure.agreement import by_category
from secprio.store.review import ROLES
from secprio.web import cards, coding, queues
from secprio.web.auth import MIN_PASSWORD, hash_password
from secprio.web.routing import HTTPProblem, Req, page
from secprio.web.workspace import check_name

ADJUDICATOR = "adjudicated"  # the coder name of adjudicated decisions and gold rows
SOURCES = ("random", "teach", "uncertain", "disagree")
MAX_ITEMS = 2000


# -- users -------------------------------------------------------------------------------
@page("/admin/users", "admin")
def users(req: Req) -> Response:
    return req.ws.render(
        req.request,
        req.user,
        "users.html",
        users=req.ws.store.users(),
        roles=ROLES,
        message=req.query.get("m", "")[:200],
    )


def _password(value: Any) -> str:
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= 1024:
        raise HTTPProblem(400, f"a password needs at least {MIN_PASSWORD} characters")
    return value


@page("/admin/users", "admin", methods=("POST",))
def add_user(req: Req) -> Response:
    name = check_name(str(req.data.get("name", "")).strip())
    role = str(req.data.get("role", "coder"))
    req.ws.store.add_user(
        name, hash_password(_password(req.data.get("password"))), role, actor=req.user.name
    )
    return RedirectResponse(f"/admin/users?m=created+{name}", status_code=303)


@page("/admin/users/{name}", "admin", methods=("POST",))
def update_user(req: Req) -> Response:
    name, values = req.param("name"), {}
    if req.data.get("role"):
        values["role"] = str(req.data["role"])
    if req.data.get("active") in ("0", "1"):
        values["active"] = req.data["active"] == "1"
    if req.data.get("password"):
        values["password_hash"] = hash_password(_password(req.data["password"]))
    if name == req.user.name and (
        values.get("active") is False or values.get("role", "admin") != "admin"
    ):
        raise HTTPProblem(400, "you cannot demote or disable yourself")
    req.ws.store.update_user(name, actor=req.user.name, **values)
    return RedirectResponse(f"/admin/users?m=updated+{name}", status_code=303)


@page("/admin/audit", "admin")
def audit(req: Req) -> Response:
    return req.ws.render(req.request, req.user, "audit.html", rows=req.ws.store.audit_log(500))


# -- assignments -------------------------------------------------------------------------
@page("/assignments", "viewer")
def assignments(req: Req) -> Response:
    store = req.ws.store
    rows = [a for a in store.assignments() if req.user.can("admin") or req.user.name in a["coders"]]
    for a in rows:
        a["progress"] = _progress(req, a)
    coders = [u["name"] for u in store.users() if u["role"] in ("coder", "admin") and u["active"]]
    return req.ws.render(
        req.request, req.user, "assignments.html", rows=rows, coders=coders, sources=SOURCES
    )


def _progress(req: Req, a: dict[str, Any]) -> dict[str, str]:
    total = len(req.ws.store.assignment_segments(a["id"]))
    done: dict[str, int] = {c: 0 for c in a["coders"]}
    for d in req.ws.store.latest_decisions(assignment_id=a["id"], coders=a["coders"]):
        done[d["coder"]] += 1
    shown = done if req.user.can("admin") else {req.user.name: done.get(req.user.name, 0)}
    return {c: f"{n}/{total}" for c, n in shown.items()}


@page("/assignments", "admin", methods=("POST",))
def add_assignment(req: Req) -> Response:
    d, ws = req.data, req.ws
    coders = d.get("coders", [])
    coders = [coders] if isinstance(coders, str) else list(coders)
    known = {u["name"] for u in ws.store.users() if u["role"] in ("coder", "admin")}
    if len(set(coders)) < 1 or not set(coders) <= known:
        raise HTTPProblem(400, "choose one or more coders (two or more for double coding)")
    n = coding_int(d.get("n"), 20)
    if not 1 <= n <= MAX_ITEMS:
        raise HTTPProblem(400, f"the number of sentences must be 1 to {MAX_ITEMS}")
    source = str(d.get("source", "random"))
    if source not in SOURCES:
        raise HTTPProblem(400, f"source must be one of {', '.join(SOURCES)}")
    ids = _pick(req, source, n)
    if not ids:
        raise HTTPProblem(400, "no sentences to assign: ingest documents first")
    name = str(d.get("name", "")).strip()[:200] or f"{source} sample of {len(ids)}"
    aid = ws.store.add_assignment(
        name, sorted(set(coders)), ids, blind=d.get("blind") == "1", actor=req.user.name
    )
    return RedirectResponse(f"/assignments/{aid}", status_code=303)


def coding_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _pick(req: Req, source: str, n: int) -> list[int]:
    ws = req.ws
    if source == "random":
        sents = ws.project.sentences()
        rng = np.random.default_rng([ws.project.settings.measure.seed, len(ws.store.assignments())])
        ids = sents["segment_id"].to_numpy()
        return [int(i) for i in rng.permutation(ids)[:n]] if len(ids) else []
    if source == "teach":
        ws.trainer.poke()
        ws.trainer.wait()
    ids, _ = queues.queue(ws, source, ws.anonymous, n)
    return ids


def _assignment(req: Req) -> dict[str, Any]:
    a = req.ws.store.assignment(req.param("aid"))
    if a is None:
        raise HTTPProblem(404, "no such assignment")
    if not (req.user.can("admin") or req.user.name in a["coders"]):
        raise HTTPProblem(403, "this assignment is not yours")
    return a


@page("/assignments/{aid:int}", "viewer")
def assignment(req: Req) -> Response:
    a = _assignment(req)
    mine = req.user.name in a["coders"]
    ids = req.ws.store.assignment_segments(a["id"], req.user.name if mine else None)
    shown = cards.build(req.ws, ids, req.user, blind=bool(a["blind"])) if mine else []
    return req.ws.render(
        req.request,
        req.user,
        "assignment.html",
        a=a,
        cards=shown,
        progress=_progress(req, a),
        queue="assignment",
    )


# -- adjudication ------------------------------------------------------------------------
def decisions_by_coder(req: Req, a: dict[str, Any]) -> dict[str, dict[int, frozenset[str]]]:
    out: dict[str, dict[int, frozenset[str]]] = {c: {} for c in [*a["coders"], ADJUDICATOR]}
    for d in req.ws.store.latest_decisions(assignment_id=a["id"]):
        if d["coder"] in out:
            out[d["coder"]][d["segment_id"]] = frozenset(c for c, v in d["labels"].items() if v)
    return out


def alpha_table(
    req: Req, a: dict[str, Any], labels: dict[str, dict[int, frozenset[str]]]
) -> pd.DataFrame:
    data = {c: {str(s): v for s, v in labels[c].items()} for c in a["coders"]}
    m = req.ws.project.settings.measure
    table = by_category(
        data, a["coders"], req.ws.categories, n_boot=min(m.bootstrap, 500), seed=m.seed
    )
    table["label"] = table["category"].map(lambda c: req.ws.labels.get(c, c))
    return table


@page("/assignments/{aid:int}/adjudicate", "admin")
def adjudicate_view(req: Req) -> Response:
    a = _assignment(req)
    labels = decisions_by_coder(req, a)
    ids = req.ws.store.assignment_segments(a["id"])
    pending, agreed, disputed = [], [], []
    for s in ids:
        seen = [labels[c][s] for c in a["coders"] if s in labels[c]]
        if len(seen) < len(a["coders"]):
            pending.append(s)
        elif len(set(seen)) == 1:
            agreed.append(s)
        else:
            disputed.append(s)
    shown = cards.build(req.ws, disputed, req.ws.anonymous)
    adj = req.ws.store.latest_decisions(coders=[ADJUDICATOR], segment_ids=disputed, empty=True)
    state = {d["segment_id"]: d for d in adj}
    for card in shown:
        votes = {c: sorted(labels[c][card.id]) for c in a["coders"]}
        card.humans = [{"coder": c, "applied": v, "at": "", "memo": ""} for c, v in votes.items()]
        d = state.get(card.id)
        card.version = d["version"] if d else 0
        card.decided = bool(d and d["labels"])
        card.on = (
            sorted(c for c, v in d["labels"].items() if v)
            if d is not None and card.decided
            else _majority(list(votes.values()), len(a["coders"]))
        )
    table = alpha_table(req, a, labels) if len(a["coders"]) >= 2 else pd.DataFrame()
    return req.ws.render(
        req.request,
        req.user,
        "adjudicate.html",
        a=a,
        cards=shown,
        pending=len(pending),
        agreed=len(agreed),
        disputed=len(disputed),
        alpha=table.to_dict("records"),
        queue="adjudication",
        message=req.query.get("m", "")[:300],
    )


def _majority(votes: list[list[str]], n: int) -> list[str]:
    counts = pd.Series([c for v in votes for c in v]).value_counts()
    return sorted(c for c, k in counts.items() if k * 2 > n)


@page("/api/adjudicate", "admin", methods=("POST",))
def adjudicate(req: Req) -> Response:
    a = req.ws.store.assignment(coding_int(req.data.get("assignment"), -1))
    if a is None or a["status"] != "open":
        raise HTTPProblem(400, "no open assignment with that id")
    seg = coding._segment(req)
    if seg not in req.ws.store.assignment_segments(a["id"]):
        raise HTTPProblem(400, "this sentence is not in the assignment")
    new = req.ws.store.decide(
        seg,
        ADJUDICATOR,
        coding.labels(req),
        expected=coding._version(req),
        memo=coding._memo(req),
        queue="adjudication",
        assignment_id=a["id"],
        actor=req.user.name,
    )
    return JSONResponse({"segment": seg, "version": new})


@page("/assignments/{aid:int}/finish", "admin", methods=("POST",))
def finish(req: Req) -> Response:
    from secprio.web.gold import write_gold

    a = _assignment(req)
    if a["status"] != "open":
        raise HTTPProblem(400, "this assignment is already adjudicated")
    labels = decisions_by_coder(req, a)
    ids = req.ws.store.assignment_segments(a["id"])
    final: dict[int, frozenset[str]] = {}
    missing = 0
    for s in ids:
        seen = {labels[c][s] for c in a["coders"] if s in labels[c]}
        if s in labels[ADJUDICATOR]:
            final[s] = labels[ADJUDICATOR][s]
        elif len(seen) == 1 and all(s in labels[c] for c in a["coders"]):
            final[s] = next(iter(seen))
            req.ws.store.decide(
                s,
                ADJUDICATOR,
                {c: int(c in final[s]) for c in req.ws.categories},
                expected=req.ws.store.decision_version(s, ADJUDICATOR),
                memo="all coders agreed",
                queue="adjudication",
                assignment_id=a["id"],
                actor=req.user.name,
            )
        else:
            missing += 1
    if missing:
        raise HTTPProblem(
            400,
            f"{missing} sentence(s) are not yet coded by every coder or not "
            "adjudicated: finish them first",
        )
    path = write_gold(req.ws, a, final, labels)
    req.ws.store.set_assignment_status(a["id"], "adjudicated", actor=req.user.name)
    req.ws.store.audit(
        "gold.write", str(path.name), actor=req.user.name, assignment=a["id"], sentences=len(final)
    )
    return RedirectResponse(
        f"/assignments/{a['id']}/adjudicate?m=gold+written+to+{path.name}", status_code=303
    )
