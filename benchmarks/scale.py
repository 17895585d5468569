"""Scale run: ingest and code N MB of generated documents; report time and peak memory.

    .venv/bin/python benchmarks/scale.py --mb 1000 --workdir /tmp/secprio-scale

Writes N MB of Markdown documents (≈200 KB each, mixed English/Turkish/Russian sentences, a
fixed seed), ingests them into a fresh project with the OTS codebook, codes them with the
dictionary coder, and prints throughput and peak resident memory (ru_maxrss) of this process.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import time
from pathlib import Path

from secprio import packs
from secprio.config import MeasureSettings, Settings
from secprio.project import Project

SENTENCES = [
    "The heads of state agreed to deepen military cooperation and to hold joint exercises.",
    "Trade between the member states grew by a fifth over the year.",
    "The ministers discussed the Middle Corridor and new rail links across the Caspian Sea.",
    "Terrorism and violent extremism remain a danger to the whole region.",
    "Cultural heritage, education and youth exchanges were high on the agenda.",
    "Üye devletler enerji güvenliği alanında işbirliğini güçlendirme kararı aldı.",
    "Taraflar siber güvenlik konusunda ortak bir çalışma planı hazırlayacak.",
    "Стороны обсудили вопросы региональной безопасности и борьбы с терроризмом.",
    "Министры договорились о сотрудничестве в области энергетической безопасности.",
    "The summit welcomed the observers and thanked the host for its hospitality.",
]


def write_corpus(folder: Path, mb: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    target, written, i = mb * 1024 * 1024, 0, 0
    while written < target:
        paras = [" ".join(rng.choice(SENTENCES) for _ in range(6)) for _ in range(300)]
        lang = "en"
        body = (
            f"---\ntitle: Generated {i}\ndate: {2010 + i % 15}-06-01\ndoc_type: news\n"
            f"issuer: TR\nlanguage: {lang}\n---\n" + "\n\n".join(paras) + "\n"
        )
        (folder / f"doc{i:06d}.md").write_text(body, encoding="utf-8")
        written += len(body.encode())
        i += 1
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/secprio-scale"))
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    size = write_corpus(args.workdir / "corpus", args.mb)
    settings = Settings(name="scale", measure=MeasureSettings(bootstrap=100))
    proj = Project.init(
        args.workdir / "project", codebook=packs.path("ots") / "codebook.yaml", settings=settings
    )
    t0 = time.perf_counter()
    res = proj.ingest([args.workdir / "corpus"])
    t1 = time.perf_counter()
    coded = proj.code(batch=50)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    mb = size / 1e6
    print(f"text: {mb:.0f} MB in {len(res.added)} documents")
    print(f"ingest: {t1 - t0:.1f} s ({mb / (t1 - t0):.1f} MB/s)")
    print(f"code:   {t2 - t1:.1f} s ({mb / (t2 - t1):.1f} MB/s), {coded.codings} codings")
    print(f"peak RSS: {peak:.0f} MB (main process), {workers:.0f} MB (largest ingest worker)")


if __name__ == "__main__":
    main()
