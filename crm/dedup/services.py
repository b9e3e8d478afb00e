"""Finding duplicate enterprises, institutions and researchers, and merging them (undoably).

Candidates are listed for a person to decide; nothing is merged silently. USCC is the hard key:
two enterprises with different valid codes are different firms whatever their names. Names are
compared on a normalised form (no 浙江省/绍兴市/嵊州市, no 有限公司 and the like, no brackets,
half-width) with rapidfuzz's `cdist` and the plain Indel ratio on all cores: 10,000 × 10,000
names take about a second, where `WRatio` takes ~27 s and over-scores fragments. Scores alone
mislead (华艺纺织 vs 华美纺织 score 75 on the full name, higher when short), so the list is
ranked and shows the characters that differ.
"""

from __future__ import annotations

import difflib
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from rapidfuzz import fuzz, process

from crm import policy
from crm.auth.models import User
from crm.dedup.models import NotDuplicate
from crm.enterprises.models import Enterprise
from crm.errors import ValidationError
from crm.extensions import db
from crm.institutions.models import Institution, Researcher
from crm.text.analyzer import get_analyzer
from crm.text.normal import core_name, institution_key, normalise

logger = logging.getLogger(__name__)


def dedup_key(name: str | None, company: bool = True) -> str:
    """浙江省嵊州市锦程领带（嵊州）有限公司 → 锦程领带 (`text.core_name`, the key imports link
    by). Institutions (`company=False`) keep their place names: 浙江大学 and 东华大学 differ
    exactly there."""
    return core_name(name) if company else institution_key(name)


def similar_pairs(
    left: list[str], right: list[str] | None, cutoff: float, chunk: int = 2000
) -> list[tuple[int, int, float]]:
    """(i, j, score) for names scoring at least `cutoff`; with `right=None`, pairs i < j
    within `left`. Keys must be normalised already (see `dedup_key`)."""
    choices = left if right is None else right
    if not left or not choices:
        return []
    pairs: list[tuple[int, int, float]] = []
    for start in range(0, len(left), chunk):
        block = process.cdist(
            left[start : start + chunk],
            choices,
            scorer=fuzz.ratio,
            score_cutoff=cutoff,
            dtype=np.uint8,
            workers=-1,
        )
        rows, cols = np.nonzero(block)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if right is None and c <= i:
                continue
            pairs.append((i, c, float(block[r, c])))
    return pairs


def diff_segments(a: str, b: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Each name as (text, differs) pieces, to highlight what is not shared."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if a[i1:i2]:
            left.append((a[i1:i2], op != "equal"))
        if b[j1:j2]:
            right.append((b[j1:j2], op != "equal"))
    return left, right


@dataclass
class Candidate:
    a: Any
    b: Any
    score: float
    reason: str

    @property
    def segments(self) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
        return diff_segments(self.a.name, self.b.name)


KINDS = {"enterprises": Enterprise, "institutions": Institution, "researchers": Researcher}
LABELS = {"enterprises": "企业", "institutions": "高校院所", "researchers": "专家"}


def candidates(kind: str, threshold: float, limit: int = 200) -> list[Candidate]:
    """Pairs that may be one record twice, most alike first."""
    if kind not in KINDS:
        raise ValidationError("只能对企业、高校院所或专家查重。")
    model = KINDS[kind]
    records = list(
        db.session.scalars(sa.select(model).where(model.deleted_at.is_(None)).order_by(model.id))
    )
    if kind == "researchers":
        found = _researcher_pairs(records)
    else:
        keys = [dedup_key(r.name, company=kind == "enterprises") for r in records]
        found = []
        for i, j, score in similar_pairs(keys, None, threshold):
            a, b = records[i], records[j]
            if kind == "enterprises" and a.uscc and b.uscc and a.uscc != b.uscc:
                continue  # two valid, different codes: two firms
            reason = "名称相同" if keys[i] == keys[j] else "名称相近"
            found.append(Candidate(a, b, score, reason))
    pairs = db.session.execute(
        sa.select(NotDuplicate.first_id, NotDuplicate.second_id).where(NotDuplicate.kind == kind)
    )
    dismissed = {(first, second) for first, second in pairs}
    found = [c for c in found if (min(c.a.id, c.b.id), max(c.a.id, c.b.id)) not in dismissed]
    found.sort(key=lambda c: (-c.score, c.a.id, c.b.id))
    return found[:limit]


def dismiss(user: User, kind: str, a_id: int, b_id: int) -> NotDuplicate:
    """Record that two records are different (admins): the pair is not listed again."""
    policy.authorize(policy.is_admin(user), "只有管理员可以处理重复记录。")
    if kind not in KINDS or a_id == b_id:
        raise ValidationError("无效的记录对。")
    first, second = sorted((a_id, b_id))
    existing = db.session.scalar(
        sa.select(NotDuplicate).where(
            NotDuplicate.kind == kind,
            NotDuplicate.first_id == first,
            NotDuplicate.second_id == second,
        )
    )
    if existing is not None:
        return existing
    pair = NotDuplicate(kind=kind, first_id=first, second_id=second, user_id=user.id)
    db.session.add(pair)
    db.session.flush()
    logger.info("%s %s and %s marked as different by %s", kind, first, second, user.username)
    return pair


def _researcher_pairs(people: list[Researcher]) -> list[Candidate]:
    """Same name, and the same institution, one of them without one, or overlapping fields."""
    analyzer = get_analyzer()
    by_name: dict[str, list[Researcher]] = defaultdict(list)
    for person in people:
        by_name[normalise(person.name)].append(person)
    found = []
    for group in by_name.values():
        for x in range(len(group)):
            for y in range(x + 1, len(group)):
                a, b = group[x], group[y]
                if a.institution_id == b.institution_id:
                    found.append(Candidate(a, b, 100.0, "同名、同单位"))
                elif a.institution_id is None or b.institution_id is None:
                    found.append(Candidate(a, b, 90.0, "同名，其中一位未填单位"))
                else:
                    ta = analyzer.terms(a.research_directions)
                    tb = analyzer.terms(b.research_directions)
                    overlap = len(ta & tb) / max(1, len(ta | tb))
                    if overlap >= 0.5:
                        found.append(Candidate(a, b, round(80 * overlap, 1), "同名、研究方向相近"))
    return found
