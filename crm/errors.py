"""Exceptions services raise; one set of handlers renders them (and rolls back)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import click
import sqlalchemy as sa
from flask import Flask, Response, jsonify, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from crm.extensions import db

logger = logging.getLogger(__name__)


class CRMError(Exception):
    """Base class: `message` is shown to the user (Chinese), `status` is the HTTP status."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(CRMError):
    status = 400


class PermissionDenied(CRMError):
    status = 403

    def __init__(self, message: str = "您没有权限执行此操作。", **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)


class NotFound(CRMError):
    status = 404


class Conflict(CRMError):
    """Someone else changed the record since it was loaded (optimistic locking)."""

    status = 409

    def __init__(
        self, message: str = "该记录已被他人修改，请刷新后重新编辑。", **kwargs: str | None
    ) -> None:
        super().__init__(message, **kwargs)


class PreconditionFailed(CRMError):
    """A change named a version that is no longer the record's (API `If-Match`)."""

    status = 412


class PreconditionRequired(CRMError):
    """A change named no version at all (API: no `If-Match`)."""

    status = 428


class Unprocessable(CRMError):
    """Well-formed, and refused by the rules (an unknown reference, a duplicate name, a
    checksum, a stage out of order): 422, where a malformed request is 400."""

    status = 422


TITLES = {
    400: "请求有误",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持的请求方式",
    409: "记录已被修改",
    412: "记录已被修改",
    413: "文件过大",
    422: "无法处理",
    428: "缺少前提条件",
    429: "操作过于频繁",
    500: "服务器出错了",
    503: "服务暂时不可用",
}

MESSAGES = {
    400: "请求无法处理，请返回上一页重试。",
    403: "您没有权限访问此页面。如需权限，请联系管理员。",
    404: "您要找的页面不存在或已被删除。",
    405: "该页面不支持此请求方式。",
    401: "请先登录，或提供有效的 API 令牌。",
    413: "上传的文件过大。",
    429: "操作过于频繁，请稍后再试。",
    500: "系统出现了错误，已记录日志。请稍后重试，或联系管理员。",
    503: "系统繁忙，请稍后重试。",
}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return request.path.startswith("/api/") or best == "application/json"


def render_error(
    status: int, message: str | None = None, fields: dict[str, str] | None = None
) -> tuple[Response | str, int]:
    """One rendering for every error page: JSON for API clients
    (`{"error": {"code", "message", "fields"}}`), a Chinese page otherwise."""
    message = message or MESSAGES.get(status, MESSAGES[500])
    if _wants_json():
        return jsonify(error={"code": status, "message": message, "fields": fields or {}}), status
    title = TITLES.get(status, TITLES[500])
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CRMError)
    def _crm_error(exc: CRMError) -> tuple[Response | str, int]:
        db.session.rollback()
        logger.info("%s on %s %s: %s", type(exc).__name__, request.method, request.path, exc)
        fields = {exc.field: exc.message} if exc.field else None
        return render_error(exc.status, exc.message, fields)

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    @app.errorhandler(sa.exc.TimeoutError)
    def _unavailable(exc: Exception) -> tuple[Response | str, int, dict[str, str]]:
        """The database is down, locked or out of connections: say so in Chinese (503, no
        traceback); the transaction is rolled back, so nothing is half-written. The page
        touches nothing that needs the database (not even the signed-in user)."""
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:  # the connection itself is gone: let it go
            db.session.close()
        logger.error("Database unavailable on %s %s: %s", request.method, request.path, exc)
        message = "数据库暂时不可用或正忙，请稍后重试。刚才的操作没有保存。"
        retry = {"Retry-After": "10"}
        if _wants_json():
            return jsonify(error={"code": 503, "message": message, "fields": {}}), 503, retry
        # rendered straight from Jinja: the app's context processors would load the
        # signed-in user, from the database that just failed
        page = app.jinja_env.get_template("errors/unavailable.html").render(
            message=message, request=request, url_for=url_for
        )
        return page, 503, retry

    @app.errorhandler(sa.exc.IntegrityError)
    def _integrity(exc: sa.exc.IntegrityError) -> tuple[Response | str, int]:
        """A rule the database enforced where our checks had passed: most often two people
        saving the same thing at once (both saw the USCC free; the second INSERT meets the
        first's). Nothing is saved; the user is told in Chinese, the log gets the detail."""
        db.session.rollback()
        status, message, _ = integrity_message(exc)
        logger.warning(  # the driver's message: the statement's values may be personal
            "Refused by the database on %s %s (%d): %s",
            request.method,
            request.path,
            status,
            exc.orig,
        )
        return render_error(status, message)

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError) -> tuple[Response | str, int]:
        db.session.rollback()
        logger.info("Stale write on %s %s: %s", request.method, request.path, exc)
        return render_error(409, Conflict().message)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[Response | str, int]:
        logger.warning("CSRF refused on %s %s: %s", request.method, request.path, exc.description)
        return render_error(400, "页面已过期或表单令牌无效，请刷新页面后重新提交。")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response | str, int] | HTTPException:
        if exc.code is None or exc.code < 400:
            return exc
        if exc.code == 413 and request.path.startswith("/api/"):
            limit_kb = int(app.config["API_MAX_BODY_KB"])
            logger.info("API body over %s KB refused on %s", limit_kb, request.path)
            return render_error(413, f"请求体超过 {limit_kb} KB 的上限。")
        if exc.code == 413:
            limit = max(int(app.config["IMPORT_MAX_MB"]), int(app.config["ATTACHMENT_MAX_MB"]))
            logger.info("Upload over %s MB refused on %s", limit, request.path)
            message = (
                f"上传的文件超过 {limit} MB 的上限。请把文件拆分成几份，或删去无关的工作表后再试。"
            )
            return render_error(413, message)
        if exc.code == 405:  # say what the address does support
            body, status = render_error(405)
            return body, status, {"Allow": ", ".join(sorted(exc.valid_methods or ()))}  # type: ignore[return-value]
        return render_error(exc.code)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response | str, int]:
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:  # the connection itself is gone: let it go
            db.session.close()
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500)


#: unique constraints people meet, in their words (table.column as the databases name them)
UNIQUE_WORDS = {
    "enterprise.uscc": "这个统一社会信用代码已被另一家企业使用",
    "enterprise_alias.alias": "这个企业别名已属于另一家企业",
    "institution.name": "同名的高校院所已存在",
    "institution_alias.alias": "这个别名已属于另一个高校院所",
    "user.username": "这个用户名已存在",
    "project.number": "这个项目编号已被另一个项目使用",
    "programme.name": "同名的科技计划已存在",
    "candidate.enterprise_id": "这家企业当年已在该类培育库中",
}


def integrity_message(exc: sa.exc.IntegrityError) -> tuple[int, str, str | None]:
    """(status, Chinese message, the column it is about if known) for a constraint the
    database refused a write on."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None)  # psycopg
    text = str(orig)
    if code == "23505" or "UNIQUE constraint failed" in text:
        name = getattr(getattr(orig, "diag", None), "constraint_name", None) or ""
        key = next(
            (k for k in UNIQUE_WORDS if k in text or name.startswith("uq_" + k.replace(".", "_"))),
            None,
        )
        what = UNIQUE_WORDS[key] if key else "与已有的记录重复"
        message = f"没有保存：{what}（可能是他人刚刚登记了同样的信息）。请核对后再提交。"
        return 409, message, key.split(".")[1] if key else None
    if code == "23503" or "FOREIGN KEY constraint failed" in text:
        return 400, "没有保存：所选的记录不存在或已被删除，请刷新页面后重新选择。", None
    return 400, "没有保存：提交的内容不符合要求，请检查后重新提交。", None


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """CLI commands: a service's error rolls back and exits non-zero with its Chinese message."""
    try:
        yield
    except CRMError as exc:
        db.session.rollback()
        logger.info("CLI refused: %s", exc)
        raise click.ClickException(exc.message) from exc
