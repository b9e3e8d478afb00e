"""What the bureau's own records say about a candidate, for a need's industry: a small prior
multiplied into the text score, each part named in the explanation.

- 同行业合作: cooperation records (any stage but 终止) between the candidate — the researcher,
  the institution or the achievement — and enterprises of the need's industries. An expert
  who already works with tie makers is a better first call for a tie maker. +6% a record, at
  most +18%.
- 曾判方向不对口: suggestions officers rejected as 研究方向不对口 on needs of the same industries:
  the words matched but the expertise did not. −15% each, at most −30%. (On the need itself a
  rejected pair is never suggested again.)
- 专家近期无意向: rejected as 专家无意向或没空 within the last year, on any need: −5% each, at
  most −10%.

Text decides; the prior only reorders close candidates (a factor between 0.6 and 1.18), and
only among the best few (`POOL`), so a poor textual match is never promoted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from crm.cooperation.models import Cooperation, Stage
from crm.db import utcnow
from crm.enterprises.models import enterprise_industry
from crm.extensions import db
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need

Key = tuple[str, int]  # (candidate kind, id)
POOL = 3  # rerank this many times `top` candidates from the text score
SAME_INDUSTRY, SAME_INDUSTRY_CAP = 0.06, 3
OFF_TOPIC, OFF_TOPIC_CAP = 0.15, 2
DECLINED, DECLINED_CAP, DECLINED_DAYS = 0.05, 2, 365
CANDIDATE_COLUMNS = {
    "researcher": "researcher_id",
    "institution": "institution_id",
    "achievement": "achievement_id",
}


@dataclass(frozen=True)
class Adjustment:
    label: str
    factor: float

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "percent": round((self.factor - 1) * 100)}


@dataclass
class Priors:
    """Record ids behind each (industry, candidate), and recent declines per candidate."""

    cooperations: dict[tuple[int, Key], set[int]] = field(default_factory=dict)
    off_topic: dict[tuple[int, Key], set[int]] = field(default_factory=dict)
    declined: dict[Key, int] = field(default_factory=dict)

    @classmethod
    def load(cls, industries: Iterable[int] | None = None) -> Priors:
        """From the database: for these industries only (a need's), or all (the batch)."""
        wanted = None if industries is None else list(industries)
        priors = cls(defaultdict(set), defaultdict(set), {})
        ei = enterprise_industry
        coop = sa.select(
            ei.c.industry_id,
            Cooperation.id,
            Cooperation.researcher_id,
            Cooperation.institution_id,
            Cooperation.achievement_id,
        ).where(
            ei.c.enterprise_id == Cooperation.enterprise_id,
            Cooperation.deleted_at.is_(None),
            Cooperation.stage != Stage.TERMINATED,
        )
        rejected = (
            sa.select(
                ei.c.industry_id,
                Suggestion.id,
                Suggestion.researcher_id,
                Suggestion.institution_id,
                Suggestion.achievement_id,
            )
            .join(Need, Need.id == Suggestion.need_id)
            .where(
                ei.c.enterprise_id == Need.enterprise_id,
                Suggestion.status == SuggestionStatus.REJECTED,
                Suggestion.reject_reason == "off_topic",
            )
        )
        if wanted is not None:
            if not wanted:
                coop = rejected = None
            else:
                coop = coop.where(ei.c.industry_id.in_(wanted))
                rejected = rejected.where(ei.c.industry_id.in_(wanted))
        for query, target in ((coop, priors.cooperations), (rejected, priors.off_topic)):
            if query is None:
                continue
            for industry, record_id, *candidates in db.session.execute(query):
                for kind, candidate in zip(CANDIDATE_COLUMNS, candidates, strict=True):
                    if candidate is not None:
                        target[(industry, (kind, candidate))].add(record_id)
        since = utcnow() - timedelta(days=DECLINED_DAYS)
        for *candidates, count in db.session.execute(
            sa.select(
                Suggestion.researcher_id,
                Suggestion.institution_id,
                Suggestion.achievement_id,
                sa.func.count(),
            )
            .where(
                Suggestion.status == SuggestionStatus.REJECTED,
                Suggestion.reject_reason == "expert_declined",
                Suggestion.decided_at >= since,
            )
            .group_by(
                Suggestion.researcher_id, Suggestion.institution_id, Suggestion.achievement_id
            )
        ):
            for kind, candidate in zip(CANDIDATE_COLUMNS, candidates, strict=True):
                if candidate is not None:
                    priors.declined[(kind, candidate)] = int(count)
        return priors

    @property
    def empty(self) -> bool:
        """Nothing on record yet: ranking is by text alone."""
        return not (self.cooperations or self.off_topic or self.declined)

    def adjust(self, industries: Iterable[int], key: Key) -> list[Adjustment]:
        """What the records say about this candidate for a need of these industries."""
        industries = list(industries)
        together: set[int] = set()
        wrong: set[int] = set()
        for industry in industries:
            together |= self.cooperations.get((industry, key), set())
            wrong |= self.off_topic.get((industry, key), set())
        out = []
        if together:
            n = min(len(together), SAME_INDUSTRY_CAP)
            out.append(Adjustment(f"同行业合作 {len(together)} 项", 1 + SAME_INDUSTRY * n))
        if wrong:
            n = min(len(wrong), OFF_TOPIC_CAP)
            out.append(Adjustment(f"同行业需求曾判方向不对口 {len(wrong)} 次", 1 - OFF_TOPIC * n))
        if declined := self.declined.get(key):
            n = min(declined, DECLINED_CAP)
            out.append(Adjustment(f"近一年曾表示无意向 {declined} 次", 1 - DECLINED * n))
        return out


def industries_of(enterprise_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """Each enterprise's industry ids: one query."""
    out: dict[int, set[int]] = defaultdict(set)
    ids = list(set(enterprise_ids))
    for start in range(0, len(ids), 1000):
        rows = db.session.execute(
            sa.select(enterprise_industry.c.enterprise_id, enterprise_industry.c.industry_id).where(
                enterprise_industry.c.enterprise_id.in_(ids[start : start + 1000])
            )
        )
        for enterprise_id, industry_id in rows:
            out[enterprise_id].add(industry_id)
    return {e: frozenset(out.get(e, ())) for e in ids}
