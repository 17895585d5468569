"""The method in words, from the run's provenance: a paragraph to paste into a paper and the
codebook as an appendix table (Markdown, LaTeX, DOCX).

Every figure in the paragraph is read from the project (documents, settings, the latest
coding run) or from the pack's ``validation.yaml``, which the paragraph names as the source of
the coder's agreement figures; nothing is typed in by hand.
"""

from __future__ import annotations

import io
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from secprio import __version__
from secprio.report.corpus import counts, span, synthetic
from secprio.report.html import table
from secprio.report.sections import Context, Section, register
from secprio.store import aggregate

if TYPE_CHECKING:
    from secprio.codebook.model import Codebook
    from secprio.project import Project

SCALE_WORDS = {
    "ratio": "9 for the most salient category of a frame and one point less for each halving "
    "of salience (9 − log2(s_max/s), clipped to 1–9)",
    "linear": "1 + 8·s/s_max, proportional to the frame's most salient category",
    "rank": "9 for the most salient category of a frame and one point less per rank",
}


def _validation(project: Project) -> tuple[str, dict[str, Any]]:
    """The pack's validation record for this codebook, and where it lives."""
    from secprio.coders.registry import validation_file, validation_record

    path = validation_file(project)
    if path is None:
        return "", {}
    return f"secprio/packs/{path.parent.name}/validation.yaml", validation_record(project)


def agreement(project: Project, coder: str) -> str:
    """The coder's validated agreement with human coding, and where the figure comes from."""
    where, record = _validation(project)
    row = (record.get("coders") or {}).get(coder)
    if not row:
        return (
            f"The {coder} coder has no recorded validation on real text for this codebook "
            "(`secprio validate` measures it against a gold set)."
        )
    fresh = (record.get("fresh") or {}).get(coder) or {}
    text = (
        f"Against adjudicated human coding of {row.get('data', 'a real-text set')}, the "
        f"{coder} coder reached a macro-F1 of {float(row['macro_f1_priority']):.2f} on the "
        f"priorities and {float(row['macro_f1_threat']):.2f} on the threats "
        f"(Krippendorff's α {float(row['alpha']):.2f}; {row.get('protocol', '')})"
    )
    if fresh:
        text += (
            f"; on {record['fresh'].get('data', 'a held-out set')}, labelled after the coder "
            f"was fixed, it reached {float(fresh['macro_f1_priority']):.2f} and "
            f"{float(fresh['macro_f1_threat']):.2f} (α {float(fresh['alpha']):.2f}), the "
            "estimate to cite"
        )
    base = (record.get("fresh") or {}).get("keywords") or {}
    if base:
        text += (
            f", against {float(base['macro_f1_priority']):.2f} and "
            f"{float(base['macro_f1_threat']):.2f} for a plain keyword baseline"
        )
    date = f", {record['date']}" if record.get("date") else ""
    return text + f" (source: {where}{date}; {record.get('source', '')})."


def facts(project: Project) -> dict[str, Any]:
    """The numbers the paragraph states, for tests and for the JSON beside the report."""
    docs = project.documents()
    n_sentences = int(aggregate.sentence_counts(project.store)["n_sentences"].sum())
    runs = project.runs()
    code_runs = runs[
        (runs["kind"] == "code") & (runs["codebook_sha256"] == project.codebook.sha256)
    ]
    last = code_runs.iloc[-1].to_dict() if len(code_runs) else {}
    cb = project.codebook
    m = project.settings.measure
    return {
        "n_documents": len(docs),
        "n_sentences": n_sentences,
        "n_synthetic": int(synthetic(docs).sum()) if len(docs) else 0,
        "span": span(docs) if len(docs) else "",
        "by_type": counts(docs["doc_type"]),
        "by_language": counts(docs["language"]),
        "by_year": ", ".join(
            f"{int(y)} {n}" for y, n in docs["year"].dropna().value_counts().sort_index().items()
        ),
        "undated": int(docs["year"].isna().sum()),
        "codebook": f"{cb.name} {cb.version}",
        "codebook_sha256": cb.sha256,
        "n_priority": len(cb.ids("priority")),
        "n_threat": len(cb.ids("threat")),
        "coder": str(last.get("coder") or project.coder()),
        "coder_version": str(last.get("coder_version", "")),
        "trained_on": str((last.get("settings") or {}).get("coder_trained_on", "")),
        "scale": m.scale,
        "weights": ", ".join(f"{k} {v:g}" for k, v in m.weights.items()),
        "bootstrap": m.bootstrap,
        "seed": m.seed,
        "min_documents": m.min_documents,
        "min_docs_coded": m.min_docs_coded,
        "secprio": __version__,
    }


def paragraph(project: Project) -> str:
    """The methods paragraph, ready to paste (plain text, one paragraph)."""
    f = facts(project)
    synth = (
        f" All {f['n_documents']} are synthetic summaries of dated, real documents, written for "
        "the case pack; each names the source it summarizes."
        if f["n_synthetic"] == f["n_documents"] and f["n_documents"]
        else (
            f" {f['n_synthetic']} of them are synthetic summaries of dated, real documents."
            if f["n_synthetic"]
            else ""
        )
    )
    undated = f"; {f['undated']} undated" if f["undated"] else ""
    trained = f", trained on {f['trained_on']}" if f["trained_on"] else ""
    return (
        f"The corpus consists of {f['n_documents']} documents ({f['n_sentences']} sentences) "
        f"dated {f['span']}: by type, {f['by_type']}; by language, {f['by_language']}; by "
        f"year, {f['by_year']}{undated}.{synth} Each sentence was coded with the codebook "
        f"{f['codebook']} ({f['n_priority']} security priorities and {f['n_threat']} external "
        f"threat factors; SHA-256 {f['codebook_sha256'][:12]}) by the {f['coder']} coder of "
        f"secprio {f['secprio']} (version {f['coder_version']}{trained}); human decisions on "
        f"a sentence override the machine's. {agreement(project, f['coder'])} The salience of "
        "a category in a frame (all documents or a period) is the weighted share of the "
        "frame's sentences coded with it, with sentence weights by document type "
        f"({f['weights']}). Salience is mapped to a 1–9 scale ({f['scale']}: "
        f"{SCALE_WORDS.get(f['scale'], f['scale'])}), priorities and threats separately. "
        "Every score carries a 95% percentile interval from a bootstrap over documents "
        f"({f['bootstrap']} replicates, seed {f['seed']}; each replicate resamples documents "
        "with replacement and recomputes salience and score). A score is reported as "
        f"insufficient evidence when its frame has fewer than {f['min_documents']} documents or "
        f"the category is coded in fewer than {f['min_docs_coded']} documents."
    )


# -- the codebook as an appendix table -----------------------------------------------------------
def codebook_table(codebook: Codebook) -> pd.DataFrame:
    rows = []
    for c in codebook.categories:
        rows.append(
            {
                "id": c.id,
                "code": c.code,
                "kind": c.kind,
                "label": c.label,
                "definition": " ".join(c.definition.split()),
                "MARPOR": ", ".join(c.marpor),
                "CAP": ", ".join(c.cap),
                "languages": ", ".join(sorted(k for k in c.patterns if c.patterns[k])),
                "patterns": sum(len(p) for p in c.patterns.values()),
            }
        )
    return pd.DataFrame(rows)


APPENDIX_COLUMNS = ["code", "kind", "label", "definition", "MARPOR", "CAP", "patterns"]


def markdown(codebook: Codebook) -> str:
    df = codebook_table(codebook)[APPENDIX_COLUMNS]
    head = "| " + " | ".join(df.columns) + " |\n|" + " --- |" * len(df.columns) + "\n"
    body = "".join(
        "| " + " | ".join(str(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |\n"
        for row in df.itertuples(index=False)
    )
    return (
        f"Table A1. Codebook {codebook.name} {codebook.version} (SHA-256 "
        f"{codebook.sha256[:12]}): categories, definitions and mappings.\n\n{head}{body}"
    )


_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _tex(value: object) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(value))


def latex(codebook: Codebook) -> str:
    """A ``longtable`` (packages: longtable, array); definitions wrap in a paragraph column."""
    df = codebook_table(codebook)[APPENDIX_COLUMNS]
    rows = "".join(
        " & ".join(_tex(v) for v in row) + r" \\" + "\n" for row in df.itertuples(index=False)
    )
    head = " & ".join(rf"\textbf{{{_tex(c)}}}" for c in df.columns) + r" \\"
    return (
        "% requires \\usepackage{longtable,array}\n"
        r"\begin{longtable}{@{}l l p{2.6cm} p{6.2cm} p{1.4cm} p{1cm} r@{}}" + "\n"
        rf"\caption{{Codebook {_tex(codebook.name)} {_tex(codebook.version)} (SHA-256 "
        rf"{codebook.sha256[:12]}): categories, definitions and mappings.}}\label{{tab:codebook}}"
        r" \\"
        + "\n"
        + r"\hline"
        + "\n"
        + head
        + "\n"
        + r"\hline\endhead"
        + "\n"
        + rows
        + r"\hline"
        + "\n"
        + r"\end{longtable}"
        + "\n"
    )


def docx(codebook: Codebook) -> bytes:
    """The appendix table as a Word document (python-docx, a dependency of secprio)."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt

    df = codebook_table(codebook)[APPENDIX_COLUMNS]
    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = sec.page_height, sec.page_width
    for side in ("left_margin", "right_margin"):
        setattr(sec, side, Cm(1.8))
    doc.add_paragraph(
        f"Table A1. Codebook {codebook.name} {codebook.version} (SHA-256 "
        f"{codebook.sha256[:12]}): categories, definitions and mappings."
    )
    table = doc.add_table(rows=1, cols=len(df.columns))
    table.style = "Table Grid"
    for cell, name in zip(table.rows[0].cells, df.columns, strict=True):
        cell.text = str(name)
        cell.paragraphs[0].runs[0].bold = True
    for row in df.itertuples(index=False):
        for cell, value in zip(table.add_row().cells, row, strict=True):
            cell.text = str(value)
    for row in table.rows:
        for cell in row.cells:
            for p in cell.paragraphs:
                for run in p.runs:
                    run.font.size = Pt(8)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def write(project: Project, out: Path) -> list[Path]:
    """methods.txt and the appendix (codebook.md, codebook.tex, codebook.docx) in ``out``."""
    from secprio import files

    out.mkdir(parents=True, exist_ok=True)
    cb = project.codebook
    written = {
        "methods.txt": paragraph(project) + "\n",
        "codebook.md": markdown(cb),
        "codebook.tex": latex(cb),
    }
    paths = []
    for name, text in written.items():
        files.write_text(out / name, text)
        paths.append(out / name)
    (out / "codebook.docx").write_bytes(docx(cb))
    return paths + [out / "codebook.docx"]


# -- the report section -------------------------------------------------------------------------
@register(94)
def methods_section(ctx: Context) -> Section:
    project = ctx.project
    cb = project.codebook
    text = paragraph(project)
    html = (
        "<p>Generated from this run's provenance (documents, settings, the coding run and the "
        "pack's validation record); ready to paste. Also in <code>methods.txt</code>; "
        "<code>secprio methods -p PROJECT</code> prints it.</p>"
        f'<blockquote class="methods" id="methods-paragraph">{escape(text)}</blockquote>'
        "<h3>Appendix: the codebook</h3>"
        "<p>As <code>codebook.md</code> (Markdown), <code>codebook.tex</code> (LaTeX "
        "<code>longtable</code>) and <code>codebook.docx</code> (Word).</p>"
        + table(codebook_table(cb)[APPENDIX_COLUMNS], id="codebook-appendix")
    )
    return Section(
        "methods",
        "Methods paragraph and codebook appendix",
        html,
        files={
            "methods.txt": text + "\n",
            "codebook.md": markdown(cb),
            "codebook.tex": latex(cb),
            "codebook.docx": docx(cb),
        },
    )
