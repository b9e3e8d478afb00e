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

#: Each kind of record the trail names, as people call it.
TABLE_LABELS = {
    "enterprise": "企业",
    "enterprise_year": "年度数据",
    "enterprise_alias": "企业别名",
    "recognition": "资质认定",
    "contact": "联系人",
    "town": "乡镇街道",
    "industry": "行业",
    "need": "技术需求",
    "visit": "走访",
    "task": "待办",
    "suggestion": "匹配推荐",
    "cooperation": "合作",
    "attachment": "附件",
    "institution": "高校院所",
    "institution_alias": "院所别名",
    "researcher": "专家",
    "achievement": "科技成果",
    "event": "对接活动",
    "event_participant": "活动参加者",
    "event_pairing": "活动配对",
    "target": "年度目标",
    "target_share": "科室目标",
    "thesaurus_entry": "同义词",
    "programme": "科技计划",
    "project": "科技项目",
    "project_partner": "项目合作单位",
    "branch": "院校分支",
    "candidate": "培育对象",
    "user": "用户",
    "department": "科室",
    "user_session": "登录会话",
    "login_attempt": "登录尝试",
    "report": "报表",
    "import_batch": "导入批次",
}

#: Labels of the fields no form or spreadsheet column names (theirs win where they have one),
#: by table and for every table ("*"); a reference without one is called by the kind it refers
#: to (`enterprise_id`: 企业).
FIELD_LABELS: dict[str, dict[str, str]] = {
    "*": {
        "name": "名称",
        "title": "标题",
        "description": "描述",
        "status": "状态",
        "notes": "备注",
        "note": "备注",
        "alias": "别名",
        "kind": "类型",
        "year": "年度",
        "deleted_at": "删除时间",
        "active": "启用",
        "password_hash": "密码",
        "username": "用户名",
        "format": "格式",
        "rows": "行数",
        "filters": "筛选条件",
    },
    "cooperation": {"stage": "阶段", "officer_id": "联络员"},
    "project": {
        "stage": "阶段",
        "approved_on": "立项日期",
        "enterprise_id": "承担企业",
        "cooperation_id": "来自合作",
        "suggestion_id": "来自推荐",
    },
    "candidate": {"stage": "阶段", "officer_id": "联络员", "recognition_id": "认定"},
    "visit": {"officer_id": "走访人", "next_steps": "下一步"},
    "task": {"assignee_id": "负责人", "done_at": "完成时间"},
    "suggestion": {
        "score": "匹配度",
        "matched_terms": "命中的词",
        "adjustments": "加减分",
        "semantic": "语义相近",
        "fused": "含语义匹配",
        "decided_by_id": "处理人",
        "decided_at": "处理时间",
    },
    "event": {"outcomes": "活动成果"},
    "event_pairing": {
        "score": "匹配度",
        "slot_starts_at": "时段",
        "table_no": "桌号",
        "outcome": "结果",
        "outcome_note": "结果说明",
    },
    "recognition": {
        "kind": "资质",
        "granted_on": "认定日期",
        "expires_on": "有效期至",
        "certificate_no": "证书编号",
    },
    "target": {"metric": "指标", "value": "目标值"},
    "target_share": {"value": "目标值"},
    "user": {"password_changed_at": "密码修改时间"},
    "attachment": {
        "filename": "文件名",
        "content_type": "文件类型",
        "size": "大小（字节）",
        "stored_name": "存储文件名",
        "sha256": "校验值",
    },
}
