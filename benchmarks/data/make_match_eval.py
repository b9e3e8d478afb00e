"""Writes the matching evaluation set in this folder (deterministic; run once, commit the CSVs).

- `experts.csv`: 300+ judged experts across 12 industries, written as experts write their
  profiles, including near-miss distractors that share characters but not the problem
  (电力系统调度 vs 电机设计, 软件缺陷 vs 铸造缺陷, 土壤修复 vs 硅藻土, 交通噪声 vs 电机噪声) and
  some profiles in Traditional Chinese; plus 2,000 background experts in unrelated fields.
- `needs.csv`: 44 needs written as owners say them — not in expert vocabulary.
- `qrels.csv`: graded relevance, 2 = the right expert, 1 = useful; everything else 0. Grades
  follow from each expert's topics (primary topic = 2, secondary = 1) and each need's topics,
  which were written down with the need, never tuned against the matcher.

    .venv/bin/python benchmarks/data/make_match_eval.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import opencc

HERE = Path(__file__).resolve().parent / "match_eval"

# topic: (industry, directions people write, what their bios say)
TOPICS: dict[str, tuple[str, list[str], list[str]]] = {
    "motor_noise": (
        "电机",
        ["电机振动与噪声", "电磁噪声抑制", "电机减振降噪"],
        ["研究家电电机的电磁噪声与结构振动", "开展电机降噪与模态分析"],
    ),
    "motor_design": (
        "电机",
        ["永磁同步电机设计", "高效电机电磁设计", "IE4高效电机"],
        ["主持永磁电机优化设计项目", "研究电机效率提升与损耗分析"],
    ),
    "motor_thermal": (
        "电机",
        ["电机温升与散热", "电机热管理"],
        ["研究电机温升计算与冷却结构", "解决电机过热与绕组绝缘老化"],
    ),
    "servo": (
        "电机",
        ["伺服驱动与控制", "电机调速控制"],
        ["研究伺服系统与变频调速", "开发电机驱动控制器"],
    ),
    "magnet": (
        "电机",
        ["钕铁硼永磁材料", "稀土永磁材料制备"],
        ["研究钕铁硼磁钢性能与退磁", "开展稀土永磁材料工艺研究"],
    ),
    "hood": (
        "厨具",
        ["吸油烟机气动设计", "油烟净化与风机"],
        ["研究吸油烟机风机与烟道气流", "提高吸油烟效率与降低噪声"],
    ),
    "burner": (
        "厨具",
        ["燃烧器设计", "燃气具热效率"],
        ["研究大气式燃烧器与热效率", "开展燃气灶具低氮燃烧研究"],
    ),
    "stainless": (
        "厨具",
        ["不锈钢表面处理", "金属防腐"],
        ["研究不锈钢钝化与耐腐蚀", "开展厨具表面防腐涂层研究"],
    ),
    "wrinkle": (
        "领带",
        ["纺织品功能整理", "抗皱免烫整理"],
        ["研究真丝织物抗皱整理", "开发无甲醛免烫整理剂"],
    ),
    "dyeing": (
        "领带",
        ["真丝染色", "色牢度提升"],
        ["研究蚕丝染色与色牢度", "开展活性染料染色工艺研究"],
    ),
    "color": (
        "领带",
        ["色彩管理", "数码印花色差控制"],
        ["研究印花色差与色彩管理", "开发数码印花色彩校正方法"],
    ),
    "jacquard": (
        "领带",
        ["提花织物设计", "纹织CAD"],
        ["研究提花领带纹样设计", "开发电子提花纹织软件"],
    ),
    "diatomite": (
        "硅藻土",
        ["硅藻土提纯", "非金属矿物加工"],
        ["研究低品位硅藻土选矿提纯", "开展硅藻土除铁增白工艺"],
    ),
    "filter_aid": (
        "硅藻土",
        ["硅藻土助滤剂", "过滤材料"],
        ["研究硅藻土助滤剂煅烧工艺", "开发食品级助滤材料"],
    ),
    "vision": (
        "装备",
        ["机器视觉检测", "表面缺陷检测"],
        ["研究工业产品表面瑕疵自动检测", "开发基于深度学习的视觉检测系统"],
    ),
    "robot": (
        "装备",
        ["工业机器人应用", "自动化生产线"],
        ["研究机器人上下料与产线自动化", "开展工厂自动化改造"],
    ),
    "tea": ("茶叶", ["茶叶加工", "茶叶机械"], ["研究名优绿茶加工工艺", "开发茶叶揉捻与烘干设备"]),
    "food_keep": (
        "食品",
        ["食品保鲜", "货架期延长"],
        ["研究农产品保鲜与货架期", "开展食品包装保鲜技术研究"],
    ),
    "wastewater": (
        "环保",
        ["印染废水处理", "污水处理"],
        ["研究印染废水脱色与回用", "开展工业污水生化处理"],
    ),
    "casting": (
        "机械",
        ["铸造缺陷控制", "精密铸造"],
        ["研究铸件气孔缩松等缺陷控制", "开展熔模精密铸造工艺"],
    ),
    "battery": (
        "新能源",
        ["锂电池正极材料", "储能电池"],
        ["研究锂离子电池材料", "开发储能电池管理"],
    ),
    "heatpump": (
        "家电",
        ["热泵技术", "空气源热泵热水器"],
        ["研究热泵系统能效", "开发空气源热泵产品"],
    ),
}
# near misses: share characters with a topic above, not its problem
DISTRACTORS: dict[str, tuple[str, list[str], list[str]]] = {
    "power_grid": ("电力", ["电力系统调度", "电网规划"], ["研究区域电网调度与新能源并网"]),
    "software_defect": ("软件", ["软件缺陷预测", "软件测试"], ["研究软件缺陷定位与代码质量"]),
    "soil_remediation": ("环境", ["土壤修复", "重金属污染治理"], ["研究矿区土壤修复与重金属钝化"]),
    "traffic_noise": ("交通", ["城市交通噪声", "声环境规划"], ["研究道路交通噪声地图与声屏障"]),
    "tea_culture": ("人文", ["茶文化", "茶艺传播"], ["研究越地茶文化历史"]),
    "fashion_history": ("人文", ["服饰史", "丝绸文化"], ["研究中国古代丝绸服饰文化"]),
    "gas_safety": ("安全", ["燃气管网安全", "城镇燃气"], ["研究城镇燃气管网泄漏监测"]),
}
BACKGROUND = [
    "中医药临床研究",
    "金融风险管理",
    "古代汉语",
    "小学教育",
    "心血管内科",
    "国际贸易法",
    "城市规划史",
    "水稻育种",
    "畜牧兽医",
    "旅游管理",
    "会计准则",
    "影视艺术",
    "体育训练学",
    "海洋生物学",
    "天体物理",
    "社会学调查方法",
    "宏观经济",
    "外国文学",
    "考古学",
    "口腔医学",
    "护理学",
    "新闻传播",
    "音乐表演",
    "公共卫生",
    "林业经济",
    "气象预报",
    "地震监测",
    "病毒学",
    "数理统计",
    "法医学",
]
# needs as owners say them: text, exact topics (2), useful topics (1)
NEEDS: list[tuple[str, list[str], list[str]]] = [
    ("马达一开就嗡嗡响，客户投诉声音大", ["motor_noise"], ["motor_design"]),
    ("电机转起来发抖，整机晃动厉害", ["motor_noise"], ["motor_design"]),
    ("想把电机做得更省电，达到新能效标准", ["motor_design"], ["motor_thermal"]),
    ("马达用久了发烫，线圈容易烧", ["motor_thermal"], ["motor_design"]),
    ("机器转速不稳，调不准", ["servo"], ["motor_design"]),
    ("磁钢老是退磁，进货价格也高", ["magnet"], ["motor_design"]),
    ("油烟机吸不干净，油烟跑出来", ["hood"], ["burner"]),
    ("抽油烟机噪音大，风机嗡嗡响", ["hood"], ["motor_noise"]),
    ("灶台火不旺，费气", ["burner"], ["hood"]),
    ("灶具的不锈钢面板用一段时间生锈", ["stainless"], []),
    ("真丝领带洗了容易皱，客户嫌皱巴巴", ["wrinkle"], ["dyeing"]),
    ("领带掉色，洗两次就褪色", ["dyeing"], ["color"]),
    ("印出来的颜色跟样品对不上", ["color"], ["dyeing"]),
    ("新花型设计太慢，一个图案要做好几天", ["jacquard"], ["color"]),
    ("我们矿里的土含铁多，发黄，卖不上价", ["diatomite"], ["filter_aid"]),
    ("硅藻土白度不够，想提高档次", ["diatomite"], ["filter_aid"]),
    ("做啤酒过滤用的土，过滤慢", ["filter_aid"], ["diatomite"]),
    ("产品表面有划痕靠人眼挑，挑不过来", ["vision"], ["robot"]),
    ("工人招不到，想用机器换人", ["robot"], ["vision"]),
    ("炒茶全靠老师傅，想用机器做", ["tea"], []),
    ("茶叶放不久，香气很快没了", ["tea"], ["food_keep"]),
    ("水果放不久就烂，想延长保鲜", ["food_keep"], []),
    ("厂里印染污水颜色深，环保检查过不了", ["wastewater"], []),
    ("铸出来的零件有气孔，废品多", ["casting"], []),
    ("想做储能电池，缺技术", ["battery"], []),
    ("热水器想改成热泵的，更省电", ["heatpump"], []),
    ("电机噪声太大，出口被退货", ["motor_noise"], ["motor_design"]),
    ("吸油烟机风道设计想优化", ["hood"], []),
    ("燃气灶热效率达不到一级能效", ["burner"], []),
    ("领带面料容易起褶，想做免烫", ["wrinkle"], []),
    ("丝巾染色不均匀", ["dyeing"], ["color"]),
    ("数码印花颜色偏差大", ["color"], []),
    ("提花领带图案想用电脑设计", ["jacquard"], []),
    ("硅藻土里杂质多怎么提纯", ["diatomite"], []),
    ("想用相机自动检查布面瑕疵", ["vision"], []),
    ("包装工序用工多，想上自动化", ["robot"], []),
    ("马达发热严重，夏天经常停机", ["motor_thermal"], ["motor_noise"]),
    ("伺服电机控制精度不够", ["servo"], []),
    ("钕铁硼磁钢性能不稳定", ["magnet"], []),
    ("茶叶烘干机受热不匀", ["tea"], []),
    ("剩菜食品包装怎么保鲜更久", ["food_keep"], []),
    ("污水处理成本太高", ["wastewater"], []),
    ("铸件表面缩松，客户不满意", ["casting"], []),
    ("空气能热水器冬天不热", ["heatpump"], []),
]

# A second set, written after the matcher and its thesaurus were done and never used to tune
# them (its results were read only after they were frozen): the same topics in other words.
SECOND: list[tuple[str, list[str], list[str]]] = [
    ("电机一转就有很大的嗡嗡声，晚上吵到邻居", ["motor_noise"], ["motor_design"]),
    ("风扇马达振得厉害，螺丝都震松了", ["motor_noise"], []),
    ("想做一款更高效的永磁马达，省电一点", ["motor_design"], ["magnet"]),
    ("电机开一会儿外壳就很烫，摸不了手", ["motor_thermal"], []),
    ("马达带负载转速忽快忽慢", ["servo"], ["motor_design"]),
    ("磁铁用一段时间磁力就变弱了", ["magnet"], []),
    ("厨房里油烟排不出去，满屋子都是味道", ["hood"], []),
    ("油烟机开最大档声音像飞机", ["hood"], ["motor_noise"]),
    ("燃气灶火苗发黄，烧水很慢", ["burner"], []),
    ("集成灶不锈钢台面有锈斑", ["stainless"], []),
    ("领带打个结就留下褶子，熨不平", ["wrinkle"], []),
    ("真丝围巾一洗就掉颜色", ["dyeing"], ["color"]),
    ("同一批货颜色深浅不一样，客户退货", ["color"], ["dyeing"]),
    ("想把老图案做成提花，打样太慢", ["jacquard"], []),
    ("矿石颜色发黄，想去掉里面的铁", ["diatomite"], []),
    ("想把硅藻土做成过滤啤酒的材料", ["filter_aid"], ["diatomite"]),
    ("质检全靠工人用眼睛看，老是漏检", ["vision"], ["robot"]),
    ("搬运码垛全靠人，想上机械手", ["robot"], []),
    ("想把手工炒茶改成机器炒", ["tea"], []),
    ("杨梅摘下来两天就坏了", ["food_keep"], []),
    ("染缸排出来的水颜色很深，被环保罚款", ["wastewater"], []),
    ("铸铁件里面有砂眼和气泡", ["casting"], []),
    ("想做锂电池的正极材料", ["battery"], []),
    ("热水器想换成空气能的，省电", ["heatpump"], []),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙朱马胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "志远建华晓东海峰丽娟文博宇航雪梅俊杰嘉怡明轩思源国栋慧敏晓燕立群永强振宇佳琪浩然"
PLACES = [
    "浙江大学",
    "浙江理工大学",
    "东华大学",
    "中国计量大学",
    "浙江工业大学",
    "香港理工大学",
    "中国科学院过程工程研究所",
    "江南大学",
    "合肥工业大学",
    "绍兴文理学院",
    "上海大学",
]
TITLES = ["教授", "副教授", "研究员", "高级工程师", "讲师"]


def _person(rnd: random.Random) -> str:
    return rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN)


def main() -> None:
    rnd = random.Random(2026)
    to_traditional = opencc.OpenCC("s2twp")
    HERE.mkdir(exist_ok=True)
    experts: list[dict[str, str]] = []
    grades: dict[int, dict[str, int]] = {}

    def add(
        primary: str,
        secondary: str | None,
        spec: tuple[str, list[str], list[str]],
        other: tuple[str, list[str], list[str]] | None,
        traditional: bool,
    ) -> None:
        _, directions, bios = spec
        chosen = rnd.sample(directions, min(2, len(directions)))
        if other is not None:
            chosen.append(rnd.choice(other[1]))
        bio = (
            rnd.choice(bios)
            + "，"
            + rnd.choice(
                [
                    "主持省部级项目多项",
                    "与多家企业开展横向合作",
                    "授权发明专利十余件",
                    "长期服务地方产业",
                ]
            )
            + "。"
        )
        row = {
            "id": str(len(experts) + 1),
            "name": _person(rnd),
            "institution": rnd.choice(PLACES),
            "title": rnd.choice(TITLES),
            "research_directions": "；".join(chosen),
            "bio": bio,
        }
        if traditional:
            row = {k: to_traditional.convert(v) if k != "id" else v for k, v in row.items()}
        experts.append(row)
        grades[len(experts)] = {primary: 2} | ({secondary: 1} if secondary else {})

    keys = list(TOPICS)
    for topic in keys:  # 12 a topic: 22 topics → 264, plus distractors
        for n in range(12):
            secondary = rnd.choice(
                [k for k in keys if TOPICS[k][0] == TOPICS[topic][0] and k != topic] or [None]
            )
            other = TOPICS[secondary] if secondary and n % 3 == 0 else None
            add(topic, secondary if other else None, TOPICS[topic], other, traditional=n % 6 == 5)
    for topic, spec in DISTRACTORS.items():
        for n in range(8):
            add(topic, None, spec, None, traditional=n == 7)
    judged = len(experts)
    for _ in range(2000):
        field = rnd.sample(BACKGROUND, 2)
        experts.append(
            {
                "id": str(len(experts) + 1),
                "name": _person(rnd),
                "institution": rnd.choice(PLACES),
                "title": rnd.choice(TITLES),
                "research_directions": "；".join(field),
                "bio": f"长期从事{field[0]}研究与教学。",
            }
        )

    with (HERE / "experts.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(
            fh, ["id", "name", "institution", "title", "research_directions", "bio"]
        )
        writer.writeheader()
        writer.writerows(experts)
    for suffix, needs in (("", NEEDS), ("_second", SECOND)):
        with (HERE / f"needs{suffix}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "text"])
            for i, (text, _, _) in enumerate(needs, 1):
                writer.writerow([i, text])
        with (HERE / f"qrels{suffix}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["need_id", "expert_id", "grade"])
            for i, (_, exact, useful) in enumerate(needs, 1):
                for expert_id, topics in grades.items():
                    grade = max(
                        (2 if t in exact else 1 if t in useful else 0)
                        if level == 2
                        else (1 if t in exact else 0)  # a side line of theirs is useful
                        for t, level in topics.items()
                    )
                    if grade:
                        writer.writerow([i, expert_id, grade])
    print(
        f"{judged} judged experts ({len(DISTRACTORS) * 8} near misses), "
        f"{len(experts) - judged} background, {len(NEEDS)} needs -> {HERE}"
    )


if __name__ == "__main__":
    main()
