"""suggestion adjustments: the records' prior behind a score

Revision ID: 0010_suggestion_adjustments
Revises: 0009_thesaurus
Create Date: 2026-11-29 12:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010_suggestion_adjustments"
down_revision = "0009_thesaurus"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("suggestion", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("adjustments", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade():
    with op.batch_alter_table("suggestion", schema=None) as batch_op:
        batch_op.drop_column("adjustments")
