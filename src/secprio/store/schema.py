"""Tables of the store (SQLAlchemy Core). Changes go through a new migration in migrations/."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("title", sa.Text, nullable=False, default=""),
    sa.Column("date", sa.String(10)),
    sa.Column("year", sa.Integer),
    sa.Column("doc_type", sa.String(32), nullable=False),
    sa.Column("issuer", sa.String(32), nullable=False, default=""),
    sa.Column("members", sa.Text, nullable=False, default=""),
    sa.Column("language", sa.String(8), nullable=False, default=""),
    sa.Column("url", sa.Text, nullable=False, default=""),
    sa.Column("extra", sa.JSON, nullable=False, default=dict),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("ingested_at", sa.DateTime, nullable=False),
)

segments = sa.Table(
    "segments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("document_id", sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("paragraph", sa.Integer, nullable=False),
    sa.Index("ix_segments_doc_kind", "document_id", "kind"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("key", sa.String(64), nullable=False, index=True),
    sa.Column("coder", sa.String(64), nullable=False, default=""),
    sa.Column("coder_version", sa.String(128), nullable=False, default=""),
    sa.Column("codebook_sha256", sa.String(64), nullable=False, default=""),
    sa.Column("settings", sa.JSON, nullable=False, default=dict),
    sa.Column("package_version", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
)

run_documents = sa.Table(
    "run_documents",
    metadata,
    sa.Column("run_id", sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("document_id", sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
)

codings = sa.Table(
    "codings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("segment_id", sa.ForeignKey("segments.id", ondelete="CASCADE"), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("coder", sa.String(64), nullable=False),
    sa.Column("coder_version", sa.String(128), nullable=False, default=""),
    sa.Column("source", sa.String(8), nullable=False),  # machine | human
    sa.Column("run_id", sa.ForeignKey("runs.id", ondelete="SET NULL")),
    sa.Column("value", sa.Integer, nullable=False, default=1),
    sa.Column("confidence", sa.Float, nullable=False, default=1.0),
    sa.Column("pattern", sa.Text, nullable=False, default=""),
    sa.Column("start", sa.Integer, nullable=False, default=-1),
    sa.Column("end", sa.Integer, nullable=False, default=-1),
    sa.Column("evidence", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("segment_id", "category", "coder", "source", name="uq_coding"),
    sa.Index("ix_codings_coder_segment", "coder", "segment_id"),
)

skipped = sa.Table(
    "skipped",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.ForeignKey("runs.id", ondelete="CASCADE")),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)
