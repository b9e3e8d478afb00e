"""One-time submission keys: a double tap on a phone, or a retry on a bad connection, sends
a create form twice; the second POST must not create a second record.

Each create form carries a random key (`OnceForm`). Saving it first claims the key — a row of
`form_submission` inserted in the same transaction as the record — and then notes where the
result is. A second POST with the same key finds the key taken and is shown the first result.
Two at once: the database serialises them (SQLite's write lock; PostgreSQL makes the second
INSERT wait on the first's unique key and fail once it commits), so exactly one creates.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, flash, redirect, request
from flask_wtf import FlaskForm
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.wrappers import Response
from wtforms import HiddenField

from crm.db import Base, utcnow
from crm.errors import ValidationError
from crm.extensions import db

logger = logging.getLogger(__name__)
KEY = re.compile(r"^[0-9a-f]{32}$")
KEPT = timedelta(days=2)  # a key older than this is forgotten (pruned as new ones come)


class FormSubmission(Base):
    """A create form's key, once saved: who sent it and where its result is."""

    __tablename__ = "form_submission"

    key: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    result_url: Mapped[str | None] = mapped_column(sa.String(500))

    def __repr__(self) -> str:
        return f"<FormSubmission {self.key[:8]}… -> {self.result_url}>"


def new_key() -> str:
    return uuid.uuid4().hex


class OnceForm(FlaskForm):
    """A create form that can be saved only once (its key travels in a hidden field)."""

    submission_key = HiddenField(default=new_key)


class AlreadySubmitted(Exception):  # noqa: N818 - a state, not an error
    """The form was saved before: `url` shows what that save made."""

    def __init__(self, url: str | None) -> None:
        super().__init__(url)
        self.url = url


def claim(form: FlaskForm, user_id: int | None) -> FormSubmission | None:
    """Take the form's key inside the current transaction, before anything is created; raise
    AlreadySubmitted when it was saved before. A form without a (well-formed) key — a page
    from before keys existed — is saved as it always was."""
    key = getattr(getattr(form, "submission_key", None), "data", None)
    if not isinstance(key, str) or not KEY.match(key):
        return None
    row = FormSubmission(key=key, user_id=user_id)
    try:
        with db.session.begin_nested():  # the INSERT waits here while another holds the key
            db.session.add(row)
    except sa.exc.IntegrityError:
        first = db.session.get(FormSubmission, key)
        if first is not None and first.user_id != user_id:  # someone else's key: not theirs
            logger.warning(
                "Form key %s… of user %s sent by user %s", key[:8], first.user_id, user_id
            )
            raise ValidationError("这份表单已失效，请刷新页面后重新填写。") from None
        logger.info("Form %s… submitted again by user %s: shown %s", key[:8], user_id, first)
        raise AlreadySubmitted(first.result_url if first else None) from None
    return row


def sent_before(form: FlaskForm) -> bool:
    """Was this form (its key) saved before? Checks against the records (a name or a code
    already taken) are then not the form's errors: `claim` shows the first result."""
    key = getattr(getattr(form, "submission_key", None), "data", None)
    return (
        isinstance(key, str)
        and KEY.match(key) is not None
        and db.session.get(FormSubmission, key) is not None
    )


def fulfil(row: FormSubmission | None, url: str) -> None:
    """Note where the claimed form's result is (committed with it); prune old keys."""
    if row is None:
        return
    row.result_url = url[:500]
    db.session.execute(sa.delete(FormSubmission).where(FormSubmission.created_at < utcnow() - KEPT))


def register(app: Flask) -> None:
    """A form sent again shows what its first sending made."""

    @app.errorhandler(AlreadySubmitted)
    def _again(exc: AlreadySubmitted) -> Response:
        db.session.rollback()
        flash("这份表单已经提交过（可能是连按了两次或网络重发），下面是第一次提交的结果。", "info")
        return redirect(exc.url or request.path)
