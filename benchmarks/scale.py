"""Scale run: every stage of the CLI on generated multilingual corpora; time and peak memory.

    PYTHONPATH=src .venv/bin/python benchmarks/scale.py --mb 5 20 50 --baseline 67640ef
    PYTHONPATH=src .venv/bin/python benchmarks/scale.py --mb 2 --unique --stages claims report
    PYTHONPATH=src .venv/bin/python benchmarks/scale.py --mb 20 --stages ingest --coder dictionary

Writes N MB of Markdown documents per size (a fixed seed; about ``--doc-kb`` each). Each
document is written in one language (English, Turkish, Azerbaijani, Russian or Cyrillic
Kazakh), says so in its front matter, and lists as ``members`` exactly the member states its
sentences name. For each version (this worktree's ``src`` and, with ``--baseline REV``, a
``git worktree`` of REV made under the work folder) and each size, it runs in a fresh project
(``secprio init --pack ots``): ``ingest``, ``code``, ``score``, ``score --by members``,
``links``, ``claims`` and ``report``, each as its own ``python -m secprio`` process. Per
stage it prints wall time, CPU time (user + system of the process and its children: the
ingest workers), MB of text per CPU-second, and peak RSS of the largest process of the stage
(``ru_maxrss`` from ``wait4``). It also times ``secprio --help``, and at the end compares the
two versions' codings and scores (they must be identical). With ``--unique`` no sentence
occurs twice (each ends in a numbered clause), so text-keyed caches cannot hide a cost that
grows with the number of distinct sentences, as they do on the repetitive default corpus.

With ``--parallel`` it measures ``secprio code --coder dictionary`` instead, on one ingested
copy of each corpus: one process, ``--jobs`` 2, and Dask local clusters of 2 and 4 workers
(``--executor dask --jobs N``; ``--configs`` to choose). Per configuration: wall and CPU time
(the command and every worker it waited for), MB of text per wall second and per CPU-second,
the speed-up over one process and the scaling efficiency (speed-up / workers), and whether
the codings are identical to the one-process run's:

    PYTHONPATH=src .venv/bin/python benchmarks/scale.py --mb 20 --parallel
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Sentences written for this benchmark, per language; {c} is a member state's name.
SENTENCES: dict[str, list[str]] = {
    "en": [
        "The heads of state agreed to deepen military cooperation with {c} and to hold joint "
        "exercises.",
        "Trade between {c} and the other member states grew by a fifth over the year.",
        "The ministers of {c} discussed the Middle Corridor and new rail links across the "
        "Caspian Sea.",
        "Terrorism and violent extremism remain a danger to {c} and the whole region.",
        "Cultural heritage, education and youth exchanges with {c} were high on the agenda.",
        "{c} proposed a joint plan on cybersecurity and the protection of critical networks.",
        "Energy security and new pipelines through {c} were discussed at length.",
        "The summit welcomed the observers and thanked {c} for its hospitality.",
        "Border security and the fight against drug trafficking near {c} were reviewed.",
    ],
    "tr": [
        "Üye devletler {c} ile enerji güvenliği alanında işbirliğini güçlendirme kararı aldı.",
        "Taraflar {c} ile siber güvenlik konusunda ortak bir çalışma planı hazırlayacak.",
        "Terörizm ve aşırıcılıkla mücadelede {c} ile eşgüdüm artırılacak.",
        "{c} ile ticaret hacmi geçen yıl beşte bir oranında büyüdü.",
        "Orta Koridor ve {c} üzerinden yeni demiryolu bağlantıları görüşüldü.",
        "Zirve, ev sahibi {c} için misafirperverliğinden dolayı teşekkür etti.",
        "Askeri işbirliği ve ortak tatbikatlar {c} ile birlikte planlandı.",
    ],
    "az": [
        "Dövlət başçıları {c} ilə hərbi əməkdaşlığı dərinləşdirməyə razılaşdılar.",
        "Tərəflər {c} ilə enerji təhlükəsizliyi sahəsində birgə layihələri müzakirə etdilər.",
        "Terrorizm və ekstremizm {c} və bütün region üçün təhlükə olaraq qalır.",
        "Orta Dəhliz və {c} üzərindən yeni dəmir yolu xətləri nəzərdən keçirildi.",
        "{c} ilə ticarət dövriyyəsi ötən il artdı.",
    ],
    "ru": [
        "Стороны обсудили с {c} вопросы региональной безопасности и борьбы с терроризмом.",
        "Министры договорились с {c} о сотрудничестве в области энергетической безопасности.",
        "Торговля с {c} выросла на пятую часть за год.",
        "Участники поблагодарили {c} за гостеприимство и тёплый приём.",
        "Кибербезопасность и защита информационных систем обсуждались с {c}.",
        "Военное сотрудничество и совместные учения с {c} будут продолжены.",
    ],
    "kk": [
        "Мемлекет басшылары {c} елімен әскери ынтымақтастықты тереңдетуге келісті.",
        "Тараптар {c} елімен энергетикалық қауіпсіздік мәселелерін талқылады.",
        "Терроризм мен экстремизм {c} және бүкіл аймақ үшін қауіп болып қала береді.",
        "Орта дәліз және {c} арқылы өтетін жаңа темір жолдар қарастырылды.",
        "{c} елімен сауда көлемі өткен жылы өсті.",
    ],
}
COUNTRIES: dict[str, dict[str, str]] = {  # member code -> its name in each language
    "AZ": {"en": "Azerbaijan", "tr": "Azerbaycan", "az": "Azərbaycan", "ru": "Азербайджан",
           "kk": "Әзербайжан"},
    "KZ": {"en": "Kazakhstan", "tr": "Kazakistan", "az": "Qazaxıstan", "ru": "Казахстан",
           "kk": "Қазақстан"},
    "KG": {"en": "Kyrgyzstan", "tr": "Kırgızistan", "az": "Qırğızıstan", "ru": "Киргизия",
           "kk": "Қырғызстан"},
    "TR": {"en": "Türkiye", "tr": "Türkiye", "az": "Türkiyə", "ru": "Турция",
           "kk": "Түркия"},
    "UZ": {"en": "Uzbekistan", "tr": "Özbekistan", "az": "Özbəkistan", "ru": "Узбекистан",
           "kk": "Өзбекстан"},
}  # fmt: skip
# With --unique every sentence ends in a numbered clause, so no two sentences of the corpus are
# the same text: caches keyed by a sentence's text (the embedding cache) then save nothing, as on
# a real corpus. Digits are not words to the coders or to the claim check's stems.
CLAUSE = {"en": "(point {n})", "tr": "(madde {n})", "az": "(bənd {n})", "ru": "(пункт {n})",
          "kk": "(тармақ {n})"}  # fmt: skip
LANG_SHARE = {"en": 0.4, "tr": 0.2, "ru": 0.2, "az": 0.1, "kk": 0.1}
DOC_TYPES = ("declaration", "statement", "news", "analysis", "speech")


def write_corpus(
    folder: Path, mb: float, *, doc_kb: int = 50, seed: int = 1, unique: bool = False
) -> tuple[int, int]:
    """Write ``mb`` MB of documents; return (bytes, documents). ``unique``: no sentence twice."""
    rng = random.Random(seed)
    count = iter(range(1, 1 << 62))
    folder.mkdir(parents=True, exist_ok=True)
    target, written, i = int(mb * 1e6), 0, 0
    langs, shares = list(LANG_SHARE), list(LANG_SHARE.values())
    while written < target:
        lang = rng.choices(langs, shares)[0]
        members = sorted(rng.sample(sorted(COUNTRIES), rng.randint(1, 3)))
        paras, size = [], 0
        while size < doc_kb * 1000:
            sents = [
                rng.choice(SENTENCES[lang]).format(c=COUNTRIES[rng.choice(members)][lang])
                for _ in range(rng.randint(2, 6))
            ]
            if unique:
                clause = CLAUSE[lang]
                sents = [f"{s[:-1]} {clause.format(n=next(count))}{s[-1]}" for s in sents]
            paras.append(" ".join(sents))
            size += len(paras[-1].encode()) + 2
        year = 2010 + rng.randrange(15)
        head = (
            f"---\ntitle: Generated {i}\ndate: {year}-{rng.randint(1, 12):02d}-01\n"
            f"doc_type: {rng.choice(DOC_TYPES)}\nissuer: {members[0]}\n"
            f"members: [{', '.join(members)}]\nlanguage: {lang}\n---\n"
        )
        body = head + "\n\n".join(paras) + "\n"
        (folder / f"doc{i:06d}.md").write_text(body, encoding="utf-8")
        written += len(body.encode())
        i += 1
    return written, i


@dataclass
class Measure:
    wall: float
    cpu: float
    rss_mb: float
    code: int


def run(args: list[str], *, src: Path, cwd: Path, log: Path) -> Measure:
    """Run ``python -m secprio ARGS`` with ``src`` on the path; its time and peak memory."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "120"}
    t0 = time.perf_counter()
    with log.open("ab") as out:
        out.write(f"\n$ secprio {' '.join(args)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "secprio", *args], cwd=cwd, env=env, stdout=out, stderr=out
        )
        _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    # wait4's usage covers the process and the children it waited for (ingest workers)
    return Measure(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, proc.returncode)


STAGES: list[tuple[str, list[str]]] = [
    ("ingest", ["ingest", "-p", "{p}", "{corpus}"]),
    ("code", ["code", "-p", "{p}"]),
    ("score", ["score", "-p", "{p}", "--csv", "{p}/scores.csv"]),
    ("score --by members", ["score", "-p", "{p}", "--by", "members"]),
    ("links", ["links", "-p", "{p}"]),
    ("claims", ["claims", "-p", "{p}"]),
    ("report", ["report", "-p", "{p}", "-o", "{p}/report"]),
]


def bench(version: str, src: Path, corpus: Path, work: Path, mb: float, log: Path,
          bootstrap: int, only: set[str], coder: str = "") -> list[dict[str, object]]:  # fmt: skip
    project = work / f"project-{version}-{corpus.name}"
    shutil.rmtree(project, ignore_errors=True)
    rows: list[dict[str, object]] = []
    m = run(["--help"], src=src, cwd=work, log=log)
    rows.append({"version": version, "MB": mb, "stage": "--help", "m": m})
    run(["init", str(project), "--pack", "ots"], src=src, cwd=work, log=log)
    settings = project / "secprio.yaml"
    text = settings.read_text(encoding="utf-8").replace(
        "bootstrap: 1000", f"bootstrap: {bootstrap}"
    )
    if coder:  # every stage after `code` measures that coder's codings
        text = text.replace("  coder: auto", f"  coder: {coder}")
    settings.write_text(text, encoding="utf-8")
    for name, argv in STAGES:
        if only and name not in only and name not in ("ingest", "code"):
            continue
        args = [a.format(p=project, corpus=corpus) for a in argv]
        if name == "code" and coder:
            args += ["--coder", coder]
        m = run(args, src=src, cwd=work, log=log)
        rows.append({"version": version, "MB": mb, "stage": name, "m": m})
        print(f"  {version:>8} {mb:>6.1f} MB {name:<20} {m.wall:7.1f} s wall {m.cpu:7.1f} s CPU "
              f"{m.rss_mb:7.0f} MB{'' if m.code in (0, 1) else f'  exit {m.code}'}",
              flush=True)  # fmt: skip
    return rows


def fingerprint(project: Path) -> tuple[list[tuple[object, ...]], str]:
    """The machine codings (document path, sentence index, category, span) and scores.csv."""
    db = sqlite3.connect(project / "secprio.db")
    rows = db.execute(
        "SELECT d.path, s.idx, c.category, c.start, c.end, c.pattern FROM codings c "
        "JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id "
        "WHERE c.source = 'machine' ORDER BY 1, 2, 3"
    ).fetchall()
    db.close()
    scores = project / "scores.csv"
    return rows, scores.read_text(encoding="utf-8") if scores.exists() else ""


CONFIGS: dict[str, list[str]] = {  # name -> options of `secprio code`
    "jobs 1": [],
    "jobs 2": ["--jobs", "2"],
    "dask 2": ["--executor", "dask", "--jobs", "2"],
    "dask 4": ["--executor", "dask", "--jobs", "4"],
}


def workers(config: str) -> int:
    return int(config.split()[-1])


def parallel(corpus: Path, work: Path, size: tuple[int, int], log: Path,
             configs: list[str]) -> str:  # fmt: skip
    """Ingest once, then code a copy of that project with each configuration."""
    src = ROOT / "src"
    base = work / f"parallel-{corpus.name}"
    if not (base / "secprio.db").exists():
        shutil.rmtree(base, ignore_errors=True)
        run(["init", str(base), "--pack", "ots"], src=src, cwd=work, log=log)
        m = run(["ingest", "-p", str(base), str(corpus)], src=src, cwd=work, log=log)
        print(f"  ingest {m.wall:.1f} s wall {m.cpu:.1f} s CPU", flush=True)
    mb = size[0] / 1e6
    rows, prints = [], {}
    for config in configs:
        project = work / f"parallel-{corpus.name}-{config.replace(' ', '')}"
        shutil.rmtree(project, ignore_errors=True)
        shutil.copytree(base, project)
        args = ["code", "-p", str(project), "--coder", "dictionary", *CONFIGS[config]]
        m = run(args, src=src, cwd=work, log=log)
        prints[config] = fingerprint(project)[0]
        rows.append((config, m))
        print(f"  {config:<7} {m.wall:7.1f} s wall {m.cpu:7.1f} s CPU"
              f"{'' if m.code == 0 else f'  exit {m.code}'}", flush=True)  # fmt: skip
        shutil.rmtree(project)
    one = dict(rows).get("jobs 1")
    out = [
        f"{mb:.1f} MB, {size[1]} documents, {os.cpu_count()} cores",
        "| configuration | workers | wall s | CPU s | MB/s (wall) | MB/CPU-s | speed-up | "
        "efficiency | identical codings |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for config, m in rows:
        speed = one.wall / m.wall if one else float("nan")
        same = prints[config] == prints["jobs 1"] if "jobs 1" in prints else "-"
        out.append(
            f"| {config} | {workers(config)} | {m.wall:.1f} | {m.cpu:.1f} | {mb / m.wall:.2f} | "
            f"{mb / max(m.cpu, 1e-9):.2f} | {speed:.2f}× | {speed / workers(config):.2f} | "
            f"{same} ({len(prints[config])}) |"
        )
    return "\n".join(out)


def table(rows: list[dict[str, object]], sizes: dict[float, tuple[int, int]]) -> str:
    versions = list(dict.fromkeys(str(r["version"]) for r in rows))
    out = [
        "| MB | docs | stage | " + " | ".join(
            f"{v} wall s | {v} CPU s | {v} MB/CPU-s | {v} peak RSS MB" for v in versions)
        + (" | CPU ratio | RSS ratio |" if len(versions) == 2 else " |"),
        "| " + " | ".join(["---:"] * (3 + 4 * len(versions) + 2 * (len(versions) == 2))) + " |",
    ]  # fmt: skip
    keys = list(dict.fromkeys((float(str(r["MB"])), str(r["stage"])) for r in rows))
    for mb, stage in keys:
        cells = [f"{mb:g}", str(sizes[mb][1]), stage]
        ms = []
        for v in versions:
            found = [r["m"] for r in rows if r["version"] == v and r["MB"] == mb
                     and r["stage"] == stage]  # fmt: skip
            if not found:
                cells += ["-"] * 4
                ms.append(None)
                continue
            m = found[0]
            assert isinstance(m, Measure)
            ms.append(m)
            rate = "" if stage == "--help" else f"{sizes[mb][0] / 1e6 / max(m.cpu, 1e-9):.1f}"
            flag = "" if m.code in (0, 1) else f" (exit {m.code})"
            cells += [f"{m.wall:.2f}{flag}", f"{m.cpu:.2f}", rate, f"{m.rss_mb:.0f}"]
        if len(versions) == 2:
            a, b = ms
            if a and b:
                cells += [f"{b.cpu / max(a.cpu, 1e-9):.2f}×", f"{b.rss_mb / max(a.rss_mb, 1):.2f}×"]
            else:
                cells += ["-", "-"]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def sources(work: Path, baseline: str | None) -> list[tuple[str, Path]]:
    """(version, its ``src``): this worktree's as "new", after ``baseline``'s when given (a
    ``git worktree`` of that revision under ``work``, made once and kept for the next run)."""
    versions = [("new", ROOT / "src")]
    if baseline:
        base = work / f"base-{baseline}"
        if not base.exists():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base),
                            baseline], check=True, capture_output=True)  # fmt: skip
        versions.insert(0, (baseline, base / "src"))
    return versions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mb", type=float, nargs="+", default=[5.0])
    ap.add_argument("--doc-kb", type=int, default=50, help="size of one document (KB)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/secprio-scale"))
    ap.add_argument("--baseline", default="", help="also measure this git revision")
    ap.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates")
    ap.add_argument("--stages", nargs="*", default=[], help="only these (ingest, code always)")
    ap.add_argument("--unique", action="store_true", help="no sentence twice (see CLAUSE)")
    ap.add_argument("--parallel", action="store_true", help="code in parallel (see above)")
    ap.add_argument("--coder", default="", help="code with this coder (default: the pack's)")
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    args = ap.parse_args()
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    versions = sources(work, args.baseline)
    sizes: dict[float, tuple[int, int]] = {}
    rows: list[dict[str, object]] = []
    for mb in args.mb:
        corpus = work / f"corpus-{mb:g}mb{'-unique' * args.unique}"
        if not corpus.exists():
            sizes[mb] = write_corpus(corpus, mb, doc_kb=args.doc_kb, unique=args.unique)
        else:
            files = list(corpus.glob("*.md"))
            sizes[mb] = (sum(f.stat().st_size for f in files), len(files))
        print(f"corpus {corpus}: {sizes[mb][0] / 1e6:.1f} MB, {sizes[mb][1]} documents")
        if args.parallel:
            print(parallel(corpus, work, sizes[mb], log, args.configs))
            continue
        for version, src in versions:
            rows += bench(version, src, corpus, work, mb, log, args.bootstrap, set(args.stages),
                          args.coder)  # fmt: skip
        if len(versions) == 2:
            prints = [fingerprint(work / f"project-{v}-{corpus.name}") for v, _ in versions]
            same_codings = prints[0][0] == prints[1][0]
            same_scores = prints[0][1] == prints[1][1]
            print(f"  identical codings: {same_codings} ({len(prints[1][0])}), "
                  f"identical scores.csv: {same_scores}")  # fmt: skip
    if rows:
        print()
        print(table(rows, sizes))
    print(f"\nlog of every command: {log}")


if __name__ == "__main__":
    main()
