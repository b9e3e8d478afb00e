"""Undoing an import batch: what it created goes to the recycle bin, what it changed goes back,
unless someone has changed it since."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from crm import bulk, policy
from crm.audit import services as audit
from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.db import Base, utcnow
from crm.errors import ValidationError
from crm.extensions import db
from crm.imports.models import ImportBatch, ImportStatus
from crm.institutions.models import InstitutionAlias
from crm.projects.models import Project, ProjectStage, ProjectStageChange

logger = logging.getLogger(__name__)


def _models() -> dict[str, type]:
    return {m.local_table.name: m.class_ for m in Base.registry.mappers}  # type: ignore[union-attr]


def _from_json(model: type, key: str, raw: Any) -> Any:
    if raw is None:
        return None
    python_type = model.__table__.c[key].type.python_type  # type: ignore[attr-defined]
    if issubclass(python_type, enum.Enum):
        return python_type(raw)
    if python_type is Decimal:
        return Decimal(raw)
    if python_type is datetime:
        return datetime.fromisoformat(raw)
    if python_type is date:
        return date.fromisoformat(raw)
    return raw


#: fields that go back together or not at all (a project's stage with its date and number:
#: a stage without them breaks the record's rules)
TOGETHER = {"project": ("stage", "stage_changed_on", "approved_on", "number", "end_reason")}


@dataclass
class RevertResult:
    removed: int = 0
    restored: int = 0
    kept: list[str] = field(default_factory=list)  # fields changed again since: left as they are


def revert_batch(user: User, batch: ImportBatch) -> RevertResult:
    """Undo a committed import: what it created goes to the recycle bin, what it changed gets
    its old value back unless someone has changed that field again since."""
    policy.authorize(policy.is_admin(user), "只有管理员可以撤销导入。")
    if batch.status == ImportStatus.REVERTED:
        raise ValidationError("这个导入批次已经撤销过了。")
    models, result = _models(), RevertResult()
    created: dict[str, list[int]] = {}
    entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.import_batch_id == batch.id)
        .order_by(AuditEntry.id.desc())
    )
    # a record's changes over the whole batch (several flushes may have changed it): each
    # field from its value before the first to its value after the last
    changed: dict[tuple[str, int], dict[str, list[Any]]] = {}
    for entry in entries:  # newest first
        if models.get(entry.table_name) is None:
            continue
        if entry.action == "create":
            created.setdefault(entry.table_name, []).append(entry.record_id)
        elif entry.action == "update":
            fields = changed.setdefault((entry.table_name, entry.record_id), {})
            for key, (before, after) in entry.changes.items():
                fields[key] = [before, fields[key][1] if key in fields else after]
    for (table_name, record_id), fields in changed.items():
        model = models[table_name]
        record = db.session.get(model, record_id)
        if record is None:
            continue
        where = f"{table_name}#{record_id}"
        together = {k: fields.pop(k) for k in TOGETHER.get(table_name, ()) if k in fields}
        if together:
            _restore_together(where, record, model, together, result)
        for key, (before, after) in fields.items():
            if key == "deleted_at":
                if after is None and record.deleted_at is None:  # the import restored it
                    record.deleted_at = utcnow()
                continue
            if audit.jsonable(getattr(record, key)) != after:
                result.kept.append(f"{where}.{key}")
                continue
            setattr(record, key, _from_json(model, key, before))
            result.restored += 1
    db.session.flush()
    for table_name, ids in created.items():
        model = models[table_name]
        if "deleted_at" in model.__table__.c:  # type: ignore[attr-defined]
            result.removed += bulk.remove_created(model, ids)
            continue
        for record_id in ids:  # few: aliases an import added
            record = db.session.get(model, record_id)
            if isinstance(record, InstitutionAlias):
                record.institution.aliases.remove(record)  # re-indexes the institution
                result.removed += 1
            elif record is not None:
                db.session.delete(record)
                result.removed += 1
    batch.status = ImportStatus.REVERTED
    batch.reverted_at = utcnow()
    batch.reverted_by_id = user.id
    db.session.flush()
    logger.info("Import batch %s reverted by %s: %s", batch.id, user.username, result)
    return result


def _restore_together(
    where: str, record: Any, model: type, fields: dict[str, Any], result: RevertResult
) -> None:
    """Fields that go back together: all, if none changed since; else none (all are kept). A
    project's stage that goes back takes the history step the import added with it."""
    if any(audit.jsonable(getattr(record, k)) != after for k, (_, after) in fields.items()):
        result.kept += [f"{where}.{key}" for key in fields]
        return
    for key, (before, _) in fields.items():
        setattr(record, key, _from_json(model, key, before))
        result.restored += 1
    if isinstance(record, Project) and "stage" in fields:
        before, after = fields["stage"]
        step = db.session.scalars(
            sa.select(ProjectStageChange)
            .where(
                ProjectStageChange.project_id == record.id,
                ProjectStageChange.from_stage == ProjectStage(before),
                ProjectStageChange.to_stage == ProjectStage(after),
            )
            .order_by(ProjectStageChange.id.desc())
            .limit(1)
        ).first()
        if step is not None:
            db.session.delete(step)
