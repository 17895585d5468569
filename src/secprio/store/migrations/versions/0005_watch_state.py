"""The watch state moves into the store: remote URLs with their validators, cycles and the
documents their shift tests saw, digests and deliveries (it was watch/state.json; the first
watch on an older project imports that file once, store/watch.py).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "watch_urls",
        sa.Column("url", sa.Text, primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("lastmod", sa.Text),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "watch_cycles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("key", sa.String(64)),
        sa.Column("coder", sa.String(64), nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("links", sa.JSON),
        sa.Column("significant", sa.Integer),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
    )
    op.create_index("ix_watch_cycles_status", "watch_cycles", ["status", "id"])
    op.create_table(
        "watch_seen",
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "cycle_id",
            sa.Integer,
            sa.ForeignKey("watch_cycles.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_table(
        "watch_digests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("path", sa.Text, nullable=False, unique=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("record", sa.JSON),
        sa.Column("significant", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("written_at", sa.DateTime),
    )
    op.create_table(
        "watch_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "digest_id",
            sa.Integer,
            sa.ForeignKey("watch_digests.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.String(80), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.UniqueConstraint("digest_id", "target", name="uq_watch_delivery"),
    )
    op.create_table(
        "watch_meta",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("watch_meta", "watch_deliveries", "watch_digests", "watch_seen"):
        op.drop_table(name)
    op.drop_index("ix_watch_cycles_status", "watch_cycles")
    op.drop_table("watch_cycles")
    op.drop_table("watch_urls")
