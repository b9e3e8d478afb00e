"""A firm's yearly figures (revenue, R&D spend, industrial and high-tech output): added or
corrected one year at a time; the R&D-ratio and high-tech targets read them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from crm import policy
from crm.auth.models import User
from crm.enterprises.models import Enterprise, EnterpriseYear
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.money import to_yuan

logger = logging.getLogger(__name__)


@dataclass
class YearData:
    year: int
    above_scale: bool = False
    revenue_wan: Decimal | None = None
    rnd_spend_wan: Decimal | None = None
    industrial_output_wan: Decimal | None = None
    hitech_output_wan: Decimal | None = None


def save_year(
    user: User, ent: Enterprise, data: YearData, expected_version: int | None
) -> EnterpriseYear:
    """Add or correct one year's figures (the R&D-ratio and high-tech targets use them)."""
    policy.authorize(policy.can_edit_enterprise(user, ent), "您只能修改本人或本科室负责的企业。")
    if not 1990 <= data.year <= 2100:
        raise ValidationError("年度应在 1990–2100 之间。", field="year")
    figures = {
        "revenue": data.revenue_wan,
        "rnd_spend": data.rnd_spend_wan,
        "industrial_output": data.industrial_output_wan,
        "hitech_output": data.hitech_output_wan,
    }
    for name, value in figures.items():
        if value is not None and value < 0:
            raise ValidationError("金额不能为负数。", field=f"{name}_wan")
    row = db.session.scalar(
        sa.select(EnterpriseYear).where(
            EnterpriseYear.enterprise_id == ent.id, EnterpriseYear.year == data.year
        )
    )
    if row is None:
        row = EnterpriseYear(enterprise_id=ent.id, year=data.year)
        db.session.add(row)
    elif expected_version is None:
        raise ValidationError(f"{data.year} 年的数据已存在，请在表格中点该年度修改。", field="year")
    elif row.version != expected_version:
        raise Conflict()
    row.above_scale = data.above_scale
    for name, value in figures.items():
        setattr(row, name, to_yuan(value))
    db.session.flush()
    logger.info("Figures %s of %r saved by %s", data.year, ent, user.username)
    return row
