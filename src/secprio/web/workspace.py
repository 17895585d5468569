"""The running workspace: the project, its store, templates, sessions and the trainer."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from secprio.coders.registry import REGISTRY
from secprio.errors import StoreError
from secprio.project import Project
from secprio.web.auth import SESSION_COOKIE, User, digest, new_token

HERE = Path(__file__).parent
SESSION_TTL = dt.timedelta(hours=12)
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{1,31}$")
RESERVED = {"adjudicated", "human", "gold", "anonymous"}
N_COLOURS = 10


def check_name(name: str) -> str:
    """A user name is also the coder name of their codings: it must not be a machine's."""
    if not NAME.match(name) or name.lower() in RESERVED | set(REGISTRY):
        raise StoreError(
            f"{name!r} cannot be a user name",
            hint="2-32 letters, digits, '.', '_' or '-', starting with a letter; not a coder "
            f"name ({', '.join(sorted(RESERVED | set(REGISTRY)))})",
            code="E401",
        )
    return name


class Workspace:
    def __init__(
        self,
        project: Project,
        *,
        team: bool,
        local_user: str = "local",
        secure_cookies: bool = False,
        retrain_every: int = 10,
    ) -> None:
        from secprio.web.queues import Trainer

        self.project, self.store, self.team = project, project.store, team
        self.codebook = project.codebook
        self.secure_cookies = secure_cookies
        self.categories = self.codebook.ids()
        self.colour = {c: i % N_COLOURS for i, c in enumerate(self.categories)}
        self.labels = {c.id: c.label for c in self.codebook.categories}
        self.anonymous = User(0, "anonymous", "viewer", "")
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"], default=True),
        )
        from secprio.web.auth import Limiter

        self.limiter = Limiter()
        self.trainer = Trainer(self, every=retrain_every)
        self.local_user = local_user
        if not team:
            check_name(local_user)
            if self.store.user(local_user) is None:
                self.store.add_user(local_user, "", "admin", actor=local_user)

    # -- sessions --------------------------------------------------------------------------
    def user_for(self, request: Request) -> tuple[User | None, str | None]:
        """The request's user, and a new session token when solo mode just made one."""
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            row = self.store.session(digest(token))
            if row:
                return User(row["id"], row["name"], row["role"], row["csrf"]), None
        if self.team or request.method != "GET":
            return None, None
        row = self.store.user(self.local_user)
        assert row is not None
        token = self.start_session(row["id"])
        fresh = self.store.session(digest(token))
        assert fresh is not None
        return User(row["id"], row["name"], row["role"], fresh["csrf"]), token

    def start_session(self, user_id: int) -> str:
        token = new_token()
        self.store.add_session(digest(token), user_id, new_token(), SESSION_TTL)
        return token

    def set_session_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(SESSION_TTL.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=self.secure_cookies,
            path="/",
        )

    # -- rendering -------------------------------------------------------------------------
    def render(
        self, request: Request, user: User, name: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        html = self.env.get_template(name).render(
            user=user,
            team=self.team,
            project=self.project.settings.name,
            path=request.url.path,
            colour=self.colour,
            labels=self.labels,
            categories=self.categories,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def problem(self, request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        return self.render(
            request,
            self.anonymous,
            "problem.html",
            status=status,
            status_code=status,
            message=message,
        )
