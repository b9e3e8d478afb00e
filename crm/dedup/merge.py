"""Merging two records into one, and undoing it.

Every row that points at the merged record (visits, needs, contacts, suggestions, cooperation,
aliases, yearly figures, event places…) is found from the schema's foreign keys, so a table added
later is moved too. A row that would collide with one the kept record already has (the same
year's figures, the same suggestion) stays with the merged record, which goes to the recycle bin
with its old name kept as an alias. Blank fields of the kept record are filled from the other.
What moved, what was filled and which alias was added is written down, so `undo` puts it back.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from crm import policy
from crm.audit import services as audit
from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.db import Base, utcnow
from crm.dedup.models import MergeRecord
from crm.dedup.services import KINDS
from crm.enterprises.models import EnterpriseAlias
from crm.errors import NotFound, ValidationError
from crm.extensions import db
from crm.institutions.models import InstitutionAlias
from crm.search import index

logger = logging.getLogger(__name__)

FILLABLE = {
    "enterprises": (
        "uscc",
        "town_id",
        "address",
        "main_products",
        "owner_id",
        "department_id",
        "notes",
    ),
    "institutions": ("region", "description", "website"),
    "researchers": ("institution_id", "title", "research_directions", "bio", "team"),
}
ALIASES = {"enterprises": EnterpriseAlias, "institutions": InstitutionAlias}


def _references(table: sa.Table) -> list[tuple[sa.Table, sa.Column[Any]]]:
    """Every (table, column) with a foreign key to `table.id`."""
    found = []
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is table and fk.column.name == "id":
                found.append((other, fk.parent))
    return found


def _unique_sets(table: sa.Table, column: sa.Column[Any]) -> list[list[sa.Column[Any]]]:
    """The other columns of each unique constraint (or primary key) that includes `column`."""
    sets = []
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint | sa.PrimaryKeyConstraint):
            cols = list(constraint.columns)
            if column in cols and len(cols) > 1:
                sets.append([c for c in cols if c is not column])
    return sets


def _move(table: sa.Table, column: sa.Column[Any], old: int, new: int) -> tuple[list[Any], int]:
    """Point rows at `new` instead of `old`; returns the moved rows' keys and how many stayed."""
    connection = db.session.connection()
    has_id = "id" in table.c
    rows = connection.execute(sa.select(table).where(column == old)).mappings().all()
    moved, stayed = [], 0
    for row in rows:
        clash = any(
            connection.execute(
                sa.select(sa.literal(1))
                .select_from(table)
                .where(column == new, *[c == row[c.name] for c in others])
                .limit(1)
            ).first()
            for others in _unique_sets(table, column)
        )
        if clash:
            stayed += 1
            continue
        key = row["id"] if has_id else {c.name: row[c.name] for c in table.primary_key.columns}
        where = table.c.id == key if has_id else sa.and_(*[table.c[k] == v for k, v in key.items()])
        values: dict[str, Any] = {column.name: new}
        if "version" in table.c:
            values["version"] = table.c.version + 1  # an open edit form now gets a conflict
        if "updated_at" in table.c:
            values["updated_at"] = utcnow()
        connection.execute(sa.update(table).where(where).values(**values))
        moved.append(key)
    if moved and has_id and "updated_at" in table.c:
        _audit_moves(table.name, column.name, old, new, moved)
    return moved, stayed


def _audit_moves(table: str, column: str, old: int, new: int, ids: list[int]) -> None:
    actor, now = audit.current_actor_id(), utcnow()
    db.session.connection().execute(
        sa.insert(AuditEntry.__table__),
        [
            {
                "at": now,
                "user_id": actor,
                "action": "update",
                "table_name": table,
                "record_id": i,
                "changes": {column: [old, new]},
                "import_batch_id": None,
                "ip": None,
            }
            for i in ids
        ],
    )


def _get(kind: str, record_id: int) -> Any:
    record = db.session.get(KINDS[kind], record_id)
    if record is None:
        raise NotFound("要合并的记录不存在。")
    return record


def _reindex(*records: Any) -> None:
    for record in records:
        db.session.refresh(record)
    index.write(
        db.session.connection(),
        ((index.BY_MODEL[type(r)], r) for r in records),
    )


def merge(user: User, kind: str, keep_id: int, merge_id: int) -> MergeRecord:
    """Fold record `merge_id` into `keep_id` (admins)."""
    policy.authorize(policy.is_admin(user), "只有管理员可以合并重复记录。")
    if kind not in KINDS:
        raise ValidationError("只能合并企业、高校院所或专家。")
    if keep_id == merge_id:
        raise ValidationError("不能把一条记录与它自己合并。")
    kept, gone = _get(kind, keep_id), _get(kind, merge_id)
    if kept.deleted_at is not None or gone.deleted_at is not None:
        raise ValidationError("已删除的记录不能合并，请先从回收站恢复。")
    if kind == "enterprises" and kept.uscc and gone.uscc and kept.uscc != gone.uscc:
        raise ValidationError("两家企业的统一社会信用代码不同，是两家不同的企业，不能合并。")
    record = MergeRecord(
        kind=kind,
        kept_id=kept.id,
        merged_id=gone.id,
        kept_name=kept.name,
        merged_name=gone.name,
        user_id=user.id,
    )
    details: dict[str, Any] = {"moved": {}, "stayed": {}, "filled": {}, "alias_ids": []}

    filled = {
        f: getattr(gone, f)
        for f in FILLABLE[kind]
        if getattr(kept, f) in (None, "") and getattr(gone, f) not in (None, "")
    }
    if "uscc" in filled:
        gone.uscc = None  # unique: free it before the kept record takes it
        db.session.flush()
    gone.deleted_at = utcnow()
    db.session.flush()

    table = KINDS[kind].__table__
    for other, column in _references(table):
        moved, stayed = _move(other, column, gone.id, kept.id)
        if moved:
            details["moved"][f"{other.name}.{column.name}"] = moved
        if stayed:
            details["stayed"][f"{other.name}.{column.name}"] = stayed
    db.session.expire_all()
    kept, gone = _get(kind, keep_id), _get(kind, merge_id)
    for field, value in filled.items():
        setattr(kept, field, value)
    details["filled"] = {f: audit.jsonable(v) for f, v in filled.items()}

    alias_model = ALIASES.get(kind)
    if alias_model is not None and gone.name != kept.name:
        taken = db.session.scalar(sa.select(alias_model).where(alias_model.alias == gone.name))
        if taken is None:
            owner = {"enterprises": "enterprise_id", "institutions": "institution_id"}[kind]
            alias = alias_model(alias=gone.name, **{owner: kept.id})
            db.session.add(alias)
            db.session.flush()
            details["alias_ids"].append(alias.id)
    record.details = details
    db.session.add(record)
    db.session.flush()
    _reindex(kept)
    logger.info("%s %s merged into %s by %s: %s", kind, gone.id, kept.id, user.username, details)
    return record


def undo(user: User, record: MergeRecord) -> None:
    """Put both records back as they were before the merge, as far as nobody changed them."""
    policy.authorize(policy.is_admin(user), "只有管理员可以撤销合并。")
    if record.undone_at is not None:
        raise ValidationError("这次合并已经撤销过了。")
    kind, details = record.kind, record.details
    kept, gone = _get(kind, record.kept_id), _get(kind, record.merged_id)
    alias_model = ALIASES.get(kind)
    for alias_id in details.get("alias_ids", []):
        alias = db.session.get(alias_model, alias_id) if alias_model else None
        if alias is not None:
            db.session.delete(alias)
    uscc = None
    for field, value in details.get("filled", {}).items():
        if audit.jsonable(getattr(kept, field)) == value:
            if field == "uscc":
                uscc = getattr(kept, field)
            setattr(kept, field, None)
    db.session.flush()
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    connection = db.session.connection()
    for key, moved in details.get("moved", {}).items():
        table_name, column_name = key.split(".")
        table = tables[table_name]
        column = table.c[column_name]
        for row_key in moved:
            if isinstance(row_key, dict):  # an association row: it now points at the kept one
                where = sa.and_(
                    *[
                        table.c[k] == (record.kept_id if k == column_name else v)
                        for k, v in row_key.items()
                    ]
                )
            else:
                where = sa.and_(table.c.id == row_key, column == record.kept_id)
            values: dict[str, Any] = {column_name: record.merged_id}
            if "version" in table.c:
                values["version"] = table.c.version + 1
            connection.execute(sa.update(table).where(where).values(**values))
        ids = [k for k in moved if not isinstance(k, dict)]
        if ids and "updated_at" in table.c:
            _audit_moves(table_name, column_name, record.kept_id, record.merged_id, ids)
    db.session.expire_all()
    kept, gone = _get(kind, record.kept_id), _get(kind, record.merged_id)
    gone.deleted_at = None
    if uscc is not None:
        db.session.flush()
        gone.uscc = uscc
    record.undone_at = utcnow()
    record.undone_by_id = user.id
    db.session.flush()
    _reindex(kept, gone)
    logger.info("Merge %s undone by %s", record.id, user.username)


def history(limit: int = 50) -> list[MergeRecord]:
    return list(
        db.session.scalars(sa.select(MergeRecord).order_by(MergeRecord.id.desc()).limit(limit))
    )
