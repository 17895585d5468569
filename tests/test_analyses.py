"""The analysis registry: every analysis gives the same frame through ``api``, the report's
tables and the CLI's ``--csv``; its frame has the columns its entry declares; names and
commands are taken once; a plugin package's analysis appears in the CLI, the API and the
report."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from secprio import api, files
from secprio.analyses import REGISTRY, Analysis, Cli, Data, Param, register
from secprio.analyses.registry import Analyses
from secprio.cli import app, load_all
from secprio.cli.analysis import argv
from secprio.config import MeasureSettings, Settings
from secprio.errors import DuplicateName, PluginError, SecprioError
from secprio.project import Project
from secprio.report import build

from .conftest import CODEBOOK, DOCS, write_doc
from .test_plugins import SRC, install_plugin, secprio

RUN = CliRunner(env={"COLUMNS": "200"})
load_all()

EVENTS = """\
- id: summit-2019
  date: 2019-05-01
  title: A summit
  type: summit
  scope: organization
  domains: [military_cooperation]
  url: https://example.org/summit
- id: attack-2021
  date: 2021-01-01
  title: An attack
  type: crisis
  scope: external
  domains: [terrorism_transnational]
  key: true
"""
TRADE = """\
  - id: trade
    kind: priority
    label: Trade
    definition: Trade among the states.
    patterns:
      en: ["trade"]
"""
EXPERT = """\
name: test-expert
citation: Ratings written for this test.
ratings: {military_cooperation: 9, counter_terrorism: 6, trade: 3}
pairs:
  - threat: terrorism_transnational
    responses: [counter_terrorism]
"""
CLAIMS = """\
- id: drills-2019
  text: The states held joint exercises in 2019.
  date: 2019
  categories: [military_cooperation]
  expected: supported
- id: pact-2023
  text: The states signed a trade pact in 2023.
  date: 2023
  expected: not_found
"""


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, Path]:
    """A small coded project with events, an expert assessment and claims, and its report."""
    root = tmp_path_factory.mktemp("analyses")
    (root / "mini.yaml").write_text(CODEBOOK + TRADE, encoding="utf-8")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, (date, doc_type, issuer, lang, paras) in DOCS.items():
        write_doc(corpus, name, date, doc_type, issuer, lang, paras)
    for name, text in (("events", EVENTS), ("expert", EXPERT), ("claims", CLAIMS)):
        (root / f"{name}.yaml").write_text(text, encoding="utf-8")
    settings = Settings(
        name="mini",
        events="../events.yaml",
        expert="../expert.yaml",
        claims="../claims.yaml",
        measure=MeasureSettings(bootstrap=60, seed=7),
    )
    project = Project.init(root / "p", codebook=root / "mini.yaml", settings=settings)
    project.ingest([corpus])
    project.code()
    build.write(project, root / "report")
    return project, root / "report"


def _csv(df: pd.DataFrame, path: Path) -> bytes:
    files.write_csv(path, df)
    return path.read_bytes()


def _instances(entry: Analysis, project: Project) -> list[tuple[str, dict[str, object]]]:
    if entry.report_tables is None:
        return []
    return [(name, dict(opts)) for name, opts in entry.report_tables(Data(project))]


@pytest.mark.parametrize("name", list(REGISTRY))
def test_the_report_the_cli_and_the_api_give_the_same_frame(
    name: str, analysed: tuple[Project, Path], tmp_path: Path
) -> None:
    project, report = analysed
    entry = REGISTRY[name]
    instances = _instances(entry, project)
    first = instances[0][1] if instances else {}
    frame = getattr(api, name)(project, **first)
    assert tuple(frame.columns) == entry.columns, name  # the schema the entry declares

    by_table: dict[str, list[pd.DataFrame]] = {}
    for table, opts in instances:
        try:
            by_table.setdefault(table, []).append(getattr(api, name)(project, **opts))
        except SecprioError:  # the report leaves out what cannot be computed, and says so
            assert not (report / f"{table}.csv").exists(), (name, table)
    for table, frames in by_table.items():
        want = _csv(pd.concat(frames, ignore_index=True), tmp_path / f"api-{table}.csv")
        assert (report / f"{table}.csv").read_bytes() == want, (name, table)

    if entry.section is not None:  # the section is in the page
        section = entry.section(Data(project, strict=False))
        page = (report / "report.html").read_text(encoding="utf-8")
        assert section is not None and f'<section id="{section.id}">' in page, name

    if entry.cli is None:
        return
    for i, (_, opts) in enumerate(instances or [("", {})]):
        path = tmp_path / f"cli-{i}.csv"
        words = argv(entry, opts)
        res = RUN.invoke(app, [*words, "--csv", str(path), "-p", str(project.root)])
        assert res.exit_code == 0, (words, res.output)
        want = _csv(getattr(api, name)(project, **opts), tmp_path / f"want-{i}.csv")
        assert path.read_bytes() == want, (name, words)


def test_every_analysis_is_reachable_from_the_cli_or_the_report() -> None:
    """An entry nobody can see except in Python is on purpose: the watch test (shifts) and
    the passages of every pair (the report shows Table 1's)."""
    hidden = {n for n, e in REGISTRY.items() if e.cli is None and e.report_tables is None}
    assert hidden == {"shifts", "link_passages"}


# the signatures of the api functions before the registry made them (commit bba118e)
OLD_API = {
    "links": "project, *, unit='paragraph', window=1, alpha=0.05, min_count=2, coder=None",
    "link_passages": "project, *, unit='paragraph', window=1, top=3, coder=None",
    "table1": "project, *, unit='paragraph', window=1, alpha=0.05, min_count=2, "
    "expert_file=None, coder=None",
    "grid": "project, *, by='members', kind='priority', attribution='issuer', coder=None",
    "window": "project, *, event, before='2y', after='2y', coder=None",
    "shifts": "project, *, window='30d', baseline='', by=(), fdr=0.05, coder=None, "
    "unit='documents'",
    "trends": "project, *, coder=None",
    "projection": "project, *, years=3, min_years=6, min_sentences=30, coder=None",
    "expert": "project, *, file=None, scale=None, coder=None",
    "expert_by_period": "project, *, file=None, scale=None, coder=None",
    "expert_correlations": "project, *, file=None, scale=None, coder=None",
    "claims": "project, *, file=None, semantic=True, coder=None",
    "claim_passages": "project, *, file=None, semantic=True, coder=None",
    "timeline": "project, *, file=None, tolerance_days=3",
    "robustness": "project, *, coder=None, variants=False",
}


@pytest.mark.parametrize("name", sorted(OLD_API))
def test_the_api_keeps_its_functions_and_signatures(name: str) -> None:
    fn = getattr(api, name)
    assert str(inspect.signature(fn)) == f"({OLD_API[name]})"
    assert fn.__name__ == name and fn.__doc__ and fn.__module__ == "secprio.api"
    sig = inspect.signature(fn)
    required = {
        n: "x" for n, p in sig.parameters.items() if p.default is p.empty and n != "project"
    }
    with pytest.raises(TypeError, match="no_such_option"):  # refused before the project opens
        fn("nowhere", **required, no_such_option=1)
    assert name in api.names() and name in dir(api)


def test_an_unknown_api_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_analysis"):
        api.no_such_analysis  # noqa: B018


def _noop(data: Data) -> pd.DataFrame:
    return pd.DataFrame()


def test_a_second_analysis_of_a_name_is_refused() -> None:
    before = REGISTRY["links"]
    with pytest.raises(DuplicateName, match="two analyses are called 'links'") as err:
        register(Analysis("links", _noop, "Another links."))
    assert err.value.code == "E011" and "tests.test_analyses:_noop" in str(err.value)
    assert REGISTRY["links"] is before  # the first is kept


def test_two_analyses_on_one_command_need_an_option_to_tell_them_apart() -> None:
    reg = Analyses("analysis", "secprio.test-analyses", plural="analyses")
    reg.add("a", Analysis("a", _noop, "A.", cli=Cli("same")))
    reg.add("b", Analysis("b", _noop, "B.", cli=Cli("same")))
    with pytest.raises(DuplicateName, match="both run as 'secprio same'") as err:
        reg.commands()
    assert err.value.code == "E017"
    ok = Analyses("analysis", "secprio.test-analyses")
    ok.add("a", Analysis("a", _noop, "A.", cli=Cli("same", help="Either.")))
    ok.add("b", Analysis("b", _noop, "B.", params=(Param("x", bool, False),),
                         cli=Cli("same", when="x")))  # fmt: skip
    assert [e.name for e in ok.commands()["same"]] == ["a", "b"]


def test_a_registry_entry_must_be_an_analysis_of_its_name() -> None:
    reg = Analyses("analysis", "secprio.test-analyses")
    with pytest.raises(PluginError, match="not an Analysis") as err:
        reg.add("f", _noop)  # type: ignore[arg-type]
    assert err.value.code == "E015"
    with pytest.raises(PluginError, match="registered as 'g'") as err:
        reg.add("g", Analysis("f", _noop, "F."))
    assert err.value.code == "E016"


TOY = '''\
"""A third party's analysis: coded sentences per category of one kind."""

import pandas as pd

from secprio.analyses import Analysis, Cli, Param, tables
from secprio.report.sections import Section


def count(data, *, kind):
    cods = data.codings[data.codings["value"] == 1]
    ids = data.project.codebook.ids(kind)
    return pd.DataFrame(
        {"category": ids, "sentences": [int((cods["category"] == c).sum()) for c in ids]}
    )


def section(data):
    df = data.run("toy_count")
    return Section(
        "toy-count", "Toy count", f"<p>toy counted {int(df['sentences'].sum())} codings</p>",
        tables={"toy_count": df},
    )


TOY = Analysis(
    "toy_count",
    count,
    "Coded sentences per category of one kind.",
    params=(Param("kind", str, "priority", "The kind of category."),),
    columns=("category", "sentences"),
    cli=Cli("toy-count", help="Coded sentences per category (a plugin's analysis)."),
    section=section,
    order=99,
    report_tables=tables(("toy_count", {})),
)
'''


def test_a_plugin_package_adds_an_analysis_to_the_cli_the_api_and_the_report(
    tmp_path: Path, coded: Project
) -> None:
    site = install_plugin(
        tmp_path / "site",
        "[secprio.analyses]\ntoy_count = toy_analysis:TOY\n",
        name="toy_analysis",
        source=TOY,
    )
    root = str(coded.root)
    res = secprio(site, "--help", cwd=tmp_path)
    assert res.returncode == 0 and "toy-count" in res.stdout, res.stdout + res.stderr
    assert "a plugin's analysis" in res.stdout

    res = secprio(site, "toy-count", "-p", root, "--csv", "cli.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "military_cooperation" in res.stdout  # the default view: the frame as a table
    res = secprio(site, "toy-count", "-p", root, "--kind", "threat", cwd=tmp_path)
    assert res.returncode == 0 and "terrorism_transnational" in res.stdout, res.stdout

    res = secprio(site, "report", "-p", root, "--out", "r", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert '<section id="toy-count">' in page and "toy counted" in page

    code = textwrap.dedent(f"""\
        from secprio import api, files
        files.write_csv("api.csv", api.toy_count({root!r}))
        print(sorted(api.names()))
        """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(SRC)])}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "'toy_count'" in done.stdout
    cli = (tmp_path / "cli.csv").read_bytes()
    assert (
        cli
        == (tmp_path / "api.csv").read_bytes()
        == (tmp_path / "r" / "toy_count.csv").read_bytes()
    )
    frame = pd.read_csv(tmp_path / "cli.csv")
    assert list(frame["category"]) == coded.codebook.ids("priority")
    assert frame["sentences"].sum() > 0


def test_a_plugin_may_not_take_a_command_of_secprio(tmp_path: Path, coded: Project) -> None:
    source = TOY.replace('Cli("toy-count"', 'Cli("score"')
    site = install_plugin(
        tmp_path / "site",
        "[secprio.analyses]\ntoy_count = toy_analysis:TOY\n",
        name="toy_analysis",
        source=source,
    )
    res = secprio(site, "links", "-p", str(coded.root), cwd=tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode == 2 and "E019" in out and "'secprio score'" in out, out
    assert "Traceback" not in out
