"""`secprio serve` (the review workspace) and `secprio user` (its accounts)."""

from __future__ import annotations

import getpass
import ipaddress
import socket
import sys
from pathlib import Path

import typer
from rich.table import Table

from secprio.cli.app import ProjectOption, app, console, fail, guard, open_project, out
from secprio.errors import ProjectError
from secprio.project import Project

user_app = typer.Typer(help="Accounts of the review workspace (team mode).", no_args_is_help=True)
app.add_typer(user_app, name="user")

DbOption = typer.Option(
    None, "--db", help="Store URL instead of the project's, e.g. postgresql://user:pw@host/db."
)


def _project(path: Path, db: str | None) -> Project:
    proj = open_project(path)
    if db:
        proj.settings.store = db
    guard(lambda: proj.store)  # a bad URL or a server that is down: a message, not a traceback
    return proj


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off only on sockets that say they
    # are TCP, and with it on every response waited ~40 ms for the client's delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
    try:
        sock.bind((host, port))
        sock.listen(128)  # connections queue from now on, before uvicorn has started
    except OSError as exc:
        sock.close()
        raise ProjectError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="choose another --port (0 picks a free one) or stop what uses this one",
            code="E702",
        ) from exc
    return sock


@app.command()
def serve(
    project: Path = ProjectOption,
    host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8000, help="Port (0: any free port)."),
    db: str = DbOption,
    team: bool = typer.Option(
        False, "--team", help="Accounts and roles: everyone logs in (see `secprio user add`)."
    ),
    user: str = typer.Option(
        None, "--user", help="Solo mode: the name your decisions are stored under."
    ),
    retrain_every: int = typer.Option(
        10, help="Retrain the supervised coder after this many new decisions."
    ),
    secure_cookies: bool = typer.Option(
        False, help="Mark cookies Secure (when a TLS proxy serves the workspace over https)."
    ),
) -> None:
    """Start the review workspace: read the corpus, accept and correct codings in the browser."""
    import uvicorn

    from secprio.web import create_app

    if not team and not _loopback(host):
        fail(
            ProjectError(
                f"solo mode on {host} would let anyone on the network code as you",
                hint="add --team (accounts and roles), or keep the default host",
                code="E701",
            )
        )
    proj = _project(project, db)
    if team and not any(
        u["role"] == "admin" and u["active"] for u in proj.store.users() if u["name"] != user
    ):
        fail(
            ProjectError(
                "team mode needs an admin account",
                hint=f"run `secprio user add NAME --role admin -p {project}` first",
                code="E714",
            )
        )
    name = user or _os_user()
    web = guard(
        lambda: create_app(
            proj,
            team=team,
            local_user=name,
            retrain_every=retrain_every,
            secure_cookies=secure_cookies,
        )
    )
    sock = guard(lambda: _bind(host, port))
    shown = f"[{host}]" if ":" in host else host
    mode = "team mode: log in" if team else f"solo mode, as {name}"
    console.print(
        f"secprio review workspace: http://{shown}:{sock.getsockname()[1]}/ "
        f"({mode}); Ctrl+C stops it",
        highlight=False,
    )
    sys.stderr.flush()
    config = uvicorn.Config(web, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])


def _os_user() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        return "local"
    return name if name.isascii() and name[:1].isalpha() and name != "root" else "local"


def _password(stdin: bool) -> str:
    from secprio.web.auth import MIN_PASSWORD

    if stdin:
        pw = sys.stdin.readline().rstrip("\n")
    else:
        pw = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(pw) < MIN_PASSWORD:
        fail(
            ProjectError(
                f"the password is shorter than {MIN_PASSWORD} characters",
                hint="choose a longer one",
                code="E715",
            )
        )
    return pw


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="Login name; also the coder name of their decisions."),
    role: str = typer.Option("coder", help="admin, coder or viewer."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (scripts)."
    ),
    project: Path = ProjectOption,
    db: str = DbOption,
) -> None:
    """Add an account (argon2-hashed password)."""
    from secprio.web.auth import hash_password
    from secprio.web.workspace import check_name

    proj = _project(project, db)
    guard(lambda: check_name(name))
    pw = _password(password_stdin)
    guard(lambda: proj.store.add_user(name, hash_password(pw), role, actor="cli"))
    console.print(f"added {role} {name}")


@user_app.command("list")
def user_list(project: Path = ProjectOption, db: str = DbOption) -> None:
    """List the accounts."""
    table = Table(title="users")
    for col in ("name", "role", "active", "created"):
        table.add_column(col)
    for u in _project(project, db).store.users():
        table.add_row(u["name"], u["role"], "yes" if u["active"] else "no", str(u["created_at"]))
    out.print(table)


@user_app.command("passwd")
def user_passwd(
    name: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
    project: Path = ProjectOption,
    db: str = DbOption,
) -> None:
    """Set a new password (ends the user's sessions)."""
    from secprio.web.auth import hash_password

    proj = _project(project, db)
    pw = _password(password_stdin)
    guard(lambda: proj.store.update_user(name, actor="cli", password_hash=hash_password(pw)))
    console.print(f"password of {name} changed")
