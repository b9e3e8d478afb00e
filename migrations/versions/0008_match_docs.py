"""packed match docs and index version counters

Revision ID: 0008_match_docs
Revises: 0007_not_duplicate
Create Date: 2026-11-29 12:10:00

One row per indexed record holding all its terms (the matching index is built from these),
and the counters that tell every worker its index is stale. Existing search terms are packed
into docs here, so an upgraded database matches at once.
"""

import itertools
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0008_match_docs"
down_revision = "0007_not_duplicate"
branch_labels = None
depends_on = None

# the packed format of crm.search.index.pack, frozen here as this migration wrote it
GROUP_END, GROUP_MARK, TERM_MARK = "\x1e", "\x1d", "\x1f"
_NO_MARKS = str.maketrans("", "", "\x1c\x1d\x1e\x1f")


def _pack(terms):
    groups = {}
    for term, weight in terms:
        if not term.startswith(("py:", "pyi:")) and (clean := term.translate(_NO_MARKS)):
            groups.setdefault(weight, []).append(clean)
    return GROUP_END.join(f"{w:g}{GROUP_MARK}{TERM_MARK.join(ts)}" for w, ts in groups.items())


def upgrade():
    doc = op.create_table(
        "match_doc",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "record_id", name=op.f("pk_match_doc")),
    )
    op.create_index(op.f("ix_match_doc_version"), "match_doc", ["version"], unique=False)
    counters = op.create_table(
        "index_version",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_index_version")),
    )
    op.bulk_insert(
        counters,
        [
            {"name": "docs", "value": 0},
            {"name": "thesaurus", "value": 0},
            {"name": "epoch", "value": secrets.randbits(48)},
        ],
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT kind, record_id, term, weight FROM search_term ORDER BY kind, record_id")
    )
    batch = []
    for (kind, record_id), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        packed = _pack((r[2], r[3]) for r in group)
        batch.append({"kind": kind, "record_id": record_id, "terms": packed, "version": 0})
        if len(batch) >= 5000:
            bind.execute(doc.insert(), batch)
            batch = []
    if batch:
        bind.execute(doc.insert(), batch)


def downgrade():
    op.drop_table("index_version")
    op.drop_index(op.f("ix_match_doc_version"), table_name="match_doc")
    op.drop_table("match_doc")
