"""The industry thesaurus, kept by admins in the web: owners' words → experts' terms.

`seeds/dictionary/thesaurus.txt` is its first content (migration 0009 loads it); after that
the table is the thesaurus. Every committed change takes the next `thesaurus` version, and each
process reloads its analyzer's thesaurus when it sees another one (one primary-key read per
query), so every worker expands the same way from the request after the save.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from crm import policy
from crm.auth.models import User
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.matching.models import ThesaurusEntry
from crm.text.analyzer import Analyzer, get_analyzer, parse_thesaurus
from crm.text.docs import changed, versions

logger = logging.getLogger(__name__)


@dataclass
class EntryData:
    spoken: str
    experts: str
    note: str | None = None


def _clean(data: EntryData) -> EntryData:
    """Checked and tidied (Chinese commas accepted), or a ValidationError on the field."""
    spoken = ", ".join(w.strip() for w in data.spoken.replace("，", ",").split(",") if w.strip())
    experts = ", ".join(
        " ".join(t.split()) for t in data.experts.replace("，", ",").split(",") if t.strip()
    )
    if not spoken:
        raise ValidationError("请填写企业的说法，多个用逗号分开。", field="spoken")
    if "=>" in spoken or "=>" in experts:
        raise ValidationError("不需要填写 =>，说法和专业术语分开填。", field="spoken")
    if not experts:
        raise ValidationError("请填写对应的专业术语。", field="experts")
    for target in experts.split(", "):
        parts = target.split()
        if len(parts) > 2:
            raise ValidationError(
                f"“{target}”格式不对：每项是一个术语加一个权重，例如“电机 0.8”。", field="experts"
            )
        if len(parts) == 2:
            try:
                weight = float(parts[1])
            except ValueError:
                raise ValidationError(
                    f"“{target}”的权重不是数字，例如“电机 0.8”。", field="experts"
                ) from None
            if not 0 < weight < 1:
                raise ValidationError(
                    f"“{target}”的权重要大于 0、小于 1：扩展出的词总比原词轻。", field="experts"
                )
    parse_thesaurus([f"{spoken} => {experts}"])  # the reader agrees
    return EntryData(spoken, experts, (data.note or "").strip() or None)


def entries() -> list[ThesaurusEntry]:
    return list(db.session.scalars(sa.select(ThesaurusEntry).order_by(ThesaurusEntry.spoken)))


def create(user: User, data: EntryData) -> ThesaurusEntry:
    policy.authorize(policy.is_admin(user), "只有管理员可以维护同义词表。")
    clean = _clean(data)
    entry = ThesaurusEntry(spoken=clean.spoken, experts=clean.experts, note=clean.note)
    db.session.add(entry)
    db.session.flush()
    changed(db.session.connection(), "thesaurus")
    logger.info("Thesaurus entry %r added by %s", entry, user.username)
    return entry


def update(user: User, entry: ThesaurusEntry, data: EntryData, version: int) -> ThesaurusEntry:
    policy.authorize(policy.is_admin(user), "只有管理员可以维护同义词表。")
    if entry.version != version:
        raise Conflict()
    clean = _clean(data)
    entry.spoken, entry.experts, entry.note = clean.spoken, clean.experts, clean.note
    db.session.flush()
    changed(db.session.connection(), "thesaurus")
    logger.info("Thesaurus entry %r changed by %s", entry, user.username)
    return entry


def delete(user: User, entry: ThesaurusEntry, version: int) -> None:
    policy.authorize(policy.is_admin(user), "只有管理员可以维护同义词表。")
    if entry.version != version:
        raise Conflict()
    db.session.delete(entry)
    db.session.flush()
    changed(db.session.connection(), "thesaurus")
    logger.info("Thesaurus entry %r deleted by %s", entry, user.username)


def current_analyzer(connection: sa.Connection | None = None) -> Analyzer:
    """The process's analyzer with the thesaurus the database holds now."""
    analyzer = get_analyzer()
    connection = connection or db.session.connection()
    version = versions(connection).get("thesaurus", 0)
    if analyzer.thesaurus_version != version:
        rows = connection.execute(
            sa.select(ThesaurusEntry.id, ThesaurusEntry.spoken, ThesaurusEntry.experts).order_by(
                ThesaurusEntry.id
            )
        )
        readable = []
        for entry_id, spoken, experts in rows:
            line = f"{spoken} => {experts}"
            try:  # the form checks every entry; one written around it must not stop matching
                parse_thesaurus([line])
            except ValueError as exc:
                logger.error(
                    "Thesaurus entry %s skipped, it cannot be read (%s): %r", entry_id, exc, line
                )
                continue
            readable.append(line)
        analyzer.use_thesaurus(parse_thesaurus(readable), version)
        logger.info("Thesaurus version %s loaded", version)
    return analyzer
