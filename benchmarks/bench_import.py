"""Import speed: 100,000 researchers from one .xlsx, text analysis and search terms included.

Writes a generated roster laid out as a 科研处 sends it (a merged title and a date line above
the header, 序号, its own header words such as 工作单位（院系）, a 填表人 footer; varied research
directions and bios, 300 institutions named as officers write them, some by abbreviation), so
the header detection, the column matching and the footer check are in the timing. Imports it
into a throw-away SQLite database (or PostgreSQL with --database-url) through
`crm.imports.services.run_import`, commits, and prints rows/s. Peers in the same run: reading
the file alone with openpyxl (the floor), and the
ORM path (one object at a time through the flush hooks, as a form save does) on a slice.
Target: 100,000 rows in <= 60 s.

    .venv/bin/python benchmarks/bench_import.py [--rows 100000] [--peer-rows 5000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade
from openpyxl import Workbook, load_workbook

from crm import create_app
from crm.auth import services as auth
from crm.auth.models import Role
from crm.extensions import db
from crm.imports import services
from crm.institutions.models import Institution, Researcher
from crm.text.models import SearchTerm

SURNAMES = "王李张刘陈杨黄赵吴周徐孙朱马胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "志远建华晓东海峰丽娟文博宇航雪梅俊杰嘉怡明轩思源国栋慧敏晓燕立群永强振宇佳琪浩然"
TITLES = ["教授", "副教授", "研究员", "副研究员", "高级工程师", "讲师", "助理研究员"]
TOPICS = [
    "纺织品功能整理",
    "抗皱免烫整理",
    "真丝染色",
    "数码印花",
    "提花织物设计",
    "永磁同步电机设计",
    "电磁振动与噪声",
    "伺服系统",
    "电机驱动与控制",
    "硅藻土提纯",
    "矿物加工",
    "燃烧器设计",
    "燃气具热效率",
    "茶叶加工",
    "茶叶机械",
    "色彩管理",
    "稀土永磁材料",
    "钕铁硼",
    "机器视觉检测",
    "工业机器人",
    "中药提取分离",
    "制剂工艺",
    "电力系统调度",
    "软件缺陷预测",
    "铸造缺陷控制",
    "土壤修复",
    "污水处理",
    "膜分离",
    "高分子复合材料",
    "智能传感器",
    "嵌入式系统",
    "热泵技术",
    "锂电池材料",
    "光伏组件",
    "食品保鲜",
    "生物发酵",
    "精密模具",
    "数控加工",
    "表面处理",
]
VERBS = ["长期从事", "主要研究", "致力于", "近年来聚焦", "负责"]
DEEDS = [
    "主持国家自然科学基金项目{n}项",
    "获省科技进步奖{n}项",
    "授权发明专利{n}件",
    "发表SCI论文{n}篇",
    "与{n}家企业开展横向合作",
    "指导企业建成省级研发中心{n}个",
]
PLACES = ["杭州", "上海", "宁波", "南京", "北京", "香港", "绍兴", "合肥", "武汉", "西安"]


def institutions(n: int) -> list[str]:
    names = ["香港理工大学", "浙江大学", "东华大学", "浙江理工大学", "中国科学院过程工程研究所"]
    kinds = ["大学", "理工学院", "研究院", "技术研究所", "职业技术学院"]
    i = 0
    while len(names) < n:
        names.append(
            f"{PLACES[i % len(PLACES)]}{['东方', '南湖', '新华', '明德', '华光', '临江'][i % 6]}"
            f"{kinds[i % len(kinds)]}{i // 30 or ''}"
        )
        i += 1
    return names


def write_roster(path: Path, rows: int, seed: int = 11) -> None:
    rnd = random.Random(seed)
    insts = institutions(300)
    wb = Workbook()  # not write-only: shared strings, as Excel saves them
    ws = wb.active
    ws.title = "专家"
    # as a 科研处 sends it: a title merged across, a date line, 序号, its own header words
    ws.append(["2026年产学研合作专家库（汇总）"])
    ws.merge_cells("A1:F1")
    ws.append(["填报单位：各高校科研处", None, None, None, "填报日期：2026年3月"])
    ws.append(["序号", "专家姓名", "工作单位（院系）", "职称", "研究方向", "个人简介"])
    for n in range(rows):
        topics = rnd.sample(TOPICS, 3)
        inst = rnd.choice(insts)
        if inst == "香港理工大学" and rnd.random() < 0.3:
            inst = "港理工"
        bio = (
            f"{rnd.choice(VERBS)}{topics[0]}和{topics[1]}研究，"
            + "，".join(d.format(n=rnd.randint(1, 30)) for d in rnd.sample(DEEDS, 2))
            + f"，在{topics[2]}方面有{rnd.randint(3, 25)}年积累。"
        )
        ws.append(
            [
                n + 1,
                rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
                inst,
                rnd.choice(TITLES),
                "；".join(topics[:2]),
                bio,
            ]
        )
    ws.append(["填表人：某某", None, None, "审核人：某某"])
    wb.save(path)


def read_only_pass(path: Path) -> float:
    started = time.perf_counter()
    wb = load_workbook(path, read_only=True, data_only=True)
    sum(1 for _ in wb.active.iter_rows(values_only=True))
    wb.close()
    return time.perf_counter() - started


def orm_peer(roster: Path, rows: int) -> float:
    """The form-save path on the same rows: one Researcher at a time through the ORM and its
    flush hooks (audit, search index), the file already read and institutions known."""
    wb = load_workbook(roster, read_only=True)
    sample = list(wb.active.iter_rows(min_row=4, max_row=rows + 3, values_only=True))
    wb.close()
    inst = db.session.scalars(sa.select(Institution).limit(1)).one()
    started = time.perf_counter()
    for i, (_n, name, _inst, title, directions, bio) in enumerate(sample):
        db.session.add(
            Researcher(
                name=name,
                institution_id=inst.id,
                title=title,
                research_directions=directions,
                bio=bio,
            )
        )
        if i % 200 == 199:
            db.session.flush()
    db.session.flush()
    elapsed = time.perf_counter() - started
    db.session.rollback()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--peer-rows", type=int, default=5_000)
    parser.add_argument("--database-url", help="default: a throw-away SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "roster.xlsx"
        started = time.perf_counter()
        write_roster(roster, args.rows)
        print(
            f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s "
            f"({roster.stat().st_size / 1e6:.1f} MB)"
        )
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench" * 8})
        with app.app_context():
            upgrade()
            user = auth.create_user(
                auth.UserData("bench", "压测", Role.ADMIN, "bench-password-1", None)
            )
            db.session.commit()

            read = read_only_pass(roster)
            started = time.perf_counter()
            report = services.run_import(user, roster, roster.name)
            db.session.commit()
            elapsed = time.perf_counter() - started
            terms = db.session.scalar(sa.select(sa.func.count(SearchTerm.id)))
            print(f"import: {report.rows:,} rows, {report.counts}; {report.where}")
            print(
                "  columns: "
                + "、".join(
                    f"{m.header}→{m.column.header if m.column else '—'}" for m in report.matches
                )
            )
            print(
                f"  {elapsed:.1f} s = {report.rows / elapsed:,.0f} rows/s "
                f"({terms:,} search terms stored); target <= 60 s"
            )
            print(
                f"peer, reading the file alone (openpyxl read-only): {read:.1f} s "
                f"= {report.rows / read:,.0f} rows/s"
            )
            peer = orm_peer(roster, args.peer_rows)
            print(
                f"peer, ORM one at a time with hooks: {args.peer_rows:,} rows in {peer:.1f} s "
                f"= {args.peer_rows / peer:,.0f} rows/s "
                f"(100k would take {100_000 / (args.peer_rows / peer):.0f} s)"
            )
            started = time.perf_counter()
            again = services.run_import(user, roster, roster.name)
            db.session.commit()
            print(
                f"re-import of the same file: {time.perf_counter() - started:.1f} s, {again.counts}"
            )
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
