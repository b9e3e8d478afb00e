"""Writes the third matching evaluation set (deterministic; run once, commit the CSVs).

Written for issue 18 before any hybrid tuning, and committed before its first run: owners
describe only what they see ("外墙砖过一冬冒白花"), with no word the thesaurus lists (the
script refuses a need that contains one), so the keyword matcher cannot lean on it.

- `experts_third.csv`: 16 problems, each with three experts whose profiles name the cure in
  expert words (grade 2), one in a neighbouring field (grade 1) and two **near misses** that
  share the owner's product but not the problem (a tie *design* expert for a tie that shines
  after ironing, a motor *marketing* expert for a breaker that trips): 96 experts, ids from
  5001. The 2,000 background experts of `experts.csv` (ids 321–2320, unrelated fields) are
  loaded beside them.
- `needs_third.csv`: 32 needs, two per problem.
- `qrels_third.csv`: grades from each expert's problem, written with the need.

    .venv/bin/python benchmarks/data/make_match_eval_third.py
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent / "match_eval"
THESAURUS = Path(__file__).resolve().parents[2] / "seeds" / "dictionary" / "thesaurus.txt"

INSTITUTIONS = [
    "香港理工大学",
    "浙江理工大学",
    "东华大学",
    "江南大学",
    "浙江大学",
    "浙江工业大学",
    "中国计量大学",
    "绍兴文理学院",
    "中国科学院过程工程研究所",
    "中国科学院宁波材料技术与工程研究所",
    "中国农业科学院茶叶研究所",
    "合肥工业大学",
]
TITLES = ["教授", "副教授", "研究员", "高级工程师", "讲师"]

# problem: (right experts' directions and bios, neighbour's, two near misses', two needs)
PROBLEMS: dict[str, dict[str, list[str]]] = {
    "tie_shine": {
        "right": [
            "织物熨烫极光防治；涤纶织物热定形工艺|研究合纤织物熨烫后表面极光的成因与消除",
            "化纤织物后整理；消光整理技术|开发涤纶面料消光与防极光整理工艺",
            "纺织品热定形与表面光泽控制|研究热压条件下纤维表面平整化引起的光泽变化",
        ],
        "near": ["纺织品后整理工艺|从事织物功能整理与助剂应用"],
        "miss": [
            "领带图案设计；丝织品纹样|从事领带花型与纹样设计教学",
            "领带品牌营销；服饰消费行为|研究领带品牌建设与渠道营销",
        ],
        "needs": [
            "涤丝领带一过熨斗就发亮",
            "客人拿去熨了一下，领带正面一块块反光，说像打过蜡",
        ],
    },
    "crease": {
        "right": [
            "真丝织物抗皱整理；无甲醛防皱整理剂|研究丝绸织物的抗皱免烫整理与弹性回复",
            "织物折皱回复性能；交联整理|开发桑蚕丝面料交联防皱整理工艺",
            "丝绸功能整理；形态记忆整理|研究真丝织物形态稳定与折痕回复",
        ],
        "near": ["丝绸染整工艺|从事真丝印染与整理工艺研究"],
        "miss": [
            "丝绸文化与非遗传承|研究越地丝绸历史与传统技艺",
            "真丝面料织造工艺|研究桑蚕丝织机效率与织造参数",
        ],
        "needs": [
            "真丝领带在箱子里压一晚上全是折痕，挂起来也回不去",
            "丝巾叠着寄给客户，打开就是一道道印子，熨都熨不平",
        ],
    },
    "crocking": {
        "right": [
            "耐摩擦色牢度提升；深色织物染色|研究深色丝织物摩擦沾色机理与固色工艺",
            "活性染料固色；湿摩擦牢度|开发深色面料固色剂与皂洗工艺",
            "纺织品染色牢度；浮色去除|研究染色后浮色清洗与沾色控制",
        ],
        "near": ["纺织化学与染整助剂|从事染整助剂合成与应用"],
        "miss": [
            "服装色彩搭配；流行色预测|研究服饰流行色趋势",
            "领带市场与外贸|研究领带出口贸易与国际市场",
        ],
        "needs": [
            "深蓝的领带戴一天，白衬衫领口就蹭上一圈蓝",
            "红色的面子跟浅色衣服一起洗，浅色的全给染红了",
        ],
    },
    "trip": {
        "right": [
            "电机绝缘系统；绕组局部放电检测|研究电机绕组绝缘老化、受潮与对地击穿",
            "电气绝缘材料；浸漆工艺|开发电机绕组浸渍漆与防潮绝缘工艺",
            "低压电机接地故障诊断；绝缘电阻监测|研究电机对地绝缘下降引起的保护动作",
        ],
        "near": ["低压电器与保护装置|研究断路器与剩余电流保护器选型"],
        "miss": [
            "电机产品市场营销；销售渠道|研究电机企业营销策略与客户管理",
            "电机外观工业设计|从事电机外壳造型与外观设计",
        ],
        "needs": [
            "电动机一开，配电箱的空气开关就跳",
            "梅雨天电动机外壳摸上去麻手，工人都不敢碰",
        ],
    },
    "bearing": {
        "right": [
            "滚动轴承故障诊断；轴承疲劳剥落|研究电机轴承点蚀、剥落与寿命预测",
            "电机轴承润滑与密封|研究轴承润滑脂选型与高温润滑失效",
            "轴电流与轴承电蚀防护|研究变频电机轴承电腐蚀与绝缘轴承应用",
        ],
        "near": ["旋转机械振动监测|开展旋转设备状态监测与频谱分析"],
        "miss": [
            "电机生产管理；精益生产|研究电机企业生产计划与成本管理",
            "电机产品标准与认证|从事电机能效标识与产品认证咨询",
        ],
        "needs": [
            "电动机用了半年就咔啦咔啦响，拆开看钢珠上一粒粒小坑",
            "变频器带的电动机，转轴那里老是烧黑，三个月换一次",
        ],
    },
    "flame": {
        "right": [
            "燃气燃烧技术；不完全燃烧与一氧化碳排放控制|研究家用燃气灶燃烧工况与黄焰积碳",
            "大气式燃烧器设计；一次空气系数|优化灶具燃烧器引射与配风",
            "低氮燃烧与烟气排放|研究燃气具烟气一氧化碳与氮氧化物控制",
        ],
        "near": ["燃气互换性与气质适应|研究不同气源下燃气具的适应性"],
        "miss": [
            "厨具工业设计；人机工程|从事厨房电器外观与人机交互设计",
            "厨电市场营销；电商运营|研究厨电品牌线上销售",
        ],
        "needs": [
            "灶头的火苗是黄的，还冒黑烟，锅底熏一层黑",
            "用户说开灶煮半个钟头，厨房里人就头晕恶心",
        ],
    },
    "hood_roar": {
        "right": [
            "风机气动噪声；离心风机降噪|研究吸油烟机风机叶轮与蜗壳气动噪声",
            "流体机械噪声控制；蜗壳优化|开展风道流场仿真与降噪结构设计",
            "家电声学与声品质|研究家用电器噪声源识别与声品质评价",
        ],
        "near": ["离心风机设计|从事小型离心风机性能优化"],
        "miss": [
            "厨房空间设计；整体橱柜|从事住宅厨房布局设计",
            "厨电售后服务管理|研究家电售后服务体系",
        ],
        "needs": [
            "排烟的机子开到大档，声音像飞机起飞",
            "晚上开着那台吸烟的机子，楼下邻居都上来敲门",
        ],
    },
    "pitting": {
        "right": [
            "不锈钢点蚀与晶间腐蚀|研究奥氏体不锈钢在氯离子环境中的点蚀机理",
            "金属表面钝化处理；酸洗钝化工艺|开发不锈钢制品钝化与表面防护工艺",
            "金属腐蚀与防护；盐雾试验|研究金属器皿耐蚀性能评价",
        ],
        "near": ["金属材料热处理|研究不锈钢固溶处理与组织控制"],
        "miss": [
            "锅具造型设计；餐厨用品设计|从事炊具外观与包装设计",
            "炊具出口贸易；跨境电商|研究炊具出口市场",
        ],
        "needs": [
            "锅里放了盐水过一夜，锅底冒出好多小黑点，擦不掉",
            "一柜子锅运到国外，开箱全是一片片黄斑，被退货",
        ],
    },
    "diatom_red": {
        "right": [
            "硅藻土选矿提纯；酸浸除杂|研究低品位硅藻土除铁增白与提纯工艺",
            "非金属矿物加工；磁选除铁|开发黏土与硅藻土矿物除铁工艺",
            "矿物材料煅烧改性|研究硅藻土煅烧温度对色度与结构的影响",
        ],
        "near": ["非金属矿深加工与应用|研究非金属矿物功能材料开发"],
        "miss": [
            "矿区生态修复；复垦|研究露天矿山生态恢复与复垦",
            "矿产资源经济与管理|研究矿业权与矿产资源规划",
        ],
        "needs": [
            "我们磨出来的土粉红里带黄，人家只肯出低价",
            "同一个矿挖出来的料，有的一层偏红，卖不出好价钱",
        ],
    },
    "filter_slow": {
        "right": [
            "硅藻土助滤剂；过滤介质渗透性|研究硅藻土助滤剂粒度分布与渗透率",
            "固液分离与过滤工程|研究啤酒与饮料过滤中的滤饼阻力",
            "助滤材料助熔煅烧|开发高渗透率助熔煅烧硅藻土",
        ],
        "near": ["粉体粒度分级|研究超细粉体分级与粒度控制"],
        "miss": [
            "矿区生态修复；复垦|研究硅藻土矿区边坡治理",
            "矿山安全管理|研究露天矿山安全生产",
        ],
        "needs": [
            "啤酒厂说我们的土粉用着，滤一罐酒要比别人家多等半天",
            "客户嫌我们的粉堵滤布，压力一会儿就上去了",
        ],
    },
    "efflorescence": {
        "right": [
            "建筑材料泛碱机理与防治|研究墙地砖与混凝土表面盐析泛白",
            "混凝土耐久性；可溶盐迁移|研究水泥基材料中可溶盐迁移与析出",
            "饰面砖粘结与防护|开发饰面砖背涂与防泛碱界面剂",
        ],
        "near": ["水泥基材料配比设计|研究砂浆与混凝土配合比优化"],
        "miss": [
            "建筑装饰设计；室内设计|从事建筑外立面装饰设计",
            "房地产营销|研究住宅项目营销",
        ],
        "needs": [
            "外墙砖过一冬冒白花",
            "水泥砖铺好没两个月，面上一层白霜，刷掉又长出来",
        ],
    },
    "stale_leaf": {
        "right": [
            "绿茶贮藏保质；氧化褐变控制|研究绿茶贮藏中叶绿素降解与品质劣变",
            "茶叶包装与低温贮藏|研究除氧充氮包装对绿茶品质的保持",
            "茶叶化学；儿茶素氧化|研究名优绿茶贮藏期化学成分变化",
        ],
        "near": ["茶叶品质评价|从事茶叶感官审评与品质分析"],
        "miss": [
            "越地茶文化；茶旅融合|研究茶文化旅游开发",
            "茶园病虫害防治|研究茶小绿叶蝉绿色防控",
        ],
        "needs": [
            "春天收的嫩芽做好放到七八月，泡出来汤是黄的，一股陈气",
            "新炒的叶子装罐放了三个月，打开一股闷味，泡出来发红",
        ],
    },
    "leafhopper": {
        "right": [
            "茶小绿叶蝉绿色防控；天敌利用|研究茶园叶蝉生物防治与色板诱杀",
            "茶园害虫综合治理；农药减量|研究茶园化学农药减量与残留控制",
            "植物保护；昆虫生态|研究茶园害虫种群动态与预测",
        ],
        "near": ["茶园栽培管理|研究茶园施肥与修剪"],
        "miss": [
            "茶叶加工机械|开发揉捻机与烘干机",
            "茶叶品牌与电商|研究茶叶品牌营销",
        ],
        "needs": [
            "山上的芽尖发焦卷起来，翻过来一堆小绿虫，又怕多打药过不了农残",
            "夏秋采的叶子边上枯黄，叶背全是蹦来蹦去的小虫",
        ],
    },
    "mould": {
        "right": [
            "米制品防霉保质；食品微生物控制|研究年糕等米制品霉变菌与抑菌技术",
            "食品天然防腐剂；栅栏技术|开发传统米面食品的保质技术",
            "食品杀菌与包装工艺|研究真空包装食品的杀菌与胀袋控制",
        ],
        "near": ["食品质量安全检测|从事食品微生物检验"],
        "miss": [
            "食品包装设计|从事食品包装视觉设计",
            "餐饮管理；小吃文化|研究地方小吃与餐饮经营",
        ],
        "needs": [
            "手工年糕做好第三天就长绿毛",
            "真空袋装的榨面放了两个礼拜袋子就鼓起来了",
        ],
    },
    "weld_crack": {
        "right": [
            "焊接冷裂纹控制；焊接工艺评定|研究低合金钢焊接接头延迟裂纹",
            "焊接残余应力消除|研究焊后热处理与振动时效",
            "焊接冶金；氢致裂纹|研究焊缝扩散氢与预热工艺",
        ],
        "near": ["金属结构件失效分析|从事机械零部件断口分析"],
        "miss": [
            "机械产品外观设计|从事工程机械外观造型",
            "机械制造企业管理|研究中小制造企业生产管理",
        ],
        "needs": [
            "钢架子焊好放了几天，焊缝边上自己裂开一道缝",
            "焊的支架装上车跑几趟颠簸路就从焊口断掉",
        ],
    },
    "sink_mark": {
        "right": [
            "注塑成型工艺优化；缩痕与翘曲控制|研究注塑件保压与冷却对表面凹陷的影响",
            "塑料模具设计；模流分析|开展注塑模具浇注系统与冷却水路设计",
            "高分子材料成型加工|研究工程塑料收缩与尺寸稳定",
        ],
        "near": ["工程塑料改性|研究玻纤增强与填充改性"],
        "miss": [
            "废旧塑料回收再生|研究废塑料分选与再生造粒",
            "塑料制品营销|研究塑料日用品市场",
        ],
        "needs": [
            "塑料外壳表面一块一块往下凹，看着不平",
            "塑料盖子出模放一会儿就变形，盖不严",
        ],
    },
}

SURNAMES = "赵钱孙李周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "晓文嘉怡子涵思远振宇雨桐若溪一鸣承泽明轩佳宁书瑶浩然梓萱俊杰雅琴"


def thesaurus_words() -> set[str]:
    words: set[str] = set()
    for line in THESAURUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        said, _, meant = line.partition("=>")
        words |= {w.strip() for w in said.split(",") if w.strip()}
        words |= {re.sub(r"\s+[\d.]+$", "", w.strip()) for w in meant.split(",") if w.strip()}
    return words


def main() -> None:
    rng = random.Random(18)
    forbidden = thesaurus_words()
    experts, needs, qrels = [], [], []
    next_id, need_id = 5001, 1
    for problem in PROBLEMS.values():
        graded = []
        for grade, group in ((2, "right"), (1, "near"), (0, "miss")):
            for profile in problem[group]:
                directions, bio = profile.split("|")
                name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))
                experts.append(
                    [
                        next_id,
                        name,
                        rng.choice(INSTITUTIONS),
                        rng.choice(TITLES),
                        directions,
                        bio + "。",
                    ]
                )
                graded.append((next_id, grade))
                next_id += 1
        for text in problem["needs"]:
            if hits := [w for w in forbidden if w in text]:
                raise SystemExit(f"need {text!r} uses thesaurus words {hits}")
            needs.append([need_id, text])
            qrels += [[need_id, e, g] for e, g in graded if g > 0]
            need_id += 1
    for name, header, rows in (
        (
            "experts_third.csv",
            ["id", "name", "institution", "title", "research_directions", "bio"],
            experts,
        ),
        ("needs_third.csv", ["id", "text"], needs),
        ("qrels_third.csv", ["need_id", "expert_id", "grade"], qrels),
    ):
        with (HERE / name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    print(f"{len(experts)} experts, {len(needs)} needs, {len(qrels)} judgements")


if __name__ == "__main__":
    main()
