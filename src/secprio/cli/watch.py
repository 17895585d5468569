"""watch: keep a project current and write a digest of the significant shifts (docs/watch.md)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from secprio import files
from secprio.cli import schedule
from secprio.cli.app import ProjectOption, app, choices, console, guard, open_project, value
from secprio.cli.core import Attribution, AttributionOption, _print_ingest
from secprio.errors import ProjectError, SecprioError
from secprio.ingest import fetch as fetch_mod
from secprio.ingest import watched
from secprio.measure import deliver, since
from secprio.measure import shifts as shifts_mod
from secprio.measure.windows import offset
from secprio.project import Project
from secprio.report import digest as digest_mod

FRAMES = ("doc_type", "members", "issuer", "language")
Frame = choices("Frame", FRAMES)
SOURCES = "sources.txt"  # in the project's watch/ folder: the folders watch re-ingests


def watch_dir(proj: Project) -> Path:
    folder = proj.root / "watch"
    folder.mkdir(exist_ok=True)
    return folder


def sources(proj: Project, given: list[str]) -> list[str]:
    """The folders, URLs (feeds, sitemaps) and sources lists to read: the ones given (then
    recorded for the next run), else the record of an earlier run."""
    record = watch_dir(proj) / SOURCES
    if given:
        lines = sorted({s.strip() if watched.kind(s) == "url" else str(Path(s).resolve())
                        for s in given})  # fmt: skip
        known = record.read_text(encoding="utf-8").split("\n") if record.is_file() else []
        merged = sorted({*lines, *[k for k in known if k]})
        files.write_text(record, "\n".join(merged) + "\n")
        return merged
    if record.is_file():
        return [p for p in record.read_text(encoding="utf-8").split("\n") if p]
    raise ProjectError(
        "watch does not know which folders to read",
        path=record,
        hint=f"run `secprio watch -p {proj.root} --once --source DIR` once (repeat --source "
        "for more folders); they are recorded for later runs",
    )


STATE = "state.json"  # the documents, codebook and coder of the last completed shift test


def cycle_key(proj: Project, documents: list[int], coder: str) -> str:
    """What a shift test saw: the active documents, the codebook version and the coder."""
    blob = json.dumps([documents, proj.codebook.sha256, coder]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def read_state(proj: Project) -> dict[str, Any]:
    path = watch_dir(proj) / STATE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or unreadable: the next test rebuilds it
        return {}
    return state if isinstance(state, dict) else {}


def write_state(proj: Project, state: dict[str, Any]) -> None:
    files.write_text(watch_dir(proj) / STATE, json.dumps(state, indent=1) + "\n")


def written(proj: Project, key: str) -> Path | None:
    """The digest already written for this cycle, if any."""
    mark = digest_mod.MARK.format(key)
    for path in sorted(watch_dir(proj).glob("digest-*.md")):
        if mark in path.read_text(encoding="utf-8", errors="replace"):
            return path
    return None


def _say(text: str, warn: bool) -> None:
    console.print(escape(text), style="yellow" if warn else None, highlight=False)


def _target(folder: Path) -> Path:
    day = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    path, n = folder / f"digest-{day}.md", 2
    while path.exists():
        path, n = folder / f"digest-{day}-{n}.md", n + 1
    return path


@app.command()
def watch(
    once: bool = typer.Option(False, "--once", help="Run one cycle and exit (for cron)."),
    every: str = typer.Option(
        "", "--every", help="Run a cycle every SPAN (30m, 6h, 1d) until Ctrl-C or SIGTERM."
    ),
    max_cycles: int = typer.Option(
        0, help="With --every: stop after this many cycles (0: never; for tests)."
    ),
    source: list[str] = typer.Option(
        [],
        "--source",
        help="A folder to re-ingest, the http(s) URL of an RSS/Atom feed or a sitemap, or a "
        "sources .csv list (a url column; repeatable; recorded for later runs).",
    ),
    window: str = typer.Option(
        "30d",
        help="The newest window: a span by document date (30d, 6w, 3m) or 'new' "
        "(the documents added in this cycle).",
    ),
    baseline: str = typer.Option(
        "", help="The baseline span before the window (default: everything before it)."
    ),
    by: list[Frame] = typer.Option(  # type: ignore[valid-type]
        [], "--by", help="Also test one frame per value of this field (repeatable)."
    ),
    attribution: Attribution = AttributionOption,  # type: ignore[valid-type]
    fdr: float = typer.Option(0.05, help="Benjamini–Hochberg false discovery rate."),
    min_documents: int = typer.Option(5, help="Fewest documents in the window and baseline."),
    min_sentences: int = typer.Option(50, help="Fewest sentences in the window and baseline."),
    top: int = typer.Option(5, help="Sentences listed per shift."),
    coder: str = typer.Option("", help="Coder name (default: the one in secprio.yaml)."),
    interval: float = typer.Option(1.0, help="Seconds between feed requests (rate limit)."),
    allow_private: bool = typer.Option(
        False, help="Also fetch feeds from loopback and private network addresses."
    ),
    webhook: str = typer.Option(
        "", help="POST the significant shifts with their evidence as JSON to this URL."
    ),
    smtp: str = typer.Option("", help="Mail the digest through this SMTP server (HOST:PORT)."),
    mail_to: str = typer.Option("", help="The address the digest is mailed to (with --smtp)."),
    mail_from: str = typer.Option("secprio@localhost", help="The sender of the mail."),
    project: Path = ProjectOption,
) -> None:
    """Fetch and re-ingest the sources, code what is new, and write a digest of the
    significant shifts (watch/digest-DATE.md); no file when nothing is significant. Once
    (--once, for cron) or on a schedule (--every 6h)."""
    proj = open_project(project)
    if once == bool(every):
        raise typer.BadParameter("give --once (one cycle, for cron) or --every SPAN (30m, 6h, "
                                 "1d: a cycle each time)", param_hint="--once/--every")  # fmt: skip
    try:
        seconds = schedule.every(every) if every else 0.0
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--every") from exc
    if not 0 < fdr < 1:
        raise typer.BadParameter(f"{fdr} is not between 0 and 1", param_hint="--fdr")
    for span in (window, baseline):  # a bad span is refused before any work is done
        if span and span != "new":
            guard(partial(offset, span))
    if webhook:
        guard(lambda: deliver.check_webhook(webhook))
    if smtp or mail_to:
        if not (smtp and mail_to):
            raise typer.BadParameter("give both --smtp HOST:PORT and --mail-to ADDRESS",
                                     param_hint="--smtp/--mail-to")  # fmt: skip
        try:
            deliver.smtp_address(smtp)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--smtp") from exc
    opts = Cycle(window=window, baseline=baseline, by=[value(b) or "" for b in by],
                 attribution=value(attribution) or "issuer", fdr=fdr,
                 min_documents=min_documents, min_sentences=min_sentences, top=top,
                 coder=coder, policy=fetch_mod.Policy(interval=interval,
                                                      allow_private=allow_private),
                 webhook=webhook, smtp=smtp, mail_to=mail_to, mail_from=mail_from)  # fmt: skip
    what = "watch --once" if once else f"watch --every {every}"
    with contextlib.ExitStack() as stack:
        guard(lambda: stack.enter_context(schedule.lock(watch_dir(proj) / LOCK, what)))
        guard(lambda: sources(proj, source))  # recorded: each cycle reads the record
        if once:
            cycle(proj.root, opts)
            return

        def one(n: int) -> None:
            console.rule(f"cycle {n} — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC")
            try:
                cycle(proj.root, opts)
            except typer.Exit as exc:  # its message is printed; the next cycle resumes it
                if exc.exit_code:
                    console.print(f"[red]cycle {n} did not complete[/] (status "
                                  f"{exc.exit_code}); the next one tries again")  # fmt: skip

        schedule.loop(one, seconds, max_cycles=max_cycles, say=console.print)


LOCK = "watch.lock"  # in watch/: held by a running watch (--once for its cycle, --every always)


@dataclass(frozen=True)
class Cycle:
    """The options of one cycle."""

    window: str
    baseline: str
    by: list[str]
    attribution: str
    fdr: float
    min_documents: int
    min_sentences: int
    top: int
    coder: str
    policy: fetch_mod.Policy
    webhook: str
    smtp: str
    mail_to: str
    mail_from: str


def cycle(root: Path, o: Cycle) -> None:
    """One cycle: fetch, ingest, code, test; the digest and its delivery when a shift is
    significant. The project is opened again, so a cycle sees an edited codebook."""
    proj = open_project(root)
    given = guard(lambda: sources(proj, []))
    folders: list[Path] = [Path(s) for s in given if watched.kind(s) == "folder"]
    state = read_state(proj)
    remote = watched.Remote(watch_dir(proj) / "feeds", o.policy, state, say=_say,
                            save=lambda: write_state(proj, state))  # fmt: skip
    folders += remote.read([s for s in given if watched.kind(s) != "folder"])
    result = guard(lambda: proj.ingest(folders))
    _print_ingest(result)
    coded = guard(lambda: proj.code(o.coder or None))
    console.print(f"coded {coded.documents} document(s) with {coded.coder}")
    active = sorted(int(d) for d in proj.documents()["document_id"])
    if not active:
        console.print("no documents yet: no shift test")
        return
    key = cycle_key(proj, active, coded.coder)
    if state.get("key") == key:
        console.print("nothing new since the last shift test: no test, no digest")
        return
    sents = proj.sentences()
    # new: every active document the last completed test did not see (after a crash between
    # coding and the digest, the documents of the interrupted cycle are still new)
    new = sorted(set(active) - {int(d) for d in state.get("documents", [])})
    if o.window == "new":
        win, base, info = shifts_mod.cycle_windows(sents, new)
    else:
        win, base, info = guard(lambda: shifts_mod.date_windows(sents, o.window, o.baseline))
    found = guard(
        lambda: shifts_mod.shifts(
            sents, proj.codings(o.coder or None), proj.codebook, window=win, baseline=base,
            by=o.by, attribution=o.attribution, fdr=o.fdr, min_documents=o.min_documents,
            min_sentences=o.min_sentences, top=o.top,
        )
    )  # fmt: skip
    n_sig = int(found["significant"].sum())
    summary = (f"added {len(result.added)}, new versions {len(result.versions)}, "
               f"coded {coded.documents}; {len(new)} document(s) new since the last shift "
               "test")  # fmt: skip
    if not n_sig:
        console.print(f"no significant shift ({info['window']} against {info['baseline']})")
    else:
        codings = proj.codings(o.coder or None)
        fresh, links_now = since.new_links(sents, codings, proj.codebook, state.get("links"))
        done = written(proj, key)  # this cycle's digest exists: a crash before the state
        target = done or _target(watch_dir(proj))
        meta = {"project": proj.settings.name, "cycle": key, "digest": str(target),
                "html": str(target.with_suffix(".html")), "summary": summary,
                "coder": coded.coder,
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}  # fmt: skip
        if done:
            console.print(f"{n_sig} significant shift(s): already in {done}")
            text = done.read_text(encoding="utf-8")
            record = _record(done) or deliver.payload(found, proj.sentences(text=True), info, meta)
        else:
            done = target
            text_sents = proj.sentences(text=True)
            claims = since.claim_passages(proj.context_file("claims"), text_sents, codings,
                                          proj.codebook, new, top=o.top)  # fmt: skip
            d = digest_mod.build(found, text_sents, name=proj.settings.name, key=key,
                                 summary=summary, info=info, coder=proj.coder(), top=o.top,
                                 links=fresh, claims=claims)  # fmt: skip
            # the record (what the webhook gets and the report's "since the last update"
            # reads) and the page first: the Markdown file, found by its mark, says the
            # digest is done
            record = deliver.payload(found, text_sents, info, meta)
            files.write_text(done.with_suffix(".json"), json.dumps(record, ensure_ascii=False))
            files.write_text(done.with_suffix(".html"), digest_mod.page(d))
            text = digest_mod.markdown(d)
            files.write_text(done, text)
            console.print(f"{n_sig} significant shift(s): digest written to {done} (and .html)")
        _deliver(proj, o, state, n_sig, record, text)
        state["links"] = links_now  # the next digest lists the links significant since this one
    if "links" not in state:  # the first test: the links to compare the next digest with
        state["links"] = since.new_links(sents, proj.codings(o.coder or None), proj.codebook,
                                         None)[1]  # fmt: skip
    state.update({"key": key, "documents": active, "coder": coded.coder,
                  "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})  # fmt: skip
    write_state(proj, state)


def _record(digest: Path) -> dict[str, Any] | None:
    """The JSON record written beside a digest (None for a digest written without one)."""
    try:
        record = json.loads(digest.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _deliver(
    proj: Project, o: Cycle, state: dict[str, Any], n_sig: int, record: dict[str, Any],
    text: str,
) -> None:  # fmt: skip
    """Send the digest to each target that has not had it for this cycle key; exit 1 when
    one failed (the state keeps the last completed test, so the next run sends again)."""
    key = record["cycle"]
    targets = {**({"webhook " + o.webhook: "webhook"} if o.webhook else {}),
               **({f"mail {o.mail_to} via {o.smtp}": "mail"} if o.smtp else {})}  # fmt: skip
    sent = state.get("delivered", {}).get(key, [])
    failed = []
    for target, kind in targets.items():
        if target in sent:  # delivered before a crash: not twice
            continue
        try:
            if kind == "webhook":
                deliver.post(o.webhook, record, key=key)
            else:
                subject = f"secprio watch: {n_sig} significant shift(s) in {proj.settings.name}"
                deliver.mail(o.smtp, o.mail_to, o.mail_from, subject, text, key=key)
        except SecprioError as exc:
            failed.append(target)
            console.print(f"[red]not delivered[/] {escape(str(exc))}", highlight=False)
            continue
        sent = [*sent, target]
        state["delivered"] = {key: sent}
        write_state(proj, state)
        console.print(f"delivered: {escape(target)}", highlight=False)
    if failed:
        console.print("[red]the digest was not delivered to every target[/]; the next run "
                      "tries again")  # fmt: skip
        raise typer.Exit(1)
