"""Human and machine coder names live apart: a person called "dictionary" is not the
dictionary coder. The unique key of a coding gains its source (human | machine).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("codings") as batch:
        batch.drop_constraint("uq_coding", type_="unique")
        batch.create_unique_constraint("uq_coding", ["segment_id", "category", "coder", "source"])


def downgrade() -> None:
    with op.batch_alter_table("codings") as batch:
        batch.drop_constraint("uq_coding", type_="unique")
        batch.create_unique_constraint("uq_coding", ["segment_id", "category", "coder"])
