"""The table of commands: name → (module under ``secprio.cli``, one-line help).

``secprio --help`` lists the commands from this table without importing their modules (which
load pandas, SQLAlchemy and scikit-learn), so it starts at once; a command's module is imported
when the command runs. ``tests/test_cli_contract.py`` checks that the table matches the commands
the modules register, so a new command fails the tests until it is listed here.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "core",
        "Create a project: settings (secprio.yaml), a codebook and an empty store.",
    ),
    "ingest": (
        "core",
        "Read documents (PDF, DOCX, HTML, TXT, MD) and their metadata into the store.",
    ),
    "code": (
        "core",
        "Code every sentence not yet coded; an interrupted run resumes where it stopped.",
    ),
    "score": (
        "core",
        "Print the 1–9 scores with 95% bootstrap intervals and the evidence behind each.",
    ),
    "report": (
        "core",
        "Write the offline HTML report, figures (PNG at 300 dpi, SVG, PDF) and tables (CSV, JSON).",
    ),
    "fetch": (
        "core",
        "Download the documents a sources file lists, then ingest them into the project.",
    ),
    "demo": (
        "core",
        "Run the whole pipeline on a bundled case pack and write the report.",
    ),
    "status": (
        "core",
        "What is in a project: documents, runs, coders and their codings, warnings.",
    ),
    "links": (
        "analysis",
        "Threat → response links: lift, log-odds ratio [95% CI], Fisher p and BH q per pair.",
    ),
    "compare": (
        "analysis",
        "Salience before vs after an event (--event), or a comparison grid (--by).",
    ),
    "claims": (
        "analysis",
        "Check claims against the corpus: best passages, date agreement, a verdict.",
    ),
    "trends": (
        "analysis",
        "Salience per year with 95% intervals, and a labelled extrapolation.",
    ),
    "expert": (
        "analysis",
        "Expert ratings vs evidence scores: differences and rank correlations with 95% CIs.",
    ),
    "timeline": (
        "analysis",
        "Events by date, scope and sourcing, with the documents of the same dates.",
    ),
    "methods": (
        "analysis",
        "A methods paragraph from the run's provenance, ready to paste, and the codebook appendix.",
    ),
    "suggest": (
        "coding",
        "List the sentences whose human label would teach the supervised coder most.",
    ),
    "validate": (
        "coding",
        "Machine vs human coding: P, R, F1 (95% intervals), confusions, Krippendorff's alpha.",
    ),
    "export": (
        "coding",
        "Export to REFI-QDA for NVivo, MAXQDA, ATLAS.ti or QualCoder, or to Parquet tables.",
    ),
    "import-gold": (
        "coding",
        "Store human codings from a gold file on the project's sentences.",
    ),
    "import-qdpx": (
        "coding",
        "Import codings made in NVivo, MAXQDA, ATLAS.ti or QualCoder as human codings.",
    ),
    "serve": (
        "serve",
        "Start the review workspace: read the corpus, accept and correct codings in the browser.",
    ),
    "watch": (
        "watch",
        "Fetch and re-ingest the sources, code what is new, and write a digest of the "
        "significant shifts (watch/digest-DATE.md); no file when nothing is significant. "
        "Once (--once, for cron) or on a schedule (--every 6h).",
    ),
    "user": (
        "serve",
        "Accounts of the review workspace (team mode).",
    ),
}
