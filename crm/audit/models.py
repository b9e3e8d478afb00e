"""Field-level history of every change, written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.Index("ix_audit_entry_record", "table_name", "record_id"),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'delete', 'restore', 'purge', 'login', 'login_failed',"
            " 'logout', 'export')",
            name="action_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(16))
    table_name: Mapped[str] = mapped_column(sa.String(64))
    record_id: Mapped[int]
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    # {"field": [before, after], ...}
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    import_batch_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("import_batch.id", ondelete="SET NULL"), index=True
    )


ACTION_LABELS = {
    "create": "新建",
    "update": "修改",
    "delete": "删除",
    "restore": "恢复",
    "purge": "彻底删除",
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "export": "导出",
}

FIELD_LABELS = {
    "name": "名称",
    "uscc": "统一社会信用代码",
    "town_id": "乡镇街道",
    "address": "地址",
    "main_products": "主营产品",
    "is_above_scale": "规上企业",
    "owner_id": "负责联络员",
    "department_id": "负责科室",
    "notes": "备注",
    "deleted_at": "删除时间",
    "title": "标题",
    "description": "描述",
    "status": "状态",
    "display_name": "姓名",
    "role": "角色",
    "active": "启用",
    "password_hash": "密码",
    "username": "用户名",
    "phone": "电话",
    "email": "电子邮箱",
    "position": "职务",
}
