"""Column choices remembered per kind and header set: the next file with the same headers maps
the same way, and a kind chosen once is chosen again."""

from __future__ import annotations

import hashlib
import logging

import sqlalchemy as sa

from crm.auth.models import User
from crm.extensions import db
from crm.imports.headers import IGNORE, Match
from crm.imports.models import ImportMapping

logger = logging.getLogger(__name__)


def signature(headers: list[str]) -> str:
    """Headers as a key: the same office's list next month has the same one."""
    return hashlib.sha256("\x1f".join(h.strip() for h in headers).encode("utf-8")).hexdigest()


def kind_chosen_before(headers: list[str]) -> str | None:
    """The kind an officer imported a file with these headers as (by hand-mapped columns)."""
    return db.session.scalar(
        sa.select(ImportMapping.kind)
        .where(ImportMapping.signature == signature(headers))
        .order_by(ImportMapping.updated_at.desc())
        .limit(1)
    )


def saved_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """What officers chose for a file of this kind with these headers (the office's format:
    shared by everyone who imports it)."""
    found = db.session.scalar(
        sa.select(ImportMapping)
        .where(ImportMapping.kind == kind, ImportMapping.signature == signature(headers))
        .order_by(ImportMapping.updated_at.desc())
        .limit(1)
    )
    return dict(found.mapping) if found is not None else {}


def remember_mapping(user: User, kind: str, headers: list[str], matches: list[Match]) -> None:
    """Keep the columns the officer mapped by hand (chosen now or before) for the next file
    with these headers; what the matcher finds on its own is found again without help.

    Called after the import has committed, in a transaction of its own: two officers
    importing the same new format at once must not fail each other's import over it."""
    mapping = {
        m.key: (m.column.key if m.column else IGNORE)
        for m in matches
        if m.header and m.how in ("chosen", "saved")
    }
    sig = signature(headers)
    try:
        row = db.session.scalar(
            sa.select(ImportMapping).where(
                ImportMapping.kind == kind, ImportMapping.signature == sig
            )
        )
        if row is None and not mapping:
            return
        user_id = user.id  # read before anything is added (it may load, and flush)
        if row is None:
            db.session.add(
                ImportMapping(
                    kind=kind, signature=sig, headers=headers, mapping=mapping, user_id=user_id
                )
            )
        else:
            row.mapping, row.user_id = mapping, user_id
        db.session.commit()
    except sa.exc.SQLAlchemyError as exc:  # the other import saved it a moment ago, most likely
        db.session.rollback()
        logger.warning("Mapping of %s headers %s not saved: %r", kind, sig[:8], exc)
