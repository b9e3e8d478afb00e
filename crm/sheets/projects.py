"""The province's and city's published project lists (立项名单 / 验收名单) as the importer reads
them: import only (what we keep of a project is not this layout, so nothing exports to it)."""

from __future__ import annotations

from crm.sheets.columns import Column, Sheet

PROJECT_LISTS = Sheet(
    "project_lists",
    "科技项目名单（立项、验收）",
    (
        Column(
            "number",
            "项目编号",
            ("立项编号", "项目代码", "计划编号", "项目号"),
            example="2026C01012",
            note="立项名单必填；按它找到已登记的项目",
        ),
        Column(
            "title",
            "项目名称",
            ("课题名称", "项目（课题）名称"),
            True,
            "高效永磁同步电机关键技术研发及产业化",
        ),
        Column(
            "enterprise",
            "承担单位",
            (
                "项目承担单位",
                "申报单位",
                "单位名称",
                "承担企业",
                "牵头单位",
                "牵头承担单位",
                "企业名称",
                "依托单位",
            ),
            True,
            "越丰电机（嵊州）有限公司",
            note="按信用代码、名称、别名或相近名称对应到企业库；名单不会新建企业",
        ),
        Column("uscc", "统一社会信用代码", ("信用代码", "社会信用代码", "uscc")),
        Column(
            "county",
            "县（市、区）",
            ("所在县（市、区）", "所属县（市、区）", "县市区", "所在地区", "所属地区", "区县"),
            example="嵊州市",
            note="其他县（市、区）的行跳过，只计数",
        ),
        Column("city", "设区市", ("所在设区市", "所属设区市", "地市", "所在市")),
        Column(
            "category",
            "计划类别",
            ("项目类别", "计划类型", "项目类型", "专项类别", "计划名称", "类别"),
            example="浙江省重点研发计划",
            note="科技计划列表中的名称；没有这一列时按标题或上传时的选择",
        ),
        Column("leader", "项目负责人", ("负责人",), example="王某某", note="写入项目备注"),
        Column(
            "grant",
            "财政资助（万元）",
            (
                "省财政补助（万元）",
                "省财政补助",
                "市财政补助",
                "财政补助",
                "资助经费（万元）",
                "资助经费",
                "补助经费",
                "资助金额",
                "补助金额",
                "财政资助",
                "省财政资助",
                "市财政资助",
                "下达经费",
            ),
            example="50",
            money=True,
            note="万元（或表头写明的单位）",
        ),
        Column("self_funding", "自筹经费（万元）", ("自筹经费", "自筹资金"), money=True),
        Column(
            "period",
            "起止年限",
            ("实施期限", "起止时间", "项目起止时间", "执行期限", "实施年限", "项目实施期"),
            example="2026.01-2027.12",
            note="如 2026.01-2027.12 或 2026-2027",
        ),
        Column(
            "result",
            "验收结论",
            ("验收结果", "结题结论", "验收意见", "结题情况", "验收情况", "结论"),
            note="验收名单：通过 / 不通过（不通过的不记为验收）",
        ),
        Column("notes", "备注", ("说明",)),
    ),
)
