"""What every page shares: the create/edit flow, a button's POST, query arguments, downloads."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from crm import submissions
from crm.clock import local_today
from crm.errors import Conflict, ValidationError, integrity_message
from crm.extensions import db
from crm.forms import attach_error
from crm.queries import MAX_ID

logger = logging.getLogger(__name__)
MAX_PAGE = 100_000


def list_args() -> dict[str, str]:
    """A list page's filter, as its pager and export links carry it (no page, no format)."""
    return {k: v for k, v in request.args.items() if k not in ("page", "format") and v}


def save_form(
    form: FlaskForm,
    save: Callable[[], Any],
    *,
    template: str,
    done: Callable[[Any], str],
    success: str | Callable[[Any], str] = "已保存。",
    default_field: str,
    record: Any = None,
    conflict: Callable[[], Any] = lambda: True,
    **context: Any,
) -> Response | tuple[str, int]:
    """Validate, call the service, commit once; or show what went wrong, writing nothing.

    A stale edit (Conflict) re-renders with status 409, `conflict=conflict()` (what the user
    submitted, shown beside the stored record) and the form's version moved to the stored one.
    """
    if form.validate_on_submit():
        try:
            # a create form is saved once: sent again, it shows the first result
            claimed = submissions.claim(form, current_user.id) if record is None else None
            saved = save()
        except Conflict:
            submitted = conflict()
            db.session.rollback()
            if record is not None:
                db.session.refresh(record)
                form.version.data = str(record.version)
            return render_template(
                template, form=form, conflict=submitted, record=record, **context
            ), 409
        except ValidationError as exc:
            db.session.rollback()
            attach_error(form, exc, default=default_field)
        except sa.exc.IntegrityError as exc:  # lost a race our checks could not see (USCC)
            db.session.rollback()
            status, message, column = integrity_message(exc)
            logger.warning("Save refused by the database on %s: %s", request.path, exc.orig)
            attach_error(form, ValidationError(message, field=column), default=default_field)
            return render_template(
                template, form=form, conflict=None, record=record, **context
            ), status
        else:
            target = done(saved)
            submissions.fulfil(claimed, target)
            db.session.commit()
            flash(success(saved) if callable(success) else success, "success")
            return redirect(target)
    status = 400 if form.errors else 200
    if form.errors:
        logger.info("Form on %s refused: %s", request.path, form.errors)
    return render_template(template, form=form, conflict=None, record=record, **context), status


def id_arg(name: str, source: Any = None) -> int | None:
    """A record id from the query string (or `source`, e.g. request.form): None when absent or
    not an id a 32-bit column can hold — a filter on it then simply does not apply."""
    raw = (source if source is not None else request.args).get(name, "")
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        return None
    return int(raw)


def version_arg() -> int:
    """The version a button's form was loaded at (0, matching none, if it is not a number)."""
    raw = request.form.get("version", "")
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID else 0


def page_arg() -> int:
    """The list page asked for (?page=), 1 when it is not a sensible page number."""
    raw = request.args.get("page", "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_PAGE else 1


def paginate(stmt: Any, per_page: int | None = None) -> Any:
    """A page of a list's statement: ?page= read safely, past the end an empty page."""
    size = per_page or int(current_app.config["PER_PAGE"])
    return db.paginate(stmt, page=page_arg(), per_page=size, error_out=False)


def year_arg(name: str = "year") -> int:
    """A year from the query string (1990–2100), or this year."""
    value = request.args.get(name, "")
    if value.isascii() and value.isdigit() and 1990 <= int(value) <= 2100:
        return int(value)
    return local_today().year


def save_step(
    form: FlaskForm,
    act: Callable[[], Any],
    *,
    reload: Callable[[], Any],
    show: Callable[[Any, FlaskForm, int], Any],
    fresh: Callable[[Any], FlaskForm],
    default: str,
) -> Any | None:
    """A dated step posted from a record's page (a cooperation's or a project's move, a pool
    entry's coaching step), its form already valid: the service's refusal is shown beside its
    field with the form as sent (400); a form loaded before someone else's change gets the
    record as it is now with a fresh form (409). None once the step is committed."""
    try:
        act()
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "warning")
        record = reload()
        return show(record, fresh(record), 409)
    except ValidationError as exc:
        db.session.rollback()
        attach_error(form, exc, default=default)
        return show(reload(), form, 400)
    db.session.commit()
    return None


def run_action(action: Callable[[], Any], success: str | Callable[[Any], str]) -> Any:
    """Run a POST's service call behind a button: commit and say so, or roll back and show the
    Chinese reason it was refused. Returns the result, or None when refused."""
    if not FlaskForm().validate_on_submit():
        return None
    try:
        result = action()
    except (ValidationError, Conflict) as exc:
        db.session.rollback()
        flash(exc.message, "warning")
        return None
    db.session.commit()
    flash(success(result) if callable(success) else success, "success")
    return result


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def attachment(body: object, filename: str, mimetype: str) -> Response:
    """A download named in Chinese (RFC 5987, an ASCII name for old clients), never cached:
    it may hold personal data."""
    response = Response(body, mimetype=mimetype)
    ascii_name = "export" + PurePosixPath(filename).suffix
    response.headers["Content-Disposition"] = (
        f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(filename)}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
