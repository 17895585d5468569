"""Reading: log in and out, the corpus with filters and search, a document, the codebook,
the comparison grid and the sentences behind each of its cells."""

from __future__ import annotations

from typing import Any

import pandas as pd
from starlette.responses import RedirectResponse, Response

from secprio.measure.compare import GROUPINGS, grid, group_values
from secprio.web import cards
from secprio.web.auth import LOGIN_COOKIE, SESSION_COOKIE, digest, new_token, same, verify_password
from secprio.web.routing import HTTPProblem, Req, page

FILTERS = ("doc_type", "issuer", "language", "year", "members", "period")
PAGE = 100


def _safe_next(target: str) -> str:
    """Only a path of this site: never an address elsewhere (open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@page("/login", "anonymous")
def login_form(req: Req) -> Response:
    token = new_token()
    nxt = _safe_next(req.query.get("next", "/"))
    response = req.ws.render(
        req.request, req.ws.anonymous, "login.html", login_csrf=token, next=nxt, error=""
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=1800,
        httponly=True,
        samesite="strict",
        secure=req.ws.secure_cookies,
        path="/login",
    )
    return response


@page("/login", "anonymous", methods=("POST",))
def login(req: Req) -> Response:
    ws, d = req.ws, req.data
    if not same(d.get("csrf"), req.request.cookies.get(LOGIN_COOKIE)):
        raise HTTPProblem(403, "CSRF token missing or wrong: reload the login page")
    name, password = str(d.get("name", ""))[:64], str(d.get("password", ""))[:1024]
    client = req.request.client.host if req.request.client else "?"
    keys = (f"ip:{client}", f"user:{name.lower()}")
    wait = ws.limiter.blocked(*keys)
    if wait:
        ws.store.audit("login.blocked", name, actor=name or "?", client=client)
        raise HTTPProblem(429, f"too many failed logins: try again in {int(wait) + 1} s")
    row = ws.store.user(name)
    if row is None or not row["active"] or not verify_password(row["password_hash"], password):
        ws.limiter.fail(*keys)
        ws.store.audit("login.failed", name, actor=name or "?", client=client)
        return ws.render(
            req.request,
            ws.anonymous,
            "login.html",
            status=401,
            login_csrf=d.get("csrf", ""),
            next=_safe_next(str(d.get("next", "/"))),
            error="wrong name or password",
        )
    ws.limiter.reset(*keys)
    ws.store.audit("login", name, actor=name, client=client)
    response = RedirectResponse(_safe_next(str(d.get("next", "/"))), status_code=303)
    ws.set_session_cookie(response, ws.start_session(row["id"]))
    return response


@page("/logout", "viewer", methods=("POST",))
def logout(req: Req) -> Response:
    token = req.request.cookies.get(SESSION_COOKIE, "")
    req.ws.store.drop_session(digest(token))
    req.ws.store.audit("logout", req.user.name, actor=req.user.name)
    response = RedirectResponse("/login" if req.ws.team else "/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _filter_fields(docs: pd.DataFrame) -> list[str]:
    extra = sorted({k for e in docs.get("extra", []) if isinstance(e, dict) for k in e})
    return [f for f in FILTERS if f in docs.columns] + [f"extra.{k}" for k in extra]


def _column(docs: pd.DataFrame, field: str) -> pd.Series:
    if field.startswith("extra."):
        key = field[6:]
        return docs["extra"].map(lambda e: str(e.get(key, "")) if isinstance(e, dict) else "")
    if field == "year":
        return docs["year"].map(lambda y: "" if pd.isna(y) else str(int(y)))
    if field == "members":
        return docs["members"]
    return docs[field].fillna("").astype(str)


@page("/", "viewer")
def corpus(req: Req) -> Response:
    project = req.ws.project
    docs = project.documents()
    if not docs.empty:
        docs["period"] = docs["year"].map(project.period)
    fields = _filter_fields(docs) if not docs.empty else []
    chosen = {f: req.query.get(f, "") for f in fields if req.query.get(f)}
    options = {}
    for f in fields:
        col = _column(docs, f)
        values = sorted({v for x in col for v in (x if isinstance(x, list) else [x]) if v})
        options[f] = values
        if f in chosen:
            want = chosen[f]
            docs = docs[col.map(lambda x, w=want: w in x if isinstance(x, list) else x == w)]
    q = req.query.get("q", "").strip()[:200]
    if q:
        docs = docs[docs["document_id"].isin(req.ws.store.search_documents(q))]
    rows = docs.sort_values(["date", "document_id"], na_position="last").head(500)
    return req.ws.render(
        req.request,
        req.user,
        "corpus.html",
        docs=rows.to_dict("records"),
        total=len(docs),
        fields=fields,
        options=options,
        chosen=chosen,
        q=q,
    )


@page("/doc/{doc_id:int}", "viewer")
def document(req: Req) -> Response:
    doc = req.ws.store.document(req.param("doc_id"))
    if doc is None:
        raise HTTPProblem(404, "no such document")
    ids = req.ws.store.document_sentence_ids(doc["id"])
    return req.ws.render(
        req.request,
        req.user,
        "document.html",
        doc=doc,
        cards=cards.build(req.ws, ids, req.user),
        queue="reader",
    )


@page("/codebook", "viewer")
def codebook(req: Req) -> Response:
    return req.ws.render(req.request, req.user, "codebook.html", book=req.ws.codebook)


@page("/grid", "viewer")
def heatmap(req: Req) -> Response:
    by, kind = req.query.get("by", "members"), req.query.get("kind", "priority")
    if by not in GROUPINGS or kind not in ("priority", "threat"):
        raise HTTPProblem(400, f"group by one of {', '.join(GROUPINGS)}; kind priority or threat")
    project = req.ws.project
    sentences = project.sentences()
    long = grid(sentences, project.codings(), req.ws.codebook, by=by, kind=kind)
    cats = list(dict.fromkeys(long["category"])) if not long.empty else []
    groups = list(dict.fromkeys(long["group"])) if not long.empty else []
    cell = {(r.group, r.category): r for r in long.itertuples(index=False)}
    top = max((int(r.count) for r in cell.values()), default=0)
    return req.ws.render(
        req.request,
        req.user,
        "grid.html",
        by=by,
        kind=kind,
        cats=cats,
        groups=groups,
        cell=cell,
        top=top,
        groupings=GROUPINGS,
    )


@page("/cell", "viewer")
def cell(req: Req) -> Response:
    """The sentences behind one heatmap cell: group ``value`` of ``by``, coded ``category``."""
    by, value, category = (req.query.get(k, "") for k in ("by", "value", "category"))
    if by not in GROUPINGS or category not in req.ws.categories:
        raise HTTPProblem(400, "give by (a grouping), value and category (an id of the codebook)")
    project = req.ws.project
    sents = project.sentences()
    groups = group_values(sents, by)
    inside = groups.map(lambda g: value in g if isinstance(g, list) else g == value)
    cod = project.codings()
    coded = (
        set(cod.loc[(cod["category"] == category) & (cod["value"] == 1), "segment_id"])
        if not cod.empty
        else set()
    )
    ids = [int(s) for s in sents.loc[inside, "segment_id"] if s in coded]
    offset = max(0, _int(req.query.get("offset"), 0))
    shown = ids[offset : offset + PAGE]
    return req.ws.render(
        req.request,
        req.user,
        "cell.html",
        by=by,
        value=value,
        category=category,
        total=len(ids),
        offset=offset,
        page=PAGE,
        cards=cards.build(req.ws, shown, req.user),
        queue="reader",
    )


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
