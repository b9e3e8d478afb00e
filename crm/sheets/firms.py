"""The firms' sheets: enterprises (with their first contact and yearly figures), their needs, the
contact people of firms and institutions, and the tasks list (export only)."""

from __future__ import annotations

from crm.money import wan_cell
from crm.sheets.columns import Column, Sheet, first_contact, name_of, phone_of

#: what offices head a phone column with
PHONE = ("电话", "手机", "手机号", "手机号码", "电话号码", "联系方式", "phone", "mobile")

ENTERPRISES = Sheet(
    "enterprises",
    "企业",
    (
        Column(
            "name",
            "企业名称",
            ("名称", "企业", "单位名称", "company", "name"),
            True,
            "嵊州市锦程领带有限公司",
        ),
        Column(
            "uscc",
            "统一社会信用代码",
            ("信用代码", "社会信用代码", "uscc", "credit code"),
            example="91330683MA2BXXXXXX",
            note="18 位，校验位会被核对；有则按它识别同一企业",
        ),
        Column(
            "town",
            "所属乡镇",
            (
                "乡镇",
                "乡镇街道",
                "所在乡镇",
                "所属镇街",
                "镇街",
                "镇乡街道",
                "镇",
                "街道",
                "所在镇",
                "town",
            ),
            example="经济开发区",
            note="嵊州市的乡镇街道名称",
            read=lambda e: e.town.name if e.town else None,
        ),
        Column(
            "industries",
            "所属行业",
            ("行业", "industry", "industries"),
            example="领带服装",
            note="多个行业用“、”或逗号分隔",
            read=lambda e: "、".join(i.name for i in e.industries) or None,
        ),
        Column(
            "main_products",
            "主营产品",
            ("产品", "主要产品", "products"),
            example="真丝提花领带",
        ),
        Column(
            "contact",
            "联系人",
            ("联系人姓名", "contact"),
            example="王先生",
            read=lambda e: name_of(first_contact(e)),
        ),
        Column(
            "phone",
            "联系电话",
            PHONE,
            example="0575-83000000",
            personal=True,
            read=lambda e: phone_of(first_contact(e)),
        ),
        Column("address", "地址", ("企业地址", "address")),
        Column(
            "above_scale",
            "规上企业",
            ("是否规上", "规模以上", "above scale"),
            example="是",
            note="是 / 否",
            read=lambda e: "是" if e.is_above_scale else "否",
        ),
        Column("notes", "备注", ("说明", "notes")),
        Column(
            "revenue",
            "营业收入（万元）",
            ("营业收入", "主营业务收入", "销售收入", "营收", "revenue"),
            exported=False,
            yearly=True,
            money=True,
            note="某一年的数字，年份写在表头里（如“2025年营业收入（万元）”）或在导入页选择",
        ),
        Column(
            "rnd_spend",
            "研发投入（万元）",
            (
                "研发投入",
                "研发费用",
                "研发经费",
                "R&D经费",
                "科技活动经费支出",
                "研发经费支出",
            ),
            exported=False,
            yearly=True,
            money=True,
        ),
        Column(
            "industrial_output",
            "工业总产值（万元）",
            ("工业总产值", "总产值"),
            exported=False,
            yearly=True,
            money=True,
        ),
        Column(
            "hitech_output",
            "高新技术产品产值（万元）",
            ("高新技术产品产值", "高新技术产业产值", "高新产品产值"),
            exported=False,
            yearly=True,
            money=True,
        ),
        Column(
            "hitech",
            "是否高新技术企业",
            ("高新技术企业", "是否高新", "国家高新技术企业", "国家高新"),
            exported=False,
            note="是 / 否；“是”而系统中没有记录的，补记一条国家级高新技术企业认定",
        ),
    ),
)


NEEDS = Sheet(
    "needs",
    "技术需求",
    (
        Column(
            "enterprise",
            "企业名称",
            ("企业", "需求企业", "单位名称", "company"),
            True,
            "嵊州市锦程领带有限公司",
            note="按信用代码、名称或相近名称对应到已有企业",
            read=lambda n: n.enterprise.name,
        ),
        Column("uscc", "统一社会信用代码", ("信用代码", "uscc"), read=lambda n: n.enterprise.uscc),
        Column(
            "title",
            "需求名称",
            ("需求", "需求标题", "项目名称", "技术需求名称", "title"),
            example="真丝领带起皱问题",
            note="没有这一列时，取需求描述的第一句（不超过 30 字）",
        ),
        Column(
            "description",
            "需求描述",
            ("描述", "需求内容", "具体需求", "description"),
            example="洗后容易起皱，希望找到抗皱整理工艺",
        ),
        Column(
            "budget",
            "预算（万元）",
            ("预算", "拟投入", "预算万元", "拟投入资金", "budget"),
            example="20",
            money=True,
            note="数字；“约30”“面议”之类保留在描述里并提醒",
            read=lambda n: wan_cell(n.budget),
        ),
        Column(
            "contact",
            "联系人",
            ("联系人姓名", "企业联系人", "contact"),
            exported=False,
            note="按姓名对应到企业已有的联系人，没有则新建",
        ),
        Column(
            "phone",
            "联系电话",
            PHONE,
            personal=True,
            exported=False,
        ),
    ),
    one_of=("title", "description"),
)


CONTACTS = Sheet(
    "contacts",
    "联系人",
    (
        Column(
            "organisation",
            "所在单位",
            ("单位名称", "企业名称", "单位", "企业", "organisation", "company"),
            True,
            "嵊州市锦程领带有限公司",
            note="企业或高校院所的名称",
            read=lambda c: name_of(c.enterprise) or name_of(c.institution),
        ),
        Column("name", "姓名", ("联系人", "name"), True, "王某某"),
        Column("position", "职务", ("职位", "position"), example="技术副总"),
        Column(
            "phone",
            "联系电话",
            PHONE,
            example="0575-83000000",
            personal=True,
        ),
        Column("email", "电子邮箱", ("邮箱", "email", "e-mail"), personal=True),
    ),
)


#: A list that exports but does not import (a task belongs to a visit or a person's day).
TASKS = Sheet(
    "tasks",
    "待办",
    (
        Column("title", "待办事项"),
        Column("enterprise", "企业", read=lambda t: name_of(t.enterprise)),
        Column("assignee", "负责人", read=lambda t: t.assignee.display_name),
        Column("due_on", "截止日期", read=lambda t: t.due_on.isoformat() if t.due_on else None),
        Column("status", "状态", read=lambda t: "已完成" if t.done else "未完成"),
        Column("notes", "备注"),
    ),
)
