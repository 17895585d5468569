"""Peak memory and time of `import-qdpx` on huge projects (the 2 M-selection bomb and friends).

    .venv/bin/python benchmarks/qdpx_limits.py            # 200k, 1M (the limit), 2M selections
    .venv/bin/python benchmarks/qdpx_limits.py 500000

Each case writes a .qdpx (one source of 2,000 sentences, N selections by one user), then runs
`secprio import-qdpx` on a fresh project in a child process and reports its exit status, wall
time and peak RSS (ru_maxrss of the child). Beyond `imports.selections` (1,000,000) the import
must stop with a clear error, never grow without bound.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

USER = "11111111-1111-1111-1111-111111111111"
CODE = "22222222-2222-2222-2222-222222222222"
SENTENCE = "The states agreed on military cooperation in the region. "


def write_qdpx(path: Path, n: int) -> None:
    text = SENTENCE * 2000
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" '
        f'name="big"><Users><User guid="{USER}" name="Cem"/></Users><CodeBook><Codes>'
        f'<Code guid="{CODE}" name="Military cooperation" isCodable="true"/></Codes></CodeBook>'
        '<Sources><TextSource guid="g1" name="big.txt" plainTextPath="internal://g1.txt">'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("sources/g1.txt", text)
        with zf.open("project.qde", "w") as out:
            out.write(head.encode())
            step = len(SENTENCE)
            for i in range(n):
                at = (i % 2000) * step
                selection = (
                    f'<PlainTextSelection guid="s{i}" startPosition="{at}" endPosition="'
                    f'{at + step - 1}" creatingUser="{USER}"><Coding guid="c{i}" creatingUser='
                    f'"{USER}"><CodeRef targetGUID="{CODE}"/></Coding></PlainTextSelection>'
                )
                out.write(selection.encode())
            out.write(b"</TextSource></Sources></Project>")


def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / f"{n}.qdpx"
        write_qdpx(path, n)
        secprio = [sys.executable, "-m", "secprio"]
        subprocess.run([*secprio, "init", str(folder / "p"), "--pack", "ots"],
                       check=True, capture_output=True)  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.monotonic()
        res = subprocess.run([*secprio, "import-qdpx", str(path), "-p", str(folder / "p")],
                             capture_output=True, text=True)  # fmt: skip
        wall = time.monotonic() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        size = path.stat().st_size >> 20
        said = " ".join((res.stdout + res.stderr).split())[:150]
        print(f"{n:>9,} selections  {size:>4} MiB zip  exit {res.returncode}  {wall:6.1f} s  "
              f"peak RSS {max(peak, before) // 1024:>5} MiB  | {said}", flush=True)  # fmt: skip


if __name__ == "__main__":
    for n in [int(a) for a in sys.argv[1:]] or [200_000, 1_000_000, 2_000_000]:
        run(n)
