"""Validation: P/R/F1 with intervals, confusions, gold files, the validate/import-gold CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score
from typer.testing import CliRunner

from secprio.cli import app
from secprio.exchange import ExchangeError
from secprio.exchange.gold import read, write
from secprio.measure.validation import confusions, evaluate, macro_f1, matrix, paired
from secprio.project import Project

CATS = ["a", "b", "c"]


def random_labels(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.random((n, 3)) < [0.3, 0.1, 0.2]
    pred = truth.copy()
    pred[rng.random(pred.shape) < 0.15] ^= True
    return truth, pred


def test_point_estimates_match_scikit_learn() -> None:
    truth, pred = random_labels(0)
    df = evaluate(truth, pred, CATS, n_boot=0).set_index("category")
    for i, c in enumerate(CATS):
        assert df.loc[c, "precision"] == pytest.approx(precision_score(truth[:, i], pred[:, i]))
        assert df.loc[c, "recall"] == pytest.approx(recall_score(truth[:, i], pred[:, i]))
        assert df.loc[c, "f1"] == pytest.approx(f1_score(truth[:, i], pred[:, i]))
    assert df.loc["macro", "f1"] == pytest.approx(f1_score(truth, pred, average="macro"))
    assert macro_f1(truth, pred) == pytest.approx(df.loc["macro", "f1"])


def test_bootstrap_intervals_bracket_the_estimate_and_are_seeded() -> None:
    truth, pred = random_labels(1)
    df = evaluate(truth, pred, CATS, n_boot=400, seed=5)
    assert (df["f1_lo"] <= df["f1"]).all() and (df["f1"] <= df["f1_hi"]).all()
    assert (df["f1_hi"] - df["f1_lo"] > 0.01).all()
    again = evaluate(truth, pred, CATS, n_boot=400, seed=5)
    assert df.equals(again)


def test_a_category_nobody_used_is_left_out_of_the_macro_average() -> None:
    truth = np.array([[1, 0], [0, 0], [1, 0]], dtype=bool)
    df = evaluate(truth, truth.copy(), ["x", "never"], n_boot=50).set_index("category")
    assert np.isnan(df.loc["never", "f1"])
    assert df.loc["macro", "f1"] == 1.0


def test_confusions_pair_what_the_human_missed_with_what_the_machine_added() -> None:
    truth = matrix({"1": {"a"}, "2": {"a"}, "3": set(), "4": {"b"}}, ["1", "2", "3", "4"], CATS)
    pred = matrix({"1": {"b"}, "2": {"b"}, "3": {"c"}, "4": {"b"}}, ["1", "2", "3", "4"], CATS)
    df = confusions(truth, pred, CATS, texts=["one", "two", "three", "four"])
    assert df.iloc[0].to_dict() == {"human": "a", "machine": "b", "count": 2, "example": "one"}
    assert ("(none)", "c") in set(zip(df["human"], df["machine"], strict=True))
    assert len(df) == 2


def test_paired_comparison_ties_coders_within_noise_and_separates_a_clearly_worse_one() -> None:
    truth, good = random_labels(2, n=400)
    rng = np.random.default_rng(3)
    close = truth.copy()  # errs as often as good, on other sentences: a draw
    close[rng.random(close.shape) < 0.15] ^= True
    bad = truth.copy()
    bad[rng.random(bad.shape) < 0.45] ^= True  # wrong on nearly half the cells
    pages = np.arange(400) // 5  # 80 pages of 5 sentences
    blocks = [[0, 1], [2]]
    df = paired(truth, {"bad": bad, "close": close, "good": good}, blocks, groups=pages,
                n_boot=300, seed=1).set_index("coder")  # fmt: skip
    best = df.index[0]
    assert best in ("good", "close") and df.loc[best, "behind_best"] == 0.0
    assert df.loc["good", "tied"] and df.loc["close", "tied"]
    assert not df.loc["bad", "tied"] and df.loc["bad", "behind_lo"] > 0.1
    expected = np.mean([macro_f1(truth[:, b], good[:, b]) for b in blocks])
    assert df.loc["good", "score"] == pytest.approx(expected)
    again = paired(truth, {"bad": bad, "close": close, "good": good}, blocks, groups=pages,
                   n_boot=300, seed=1).set_index("coder")  # fmt: skip
    assert df.equals(again)


# -- gold files ----------------------------------------------------------------------------
def test_gold_csv_and_jsonl_read_alike(tmp_path: Path) -> None:
    csv = tmp_path / "g.csv"
    csv.write_text(
        "id,text,category,coder\n"
        "1,Joint drills were held.,military_cooperation,ana\n"
        "1,Joint drills were held.,,ben\n"
        "2,Culture week opened.,,ana\n",
        encoding="utf-8",
    )
    gold = read(csv, categories=["military_cooperation"])
    assert gold.coders == ["ana", "ben"]
    assert gold.labels("ana") == {"1": frozenset({"military_cooperation"}), "2": frozenset()}
    jl = write(gold, tmp_path / "g.jsonl")
    again = read(jl)
    assert again.all_labels() == gold.all_labels()
    lines = [json.loads(x) for x in jl.read_text(encoding="utf-8").splitlines()]
    assert {"id", "text", "lang", "category", "coder"} <= set(lines[0])


@pytest.mark.parametrize(("content", "words"), [
    ("text,coder\nA sentence.,ana\n", ["header", "category"]),
    ("text,category,coder\nA sentence.,militry,ana\n", ["line 2", "militry", "military"]),
    ("text,category,coder\n,military,ana\n", ["line 2", "neither text nor doc"]),
    ("text,category,coder\nA.,military,ana\nA.,,ana\n", ["line 3", "nothing"]),
    ("doc,start,end,category\nnope.md,0,5,military\n", ["line 2", "nope.md"]),
])  # fmt: skip
def test_gold_errors_name_file_line_and_fix(tmp_path: Path, content: str, words: list[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ExchangeError) as err:
        read(path, categories=["military"], documents={})
    message = str(err.value)
    assert "bad.csv" in message and "fix:" in message
    for w in words:
        assert w in message


def test_gold_jsonl_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "category": ""}\n{"text": oops}\n', encoding="utf-8")
    with pytest.raises(ExchangeError, match="line 2"):
        read(path)


def test_gold_by_document_offsets(coded: Project, tmp_path: Path) -> None:
    from secprio.exchange.gold import project_documents

    docs = project_documents(coded)
    text = docs["a.md"]
    start = text.index("The states agreed")
    end = text.index(".", start) + 1
    path = tmp_path / "offsets.csv"
    path.write_text(
        f"doc,start,end,category,coder\na.md,{start},{end},counter_terrorism,ana\n",
        encoding="utf-8",
    )
    gold = read(path, documents=docs)
    assert gold.rows["text"].iat[0] == "The states agreed on military cooperation."


# -- through the CLI -----------------------------------------------------------------------
runner = CliRunner()


def gold_for(project: Project, path: Path) -> Path:
    """A gold file on the mini corpus: two coders who disagree on one sentence."""
    sents = project.sentences(text=True)
    rows = ["id,text,category,coder"]
    for sid, text in zip(sents["segment_id"], sents["text"], strict=True):
        lower = text.lower()
        cat = (
            "military_cooperation"
            if "military" in lower or "exercises" in lower
            else "terrorism_transnational"
            if "terror" in lower
            else ""
        )
        rows.append(f'seg:{sid},"{text}",{cat},ana')
        other = "" if "was discussed" in text else cat  # ben disagrees once
        rows.append(f'seg:{sid},"{text}",{other},ben')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_validate_command(coded: Project, tmp_path: Path) -> None:
    gold = gold_for(coded, tmp_path / "gold.csv")
    res = runner.invoke(
        app,
        [
            "validate",
            str(gold),
            "-c",
            "dictionary",
            "--boot",
            "100",
            "-o",
            str(tmp_path / "out"),
            "-p",
            str(coded.root),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "F1 per category" in res.output and "Krippendorff" in res.output
    assert "ben vs ana" in res.output
    metrics = (tmp_path / "out" / "validation_metrics.csv").read_text()
    assert "military_cooperation" in metrics and "macro" in metrics
    assert (coded.root / ".secprio" / "validation" / "meta.json").is_file()


def test_validate_without_gold_says_what_to_do(coded: Project) -> None:
    res = runner.invoke(app, ["validate", "-p", str(coded.root)])
    assert res.exit_code == 2
    assert "gold.csv" in res.output


def test_validate_checks_a_codebook(codebook_file: Path) -> None:
    res = runner.invoke(app, ["validate", str(codebook_file)])
    assert res.exit_code == 0 and "no problems" in res.output


def test_import_gold_stores_decisions_that_override_the_machine(
    coded: Project, tmp_path: Path
) -> None:
    gold = gold_for(coded, tmp_path / "gold.csv")
    before = coded.codings()
    res = runner.invoke(app, ["import-gold", str(gold), "-p", str(coded.root)])
    assert res.exit_code == 0, res.output
    after = coded.codings()
    assert set(after["source"]) == {"human"}  # every machine cell got a human decision
    sents = coded.sentences(text=True).set_index("segment_id")["text"]
    agreed = [s for s, t in sents.items() if t.startswith("The states agreed")][0]
    cell = after[(after["segment_id"] == agreed) & (after["category"] == "military_cooperation")]
    assert cell["value"].tolist() == [1] and cell["source"].tolist() == ["human"]
    culture = [s for s, t in sents.items() if t.startswith("Culture")][0]
    assert set(after.loc[after["segment_id"] == culture, "value"]) == {0}
    assert len(before) > 0 and "0 sentence(s) not in the corpus" in res.output


def test_report_has_a_validation_section(coded: Project, tmp_path: Path) -> None:
    from secprio.report.build import write as write_report

    gold_for(coded, coded.root / "gold.csv")
    report = write_report(coded, tmp_path / "report")
    html = report.html.read_text(encoding="utf-8")
    assert "Validation against human coding" in html
    assert "0.667" in html and "0.800" in html
    assert (tmp_path / "report" / "validation_alpha.csv").is_file()


def test_validate_refuses_an_unknown_coder(coded: Project, tmp_path: Path) -> None:
    gold = gold_for(coded, tmp_path / "gold.csv")
    res = runner.invoke(app, ["validate", str(gold), "-c", "bogus", "-p", str(coded.root)])
    assert res.exit_code == 2
    assert "[E306]" in res.output and "unknown coder 'bogus'" in res.output
    assert "--coder NAME" in res.output and "F1 per category" not in res.output


def test_a_report_reuses_its_validation_until_what_it_depends_on_changes(
    coded: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    from secprio.coders.base import Coding
    from secprio.report import validation as section
    from secprio.report.build import write as write_report

    monkeypatch.setenv("SECPRIO_CACHE", str(tmp_path / "cache"))
    gold_for(coded, coded.root / "gold.csv")
    runs: list[str] = []
    real = section.validate

    def counted(*args: object, **kwargs: object) -> object:
        runs.append("validate")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(section, "validate", counted)

    def shown(folder: str) -> str:
        html = write_report(coded, tmp_path / folder).html.read_text(encoding="utf-8")
        found = re.search(r'<section id="validation".*?</section>', html, re.S)
        assert found is not None and "0.667" in found.group(0)
        return found.group(0)

    first = shown("r1")
    assert shown("r2") == first and runs == ["validate"]  # the second report refits nothing
    seg = int(coded.sentences()["segment_id"].iat[0])
    coded.store.add_human([Coding(seg, "military_cooperation", "anna", "human")])
    shown("r3")  # new training data (a human coding): validated again
    assert runs == ["validate", "validate"]
    monkeypatch.setenv("SECPRIO_CACHE", "")  # no cache: every report validates
    shown("r4")
    assert len(runs) == 3
