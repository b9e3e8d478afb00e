"""The cultivation pool's rules: a firm put in the pool for one recognition in one year, and
the dated steps of its coaching — 辅导走访, 材料核查, 提交申报, then 认定 (which records the
firm's `Recognition`, so that the year's targets count it) or 未通过, or 退出培育 on the way;
a 备注 at any time. Steps move a candidate forward only. Every rule a step or an entry breaks
is said at once (`problems`, `entry_problems`); the services refuse with the first. The
board and a firm's entries are `crm.cultivation.board`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

import sqlalchemy as sa

from crm import policy
from crm.auth.models import User
from crm.auth.services import is_officer
from crm.clock import local_today
from crm.cultivation.models import Candidate, CoachingStep, PoolStage, StepKind
from crm.db import utcnow
from crm.enterprises.models import Enterprise, Recognition, RecognitionKind
from crm.errors import Conflict, NotFound, ValidationError
from crm.extensions import db
from crm.queries import find, get_live, is_gone
from crm.steps import date_problems
from crm.visits.models import Visit

logger = logging.getLogger(__name__)

S = PoolStage
FLOW = (S.POOLED, S.COACHING, S.CHECKED, S.APPLIED)  # open: the firm is still being coached
ENDED = (S.GRANTED, S.FAILED, S.WITHDRAWN)
BOARD = (*FLOW, *ENDED)
#: the stage each kind of step brings a candidate to (备注 none)
MOVES = {
    StepKind.COACHING: S.COACHING,
    StepKind.CHECKED: S.CHECKED,
    StepKind.APPLIED: S.APPLIED,
    StepKind.GRANTED: S.GRANTED,
    StepKind.FAILED: S.FAILED,
    StepKind.WITHDRAWN: S.WITHDRAWN,
    StepKind.NOTE: None,
}
ENDED_AS = {S.GRANTED: "已获认定", S.FAILED: "申报未通过", S.WITHDRAWN: "已退出培育"}
FIRST_YEAR = 2000
YEARS_AHEAD = 5  # a firm may be pooled for a year this far ahead
CERTIFICATE_MAX = 64


def get_candidate(candidate_id: int) -> Candidate:
    """A live pool entry of a live firm, or NotFound (404) in Chinese."""
    message = "这条培育记录不存在或已删除。"
    candidate = get_live(Candidate, candidate_id, message=message)
    if is_gone(candidate.enterprise):
        raise NotFound(message)
    return candidate


# ---- putting a firm in the pool ----------------------------------------------------------------


@dataclass
class Entry:
    """What an officer gives to put a firm in the pool."""

    kind: RecognitionKind | None
    year: int | None
    officer_id: int | None = None  # who coaches it; the one adding it if not given
    notes: str | None = None


def add(user: User, enterprise: Enterprise, entry: Entry) -> Candidate:
    """Put a firm the user may edit in the pool for (kind, year), at 入库."""
    policy.authorize(
        policy.can_edit_enterprise(user, enterprise),
        "您只能把本人或本科室负责的企业加入培育库。",
    )
    today = local_today()
    if found := entry_problems(enterprise, entry, today):
        raise found[0]
    kind, year = cast(RecognitionKind, entry.kind), cast(int, entry.year)  # checked above
    candidate = Candidate(
        enterprise_id=enterprise.id,
        kind=kind,
        year=year,
        stage=S.POOLED,
        stage_changed_on=today,
        officer_id=entry.officer_id or user.id,
        notes=(entry.notes or "").strip() or None,
    )
    db.session.add(candidate)
    db.session.flush()
    logger.info("Enterprise %s pooled for %s %s by %s", enterprise.id, kind, year, user.username)
    return candidate


def entry_problems(enterprise: Enterprise, entry: Entry, today: date) -> list[ValidationError]:
    """Every rule putting the firm in the pool breaks, each naming its field."""
    found: list[ValidationError] = []
    last_year = today.year + YEARS_AHEAD
    if entry.kind is None:
        found.append(ValidationError("请选择认定类型。", field="kind"))
    if entry.year is None or not FIRST_YEAR <= entry.year <= last_year:
        found.append(
            ValidationError(f"申报年度应在 {FIRST_YEAR}–{last_year} 年之间。", field="year")
        )
    if entry.officer_id is not None and not is_officer(entry.officer_id):
        found.append(ValidationError("请选择一位在职的联络员。", field="officer_id"))
    if found or entry.kind is None or entry.year is None:
        return found
    there = db.session.scalar(  # deleted ones too: the pair is unique in the table
        sa.select(Candidate).where(
            Candidate.enterprise_id == enterprise.id,
            Candidate.kind == entry.kind,
            Candidate.year == entry.year,
        )
    )
    if there is not None:
        what = f" {entry.year} 年“{entry.kind.label}”培育库"
        if there.deleted_at is not None:
            found.append(ValidationError(f"这家企业在{what}中的记录已删除。", field="kind"))
        else:
            who = f"（联络员：{there.officer.display_name}）" if there.officer else ""
            found.append(ValidationError(f"这家企业已在{what}中{who}。", field="kind"))
    elif held := valid_recognition(enterprise.id, entry.kind, entry.year, today):
        number = f"，证书 {held.certificate_no}" if held.certificate_no else ""
        found.append(
            ValidationError(
                f"这家企业已持有有效的“{entry.kind.label}”认定"
                f"（{held.granted_on.isoformat()} 认定{number}），无需入库培育。",
                field="kind",
            )
        )
    return found


#: recognitions valid for a fixed term (高新技术企业: three years from the certificate's date), so
#: that one recorded without its expiry date still runs out and its renewal can be coached
TERM_YEARS = {RecognitionKind.HITECH_NATIONAL: 3}


def expiry(kind: RecognitionKind, granted_on: date) -> date | None:
    """The last day a recognition of this kind granted that day is valid (None: no term)."""
    years = TERM_YEARS.get(kind)
    if years is None:
        return None
    try:
        return granted_on.replace(year=granted_on.year + years) - timedelta(days=1)
    except ValueError:  # 29 February
        return date(granted_on.year + years, 2, 28)


def valid_recognition(
    enterprise_id: int, kind: RecognitionKind, year: int, today: date
) -> Recognition | None:
    """A recognition of this kind the firm holds (granted by today) that is still valid at the
    end of `year` — one expiring within the year leaves room for coaching its renewal. Without
    an expiry date, a kind with a term runs out by it; one without, never."""
    year_end = date(year, 12, 31)
    if kind in TERM_YEARS:  # granted after this day: still valid at the year's end
        undated = Recognition.granted_on > year_end.replace(year=year - TERM_YEARS[kind])
    else:
        undated = sa.true()
    return db.session.scalar(
        sa.select(Recognition)
        .where(
            Recognition.enterprise_id == enterprise_id,
            Recognition.kind == kind,
            Recognition.granted_on <= today,
            sa.or_(
                sa.and_(Recognition.expires_on.is_(None), undated),
                Recognition.expires_on > year_end,
            ),
        )
        .order_by(Recognition.granted_on.desc())
        .limit(1)
    )


# ---- recording a step ---------------------------------------------------------------------------


@dataclass
class Step:
    """What an officer records for a candidate."""

    kind: StepKind
    version: int
    on: date | None = None  # the day it was done; today if not given
    certificate_no: str | None = None  # 认定: the certificate's number
    reason: str | None = None  # 未通过 / 退出培育: why
    visit_id: int | None = None  # the visit it was done on
    note: str | None = None


def next_steps(candidate: Candidate) -> list[StepKind]:
    """What may be recorded for a candidate now: coaching and checking while it is open (a
    材料核查 after 申报 is kept, the stage stays), 提交申报 once, 认定 or 未通过 after it,
    退出培育 while open; 备注 always."""
    stage = candidate.stage
    if stage in ENDED:
        return [StepKind.NOTE]
    kinds = [StepKind.COACHING, StepKind.CHECKED]
    if stage == S.APPLIED:
        kinds += [StepKind.GRANTED, StepKind.FAILED]
    else:
        kinds.append(StepKind.APPLIED)
    return [*kinds, StepKind.WITHDRAWN, StepKind.NOTE]


def last_step_on(candidate: Candidate) -> date | None:
    """The date of its latest step (a new one may not be dated before it)."""
    return max((s.done_on for s in candidate.steps), default=None)


def record(user: User, candidate: Candidate, step: Step) -> CoachingStep:
    """Record a dated step; it moves the candidate's stage forward (never back). 认定 records
    the firm's recognition with the step's date and certificate, and links it."""
    policy.authorize(
        policy.can_edit_candidate(user, candidate),
        "只有负责培育的联络员、本科室人员或管理员可以记录。",
    )
    if candidate.version != step.version:
        raise Conflict("这条培育记录已被他人更新，请刷新后再操作。")
    today = local_today()
    if found := problems(candidate, step, today):
        raise found[0]
    on = step.on or today
    if step.kind == StepKind.GRANTED:
        candidate.recognition = _recognition(candidate, on, (step.certificate_no or "").strip())
    said = [(step.reason or "").strip(), (step.note or "").strip()]
    done = CoachingStep(
        kind=step.kind,
        done_on=on,
        note="；".join(s for s in said if s) or None,
        visit_id=step.visit_id,
        by_id=user.id,
    )
    candidate.steps.append(done)
    to = MOVES[step.kind]
    if to is not None and BOARD.index(to) > BOARD.index(candidate.stage):
        candidate.stage, candidate.stage_changed_on = to, on
    candidate.updated_at = utcnow()  # a step changes the record: a form loaded before is stale
    db.session.flush()
    logger.info("Candidate %s: %s recorded by %s", candidate.id, step.kind.value, user.username)
    return done


def problems(candidate: Candidate, step: Step, today: date) -> list[ValidationError]:
    """Every rule the step breaks, each naming its field: all of them, so that a form shows
    them at once (`record` refuses with the first)."""
    found: list[ValidationError] = []
    if step.kind not in next_steps(candidate):
        found.append(ValidationError(_why_not(candidate.stage, step.kind), field="kind"))
    on = step.on or today
    found += date_problems(on, last_step_on(candidate), today, before="上一步")
    if step.kind == StepKind.GRANTED:
        found += _certificate_problems(candidate, on, (step.certificate_no or "").strip())
    if step.kind in (StepKind.FAILED, StepKind.WITHDRAWN) and not (step.reason or "").strip():
        what = "未通过" if step.kind == StepKind.FAILED else "退出培育"
        found.append(ValidationError(f"{what}须写明原因。", field="reason"))
    if step.kind == StepKind.NOTE and not (step.note or "").strip():
        found.append(ValidationError("请填写备注内容。", field="note"))
    if step.visit_id is not None:
        visit = find(Visit, step.visit_id)
        if visit is None or is_gone(visit) or visit.enterprise_id != candidate.enterprise_id:
            found.append(ValidationError("所选走访不是这家企业的走访记录。", field="visit_id"))
    return found


def _why_not(stage: PoolStage, kind: StepKind) -> str:
    if stage in ENDED:
        return f"这条培育记录{ENDED_AS[stage]}，流程已结束，只能再记“备注”。"
    if kind == StepKind.APPLIED:
        return "已经记录过“提交申报”。"
    return f"要先记录“提交申报”，才能记“{kind.label}”。"


def _certificate_problems(candidate: Candidate, on: date, number: str) -> list[ValidationError]:
    if not number:
        return [ValidationError("认定须填写证书编号。", field="certificate_no")]
    if len(number) > CERTIFICATE_MAX:
        return [
            ValidationError(f"证书编号不能超过 {CERTIFICATE_MAX} 个字符。", field="certificate_no")
        ]
    same = _same_recognition(candidate, on)
    if same is not None and same.certificate_no and same.certificate_no != number:
        return [
            ValidationError(
                f"这家企业 {on.isoformat()} 已有一条“{candidate.kind.label}”认定，"
                f"证书编号为 {same.certificate_no}，与填写的不同。",
                field="certificate_no",
            )
        ]
    return []


def _same_recognition(candidate: Candidate, on: date) -> Recognition | None:
    """The firm's recognition of this kind granted that day (an import may have brought it)."""
    return db.session.scalar(
        sa.select(Recognition).where(
            Recognition.enterprise_id == candidate.enterprise_id,
            Recognition.kind == candidate.kind,
            Recognition.granted_on == on,
        )
    )


def _recognition(candidate: Candidate, on: date, number: str) -> Recognition:
    """The recognition the 认定 step records: the one already there for that day (given its
    certificate number if it had none), or a new one."""
    same = _same_recognition(candidate, on)
    if same is not None:
        same.certificate_no = same.certificate_no or number
        return same
    granted = Recognition(
        enterprise_id=candidate.enterprise_id,
        kind=candidate.kind,
        granted_on=on,
        expires_on=expiry(candidate.kind, on),
        certificate_no=number,
        note=f"培育库 {candidate.year} 年认定",
    )
    db.session.add(granted)
    return granted
