"""Files kept with a cooperation record or a 科技项目 (申报书, 立项通知, 验收报告): PDF or images
only, told by their content (never by the name or the browser's word), at most
`ATTACHMENT_MAX_MB`, stored outside the web root under a random name, and served only through
the app."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path
from typing import IO

from flask import current_app

from crm import policy
from crm.auth.models import User
from crm.cooperation.models import Attachment, Cooperation
from crm.errors import ValidationError
from crm.extensions import db
from crm.projects.models import Project

logger = logging.getLogger(__name__)

#: (what a file starts with, at which offset) → its type and the extension it is stored with
SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"%PDF-", 0, "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", ".png"),
    (b"\xff\xd8\xff", 0, "image/jpeg", ".jpg"),
    (b"WEBP", 8, "image/webp", ".webp"),
)
CHUNK = 1 << 16


def folder() -> Path:
    configured = current_app.config.get("ATTACHMENT_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "attachments"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a PDF or an image, from its first bytes."""
    for signature, offset, content_type, extension in SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if content_type == "image/webp" and not head.startswith(b"RIFF"):
                continue
            return content_type, extension
    return None


def may_edit(user: User, owner: Cooperation | Project) -> bool:
    """Who keeps files with a record: whoever may move it along."""
    if isinstance(owner, Project):
        return policy.can_edit_project(user, owner)
    return policy.can_edit_cooperation(user, owner)


def add(user: User, owner: Cooperation | Project, filename: str, stream: IO[bytes]) -> Attachment:
    """Keep an uploaded file with the record (a cooperation or a project), or refuse it in
    Chinese; nothing is left behind either way (a refused or failed upload removes its partial
    file)."""
    what = "项目" if isinstance(owner, Project) else "合作"
    policy.authorize(
        may_edit(user, owner), f"只有负责该{what}的联络员、本科室人员或管理员可以上传附件。"
    )
    limit = int(current_app.config["ATTACHMENT_MAX_MB"]) * 1024 * 1024
    head = stream.read(16)
    kind = sniff(head)
    if kind is None:
        logger.info("Attachment %r refused: not a PDF or image (%r)", filename, head[:8])
        raise ValidationError("只能上传 PDF 或图片（PNG、JPEG、WEBP）。", field="file")
    content_type, extension = kind
    stored = secrets.token_hex(16) + extension
    target = folder() / stored
    partial = target.with_suffix(target.suffix + ".part")
    digest, size = hashlib.sha256(head), len(head)
    try:
        with partial.open("wb") as out:
            out.write(head)
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ValidationError(
                        f"附件不能超过 {current_app.config['ATTACHMENT_MAX_MB']} MB。", field="file"
                    )
                digest.update(chunk)
                out.write(chunk)
        os.replace(partial, target)
        attachment = Attachment(
            cooperation_id=owner.id if isinstance(owner, Cooperation) else None,
            project_id=owner.id if isinstance(owner, Project) else None,
            filename=_display_name(filename, extension),
            stored_name=stored,
            content_type=content_type,
            size=size,
            sha256=digest.hexdigest(),
        )
        db.session.add(attachment)
        db.session.flush()
    except BaseException:
        partial.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise
    logger.info(
        "Attachment %s (%s, %d bytes) added to %s %s",
        stored,
        content_type,
        size,
        type(owner).__tablename__,
        owner.id,
    )
    return attachment


def _display_name(filename: str, extension: str) -> str:
    """The uploaded name without any path or control characters, ending as its content is."""
    name = Path((filename or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(". ") or "附件"
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return (stem[:150] or "附件") + extension


def path_of(attachment: Attachment) -> Path:
    return folder() / attachment.stored_name


def remove(user: User, attachment: Attachment) -> None:
    """Delete it (the audit trail keeps who and when); the file goes after the commit."""
    owner = attachment.owner
    policy.authorize(
        owner is not None and may_edit(user, owner),
        "只有负责该记录的联络员、本科室人员或管理员可以删除附件。",
    )
    db.session.delete(attachment)
    db.session.flush()
