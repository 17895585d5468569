"""`secprio serve` and `secprio user` through the CLI, as a user runs them."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from secprio.cli import app
from secprio.project import Project

runner = CliRunner()


def test_serve_prints_its_address_and_serves_the_corpus(coded: Project) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "secprio",
            "serve",
            "-p",
            str(coded.root),
            "--port",
            "0",
            "--user",
            "ana",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline() if proc.stderr else ""
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert found, line
        assert "solo mode, as ana" in line
        page = httpx.get(found.group(1), timeout=20)
        assert page.status_code == 200 and "Document a.md" in page.text
        assert "httponly" in page.headers["set-cookie"].lower()
    finally:
        proc.terminate()
        proc.wait(10)


def test_solo_mode_refuses_to_listen_beyond_this_machine(coded: Project) -> None:
    res = runner.invoke(app, ["serve", "-p", str(coded.root), "--host", "0.0.0.0"])
    assert res.exit_code == 2 and "--team" in res.output


def test_team_mode_needs_an_admin_and_user_add_makes_one(coded: Project) -> None:
    res = runner.invoke(app, ["serve", "-p", str(coded.root), "--team", "--port", "0"])
    assert res.exit_code == 2 and "secprio user add" in res.output
    res = runner.invoke(
        app,
        ["user", "add", "boss", "--role", "admin", "--password-stdin", "-p", str(coded.root)],
        input="long enough pw\n",
    )
    assert res.exit_code == 0, res.output
    boss = coded.store.user("boss")
    assert boss is not None and boss["role"] == "admin"
    res = runner.invoke(
        app,
        ["user", "add", "boss", "--password-stdin", "-p", str(coded.root)],
        input="long enough pw\n",
    )
    assert res.exit_code == 2 and "already exists" in res.output
    res = runner.invoke(
        app, ["user", "add", "cem", "--password-stdin", "-p", str(coded.root)], input="short\n"
    )
    assert res.exit_code == 2 and "shorter" in res.output
    res = runner.invoke(
        app,
        ["user", "add", "bad name!", "--password-stdin", "-p", str(coded.root)],
        input="long enough pw\n",
    )
    assert res.exit_code == 2 and "cannot be a user name" in res.output
    res = runner.invoke(app, ["user", "list", "-p", str(coded.root)])
    assert res.exit_code == 0 and "boss" in res.output


def test_a_port_in_use_and_a_dead_database_are_clear_errors(coded: Project, tmp_path: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        port = str(busy.getsockname()[1])
        res = runner.invoke(app, ["serve", "-p", str(coded.root), "--port", port])
        assert res.exit_code == 2 and "cannot listen" in res.output
    finally:
        busy.close()
    res = runner.invoke(
        app, ["serve", "-p", str(coded.root), "--db", "postgresql://x:secret@127.0.0.1:1/none"]
    )
    assert res.exit_code == 2 and "cannot open store" in res.output
    assert "secret" not in res.output
