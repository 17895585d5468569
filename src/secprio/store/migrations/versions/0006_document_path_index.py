"""Index documents by path: storing a document looks up the versions of its path (the newest
version number, the active version), which without an index read the whole table once per
document ingested — quadratic in the corpus.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_index("ix_documents_path", "documents", ["path"])


def downgrade() -> None:
    op.drop_index("ix_documents_path", table_name="documents")
