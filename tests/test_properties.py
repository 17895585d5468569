"""Property-based: any corpus the ingest accepts goes through every command without a crash.

Hypothesis draws small corpora — one to four documents whose metadata is present, partly
present, absent or odd (no date, a year only, no members, an unknown issuer code, a date in
the future, metadata from front matter, a sidecar or nowhere) — and runs ingest → code →
score (overall and by every grouping and attribution rule) → report, and every analysis, on
each through the CLI. No command may crash or print a traceback; an exit status 2 must come
with a message that names a fix; no output may say ``nan``. What cannot be computed must be
said: a cell without evidence is "no evidence", never a score.

``SECPRIO_PROPERTY_EXAMPLES`` sets how many corpora are drawn (default 4, to keep the default
suite fast; the closing note of issue 9 reports a run with more).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from secprio.cli import app
from secprio.config import MeasureSettings, Settings
from secprio.measure import groups
from secprio.project import Project

EXAMPLES = int(os.environ.get("SECPRIO_PROPERTY_EXAMPLES", "4"))
RUN = CliRunner()
SEEN: list[int] = []  # documents of every corpus drawn, for the count at the end

CODEBOOK = """\
name: props
version: "1"
categories:
  - id: military_cooperation
    kind: priority
    label: Military cooperation
    definition: Joint defence activity among the states.
    patterns: {en: ["military cooperation", "joint exercise*"], ru: ["военн* сотрудничеств*"]}
  - id: counter_terrorism
    kind: priority
    label: Counter-terrorism
    definition: Cooperation against terrorism.
    patterns: {en: ["counter-terrorism", "fight against terror*"]}
  - id: energy_security
    kind: priority
    label: Energy security
    definition: Secure supply and transit of energy.
    patterns: {en: ["energy security", "pipeline*"]}
  - id: terrorism_transnational
    kind: threat
    label: Terrorism
    definition: Terrorism named as a threat.
    patterns: {en: ["terroris*"], ru: ["терроризм*"]}
  - id: russian_influence
    kind: threat
    label: Russian influence
    definition: Pressure from Russia.
    patterns: {en: ["russian pressure"]}
"""
EVENTS = """\
- id: summit-2020
  date: 2020-06-01
  title: A summit
  type: summit
  scope: organization
  domains: [military_cooperation]
  url: https://example.org/summit
  key: true
"""
EXPERT = """\
name: test-expert
citation: Ratings written for this test.
ratings: {military_cooperation: 9, counter_terrorism: 7, energy_security: 5}
pairs:
  - threat: terrorism_transnational
    responses: [counter_terrorism]
"""
CLAIMS = """\
- id: drills-2020
  text: The states held joint exercises in 2020.
  date: 2020
  categories: [military_cooperation]
  expected: supported
"""
SENTENCES = (
    "The states agreed on military cooperation.",
    "They will hold joint exercises next year.",
    "Terrorism remains a threat to the region.",
    "The fight against terrorism continues.",
    "Energy security depends on new pipelines.",
    "Russian pressure was discussed at length.",
    "Trade between the members grew fast.",
    "A culture week opened in the capital.",
    "Counter-terrorism centres will share data.",
)
RUSSIAN = "Стороны обсудили военное сотрудничество. Терроризм угрожает региону."

dates = st.sampled_from([None, "2019", "2021-05", "2018-03-02", "2020-06-01", "2023-11-11"])
optional = {
    "date": dates,
    "doc_type": st.sampled_from([None, "declaration", "news", "speech", "analysis"]),
    "issuer": st.sampled_from([None, "OTS", "TR", "KZ", "QQ"]),
    "members": st.sampled_from([None, [], ["AZ"], ["AZ", "TR"], ["KZ", "TR", "UZ"], ["QQ"]]),
    "language": st.sampled_from([None, "en"]),
    "title": st.sampled_from([None, "A title"]),
}


@st.composite
def documents(draw: st.DrawFn) -> dict[str, object]:
    meta = {k: v for k, s in optional.items() if (v := draw(s)) is not None}
    paragraphs = draw(
        st.lists(
            st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=3).map(" ".join),
            min_size=1,
            max_size=3,
        )
    )
    if draw(st.booleans()) and meta.get("language") is None:
        paragraphs.append(RUSSIAN)
    source = draw(st.sampled_from(["front", "sidecar", "none"]))
    return {"meta": meta, "paragraphs": paragraphs, "source": source}


def _yaml(meta: dict[str, object]) -> str:
    lines = []
    for k, v in meta.items():
        value = "[" + ", ".join(v) + "]" if isinstance(v, list) else f'"{v}"'
        lines.append(f"{k}: {value}")
    return "\n".join(lines) + "\n"


def _write(folder: Path, docs: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True)
    for i, d in enumerate(docs):
        body = "\n\n".join(d["paragraphs"]) + "\n"  # type: ignore[arg-type]
        meta = d["meta"]
        path = folder / f"doc{i}.md"
        if d["source"] == "front" and meta:
            path.write_text("---\n" + _yaml(meta) + "---\n" + body, encoding="utf-8")  # type: ignore[arg-type]
        else:
            path.write_text(body, encoding="utf-8")
            if d["source"] == "sidecar" and meta:
                (folder / f"doc{i}.yaml").write_text(_yaml(meta), encoding="utf-8")  # type: ignore[arg-type]


def _project(root: Path) -> Path:
    (root / "cb.yaml").write_text(CODEBOOK, encoding="utf-8")
    for name, text in (("events", EVENTS), ("expert", EXPERT), ("claims", CLAIMS)):
        (root / f"{name}.yaml").write_text(text, encoding="utf-8")
    settings_ = Settings(
        name="props",
        events="../events.yaml",
        expert="../expert.yaml",
        claims="../claims.yaml",
        members=["AZ", "KZ", "TR", "UZ"],
        issuers=["OTS"],
        measure=MeasureSettings(bootstrap=40, seed=3),
    )
    return Project.init(root / "p", codebook=root / "cb.yaml", settings=settings_).root


def _run(*args: str) -> tuple[int, str]:
    res = RUN.invoke(app, list(args), catch_exceptions=False)
    text = res.output
    assert "Traceback" not in text and "unexpected" not in text, (args, text)
    assert not re.search(r"\bnan\b", text, re.IGNORECASE), (args, text)
    assert res.exit_code in (0, 2), (args, res.exit_code, text)
    if res.exit_code == 2:
        assert "fix:" in text, (args, text)
    return res.exit_code, text


def _commands(p: str) -> list[tuple[str, ...]]:
    cmds: list[tuple[str, ...]] = [("score", "-p", p)]
    cmds += [("score", "-p", p, "--by", by) for by in groups.GROUPINGS if by != "members"]
    cmds += [
        (verb, "-p", p, "--by", "members", "--attribution", rule)
        for verb in ("score", "compare")
        for rule in groups.ATTRIBUTIONS
    ]
    cmds += [("compare", "-p", p, "--by", by, "--value", "pct") for by in ("year", "doc_type")]
    cmds += [
        ("links", "-p", p),
        ("links", "-p", p, "--all", "--unit", "sentence"),
        ("compare", "-p", p, "--event", "summit-2020"),
        ("compare", "-p", p, "--event", "2031-01-01"),
        ("trends", "-p", p),
        ("expert", "-p", p),
        ("claims", "-p", p, "--lexical-only"),
        ("timeline", "-p", p),
        ("status", "-p", p, "--documents", "--warnings"),
    ]
    return cmds


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same corpora every run: a failure reproduces
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(docs=st.lists(documents(), min_size=1, max_size=4))
def test_any_corpus_goes_through_every_command(tmp_path_factory, docs) -> None:
    root = tmp_path_factory.mktemp("corpus")
    _write(root / "docs", docs)
    p = str(_project(root))
    code, text = _run("ingest", "-p", p, str(root / "docs"))
    assert code == 0
    without = sum(1 for d in docs if not d["meta"] or d["source"] == "none")
    assert text.count("no metadata") == without  # every such file is named, with the fix
    _run("code", "-p", p)
    for cmd in _commands(p):
        _run(*cmd)
    out = root / "report"
    code, _ = _run("report", "-p", p, "--out", str(out))
    assert code == 0
    scores = pd.read_csv(out / "scores.csv")
    none = scores["evidence"] == "no evidence"
    assert (scores.loc[none, "n_coded"] == 0).all() and scores.loc[none, "score"].isna().all()
    assert scores.loc[~none, "score"].between(1, 9).all()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r">\s*nan\s*<|nan%", html, re.IGNORECASE)
    warnings = pd.read_csv(out / "warnings.csv")
    assert warnings["warning"].str.contains("fix:").all()
    SEEN.append(len(docs))


def test_zz_count_of_generated_corpora() -> None:
    """Runs after the property (file order): the corpora drawn, printed with -s."""
    if SEEN:
        print(f"\n{len(SEEN)} generated corpora ({sum(SEEN)} documents), none crashed")
        assert len(SEEN) >= 1
