"""thesaurus lines written after 0009, added once to databases made before them

Revision ID: 0012_more_thesaurus
Revises: 0011_match_runs
Create Date: 2026-11-29 12:30:00

Lines of seeds/dictionary/thesaurus.txt whose owners' words no entry has yet are added, once;
after this an admin's deletion is final (nothing re-adds it).
"""

from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0012_more_thesaurus"
down_revision = "0011_match_runs"
branch_labels = None
depends_on = None

SEED = Path(__file__).resolve().parents[2] / "seeds" / "dictionary" / "thesaurus.txt"


def upgrade():
    if not SEED.exists():
        return
    bind = op.get_bind()
    have = {row[0] for row in bind.execute(sa.text("SELECT spoken FROM thesaurus_entry"))}
    now = datetime.now(timezone.utc)
    rows = []
    for raw in SEED.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=>" in line:
            spoken, _, experts = (part.strip() for part in line.partition("=>"))
            if spoken not in have:
                rows.append(
                    {"spoken": spoken, "experts": experts, "created_at": now, "updated_at": now}
                )
    if rows:
        table = sa.table(
            "thesaurus_entry",
            sa.column("spoken", sa.String),
            sa.column("experts", sa.String),
            sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        )
        op.bulk_insert(table, rows)
        op.execute("UPDATE index_version SET value = value + 1 WHERE name = 'thesaurus'")


def downgrade():
    pass  # entries are data admins may have edited since; they stay
