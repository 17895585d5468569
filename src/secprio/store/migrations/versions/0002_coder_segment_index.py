"""Index codings by (coder, segment): replacing a coder's codings on a batch of documents
must not scan every coding that coder ever made.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.drop_index("ix_codings_coder", table_name="codings")
    op.create_index("ix_codings_coder_segment", "codings", ["coder", "segment_id"])


def downgrade() -> None:
    op.drop_index("ix_codings_coder_segment", table_name="codings")
    op.create_index("ix_codings_coder", "codings", ["coder"])
