"""Institution, researcher and achievement forms."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm import policy
from crm.audit.labels import register_forms
from crm.auth.services import officers
from crm.clock import local_today
from crm.cooperation.models import Cooperation
from crm.db import max_length
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.forms import VersionField, add_errors, choices, id_or_none
from crm.institutions import branches
from crm.institutions.models import (
    Achievement,
    Branch,
    BranchKind,
    Institution,
    InstitutionKind,
    Maturity,
    Researcher,
    TransferMode,
)
from crm.submissions import OnceForm, sent_before


class InstitutionForm(OnceForm):
    name = StringField("单位名称", validators=[DataRequired("请输入单位名称。"), Length(max=120)])
    kind = SelectField("类型", choices=choices((k.value, k.label) for k in InstitutionKind))
    region = StringField("所在地区", validators=[Optional(), Length(max=60)])
    aliases = TextAreaField(
        "别名（每行一个，或用逗号分隔）", validators=[Optional(), Length(max=2000)]
    )
    website = StringField("网址", validators=[Optional(), Length(max=200)])
    description = TextAreaField(
        "简介", validators=[Optional(), Length(max=max_length(Institution.description))]
    )
    version = VersionField()
    submit = SubmitField("保存")


class ResearcherForm(OnceForm):
    name = StringField("姓名", validators=[DataRequired("请输入姓名。"), Length(max=64)])
    institution_id = SelectField("所在单位", coerce=id_or_none, validate_choice=False)
    title = StringField("职称", validators=[Optional(), Length(max=64)])
    research_directions = TextAreaField(
        "研究方向",
        validators=[Optional(), Length(max=max_length(Researcher.research_directions))],
    )
    team = StringField("团队", validators=[Optional(), Length(max=120)])
    bio = TextAreaField("个人简介", validators=[Optional(), Length(max=max_length(Researcher.bio))])
    version = VersionField()
    submit = SubmitField("保存")


class AchievementForm(OnceForm):
    title = StringField("成果名称", validators=[DataRequired("请输入成果名称。"), Length(max=200)])
    institution_id = SelectField("完成单位", coerce=id_or_none, validate_choice=False)
    researcher_id = SelectField("完成人", coerce=id_or_none, validate_choice=False)
    maturity = SelectField(
        "成熟度", choices=choices([("", "（未填）")] + [(m.value, m.label) for m in Maturity])
    )
    transfer_mode = SelectField(
        "转化方式", choices=choices([("", "（未填）")] + [(t.value, t.label) for t in TransferMode])
    )
    description = TextAreaField(
        "成果简介", validators=[Optional(), Length(max=max_length(Achievement.description))]
    )
    project_id = SelectField(
        "产出项目",
        coerce=id_or_none,
        validate_choice=False,
        description="由立项的科技项目产出时选择",
    )
    version = VersionField()
    submit = SubmitField("保存")


class BranchForm(OnceForm):
    """An institution's branch, joint lab, workstation or transfer sub-centre in the county."""

    name = StringField(
        "名称",
        validators=[DataRequired("请输入分支机构名称。"), Length(max=200)],
        description="如“浙江大学嵊州技术转移分中心”",
    )
    kind = SelectField("类型", choices=choices((k.value, k.label) for k in BranchKind))
    institution_id = SelectField("创办的高校院所", coerce=id_or_none, validate_choice=False)
    host_enterprise_id = SelectField("所在企业", coerce=id_or_none, validate_choice=False)
    host_place = StringField(
        "所在园区",
        validators=[Optional(), Length(max=120)],
        description="不设在企业里的，填写所在园区，如“经济开发区”",
    )
    established_on = DateField("设立日期", validators=[Optional()])
    cooperation_id = SelectField("来自哪项合作", coerce=id_or_none, validate_choice=False)
    officer_id = SelectField("负责联络员", coerce=id_or_none, validate_choice=False)
    notes = TextAreaField("备注", validators=[Optional(), Length(max=max_length(Branch.notes))])
    version = VersionField()
    submit = SubmitField("保存")

    def __init__(self, *args: Any, branch: Branch | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.branch = branch  # the one edited (None when registering)

    def offer(self, user: Any, institutions: list[Institution]) -> None:
        """The choices: live institutions, the firms `user` may edit, their cooperations, the
        officers — and what the branch already names, even if deleted since."""
        branch = self.branch
        firms = db.session.scalars(
            sa.select(Enterprise)
            .where(Enterprise.deleted_at.is_(None), policy.editable_enterprises(user))
            .order_by(Enterprise.name_sort, Enterprise.id)
        ).all()
        host = branch.host_enterprise if branch else None
        if host is not None and host not in firms:
            firms = [*firms, host]
        coops = db.session.execute(
            sa.select(Cooperation.id, Cooperation.title, Enterprise.name)
            .join(Enterprise, Enterprise.id == Cooperation.enterprise_id)
            .where(
                Cooperation.deleted_at.is_(None),
                Enterprise.deleted_at.is_(None),
                policy.editable_enterprises(user),
            )
            .order_by(Enterprise.name_sort, Cooperation.id.desc())
            .limit(1000)
        ).all()
        coop = branch.cooperation if branch else None
        inst = branch.institution if branch else None
        named = [(str(i.id), i.name) for i in institutions]
        if inst is not None and inst.deleted_at is not None:
            named.append((str(inst.id), f"{inst.name}（已删除）"))
        self.institution_id.choices = choices([("", "（请选择）"), *named])
        self.host_enterprise_id.choices = choices(
            [("", "（不在企业，设在园区）")]
            + [(str(e.id), e.name + ("（已删除）" if e.deleted_at else "")) for e in firms]
        )
        offered = [(str(i), f"{firm}：{title}") for i, title, firm in coops]
        if coop is not None and str(coop.id) not in dict(offered):
            gone = "（已删除）" if coop.deleted_at else ""
            offered.append((str(coop.id), f"{coop.enterprise.name}：{coop.title}{gone}"))
        self.cooperation_id.choices = choices([("", "（未填）"), *offered])
        people = [(str(u.id), u.display_name) for u in officers()]
        if branch is not None and branch.officer is not None and not branch.officer.active:
            people.append((str(branch.officer.id), f"{branch.officer.display_name}（已停用）"))
        self.officer_id.choices = choices([("", "（未指定）"), *people])

    def data_(self) -> branches.BranchData:
        return branches.BranchData(
            name=self.name.data or "",
            kind=BranchKind(self.kind.data)
            if self.kind.data in {k.value for k in BranchKind}
            else BranchKind.BRANCH,
            institution_id=self.institution_id.data,
            host_enterprise_id=self.host_enterprise_id.data,
            host_place=self.host_place.data,
            established_on=self.established_on.data,
            cooperation_id=self.cooperation_id.data,
            officer_id=self.officer_id.data,
            notes=self.notes.data,
        )

    def validate(self, extra_validators: Any = None) -> bool:
        """Every field's own check, then every rule of the service, said together."""
        valid = super().validate(extra_validators)
        if sent_before(self):
            return valid  # saved already: the save shows its result
        found = branches.problems(self.data_(), self.branch, local_today())
        add_errors(self, found, default="name")
        return valid and not self.errors


# what the change history calls these records' fields (crm.audit.labels)
register_forms("institution", InstitutionForm)
register_forms("researcher", ResearcherForm)
register_forms("achievement", AchievementForm)
register_forms("branch", BranchForm)
