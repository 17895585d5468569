"""Every route declares the least role it needs; one guard enforces roles, sessions and CSRF.

Handlers are plain functions ``handler(req) -> Response`` run in a worker thread (the store is
synchronous); the guard around them is the only async code.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from secprio.errors import ConflictError, SecprioError
from secprio.web.auth import User, same

if TYPE_CHECKING:
    from secprio.web.workspace import Workspace

MAX_BODY = 256 * 1024  # a decision, a memo or a form is far smaller
log = logging.getLogger("secprio.web")


class HTTPProblem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Req:
    request: Request
    ws: Workspace
    user: User
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def query(self) -> Any:
        return self.request.query_params

    def param(self, name: str) -> Any:
        return self.request.path_params[name]


Handler = Callable[[Req], Response]


@dataclass(frozen=True)
class Page:
    path: str
    handler: Handler
    role: str  # anonymous | viewer | coder | admin
    methods: tuple[str, ...]
    name: str


ROUTES: list[Page] = []


def page(
    path: str, role: str, *, methods: tuple[str, ...] = ("GET",)
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES.append(Page(path, fn, role, methods, fn.__name__))
        return fn

    return register


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _body(request: Request) -> dict[str, Any]:
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise HTTPProblem(413, "request too large")
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise HTTPProblem(413, "request too large")
        try:
            data = json.loads(raw or b"{}")
        except ValueError as exc:
            raise HTTPProblem(400, "the request body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise HTTPProblem(400, "the request body must be a JSON object")
        return data
    form = await request.form(max_files=0, max_fields=200)
    out: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return {k: v if len(v) > 1 else v[0] for k, v in out.items()}


def endpoint(route: Page) -> Callable[[Request], Any]:
    def guarded(request: Request, data: dict[str, Any]) -> tuple[Response, str | None]:
        """Session, role, CSRF and the handler, in one worker thread (one hop per request)."""
        ws: Workspace = request.app.state.ws
        user, cookie = ws.user_for(request)
        _allow(route, request, user)
        if request.method == "POST" and route.role != "anonymous":
            sent = request.headers.get("x-csrf-token") or data.get("csrf")
            if user is None or not same(sent, user.csrf):
                raise HTTPProblem(403, "CSRF token missing or wrong: reload the page")
        return route.handler(Req(request, ws, user or ws.anonymous, data)), cookie

    async def run(request: Request) -> Response:
        ws: Workspace = request.app.state.ws
        try:
            # the body (at most MAX_BODY) is read before the session is looked up, so that
            # the lookup, the checks and the handler share one trip to a worker thread
            data = await _body(request) if request.method == "POST" else {}
            response, cookie = await run_in_threadpool(guarded, request, data)
        except _Redirect as r:
            return RedirectResponse(r.to, status_code=303)
        except HTTPProblem as p:
            return ws.problem(request, p.status, p.message)
        except ConflictError as c:
            return JSONResponse({"error": str(c), "conflict": True, "current": c.current}, 409)
        except SecprioError as e:
            return ws.problem(request, 400, str(e))
        except Exception:  # a bug must not show a traceback to the user
            log.exception("error in %s", request.url.path)
            print(f"secprio serve: internal error on {request.url.path}", file=sys.stderr)
            return ws.problem(request, 500, "internal error: see the server's log")
        if cookie:
            ws.set_session_cookie(response, cookie)
        return response

    return run


class _Redirect(Exception):
    def __init__(self, to: str) -> None:
        self.to = to


def _allow(route: Page, request: Request, user: User | None) -> None:
    if route.role == "anonymous":
        return
    if user is None:
        if request.method == "GET" and not _wants_json(request):
            raise _Redirect("/login?next=" + quote(request.url.path, safe="/"))
        raise HTTPProblem(401, "log in first")
    if not user.can(route.role):
        raise HTTPProblem(403, f"this needs the {route.role} role; you are {user.role}")
