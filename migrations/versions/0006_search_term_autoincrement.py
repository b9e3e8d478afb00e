"""search_term ids of deleted rows are never handed out again on SQLite (AUTOINCREMENT), so the
matching index can take "rows above the highest id it has seen" as what was written since

Revision ID: 0006_search_autoincrement
Revises: 0005_merge
Create Date: 2026-11-26 11:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_search_autoincrement'
down_revision = '0005_merge'
branch_labels = None
depends_on = None


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL sequences never hand out an id twice
    with op.batch_alter_table(
        "search_term", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade():
    _recreate(True)


def downgrade():
    _recreate(False)
