"""The shared directory's sheets: institutions, researchers and achievements."""

from __future__ import annotations

from crm.sheets.columns import Column, Sheet, label_of, name_of

INSTITUTIONS = Sheet(
    "institutions",
    "高校院所",
    (
        Column(
            "name",
            "单位名称",
            ("名称", "机构名称", "院校名称", "institution", "name"),
            True,
            "香港理工大学",
        ),
        Column(
            "kind",
            "类型",
            ("单位类型", "机构类型", "kind", "type"),
            example="高等院校",
            note="高等院校 / 中科院院所 / 科研院所 / 技术转移中心 / 其他",
            read=lambda i: i.kind.label,
        ),
        Column("region", "所在地区", ("地区", "所在地", "region"), example="香港"),
        Column(
            "description",
            "简介",
            ("单位简介", "description"),
            example="纺织及服装学系在功能整理方面积累深厚",
        ),
        Column(
            "aliases",
            "别名",
            ("简称", "又名", "aliases"),
            example="港理工、PolyU",
            note="多个别名用“、”或逗号分隔",
            read=lambda i: "、".join(a.alias for a in i.aliases) or None,
        ),
    ),
)


RESEARCHERS = Sheet(
    "researchers",
    "专家",
    (
        Column("name", "姓名", ("专家姓名", "名字", "专家", "name"), True, "陈某某"),
        Column(
            "institution",
            "所在单位",
            ("单位", "工作单位", "institution"),
            example="港理工",
            note="按名称、别名或相近名称对应到已有单位；找不到则新建并报告",
            read=lambda r: name_of(r.institution),
        ),
        Column("title", "职称", ("title",), example="教授"),
        Column(
            "research_directions",
            "研究方向",
            ("方向", "研究领域", "专业领域", "research directions"),
            example="纺织品功能整理；抗皱免烫整理",
        ),
        Column(
            "bio",
            "个人简介",
            ("简介", "专家简介", "bio"),
            example="长期从事真丝织物抗皱整理研究",
        ),
        Column("team", "团队", ("所在团队", "team")),
    ),
)


ACHIEVEMENTS = Sheet(
    "achievements",
    "科技成果",
    (
        Column(
            "title",
            "成果名称",
            ("名称", "成果", "项目名称", "title"),
            True,
            "真丝织物无甲醛抗皱整理技术",
        ),
        Column(
            "institution",
            "完成单位",
            ("单位", "所属单位", "institution"),
            example="香港理工大学",
            read=lambda a: name_of(a.institution),
        ),
        Column(
            "researcher",
            "完成人",
            ("负责人", "发明人", "researcher"),
            example="陈某某",
            note="按姓名在完成单位的专家中查找",
            read=lambda a: name_of(a.researcher),
        ),
        Column(
            "description",
            "成果简介",
            ("简介", "成果描述", "description"),
            example="采用多元羧酸交联，整理后织物折皱回复角提高 40%",
        ),
        Column(
            "maturity",
            "成熟度",
            ("成果成熟度", "maturity"),
            example="中试",
            note="实验室阶段 / 小试 / 中试 / 可产业化",
            read=lambda a: label_of(a.maturity),
        ),
        Column(
            "transfer_mode",
            "转化方式",
            ("合作方式", "transfer mode"),
            example="许可",
            note="转让 / 许可 / 作价入股 / 合作开发 / 面议",
            read=lambda a: label_of(a.transfer_mode),
        ),
    ),
)
