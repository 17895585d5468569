"""Coding in parallel (worker processes, Dask): the same run and codings as one process."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from secprio import parallel
from secprio.coders.base import Coding, Unit
from secprio.config import MeasureSettings, Settings
from secprio.errors import CoderError, IngestError, MissingDependency
from secprio.ingest.limits import Limits
from secprio.project import Project
from tests.conftest import DOCS, write_doc

N_DOCS = 36
BATCH = 2  # 18 batches: more than the window of in-flight batches, so order is tested


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """Documents of the small corpus, each made distinct by a numbered paragraph."""
    folder = tmp_path / "many"
    folder.mkdir()
    items = list(DOCS.values())
    for i in range(N_DOCS):
        date, doc_type, issuer, lang, paras = items[i % len(items)]
        extra = [f"Paragraph {i}: military cooperation and terrorism were named {i % 4} times."]
        write_doc(folder, f"d{i:02d}.md", date, doc_type, issuer, lang, paras + extra * (i % 3))
    return folder


def fresh(root: Path, codebook: Path, corpus: Path) -> Project:
    settings = Settings(name="par", measure=MeasureSettings(bootstrap=50, seed=7))
    proj = Project.init(root, codebook=codebook, settings=settings)
    proj.ingest([corpus], workers=1)
    return proj


def table(proj: Project, name: str) -> pd.DataFrame:
    """A store table as the comparison sees it: everything but the clock."""
    df = proj.store.table(name)
    clock = ("created_at", "started_at", "finished_at", "ingested_at")
    return df.drop(columns=[c for c in clock if c in df])


def assert_same_store(a: Project, b: Project) -> None:
    for name in ("codings", "runs", "run_documents"):
        pd.testing.assert_frame_equal(table(a, name), table(b, name), check_like=False)


@pytest.fixture
def single(tmp_path: Path, codebook_file: Path, many: Path) -> Project:
    proj = fresh(tmp_path / "one", codebook_file, many)
    result = proj.code("dictionary", batch=BATCH)
    assert result.documents == N_DOCS and result.codings > N_DOCS
    return proj


def test_two_worker_processes_write_the_same_run_and_codings(
    single: Project, tmp_path: Path, codebook_file: Path, many: Path
) -> None:
    proj = fresh(tmp_path / "two", codebook_file, many)
    seen: list[int] = []
    result = proj.code("dictionary", batch=BATCH, jobs=2, progress=lambda d, _: seen.append(d))
    assert result.codings == len(single.store.table("codings"))
    assert seen == list(range(BATCH, N_DOCS + 1, BATCH))  # batch by batch, in order
    assert_same_store(single, proj)
    assert proj.code("dictionary", jobs=2).documents == 0  # nothing pending: no workers


class Stop(Exception):
    pass


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_a_run_stopped_midway_resumes_without_duplicates(
    executor: str, single: Project, tmp_path: Path, codebook_file: Path, many: Path
) -> None:
    proj = fresh(tmp_path / "stopped", codebook_file, many)

    def stop_after_three(done: int, _total: int) -> None:
        if done >= 3 * BATCH:  # other batches are in flight at that moment
            raise Stop

    with pytest.raises(Stop):
        proj.code("dictionary", batch=BATCH, jobs=2, executor=executor, progress=stop_after_three)
    assert proj.coverage("dictionary")["current"] == 3 * BATCH
    assert proj.runs()["status"].tolist() == ["running"]
    result = proj.code("dictionary", batch=BATCH, jobs=2, executor=executor)
    assert result.documents == N_DOCS - 3 * BATCH
    codings = proj.store.table("codings")
    assert not codings.duplicated(["segment_id", "category", "coder"]).any()
    assert_same_store(single, proj)  # the resumed run is the same run, its codings the same


def test_a_local_dask_cluster_and_a_scheduler_address_give_the_same_codings(
    single: Project, tmp_path: Path, codebook_file: Path, many: Path
) -> None:
    from distributed import LocalCluster

    local = fresh(tmp_path / "dask-local", codebook_file, many)
    local.code("dictionary", batch=BATCH, jobs=2, executor="dask")
    assert_same_store(single, local)
    remote = fresh(tmp_path / "dask-remote", codebook_file, many)
    with LocalCluster(
        n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        remote.code("dictionary", batch=BATCH, executor="dask", scheduler=address)
    assert_same_store(single, remote)


def _hostile(folder: Path) -> None:
    """A page over the element limit and a file that is not the DOCX it says."""
    (folder / "zz-wide.html").write_text(
        "<html><body>" + "<p>Paragraph.</p>" * 1500 + "</body></html>", encoding="utf-8"
    )
    (folder / "zz-fake.docx").write_bytes(b"PK\x03\x04 not a zip at all")


def _ingested(root: Path, codebook: Path, corpus: Path, **how: object) -> tuple[Project, list]:
    settings = Settings(name="par", ingest=Limits(max_elements=1000))
    proj = Project.init(root, codebook=codebook, settings=settings)
    result = proj.ingest([corpus], **how)  # type: ignore[arg-type]
    return proj, sorted((Path(s.path).name, s.reason.split(":")[0]) for s in result.skipped)


def test_ingest_on_a_dask_cluster_stores_what_a_local_run_stores(
    tmp_path: Path, codebook_file: Path, many: Path
) -> None:
    """Same documents, segments and ids in the same order; the limits hold on the workers
    (each task reads in a reader process of its own), so the same files are skipped."""
    _hostile(many)
    one, skipped = _ingested(tmp_path / "one", codebook_file, many, workers=1)
    assert [name for name, _ in skipped] == ["zz-fake.docx", "zz-wide.html"]
    dask, skipped_dask = _ingested(tmp_path / "dask", codebook_file, many, workers=2,
                                   executor="dask")  # fmt: skip
    assert skipped_dask == skipped
    for name in ("documents", "segments"):
        pd.testing.assert_frame_equal(table(one, name), table(dask, name))
    assert len(table(dask, "documents")) == N_DOCS


def test_ingest_refuses_dask_workers_that_cannot_start_reader_processes(
    tmp_path: Path, codebook_file: Path, many: Path
) -> None:
    from distributed import LocalCluster

    proj = Project.init(tmp_path / "p", codebook=codebook_file, settings=Settings(name="d"))
    daemons = LocalCluster(  # dask's default: daemonic worker processes
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with daemons as cluster, pytest.raises(IngestError) as err:
        proj.ingest([many], executor="dask", scheduler=cluster.scheduler_address)
    assert err.value.code == "E102" and "DASK_DISTRIBUTED__WORKER__DAEMON=False" in str(err.value)
    assert proj.store.table("documents").empty  # nothing half-read was stored


class Dies:
    """A coder that kills the worker process it runs in (as the kernel's OOM killer would)."""

    name, version = "dies", "1"

    def __init__(self) -> None:
        self.parent = os.getpid()

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
        if os.getpid() != self.parent:
            os._exit(9)
        yield from ()


def test_a_worker_that_dies_is_an_error_that_says_to_resume() -> None:
    batches = [[Unit(i, "text")] for i in range(4)]
    with pytest.raises(CoderError) as err, parallel.mapper(Dies(), jobs=2) as run:
        list(run(batches))
    assert err.value.code == "E313" and "resumes" in err.value.render("cli")


class Refuses(Dies):
    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
        if os.getpid() != self.parent:
            raise CoderError("no", hint="fix it", code="E304")
        yield from ()


def test_a_worker_error_comes_back_as_itself() -> None:
    with pytest.raises(CoderError) as err, parallel.mapper(Refuses(), jobs=2) as run:
        list(run([[Unit(1, "x")]]))
    assert err.value.code == "E304" and str(err.value).startswith("[E304] no")


@pytest.mark.parametrize(
    ("jobs", "executor", "scheduler", "code"),
    [
        (2, "spark", None, "E309"),
        (0, "local", None, "E310"),
        (None, "local", "tcp://127.0.0.1:8786", "E311"),
        (2, "dask", "tcp://127.0.0.1:8786", "E312"),
    ],
)
def test_options_that_mean_nothing_are_refused_before_any_work(
    project: Project, jobs: int | None, executor: str, scheduler: str | None, code: str
) -> None:
    with pytest.raises(CoderError) as err:
        project.code("dictionary", jobs=jobs, executor=executor, scheduler=scheduler)
    assert err.value.code == code
    assert project.runs().empty


def test_an_unreachable_scheduler_is_a_coded_error(
    project: Project, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.ingest([corpus], workers=1)
    monkeypatch.setattr(parallel, "CONNECT_SECONDS", 1)
    with pytest.raises(CoderError) as err:
        project.code("dictionary", executor="dask", scheduler="tcp://127.0.0.1:9")
    assert err.value.code == "E314" and "dask scheduler" in err.value.render("cli")


def test_without_dask_the_error_names_the_extra(
    project: Project, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.ingest([corpus], workers=1)
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an install without it does
    with pytest.raises(MissingDependency) as err:
        project.code("dictionary", executor="dask")
    assert "pip install 'secprio[dask]'" in err.value.render("cli")


def test_the_cli_codes_with_jobs_and_refuses_options_that_mean_nothing(
    single: Project, tmp_path: Path, codebook_file: Path, many: Path
) -> None:
    from typer.testing import CliRunner

    from secprio.cli import app

    proj = fresh(tmp_path / "cli", codebook_file, many)
    runner = CliRunner()
    res = runner.invoke(app, ["code", "-p", str(proj.root), "--coder", "dictionary",
                              "--batch", str(BATCH), "--jobs", "2"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"coded {N_DOCS} document(s)" in res.output
    assert_same_store(single, proj)
    res = runner.invoke(app, ["code", "-p", str(proj.root), "--jobs", "0"])
    assert res.exit_code == 2 and "--jobs" in res.output
    res = runner.invoke(app, ["code", "-p", str(proj.root), "--scheduler", "tcp://h:8786"])
    assert res.exit_code == 2 and "[E311]" in res.output and "--executor dask" in res.output
    res = runner.invoke(app, ["code", "-p", str(proj.root), "--executor", "spark"])
    assert res.exit_code == 2 and "dask" in res.output  # the parser lists the choices


def test_after_openmp_is_loaded_workers_are_spawned_and_code_the_same(
    single: Project, tmp_path: Path, codebook_file: Path, many: Path
) -> None:
    # a forked child of a process whose OpenMP runtime ran threads waits for them forever:
    # the semantic coders' engine and scikit-learn load one
    import sklearn.utils._openmp_helpers  # noqa: F401 - loads scikit-learn's OpenMP runtime

    assert not parallel.forkable()
    proj = fresh(tmp_path / "spawned", codebook_file, many)
    proj.code("dictionary", batch=BATCH, jobs=2)
    assert_same_store(single, proj)
