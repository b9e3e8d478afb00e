"""Load reference lists and the demo data set from seeds/, idempotently.

Every record is looked up by its natural key first (town code, enterprise name, researcher name
within an institution, …) and only created when missing, so loading twice changes nothing and
an officer's later edits are never overwritten.
"""

from __future__ import annotations

import csv
import logging
import secrets
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from crm.auth import services as auth_services
from crm.auth.models import Role, User
from crm.db import Base
from crm.enterprises.models import (
    Industry,
    Town,
)
from crm.extensions import db
from crm.institutions.models import (
    Institution,
    InstitutionAlias,
    InstitutionKind,
)

logger = logging.getLogger(__name__)

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
M = TypeVar("M", bound=Base)


def read_csv(relative: str) -> list[dict[str, str]]:
    with (SEEDS / relative).open(encoding="utf-8", newline="") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


class Loader:
    """Looks records up by natural key, creates the missing ones and counts what it did."""

    def __init__(self) -> None:
        self.created: Counter[str] = Counter()
        self._cache: dict[tuple[type[Base], tuple[Any, ...]], Any] = {}

    def find(self, model: type[M], **keys: Any) -> M | None:
        ck = (model, tuple(sorted(keys.items())))
        if ck not in self._cache:
            self._cache[ck] = db.session.scalar(sa.select(model).filter_by(**keys).limit(1))
        return self._cache[ck]

    def need(self, model: type[M], **keys: Any) -> M:
        found = self.find(model, **keys)
        if found is None:
            raise LookupError(f"seed data refers to a missing {model.__name__} {keys}")
        return found

    def ensure(self, model: type[M], keys: dict[str, Any], **values: Any) -> tuple[M, bool]:
        found = self.find(model, **keys)
        if found is not None:
            return found, False
        obj = model(**keys, **values)
        db.session.add(obj)
        db.session.flush()
        self._cache[(model, tuple(sorted(keys.items())))] = obj
        self.created[model.__tablename__] += 1
        return obj, True


def money(value: str) -> Decimal | None:
    return Decimal(value) if value else None


def load_institutions(loader: Loader, relative: str) -> None:
    """Institutions with the names people write for them (港理工, 浙大, 中科院过程所 …)."""
    for row in read_csv(relative):
        inst, _ = loader.ensure(
            Institution,
            {"name": row["name"]},
            kind=InstitutionKind(row["kind"]),
            region=row["region"] or None,
            description=row["description"] or None,
        )
        for alias in filter(None, row["aliases"].split("|")):
            if loader.find(InstitutionAlias, alias=alias) is None:
                loader.ensure(InstitutionAlias, {"alias": alias}, institution=inst)


def load_reference(loader: Loader | None = None) -> Loader:
    """Towns, industries and the well-known institutions with their aliases: the lists every
    installation needs, so that an expert list's 港理工 or 中科院过程所 links at once."""
    loader = loader or Loader()
    for row in read_csv("towns.csv"):
        loader.ensure(Town, {"code": row["code"]}, name=row["name"], kind=row["kind"])
    for row in read_csv("industries.csv"):
        loader.ensure(
            Industry, {"code": row["code"]}, name=row["name"], sort_order=int(row["sort_order"])
        )
    load_institutions(loader, "institutions.csv")
    return loader


def ensure_admin(username: str = "admin") -> tuple[User, str] | None:
    """Make sure an active admin exists; returns (user, password) only when it made one."""
    exists = db.session.scalar(
        sa.select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).limit(1)
    )
    if exists is not None:
        return None
    password = secrets.token_urlsafe(12)
    user = auth_services.create_user(
        auth_services.UserData(username, "系统管理员", Role.ADMIN, password, "办公室")
    )
    return user, password
