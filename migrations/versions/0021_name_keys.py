"""Names found as officers type them, and lists sorted by pinyin

Revision ID: 0021_name_keys
Revises: 0020_match_vectors
Create Date: 2026-12-01 02:35:29

- `name_sort` on enterprise (pinyin of the core name), institution and researcher (pinyin of
  the name): lists sort by it, the same on SQLite and PostgreSQL;
- `search_term.term` in the `C` collation on PostgreSQL, so a prefix range (term >= 'py:jc'
  AND term < 'py:jd') is byte order whatever the server's locale;
- the name keys of existing records (nx:/py:/pyi: from the start of a firm's or an
  institution's name and, under in:, from each later character; nx: of a researcher's),
  written here as `crm.text.terms` of this revision wrote them, so an upgraded database
  finds `jcld`, `lingdai` and `锦程` at once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_name_keys"
down_revision = "0020_match_vectors"
branch_labels = None
depends_on = None

NAME, INFIX, MAX_TERM, BATCH = 3.0, 2 / 3, 64, 2000
KINDS = ("enterprise", "institution", "researcher")
# byte order on PostgreSQL too, whatever the server's locale (a linguistic one skips spaces)
SORT_TYPE = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")


def _pieces(text):
    import re  # noqa: PLC0415

    from pypinyin import lazy_pinyin  # noqa: PLC0415

    from crm.text.normal import normalise  # noqa: PLC0415

    normal = normalise(text)
    han = "\u3007\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
    chunks = [c for c in re.findall(f"[{han}]|[^{han}]+", normal) if c.strip()]
    syllables = [re.sub(r"[^a-z0-9]", "", s) for s in lazy_pinyin(normal) if s.strip()]
    if len(chunks) != len(syllables):
        return [(s, s) for s in syllables]
    return list(zip(chunks, syllables, strict=True))


def _keys(kind, names):
    """Name keys of one record's names (its name and aliases), with their weights: from the
    start of the part people type (a firm's core name, an institution's name with its place
    names, a person's name), and for firms and institutions from inside it under `in:`."""
    from crm.text.normal import core_name, institution_key  # noqa: PLC0415

    keyed = institution_key if kind == "institution" else core_name
    keys = {}
    for name in names:
        pieces = _pieces(keyed(name))
        starts = range(max(1, len(pieces) - 1)) if kind != "researcher" else range(1)
        for start in starts:
            rest = pieces[start:]
            inside, weight = ("", NAME) if start == 0 else ("in:", NAME * INFIX)
            found = ["nx:" + "".join(c for c, _ in rest)]
            if kind != "researcher":  # researchers' py:/pyi: of the whole name are there
                found += [
                    "py:" + "".join(s for _, s in rest),
                    "pyi:" + "".join(s[:1] for _, s in rest),
                ]
            for key in found:
                if key in ("nx:", "py:", "pyi:"):
                    continue
                key = (inside + key)[:MAX_TERM]
                if keys.get(key, 0.0) < weight:
                    keys[key] = weight
    return keys


def _sort_key(text):
    import re  # noqa: PLC0415

    from pypinyin import lazy_pinyin  # noqa: PLC0415

    from crm.text.normal import normalise  # noqa: PLC0415

    syllables = [re.sub(r"[^a-z0-9]", "", s) for s in lazy_pinyin(normalise(text)) if s.strip()]
    return " ".join(s for s in syllables if s)[:255]


def _names(conn, kind):
    """(id, [name, aliases…]) of every live record of a kind (a firm's USCC is indexed as a
    name too)."""
    uscc = ", uscc" if kind == "enterprise" else ", NULL"
    names = {
        i: [n, *([u] if u else [])]
        for i, n, u in conn.execute(
            sa.text(f"SELECT id, name{uscc} FROM {kind} WHERE deleted_at IS NULL")  # noqa: S608
        )
    }
    alias_table = {"enterprise": "enterprise_alias", "institution": "institution_alias"}.get(kind)
    if alias_table:
        for i, alias in conn.execute(
            sa.text(f"SELECT {kind}_id, alias FROM {alias_table}")  # noqa: S608
        ):
            if i in names:
                names[i].append(alias)
    return names


def upgrade():
    conn = op.get_bind()
    from crm.text.normal import core_name  # noqa: PLC0415

    for kind in KINDS:
        with op.batch_alter_table(kind) as batch_op:
            batch_op.add_column(sa.Column("name_sort", SORT_TYPE, nullable=True))
        rows = conn.execute(sa.text(f"SELECT id, name FROM {kind}")).all()  # noqa: S608
        keyed = [
            {"i": i, "k": _sort_key(core_name(n) if kind == "enterprise" else n)} for i, n in rows
        ]
        for start in range(0, len(keyed), BATCH):
            conn.execute(
                sa.text(f"UPDATE {kind} SET name_sort = :k WHERE id = :i"),  # noqa: S608
                keyed[start : start + BATCH],
            )
        with op.batch_alter_table(kind) as batch_op:
            batch_op.alter_column("name_sort", existing_type=SORT_TYPE, nullable=False)
            batch_op.create_index(f"ix_{kind}_name_sort", ["name_sort"], unique=False)

    if conn.dialect.name == "postgresql":
        op.execute('ALTER TABLE search_term ALTER COLUMN term TYPE VARCHAR(64) COLLATE "C"')

    for kind in KINDS:
        names = _names(conn, kind)
        keys = "'nx:%'" if kind == "researcher" else "'nx:%', 'py:%', 'pyi:%', 'in:%'"
        for pattern in keys.split(", "):
            conn.execute(
                sa.text(f"DELETE FROM search_term WHERE kind = :kind AND term LIKE {pattern}"),  # noqa: S608
                {"kind": kind},
            )
        rows = [
            {"kind": kind, "record_id": i, "term": term, "weight": weight}
            for i, record_names in names.items()
            for term, weight in _keys(kind, record_names).items()
        ]
        for start in range(0, len(rows), BATCH):
            conn.execute(
                sa.text(
                    "INSERT INTO search_term (kind, record_id, term, weight)"
                    " VALUES (:kind, :record_id, :term, :weight)"
                ),
                rows[start : start + BATCH],
            )


def downgrade():
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM search_term WHERE term LIKE 'nx:%' OR term LIKE 'in:%'"))
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE search_term ALTER COLUMN term TYPE VARCHAR(64)")
    for kind in reversed(KINDS):
        with op.batch_alter_table(kind) as batch_op:
            batch_op.drop_index(f"ix_{kind}_name_sort")
            batch_op.drop_column("name_sort")
