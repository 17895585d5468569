"""The review workspace as an ASGI app: ``create_app(project, team=...)`` for uvicorn."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from secprio.project import Project
from secprio.web import coding, views  # noqa: F401 - modules register their routes
from secprio.web import team as _team  # noqa: F401
from secprio.web.routing import ROUTES, endpoint
from secprio.web.workspace import HERE, Workspace

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Every response, static files and errors included, carries the strict CSP."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    h for h in HEADERS if h[0] not in names
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


THREADS = 8  # measured with benchmarks/load.py: 8 beat 4 and 40 (the default) at 50 reviewers


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    # Handlers run in worker threads. Beyond a few, more threads only fight over the GIL and
    # the connection pool: requests wait in the event loop instead, which costs nothing.
    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
    yield


def create_app(project: Project, *, team: bool = False, **options: Any) -> Starlette:
    ws = Workspace(project, team=team, **options)
    routes: list[Route | Mount] = [
        Route(r.path, endpoint(r), methods=list(r.methods), name=r.name) for r in ROUTES
    ]
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    app = Starlette(routes=routes, lifespan=_lifespan)
    app.state.ws = ws
    app.add_middleware(SecurityHeaders)
    return app
