"""A list page's export: `?format=xlsx|csv` on the page gives its own filtered rows as a file,
audited, then streamed (the body is read after the request's session is gone)."""

from __future__ import annotations

from flask import Response, request, stream_with_context
from flask_login import current_user

from crm import policy
from crm.clock import local_today
from crm.exports import services
from crm.extensions import db
from crm.sheets import EXPORTS
from crm.web import CSV, XLSX, attachment


def download(spec: services.ExportSpec, fmt: str) -> Response:
    """The export of a list page (its own filtered query), audited, then streamed."""
    total = services.count(spec)
    services.record(current_user, spec, fmt, total)
    db.session.commit()
    name = f"{EXPORTS[spec.kind].label}-{local_today():%Y%m%d}.{fmt}"
    # the body is read after this request's session is gone: nothing in it may need the session
    lines = services.rows(spec, policy.can_see_personal_data(current_user))
    if fmt == "csv":
        return attachment(stream_with_context(services.csv_chunks(lines)), name, CSV)
    tmp = services.xlsx_file(lines, EXPORTS[spec.kind].label)

    def blocks():  # type: ignore[no-untyped-def]
        with tmp:
            while block := tmp.read(1 << 16):
                yield block

    return attachment(blocks(), name, XLSX)


def export_format() -> str | None:
    """`?format=xlsx|csv` on a list page asks for its services."""
    fmt = request.args.get("format")
    return fmt if fmt in ("xlsx", "csv") else None
