"""A real uvicorn server on 127.0.0.1 for the web tests, and a logged-in HTTP client."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from secprio.project import Project
from secprio.web import create_app
from secprio.web.auth import hash_password

PASSWORD = "correct horse battery"
META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
FIELD = re.compile(r'name="csrf" value="([^"]*)"')


@contextmanager
def served(project: Project, **options: Any) -> Iterator[str]:
    """Serve the workspace of ``project`` on a free port; yields its base URL."""
    app = create_app(project, **options)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # see serve._bind
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def add_user(project: Project, name: str, role: str) -> None:
    project.store.add_user(name, hash_password(PASSWORD), role, actor="test")


class Browser(httpx.Client):
    """An HTTP client that keeps cookies and knows its session's CSRF token."""

    csrf = ""

    def page(self, path: str) -> httpx.Response:
        res = self.get(path)
        found = META.search(res.text)
        if found and found.group(1):
            self.csrf = found.group(1)
        return res

    def post_json(
        self, path: str, body: dict[str, Any], *, csrf: str | None = None
    ) -> httpx.Response:
        token = self.csrf if csrf is None else csrf
        return self.post(path, json=body, headers={"X-CSRF-Token": token} if token else {})

    def post_form(
        self, path: str, data: dict[str, Any], *, csrf: str | None = None
    ) -> httpx.Response:
        token = self.csrf if csrf is None else csrf
        return self.post(path, data={**data, **({"csrf": token} if token else {})})


def client(url: str) -> Browser:
    return Browser(base_url=url, follow_redirects=False, timeout=30)


def login(url: str, name: str, password: str = PASSWORD) -> Browser:
    b = client(url)
    form = b.get("/login")
    token = FIELD.search(form.text)
    assert token, form.text
    res = b.post("/login", data={"csrf": token.group(1), "name": name, "password": password})
    assert res.status_code == 303, res.text
    b.page("/")
    return b


DEFAULT_PG = "postgresql://secprio:secprio@127.0.0.1:5432/secprio_test"


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; dropped afterwards.

    The server comes from $SECPRIO_TEST_PG (scripts/setup-postgres.sh starts one and
    scripts/test.sh sets it); the test is skipped, saying so, where none answers.
    """
    import os
    import uuid

    import pytest
    import sqlalchemy as sa

    base = os.environ.get("SECPRIO_TEST_PG", DEFAULT_PG).replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    try:
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # no driver, no server, wrong password: all mean "cannot test"
        pytest.skip(
            f"PostgreSQL not reachable at {base} ({type(exc).__name__}); run "
            "`sudo bash scripts/setup-postgres.sh` or set SECPRIO_TEST_PG"
        )
    name = f"secprio_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'create database "{name}"'))
    url = sa.engine.make_url(base).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()
