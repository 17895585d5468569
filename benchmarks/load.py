"""Load on the review workspace: N concurrent reviewers against `secprio serve` on 127.0.0.1.

    .venv/bin/python benchmarks/load.py                          # SQLite and PostgreSQL
    .venv/bin/python benchmarks/load.py --baseline 57b2ded       # and an older commit, same run
    .venv/bin/python benchmarks/load.py --db sqlite --reviewers 50 --decisions 40

Not a test: it prints a table. A project is made once per store (the OTS pack's corpus, coded
by the dictionary coder) and copied for every run (SQLite: the folder; PostgreSQL: a database
made from a template), so every server starts from the same state. Each run starts
`python -m secprio serve --team` in its own process (with ``PYTHONPATH`` pointing at the source
tree measured), logs in one account per reviewer, then every reviewer sends its decisions back
to back (no think time: the worst case; ``--think S`` makes each wait about S seconds
first, as a person reading would) over its own HTTP connection. A reviewer decides
``--decisions`` sentences of its own, then revises the first ``--revise`` of them (version 2).

Counted: decisions per second (acknowledged decisions over the wall time of the decision
phase), latency percentiles of the decision requests, and, read back from the store after the
server stopped, decisions **lost** (acknowledged, not stored), **duplicated** (stored more than
once), **unacknowledged but stored**, and sentences whose human codings do not match the
newest decision. PostgreSQL comes from $SECPRIO_TEST_PG (``scripts/setup-postgres.sh``).

The server and this client share the machine's cores: the client's own CPU time is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
FIELD = re.compile(r'name="csrf" value="([^"]*)"')
META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
PASSWORD = "load test password"
DEFAULT_PG = "postgresql://secprio:secprio@127.0.0.1:5432/secprio_test"


# -- the project ---------------------------------------------------------------------------
def make_project(root: Path, store: str | None, reviewers: int) -> tuple[list[int], list[str]]:
    """The OTS pack's corpus, coded by the dictionary coder, with an admin and N coders."""
    from secprio import config
    from secprio.project import Project
    from secprio.web.auth import hash_password

    settings = config.Settings(name="load")
    if store:
        settings.store = store
    settings.measure.coder = "dictionary"
    project = Project.init(root, pack="ots", settings=settings)
    project.settings.measure.coder = "dictionary"
    config.save(project.settings, root / config.CONFIG_NAME)
    from secprio import packs

    project.ingest([packs.path("ots") / "corpus"])
    project.code("dictionary")
    pw = hash_password(PASSWORD)
    project.store.add_user("boss", pw, "admin", actor="load")
    for i in range(reviewers):
        project.store.add_user(f"rev{i:02d}", pw, "coder", actor="load")
    ids = [int(s) for s in project.sentences()["segment_id"]]
    categories = project.codebook.ids()
    project.store.engine.dispose()
    return ids, categories


def pg_admin(base: str) -> sa.Engine:
    return sa.create_engine(
        base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


def pg_url(base: str, name: str) -> str:
    url = sa.engine.make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=name).render_as_string(hide_password=False)


# -- the server ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    src: Path, project: Path, db: str | None, port: int, extra: list[str]
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-m", "secprio", "serve", "-p", str(project), "--team", *extra]
    cmd += ["--port", str(port)] + (["--db", db] if db else [])
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
            return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not answer within 120 s")


def stop_server(proc: subprocess.Popen[bytes]) -> str:
    """Stop the server; the tail of its stderr."""
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return (err or b"").decode(errors="replace")[-1500:]


# -- the reviewers -------------------------------------------------------------------------
@dataclass
class Sent:
    reviewer: str
    segment: int
    version: int  # the version this decision should become
    labels: list[str]
    status: int = 0
    seconds: float = 0.0
    answer: int | None = None


@dataclass
class Reviewer:
    name: str
    plan: list[Sent] = field(default_factory=list)


async def login(client: httpx.AsyncClient, name: str) -> str:
    form = await client.get("/login")
    token = FIELD.search(form.text)
    assert token, form.text[:300]
    res = await client.post(
        "/login", data={"csrf": token.group(1), "name": name, "password": PASSWORD}
    )
    assert res.status_code == 303, (name, res.status_code, res.text[:300])
    page = await client.get("/codebook")
    found = META.search(page.text)
    assert found and found.group(1), page.text[:300]
    return found.group(1)


async def review(
    url: str, r: Reviewer, start: asyncio.Event, ready: list[int], think: float
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        csrf = await login(client, r.name)
        ready.append(1)
        await start.wait()
        rng = random.Random(r.name)
        for s in r.plan:
            if think:  # a person reads the sentence first: 0.5 to 1.5 times ``think``
                await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            body = {"segment": s.segment, "labels": s.labels, "version": s.version - 1}
            t0 = time.perf_counter()
            try:
                res = await client.post("/api/decide", json=body, headers={"X-CSRF-Token": csrf})
                s.status = res.status_code
                if res.status_code == 200:
                    s.answer = int(res.json()["version"])
            except httpx.HTTPError:
                s.status = -1
            s.seconds = time.perf_counter() - t0


async def load(url: str, reviewers: list[Reviewer], think: float) -> float:
    start, ready = asyncio.Event(), []
    tasks = [asyncio.create_task(review(url, r, start, ready, think)) for r in reviewers]
    while len(ready) < len(reviewers):
        await asyncio.sleep(0.05)
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()  # type: ignore[misc]
    t0 = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    return time.perf_counter() - t0


def plans(
    ids: list[int], categories: list[str], n: int, k: int, per: int, seed: int
) -> list[Reviewer]:
    rng = random.Random(seed)
    pool = ids[:]
    rng.shuffle(pool)
    out = []
    for i in range(n):
        name = f"rev{i:02d}"
        mine = [pool[(i * per + j) % len(pool)] for j in range(per)]
        r = Reviewer(name)
        for seg in mine:
            r.plan.append(Sent(name, seg, 1, rng.sample(categories, rng.randint(0, 2))))
        for seg in mine[:k]:
            r.plan.append(Sent(name, seg, 2, rng.sample(categories, rng.randint(0, 2))))
        out.append(r)
    return out


# -- the check -----------------------------------------------------------------------------
def check(store_url: str, reviewers: list[Reviewer]) -> dict[str, int]:
    engine = sa.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://", 1))
    names = [r.name for r in reviewers]
    meta = sa.MetaData()
    decisions = sa.Table("decisions", meta, autoload_with=engine)
    codings = sa.Table("codings", meta, autoload_with=engine)
    d, c = decisions.c, codings.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(d.coder, d.segment_id, d.version, d.labels).where(d.coder.in_(names))
        ).all()
        human = conn.execute(
            sa.select(c.coder, c.segment_id, c.category, c.value).where(
                c.coder.in_(names), c.source == "human"
            )
        ).all()
    engine.dispose()
    stored: dict[tuple[str, int, int], list[list[str]]] = {}
    for coder, seg, version, labels in rows:
        applied = sorted(k for k, v in labels.items() if v)
        stored.setdefault((coder, int(seg), int(version)), []).append(applied)
    acked = {(s.reviewer, s.segment, s.version): sorted(s.labels)
             for r in reviewers for s in r.plan if s.status == 200}  # fmt: skip
    lost = sum(1 for k, v in acked.items() if k not in stored or v not in stored[k])
    duplicated = sum(len(v) - 1 for v in stored.values())
    unacked = sum(1 for k in stored if k not in acked)
    newest: dict[tuple[str, int], tuple[int, list[str]]] = {}
    for (coder, seg, version), labels in stored.items():
        if version > newest.get((coder, seg), (0, []))[0]:
            newest[(coder, seg)] = (version, labels[0])
    have: dict[tuple[str, int], set[str]] = {}
    for coder, seg, cat, value in human:
        have.setdefault((coder, int(seg)), set())
        if value:
            have[(coder, int(seg))].add(cat)
    mismatched = sum(1 for k, (_, labels) in newest.items() if have.get(k) != set(labels))
    return {"stored": len(rows), "lost": lost, "duplicated": duplicated, "unacked": unacked,
            "codings_mismatch": mismatched}  # fmt: skip


# -- one run -------------------------------------------------------------------------------
def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def run(label: str, backend: str, src: Path, project: Path, db: str | None, store_url: str,
        reviewers: list[Reviewer], profile: Path | None,
        extra: list[str], think: float) -> dict[str, object]:  # fmt: skip
    port = free_port()
    proc = start_server(src, project, db, port, extra)
    spy = None
    if profile:  # py-spy samples every thread of the server: collapsed stacks per run
        out = profile / f"{label}-{backend}.txt"
        # --gil: only the thread holding the GIL, i.e. where the server's Python time goes
        spy = subprocess.Popen([Path(sys.executable).with_name("py-spy"), "record", "--threads",
                                "--gil", "--nonblocking", "--format", "raw", "-o", out,
                                "--pid", str(proc.pid)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(1)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        wall = asyncio.run(load(f"http://127.0.0.1:{port}", reviewers, think))
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        err = stop_server(proc)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    sent = [s for r in reviewers for s in r.plan]
    ok = [s for s in sent if s.status == 200]
    lat = [s.seconds for s in sent]
    counts = check(store_url, reviewers)
    errors = [s for s in sent if s.status not in (200, 409)]
    if errors and err.strip():
        print(f"  server stderr ({label}, {backend}): {err.strip()[-600:]}", file=sys.stderr)
    return {
        "version": label, "store": backend, "reviewers": len(reviewers), "sent": len(sent),
        "ok": len(ok), "conflicts": sum(s.status == 409 for s in sent), "errors": len(errors),
        "per_s": len(ok) / wall if wall else 0.0, "p50": pct(lat, 0.5), "p95": pct(lat, 0.95),
        "p99": pct(lat, 0.99), "max": max(lat, default=0.0), "mean": statistics.fmean(lat),
        "client_cpu": client_cpu, **counts,
    }  # fmt: skip


def source_tree(rev: str, where: Path) -> Path:
    """The ``src`` folder of git revision ``rev``, unpacked into ``where``."""
    where.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], check=True,
                             capture_output=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--decisions", type=int, default=40, help="new decisions per reviewer")
    parser.add_argument("--revise", type=int, default=10, help="of them revised (version 2)")
    parser.add_argument("--baseline", help="also measure this git revision, in the same run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--think", type=float, default=0.0, help="seconds a reviewer reads before deciding"
    )
    parser.add_argument(
        "--serve-args", default="", help="more options for secprio serve, e.g. '--retrain-every 50'"
    )
    parser.add_argument(
        "--profile", type=Path, help="sample the server with py-spy; collapsed stacks go here"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="secprio-load-"))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    versions = [("new", ROOT / "src")]
    if args.baseline:
        versions.insert(0, (args.baseline, source_tree(args.baseline, work / "baseline")))
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = []
    base_pg = os.environ.get("SECPRIO_TEST_PG", DEFAULT_PG)
    try:
        for backend in backends:
            template = work / f"template-{backend}"
            pg_names: list[str] = []
            admin = None
            if backend == "postgresql":
                admin = pg_admin(base_pg)
                tname = f"secprio_load_{uuid.uuid4().hex[:8]}"
                with admin.connect() as conn:
                    conn.execute(sa.text(f'create database "{tname}"'))
                pg_names.append(tname)
                ids, cats = make_project(template, pg_url(base_pg, tname), args.reviewers)
            else:
                ids, cats = make_project(template, None, args.reviewers)
            print(f"{backend}: project of {len(ids)} sentences ready", file=sys.stderr)
            for label, src in versions:
                project = work / f"{backend}-{label}"
                shutil.copytree(template, project)
                if backend == "postgresql":
                    assert admin is not None
                    name = f"secprio_load_{uuid.uuid4().hex[:8]}"
                    with admin.connect() as conn:
                        conn.execute(sa.text(f'create database "{name}" template "{tname}"'))
                    pg_names.append(name)
                    db: str | None = pg_url(base_pg, name)
                    store_url = db
                else:
                    db, store_url = None, f"sqlite:///{project / 'secprio.db'}"
                reviewers = plans(ids, cats, args.reviewers, args.revise, args.decisions,
                                  args.seed)  # fmt: skip
                row = run(label, backend, src, project, db, store_url, reviewers, args.profile,
                          args.serve_args.split(), args.think)  # fmt: skip
                results.append(row)
                print(f"  {label}: {row['per_s']:.1f} decisions/s, p95 {row['p95']:.3f} s",
                      file=sys.stderr)  # fmt: skip
            if admin is not None:
                with admin.connect() as conn:
                    for n in pg_names:
                        conn.execute(sa.text(f'drop database if exists "{n}" with (force)'))
                admin.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pause = f"{args.think:g} s think time (±50 %)" if args.think else "no think time"
    print(f"\n{args.reviewers} reviewers, {args.decisions} decisions each + {args.revise} "
          f"revisions, {pause}; latency of POST /api/decide in seconds\n")  # fmt: skip
    print(
        "| version | store | sent | ok | 409 | errors | decisions/s | p50 | p95 | p99 | max "
        "| lost | duplicated | unacked stored | codings ≠ decision | client CPU s |"
    )
    print(
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: | ---: |"
    )
    for r in results:
        print(f"| {r['version']} | {r['store']} | {r['sent']} | {r['ok']} | {r['conflicts']} | "
              f"{r['errors']} | {r['per_s']:.1f} | {r['p50']:.3f} | {r['p95']:.3f} | "
              f"{r['p99']:.3f} | {r['max']:.3f} | {r['lost']} | {r['duplicated']} | "
              f"{r['unacked']} | {r['codings_mismatch']} | {r['client_cpu']:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
