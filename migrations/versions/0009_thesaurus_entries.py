"""thesaurus entries kept by admins

Revision ID: 0009_thesaurus
Revises: 0008_match_docs
Create Date: 2026-11-29 12:20:00

The industry thesaurus moves from a data file into a table admins edit in the web; the file
in seeds/dictionary/ is its first content.
"""

from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0009_thesaurus"
down_revision = "0008_match_docs"
branch_labels = None
depends_on = None

SEED = Path(__file__).resolve().parents[2] / "seeds" / "dictionary" / "thesaurus.txt"


def _seed_lines():
    if not SEED.exists():
        return []
    out = []
    for raw in SEED.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=>" in line:
            spoken, _, experts = line.partition("=>")
            out.append((spoken.strip(), experts.strip()))
    return out


def upgrade():
    table = op.create_table(
        "thesaurus_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spoken", sa.String(length=200), nullable=False),
        sa.Column("experts", sa.String(length=400), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_thesaurus_entry_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user.id"],
            name=op.f("fk_thesaurus_entry_updated_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thesaurus_entry")),
    )
    now = datetime.now(timezone.utc)
    rows = _seed_lines()
    if rows:
        op.bulk_insert(
            table,
            [{"spoken": s, "experts": e, "created_at": now, "updated_at": now} for s, e in rows],
        )
    op.execute("UPDATE index_version SET value = value + 1 WHERE name = 'thesaurus'")


def downgrade():
    op.drop_table("thesaurus_entry")
