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
    sa.Index("ix_documents_path", "path"),
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

# -- the review workspace (migration 0003) ---------------------------------------------------
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),  # argon2; "" = cannot log in
    sa.Column("role", sa.String(8), nullable=False),  # admin | coder | viewer
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),  # the cookie is never stored
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("user", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_audit_at", "at"),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("blind", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # open | adjudicated
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

assignment_items = sa.Table(
    "assignment_items",
    metadata,
    sa.Column(
        "assignment_id", sa.ForeignKey("assignments.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("segment_id", sa.ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("coder", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)

# Every decision a person makes on a sentence, append-only. (segment, coder, version) is
# unique: a decision is written as version n+1 of the one its author saw, so of two concurrent
# decisions on the same state exactly one is stored and the other is told of the conflict.
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("segment_id", sa.ForeignKey("segments.id", ondelete="CASCADE"), nullable=False),
    sa.Column("coder", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),  # category -> 1 applied | 0 rejected
    sa.Column("memo", sa.Text, nullable=False),
    sa.Column("queue", sa.String(16), nullable=False),  # reader | teach | ... | validation
    sa.Column("assignment_id", sa.ForeignKey("assignments.id", ondelete="SET NULL")),
    sa.Column("undo", sa.Boolean, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("segment_id", "coder", "version", name="uq_decision_version"),
    sa.Index("ix_decisions_coder", "coder", "segment_id"),
)

# -- the watch state (migration 0005; store/watch.py) ------------------------------------------
# What `secprio watch` remembers between cycles, in the store so that it commits with what it
# describes. One row per remote URL: the validators it last came with (etag, last_modified;
# NULL when forgotten so the next request is unconditional) and the sitemap <lastmod> it had.
watch_urls = sa.Table(
    "watch_urls",
    metadata,
    sa.Column("url", sa.Text, primary_key=True),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("lastmod", sa.Text),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# One row per cycle that started; its steps are filled in as they are done and `status` is
# running | complete | failed. The newest complete cycle is the last completed shift test:
# its `key` (documents, codebook, coder) says whether anything is new.
watch_cycles = sa.Table(
    "watch_cycles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("key", sa.String(64)),  # the cycle key, once the shift test ran
    sa.Column("coder", sa.String(64), nullable=False, default=""),
    sa.Column("steps", sa.JSON, nullable=False),  # step -> {"at": ..., counts}
    # the significant link pairs, when this cycle set them; None is SQL NULL, not JSON null
    sa.Column("links", sa.JSON(none_as_null=True)),
    sa.Column("significant", sa.Integer),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Index("ix_watch_cycles_status", "status", "id"),
)

# Every document a completed shift test has seen, once: the test's "new" documents are the
# active ones not in here. Written in the transaction that marks the cycle complete.
watch_seen = sa.Table(
    "watch_seen",
    metadata,
    sa.Column("document_id", sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("cycle_id", sa.ForeignKey("watch_cycles.id", ondelete="CASCADE"), nullable=False),
)

# One digest per cycle key: its files (claimed before they are written, so a rerun writes the
# same names again instead of new ones) and its record (the webhook's body and the report's
# "since the last update"); status writing | written.
watch_digests = sa.Table(
    "watch_digests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("path", sa.Text, nullable=False, unique=True),  # the Markdown file
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("record", sa.JSON(none_as_null=True)),
    sa.Column("significant", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("written_at", sa.DateTime),
)

# One row per (digest, target): `sending` is committed before the send, `sent` after it, so a
# kill between the two is known and costs at most one more copy (docs/watch.md, Delivery).
watch_deliveries = sa.Table(
    "watch_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("digest_id", sa.ForeignKey("watch_digests.id", ondelete="CASCADE"), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # sending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("idempotency_key", sa.String(80), nullable=False),
    sa.Column("error", sa.Text, nullable=False, default=""),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
    sa.UniqueConstraint("digest_id", "target", name="uq_watch_delivery"),
)

# Small facts about the watch: `state_json` when an old watch/state.json was imported.
watch_meta = sa.Table(
    "watch_meta",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
