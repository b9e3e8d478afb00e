"""The measures of the bureau's annual plan that targets are set for.

Labels and units are the plan's own words (嵊科技〔2011〕24, 四、工作重点). How each actual is
computed from records lives with the dashboard; this is the vocabulary both share.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    code: str
    label: str
    unit: str  # 家 / 项 / 个 / % …
    measure: str  # which of the plan's numbered measures it belongs to


METRICS: tuple[Metric, ...] = (
    Metric("rnd_ratio", "规上工业企业科技活动经费支出占主营业务收入比重", "%", "1"),
    Metric("hitech_share", "规上工业高新技术产业产值占工业总产值比重", "%", "1"),
    Metric("new_hitech_national", "新增国家级高新技术企业", "家", "2"),
    Metric("new_tech_sme_provincial", "新增省级科技型中小企业", "家", "2"),
    Metric("new_patent_demo_provincial", "新增省级专利示范企业", "家", "2"),
    Metric("provincial_projects", "新上省级以上科技项目", "项", "3"),
    Metric("institution_branches", "引进高等院校和技术转移中心创办分支", "家", "4"),
    Metric("new_rnd_center_provincial", "新认定省级研发中心", "家", "4"),
    Metric("new_rnd_center_shaoxing", "新认定绍兴市级研发中心", "家", "4"),
    Metric("joint_innovation_carriers", "与大院名校共建创新载体", "家", "4"),
    Metric("incubated_hitech", "科创中心吸引高新技术企业入驻孵化", "家", "4"),
    Metric("joint_rnd_products", "与科研院所共同研发高效节能机电新产品", "只", "5"),
    Metric("achievements_introduced", "引进国内外各类科技成果", "项", "6"),
    Metric("achievements_new_company", "科技成果引进后直接创办企业", "项", "6"),
    Metric("motor_expo_booths", "电机展览会暨高新技术成果交易会摊位", "个", "7"),
    Metric("design_contest_held", "“嵊州厨具杯”工业设计大赛", "届", "8"),
)

BY_CODE = {m.code: m for m in METRICS}
