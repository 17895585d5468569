"""Hostile inputs through the real CLI: outcome, time and peak memory of each, per version.

    .venv/bin/python benchmarks/bombs.py                      # this checkout
    .venv/bin/python benchmarks/bombs.py --baseline 1c4f2e5   # and an older commit, same run

Every input is generated here (zip bomb DOCX, a million HTML paragraphs, a very wide table, a
huge gridSpan, a 50,000-page PDF, a 14 MB single-line TXT, nested and circular YAML sidecars,
deep nesting, a gzip bomb and a trickling server for fetch, ...). Each is given to
``secprio ingest`` (or ``fetch``) in a fresh project, in its own process tree; the script
records the outcome (ingested, or the first line of the skip reason), the wall time and the peak
RSS of the largest process (``ru_maxrss`` of the reaped tree) and the sampled peak of the whole
tree. A run over ``--cap`` seconds or ``--cap-gb`` of tree memory is killed and marked so.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CODEBOOK = """name: b
version: "1"
categories:
  - id: military_cooperation
    kind: priority
    label: Military cooperation
    definition: Joint defence activity.
    patterns: {en: ["military cooperation"]}
"""


# -- the inputs -------------------------------------------------------------------------------


def zip_bomb(folder: Path) -> Path:
    """The body itself: word/document.xml of 2 GB (one run of spaces), about 2 MB zipped."""
    import io

    from tests.test_ingest import write_docx

    path = folder / "zipbomb.docx"
    write_docx(path)
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    head = f'<?xml version="1.0"?><w:document {ns}><w:body><w:p><w:r><w:t>'.encode()
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(path) as src,
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst,
    ):  # noqa: E501
        for item in src.infolist():
            if item.filename != "word/document.xml":
                dst.writestr(item.filename, src.read(item))
        with dst.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(head)
            block = b" " * (1 << 24)
            for _ in range(128):
                member.write(block)
            member.write(tail)
    path.write_bytes(buf.getvalue())
    return path


def _docx_xml(path: Path, body: str) -> Path:
    import io

    from tests.test_ingest import write_docx

    write_docx(path)
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    xml = f'<?xml version="1.0"?><w:document {ns}><w:body>{body}</w:body></w:document>'
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = xml.encode() if item.filename == "word/document.xml" else src.read(item)
            dst.writestr(item.filename, data)
    path.write_bytes(buf.getvalue())
    return path


def gridspan(folder: Path) -> Path:
    cell = '<w:tc><w:tcPr><w:gridSpan w:val="2000000000"/></w:tcPr><w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc>'  # noqa: E501
    return _docx_xml(folder / "gridspan.docx", f"<w:tbl><w:tr>{cell * 3}</w:tr></w:tbl>")


def docx_deep(folder: Path) -> Path:
    return _docx_xml(folder / "deep.docx", "<w:p>" * 100_000 + "</w:p>" * 100_000)


def html_paragraphs(folder: Path) -> Path:
    path = folder / "million.html"
    with path.open("w") as f:
        f.write("<html><body><article>")
        for i in range(1_000_000):
            f.write(f"<p>Paragraph {i} on military cooperation.</p>")
        f.write("</article></body></html>")
    return path


def html_at_limit(folder: Path) -> Path:
    path = folder / "limit.html"  # just under the default element limit: read in full
    rows = "".join(f"<p>Paragraph {i} on military cooperation.</p>" for i in range(199_000))
    path.write_text(f"<html><body><article>{rows}</article></body></html>")
    return path


def html_wide(folder: Path) -> Path:
    path = folder / "wide.html"
    cells = "".join(f"<td>cell {i}</td>" for i in range(150_000))
    path.write_text(f"<html><body><article><table><tr>{cells}</tr></table></article></body></html>")
    return path


def html_deep(folder: Path) -> Path:
    path = folder / "deep.html"
    path.write_text(
        "<html><body>" + "<div>" * 150_000 + "text" + "</div>" * 150_000 + "</body></html>"
    )
    return path


def pdf_pages(folder: Path) -> Path:
    from tests.test_ingest import write_pdf

    return write_pdf(folder / "pages.pdf", [[f"Page {i}."] for i in range(50_000)])


def pdf_flate_bomb(folder: Path) -> Path:
    import zlib

    stream = zlib.compress(b"BT /F1 11 Tf 72 720 Td (x) Tj ET " + b" " * (1 << 30), 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << /Font << /F1 3 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path = folder / "flatebomb.pdf"
    path.write_bytes(bytes(out))
    return path


def txt_line(folder: Path) -> Path:
    path = folder / "line.txt"
    sentence = "The Council met in Baku and agreed on military cooperation in the region. "
    path.write_text(sentence * (14_000_000 // len(sentence)))
    return path


def txt_sentences(folder: Path) -> Path:
    path = folder / "sentences.txt"
    path.write_text("Leaders met. " * 1_500_000)
    return path


def _with_sidecar(folder: Path, name: str, sidecar: str) -> Path:
    path = folder / f"{name}.txt"
    path.write_text(f"{name}: the summit met. Leaders agreed on military cooperation.\n")
    path.with_suffix(".yaml").write_text(sidecar)
    return path


def yaml_laughs(folder: Path) -> Path:
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"] + [
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    return _with_sidecar(folder, "laughs", "\n".join(lines) + "\ntitle: *i\n")


def yaml_circular(folder: Path) -> Path:
    return _with_sidecar(folder, "circular", "a: &a [*a]\n")


def yaml_date(folder: Path) -> Path:
    return _with_sidecar(folder, "future", "date: 9999-12-31\n")


INGEST: dict[str, Callable[[Path], Path]] = {
    "DOCX zip bomb (2 GB unpacked)": zip_bomb,
    "DOCX gridSpan 2e9 ×3": gridspan,
    "DOCX 100,000-deep XML": docx_deep,
    "HTML 1,000,000 paragraphs": html_paragraphs,
    "HTML 199,000 paragraphs (under the limit)": html_at_limit,
    "HTML table 150,000 columns": html_wide,
    "HTML 150,000 nested divs": html_deep,
    "PDF 50,000 pages": pdf_pages,
    "PDF FlateDecode bomb (1 GB)": pdf_flate_bomb,
    "TXT 14 MB single line": txt_line,
    "TXT 1.5 M sentences": txt_sentences,
    "YAML sidecar, nested references (≈340 B)": yaml_laughs,
    "YAML sidecar, circular (12 B)": yaml_circular,
    "YAML sidecar, date 9999-12-31": yaml_date,
}


# -- fetch: a local server --------------------------------------------------------------------


class _Server(BaseHTTPRequestHandler):
    bomb = gzip.compress(b" " * (1 << 30), 9)  # 1 GB of spaces, about 1 MB

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/gzipbomb":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(self.bomb)))
            self.end_headers()
            self.wfile.write(self.bomb)
        else:  # trickle: one header byte a second, forever
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            try:
                for _ in range(100_000):
                    self.wfile.write(b"X")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                return

    def log_message(self, *args: object) -> None:
        return None


# -- running one input ------------------------------------------------------------------------

_MEASURE = """
import os, resource, signal, subprocess, sys, time
cap, cap_kb, cmd = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        start_new_session=True, text=True)
def tree_kb():
    total = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            stat = open(f'/proc/{pid}/stat').read().split()
            if int(stat[5]) == proc.pid or int(pid) == proc.pid:  # session id
                total += int(stat[23]) * os.sysconf('SC_PAGE_SIZE') // 1024
        except (OSError, IndexError, ValueError):
            pass
    return total
start, peak, killed = time.monotonic(), 0, ''
import threading
out = []
threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True).start()
while proc.poll() is None:
    peak = max(peak, tree_kb())
    if time.monotonic() - start > cap:
        killed = f'killed at {cap:g} s'
    elif peak > cap_kb:
        killed = f'killed at {cap_kb // 1048576} GB'
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        break
    time.sleep(0.1)
elapsed = time.monotonic() - start
time.sleep(0.2)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print('@@', proc.returncode, round(elapsed, 1), rss // 1024, peak // 1024, killed)
print((out[0] if out else '')[-3000:])
"""


def measure(cmd: list[str], env: dict[str, str], cap: float, cap_gb: float) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(cap), str(int(cap_gb * 1048576)), *cmd],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    head, _, output = done.stdout.partition("\n")
    _, code, secs, rss, tree, *killed = head.split(" ")
    return {"exit": int(code), "s": float(secs), "rss": int(rss), "tree": int(tree),
            "killed": " ".join(killed), "output": output}  # fmt: skip


def outcome(result: dict[str, object]) -> str:
    if result["killed"]:
        return str(result["killed"])
    text = str(result["output"])
    for line in text.splitlines():
        if line.startswith(("skipped", "failed", "error")):
            reason = line.split(": ", 1)[-1] if ": " in line else line
            return f"{line.split()[0]}: {reason[:90]}"
    if "Traceback" in text:
        return "TRACEBACK: " + text.strip().splitlines()[-1][:90]
    if "added 1" in text:
        return "ingested"
    return f"exit {result['exit']}"


def run_all(python: str, src: Path | None, cap: float, cap_gb: float, inputs: dict[str, Path],
            base: str, label: str) -> list[tuple[str, str, dict[str, object]]]:  # fmt: skip
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    rows = []
    for name, path in inputs.items():
        project = Path(tempfile.mkdtemp(prefix="bomb-project-"))
        shutil.rmtree(project)
        (project.parent / "bomb-codebook.yaml").write_text(CODEBOOK)
        subprocess.run([python, "-m", "secprio", "init", str(project), "--codebook",
                        str(project.parent / "bomb-codebook.yaml")], env=env,
                       capture_output=True, check=True)  # fmt: skip
        if name.startswith("fetch"):
            sources = project / "sources.csv"
            sources.write_text(f"url,title\n{base}/{path.name},x\n")
            cmd = [python, "-m", "secprio", "fetch", str(sources), "-p", str(project),
                   "--retries", "0", "--interval", "0"]  # fmt: skip
            if label == "new":
                cmd += ["--allow-private", "--deadline", "60"]
        else:
            cmd = [python, "-m", "secprio", "ingest", str(path), "-p", str(project)]
        result = measure(cmd, env, cap, cap_gb)
        rows.append((name, label, result))
        print(f"{label:5} {name:44} {outcome(result)[:70]:70} {result['s']:>7}s "
              f"{result['rss']:>6} MB {result['tree']:>6} MB", flush=True)  # fmt: skip
        shutil.rmtree(project, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="also run this git revision (e.g. 1c4f2e5)")
    parser.add_argument("--cap", type=float, default=300, help="seconds before a run is killed")
    parser.add_argument("--cap-gb", type=float, default=6, help="tree memory before a kill")
    parser.add_argument("--only", default="", help="comma-separated substrings of input names")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bombs-"))
    wanted = [w for w in args.only.split(",") if w]
    inputs = {}
    for name, make in INGEST.items():
        if not wanted or any(w in name for w in wanted):
            folder = work / make.__name__
            folder.mkdir()
            inputs[name] = make(folder)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    for name, page in (("fetch: gzip bomb (1 GB decoded)", "gzipbomb"),
                       ("fetch: server trickling headers", "trickle")):  # fmt: skip
        if not wanted or any(w in name for w in wanted):
            inputs[name] = Path(page)
    rows = run_all(sys.executable, None, args.cap, args.cap_gb, inputs, base, "new")
    if args.baseline:
        old = work / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old),
                        args.baseline], check=True, capture_output=True)  # fmt: skip
        try:
            rows += run_all(sys.executable, old / "src", args.cap, args.cap_gb, inputs, base,
                            args.baseline)  # fmt: skip
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                           check=False)  # fmt: skip
    print("\n| input | version | outcome | time s | peak RSS MB (largest process) | tree MB |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for name, label, r in sorted(
        rows, key=lambda row: (list(inputs).index(row[0]), row[1] != "new")
    ):
        print(f"| {name} | {label} | {outcome(r)} | {r['s']} | {r['rss']} | {r['tree']} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
