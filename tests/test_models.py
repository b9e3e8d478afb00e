"""The domain model's constraints, optimistic locking, soft delete and audit trail."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm.exc import StaleDataError

from crm.audit.models import AuditEntry
from crm.audit.services import acting_as
from crm.cooperation.models import Cooperation, CooperationType, Stage
from crm.db import utcnow
from crm.enterprises.models import Contact, Enterprise
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind
from crm.matching.models import Suggestion
from crm.needs.models import Need

USCC = "91330683MA2D6XPL5T"  # checksum-valid, fictional


def _fails(statement_or_obj) -> None:
    """The database refuses: the change is rolled back to the last savepoint."""
    with pytest.raises((IntegrityError, StatementError)):  # noqa: PT012
        with db.session.begin_nested():
            if isinstance(statement_or_obj, sa.Executable):
                db.session.execute(statement_or_obj)
            else:
                db.session.add(statement_or_obj)
                db.session.flush()


def test_uscc_unique_when_present(make_enterprise):
    make_enterprise(uscc=None)
    make_enterprise(uscc=None)  # many without a code is fine
    make_enterprise(uscc=USCC)
    _fails(Enterprise(name="另一家", uscc=USCC))


def test_enum_values_are_checked_by_the_database(make_enterprise):
    ent = make_enterprise()
    _fails(
        sa.text(
            "INSERT INTO need (enterprise_id, title, status, created_at, updated_at, version)"
            " VALUES (:e, 'x', 'bogus', :t, :t, 1)"
        ).bindparams(e=ent.id, t=utcnow().replace(tzinfo=None))
    )


def test_foreign_keys_are_enforced(app):
    _fails(Need(enterprise_id=987654, title="孤儿需求"))


def test_contact_belongs_to_exactly_one_organisation(make_enterprise):
    ent = make_enterprise()
    inst = Institution(name="测试大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.flush()
    _fails(Contact(name="张三", enterprise_id=ent.id, institution_id=inst.id))
    _fails(Contact(name="李四"))


def test_signed_cooperation_needs_a_signing_date(make_enterprise):
    ent = make_enterprise()
    inst = Institution(name="测试研究所", kind=InstitutionKind.CAS_INSTITUTE)
    db.session.add(inst)
    db.session.flush()
    fields = {"title": "合作", "enterprise_id": ent.id, "institution_id": inst.id}
    _fails(Cooperation(**fields, type=CooperationType.DEVELOPMENT, stage=Stage.SIGNED))
    ok = Cooperation(
        **fields, type=CooperationType.DEVELOPMENT, stage=Stage.SIGNED, signed_on=date(2026, 5, 1)
    )
    db.session.add(ok)
    db.session.flush()
    _fails(Cooperation(**fields, type=CooperationType.LICENSE, amount=Decimal("-1")))


def test_suggestion_names_exactly_one_candidate(make_enterprise):
    need = Need(enterprise_id=make_enterprise().id, title="需求")
    db.session.add(need)
    db.session.flush()
    _fails(Suggestion(need_id=need.id))


def test_version_column_refuses_a_stale_write(make_enterprise):
    ent = make_enterprise(name="锦程领带")
    assert ent.version == 1
    ent.notes = "第一次修改"
    db.session.commit()
    assert ent.version == 2
    # another writer changed it in the meantime
    db.session.execute(sa.text("UPDATE enterprise SET version = 3 WHERE id = :id"), {"id": ent.id})
    ent.notes = "基于旧版本的修改"
    with pytest.raises(StaleDataError):
        db.session.flush()
    db.session.rollback()


def test_soft_delete_and_audit_trail(make_user, make_enterprise):
    officer = make_user()
    with acting_as(officer.id):
        ent = make_enterprise(name="越丰电机有限公司")
        ent.notes = "有降噪需求"
        db.session.commit()
        ent.deleted_at = utcnow()
        db.session.commit()
    assert ent.created_by_id == officer.id
    assert ent.updated_by_id == officer.id
    assert ent.deleted_by_id == officer.id
    entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.table_name == "enterprise", AuditEntry.record_id == ent.id)
        .order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert all(e.user_id == officer.id for e in entries)
    assert entries[0].changes["name"] == [None, "越丰电机有限公司"]
    assert entries[1].changes == {"notes": [None, "有降噪需求"]}


def test_audit_entry_rolls_back_with_the_change(make_enterprise):
    ent = make_enterprise()
    before = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    with db.session.begin_nested() as nested:
        ent.notes = "不会保存"
        db.session.flush()
        assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == before + 1
        nested.rollback()
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == before


def test_timestamps_are_aware_utc(make_enterprise):
    ent = make_enterprise()
    db.session.expire(ent)
    assert ent.created_at.tzinfo is not None
    assert ent.created_at.utcoffset().total_seconds() == 0


def test_every_model_has_a_readable_repr(make_enterprise):
    ent = make_enterprise(name="剡溪电机")
    assert repr(ent) == f"<Enterprise {ent.id} '剡溪电机'>"
