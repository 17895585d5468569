"""watch: keep a project current and write a digest of the significant shifts (docs/watch.md)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
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
        code="E718",
    )


STATE = "state.json"  # where older versions kept the watch state: imported once, then
IMPORTED = "state.json.imported"  # left under this name as a backup
MARK = re.compile(r"<!-- secprio watch cycle (\S+) -->")


def cycle_key(proj: Project, documents: list[int], coder: str) -> str:
    """What a shift test saw: the active documents, the codebook version and the coder."""
    blob = json.dumps([documents, proj.codebook.sha256, coder]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def import_state(proj: Project) -> bool:
    """Move an older project's ``watch/state.json`` into the store, once (store/watch.py): its
    validators and lastmods, its last completed test (key, documents, links), the digests
    written so far (found by their mark) and the deliveries it recorded; then rename the file
    to ``state.json.imported``. A kill between the import and the rename is safe: the store
    says the file was imported, so the next run only renames it. True when a file was found."""
    path = watch_dir(proj) / STATE
    if not path.is_file():
        return False
    store = proj.store
    if not store.imported_state():
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # unreadable: the next test rebuilds what it held
            state = {}
        digests: dict[str, tuple[str, dict[str, Any] | None]] = {}
        for md in sorted(watch_dir(proj).glob("digest-*.md")):
            found = MARK.search(md.read_text(encoding="utf-8", errors="replace"))
            if found:
                digests.setdefault(found.group(1), (str(md), _record(md)))
        store.import_state(state if isinstance(state, dict) else {}, digests, source=str(path))
    path.replace(path.with_name(IMPORTED))
    console.print(f"the watch state of {path} is now in the store (the file is kept as "
                  f"{IMPORTED})")  # fmt: skip
    return True


def _say(text: str, warn: bool) -> None:
    console.print(escape(text), style="yellow" if warn else None, highlight=False)


def _target(folder: Path, claimed: set[str]) -> Path:
    """A name for a new digest that no file and no other digest in the store has."""
    day = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    path, n = folder / f"digest-{day}.md", 2
    while path.exists() or str(path) in claimed:
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
    report: str = typer.Option(
        "",
        "--report",
        help="Where the report is (report.html, its folder, or an http(s) URL), for the "
        "digest's links to each shift's cell (default: PROJECT/report/report.html).",
    ),
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
                 webhook=webhook, smtp=smtp, mail_to=mail_to, mail_from=mail_from,
                 report=report)  # fmt: skip
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
    report: str = ""


def cycle(root: Path, o: Cycle) -> None:
    """One cycle: fetch, ingest, code, test; the digest and its delivery when a shift is
    significant. The project is opened again, so a cycle sees an edited codebook. The cycle
    and each of its steps are recorded in the store (store/watch.py); a cycle that raised is
    recorded as failed, one that was killed stays ``running``, and the next one resumes it."""
    proj = open_project(root)
    given = guard(lambda: sources(proj, []))
    guard(lambda: import_state(proj))
    store = proj.store
    cycle_id = store.start_cycle()
    try:
        _cycle(proj, o, given, cycle_id)
    except BaseException as exc:
        if not (isinstance(exc, typer.Exit) and not exc.exit_code):
            with contextlib.suppress(Exception):  # the cause is reported, not this record
                store.end_cycle(cycle_id, "failed", error=f"{type(exc).__name__}: {exc}"[:500])
        raise


def _cycle(proj: Project, o: Cycle, given: list[str], cycle_id: int) -> None:
    store = proj.store
    folders: list[Path] = [Path(s) for s in given if watched.kind(s) == "folder"]
    remote_sources = [s for s in given if watched.kind(s) != "folder"]
    urls = store.watch_urls()
    # the validators are saved (urls.save) whenever the files they describe are on disk
    remote = watched.Remote(watch_dir(proj) / "feeds", o.policy,
                            {"validators": urls.validators, "lastmod": urls.lastmod},
                            say=_say, save=urls.save)  # fmt: skip
    folders += remote.read(remote_sources)
    store.cycle_step(cycle_id, "fetched", sources=len(remote_sources),
                     urls=len(urls.validators))  # fmt: skip
    result = guard(lambda: proj.ingest(folders))
    _print_ingest(result)
    store.cycle_step(cycle_id, "ingested", added=len(result.added),
                     versions=len(result.versions), skipped=len(result.skipped))  # fmt: skip
    coded = guard(lambda: proj.code(o.coder or None))
    console.print(f"coded {coded.documents} document(s) with {coded.coder}")
    store.cycle_step(cycle_id, "coded", documents=coded.documents, coder=coded.coder)
    active = sorted(int(d) for d in proj.documents()["document_id"])
    if not active:
        console.print("no documents yet: no shift test")
        store.end_cycle(cycle_id, "quiet", reason="no documents")
        return
    key = cycle_key(proj, active, coded.coder)
    last = store.last_cycle()
    if last is not None and last.key == key:
        console.print("nothing new since the last shift test: no test, no digest")
        store.end_cycle(cycle_id, "unchanged", key=key)
        return
    sents = proj.sentences()
    # new: every active document no completed test saw (after a crash between coding and
    # the digest, the documents of the interrupted cycle are still new)
    new = sorted(set(active) - store.seen_documents())
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
    store.cycle_step(cycle_id, "scored", key=key, significant=n_sig, new=len(new),
                     window=info["window"], baseline=info["baseline"])  # fmt: skip
    summary = (f"added {len(result.added)}, new versions {len(result.versions)}, "
               f"coded {coded.documents}; {len(new)} document(s) new since the last shift "
               "test")  # fmt: skip
    links: list[str] | None = None
    if not n_sig:
        console.print(f"no significant shift ({info['window']} against {info['baseline']})")
    else:
        codings = proj.codings(o.coder or None)
        fresh, links = since.new_links(sents, codings, proj.codebook,
                                       last.links if last else None)  # fmt: skip
        d = store.digest(key)
        if d is not None and d.status == "written" and Path(d.path).is_file():
            console.print(f"{n_sig} significant shift(s): already in {d.path}")
            text = Path(d.path).read_text(encoding="utf-8")
            record = d.record or deliver.payload(
                found,
                proj.sentences(text=True),
                info,
                _meta(proj, d.path, key, summary, coded.coder),
            )
        else:
            # claimed before any file is written: a rerun after a kill writes the same
            # files again (each write replaces the whole file) instead of a second digest
            d = store.claim_digest(key, str(_target(watch_dir(proj), store.claimed_paths())), n_sig)
            path = Path(d.path)
            text_sents = proj.sentences(text=True)
            claims = since.claim_passages(proj.context_file("claims"), text_sents, codings,
                                          proj.codebook, new, top=o.top)  # fmt: skip
            at = report_location(proj, o.report, path)
            dg = digest_mod.build(found, text_sents, name=proj.settings.name, key=key,
                                  summary=summary, info=info, coder=proj.coder(), top=o.top,
                                  links=fresh, claims=claims, report=at)  # fmt: skip
            record = deliver.payload(found, text_sents, info,
                                     _meta(proj, d.path, key, summary, coded.coder),
                                     report=at)  # fmt: skip
            files.write_text(path.with_suffix(".json"), json.dumps(record, ensure_ascii=False))
            files.write_text(path.with_suffix(".html"), digest_mod.page(dg))
            text = digest_mod.markdown(dg)
            files.write_text(path, text)
            store.digest_written(d.id, record, cycle_id)  # the digest is done
            console.print(f"{n_sig} significant shift(s): digest written to {path} (and .html)")
        _deliver(proj, o, cycle_id, d.id, n_sig, record, text)
    if last is None or last.links is None:  # the first test: the links to compare the next
        links = links if links is not None else since.new_links(  # digest with
            sents, proj.codings(o.coder or None), proj.codebook, None)[1]  # fmt: skip
    store.complete_cycle(cycle_id, key=key, coder=coded.coder, documents=active, links=links,
                         significant=n_sig)  # fmt: skip


def _meta(proj: Project, path: str, key: str, summary: str, coder: str) -> dict[str, Any]:
    return {"project": proj.settings.name, "cycle": key, "digest": path,
            "html": str(Path(path).with_suffix(".html")), "summary": summary, "coder": coder,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}  # fmt: skip


def report_location(proj: Project, given: str, digest: Path) -> str:
    """Where the digest's links into the report point: ``given`` (an http(s) URL, or a path
    to report.html or its folder), by default the project's ``report/report.html``; a path
    becomes a file:// URL, so it works from the digest, a mail and the webhook alike."""
    if given.lower().startswith(("http://", "https://")):
        return given
    path = Path(given) if given else proj.root / "report" / "report.html"
    if path.suffix.lower() not in (".html", ".htm"):
        path = path / "report.html"
    return path.resolve().as_uri()


def _record(digest: Path) -> dict[str, Any] | None:
    """The JSON record written beside a digest (None for a digest written without one)."""
    try:
        record = json.loads(digest.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _deliver(
    proj: Project, o: Cycle, cycle_id: int, digest_id: int, n_sig: int,
    record: dict[str, Any], text: str,
) -> None:  # fmt: skip
    """Send the digest to each target that has not had it; exit 1 when one failed (the
    cycle is not complete, so the next run sends again). Each attempt is committed as
    ``sending`` before the send and as ``sent`` after it: a kill in between sends that one
    again on the next run, with the same Idempotency-Key (docs/watch.md, Delivery)."""
    store = proj.store
    ident = store.delivery_key(record["cycle"])
    targets = {**({"webhook " + o.webhook: "webhook"} if o.webhook else {}),
               **({f"mail {o.mail_to} via {o.smtp}": "mail"} if o.smtp else {})}  # fmt: skip
    failed, sent = [], []
    for target, kind in targets.items():
        before = store.delivery_begin(digest_id, target, ident)
        if before is None:  # delivered before a crash: not twice
            continue
        if before == "sending":
            console.print(f"sending again to {escape(target)}: the last attempt stopped before "
                          "it was recorded (same Idempotency-Key)", highlight=False)  # fmt: skip
        try:
            if kind == "webhook":
                deliver.post(o.webhook, record, key=ident)
            else:
                subject = f"secprio watch: {n_sig} significant shift(s) in {proj.settings.name}"
                deliver.mail(o.smtp, o.mail_to, o.mail_from, subject, text, key=ident)
        except SecprioError as exc:
            store.delivery_end(digest_id, target, error=str(exc))
            failed.append(target)
            console.print(f"[red]not delivered[/] {escape(str(exc))}", highlight=False)
            continue
        store.delivery_end(digest_id, target)
        sent.append(target)
        console.print(f"delivered: {escape(target)}", highlight=False)
    store.cycle_step(cycle_id, "delivered", sent=sent, failed=failed)
    if failed:
        console.print("[red]the digest was not delivered to every target[/]; the next run "
                      "tries again")  # fmt: skip
        raise typer.Exit(1)
