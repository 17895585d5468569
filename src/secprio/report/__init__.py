"""The report: one self-contained offline HTML file, figures and tables."""
