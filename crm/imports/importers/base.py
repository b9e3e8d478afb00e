"""What every importer shares: skipping repeats within a file, naming changed fields, resolving
institutions and firms named in cells, and flagging new names that look like known ones."""

from __future__ import annotations

from typing import Any

from crm.dedup import services as dedup
from crm.enterprises.models import Enterprise, EnterpriseAlias
from crm.extensions import db
from crm.imports import linking
from crm.imports.importers.rows import Context, Row, RowError
from crm.institutions.models import (
    InstitutionAlias,
)
from crm.sheets import Sheet
from crm.text.normal import normalise, person_name


class Importer:
    sheet: Sheet
    extras_to = "备注"  # where a value that could not be stored is kept in its own words

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        ctx.extras_to = self.extras_to
        self.seen: dict[Any, int] = {}  # key → first row, to skip repeats within the file

    def prepare(self) -> None:
        """Load what rows are matched against."""

    def handle(self, row: Row) -> str:
        """created / updated / unchanged / skipped; raises RowError."""
        raise NotImplementedError

    def finish(self) -> None:
        """Write what is still buffered."""

    def first_time(self, key: Any, row: Row) -> bool:
        if key in self.seen:
            row.detail = f"与第 {self.seen[key]} 行重复"
            self.ctx.note(row.number, None, f"与第 {self.seen[key]} 行重复，已跳过。", "warning")
            return False
        self.seen[key] = row.number
        return True

    @staticmethod
    def changes(record: Any, wanted: dict[str, Any]) -> dict[str, Any]:
        """The non-blank values that differ from the stored ones."""
        return {k: v for k, v in wanted.items() if v is not None and getattr(record, k) != v}

    def changed(self, row: Row, keys: Any) -> None:
        """Name the changed fields in the row's outcome, as the file's headers name them."""
        row.detail = "、".join(dict.fromkeys(self.ctx.headers.get(k, k) for k in keys))


class InstitutionLinks:
    """Resolves 所在单位 / 完成单位 cells, creating unknown institutions (reported once)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.index = linking.institution_index()

    def resolve(self, row: int, name: str | None, key: str) -> int | None:
        if not name:
            return None
        link = self.index.find(name)
        if link.how == "none":  # 浙江大学 机械工程学院: a school of a known university
            link = self.index.prefix(name)
        if link.how in ("fuzzy", "prefix"):
            linking.remember_alias(InstitutionAlias, "institution_id", link.record_id, name)
            self.ctx.note(
                row,
                key,
                f"“{name}”对应到已有单位“{link.matched_name}”，已记为它的别名，请核对。",
                "note",
            )
        if link.record_id is not None:
            self.index.exact[self.index.key(name)] = link.record_id
            return link.record_id
        inst = linking.create_institution(name)
        self.index.add(inst.id, inst.name)
        self.ctx.counts["institutions_created"] += 1
        message = f"新建单位“{inst.name}”（类型暂为“其他”）。"
        if link.how == "ambiguous":
            message += f"它与{'、'.join(link.candidates)}都相近，请在“查重合并”中核对。"
        self.ctx.note(row, key, message, "warning" if link.how == "ambiguous" else "note")
        return inst.id


class FirmLinks:
    """Resolves the firm a row names as imports do — its USCC, its name or an alias, or the
    officer's answer about a near name (then kept as an alias) — for lists that only ever name
    firms we know (a published project list): one not found is the row's error, never a new firm."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.names, self.by_uscc = linking.enterprise_index()

    def find(self, row: Row, name: str, uscc: str | None, key: str = "enterprise") -> Enterprise:
        ctx = self.ctx
        rid = self.by_uscc.get(uscc) if uscc else None
        decided = ctx.decisions.pop(name, None)
        if rid is None and decided and decided in self.names.names:  # the officer said which
            rid = decided
            self.names.exact[self.names.key(name)] = decided
            linking.remember_alias(EnterpriseAlias, "enterprise_id", decided, name)
            ctx.note(
                row.number,
                key,
                f"按您的选择，“{name}”对应到“{self.names.names[decided]}”，已记为它的别名。",
                "note",
            )
        if rid is None:
            link = self.names.find(name)
            if link.how == "exact":
                rid = link.record_id
            elif decided is None and (near := self.names.near(name, ctx.dedup_threshold)):
                ctx.questions.setdefault(name, near)
                options = "、".join(f"“{n}”（{score:.0f} 分）" for _, n, score in near)
                raise RowError(
                    key,
                    f"“{name}”与企业库中的{options}相近，不确定是不是同一家："
                    "请在预览页选择对应的企业，或在文件中写全称、填信用代码。",
                )
            else:
                raise RowError(
                    key,
                    f"企业库中没有“{name}”：这份名单不会新建企业，请先登记这家企业"
                    "（或把表中的名称加为它的别名）后再导入。",
                )
        firm = db.session.get(Enterprise, rid)
        if firm is None:  # gone since the index was read
            raise RowError(key, f"企业库中没有“{name}”。")
        if uscc and firm.uscc and firm.uscc != uscc:
            raise RowError(
                "uscc",
                f"表中的信用代码“{uscc}”与企业库中“{firm.name}”的（{firm.uscc}）不同，请核对。",
            )
        return firm


def flag_similar(
    ctx: Context,
    created: list[tuple[int, str, str | None]],
    existing: list[tuple[str, str | None]],
    label: str,
    column: str,
) -> None:
    """New records whose names look like one already known: listed for a person to check
    (merging is a decision, never made here). Two different valid USCCs are two firms."""
    if not created or not existing:
        return
    company = label == "企业"
    new_keys = [dedup.dedup_key(name, company) for _, name, _ in created]
    old_keys = [dedup.dedup_key(name, company) for name, _ in existing]
    for i, j, score in dedup.similar_pairs(new_keys, old_keys, ctx.dedup_threshold):
        row, name, code = created[i]
        other, other_code = existing[j]
        if code and other_code and code != other_code:
            continue
        ctx.note(
            row,
            column,
            f"“{name}”与已有{label}“{other}”很相近（{score:.0f} 分），可能是同一个，"
            "请到“查重合并”核对。",
            "warning",
        )


def person_key(name: str) -> str:
    """A person's name compared: 李  梅 (stored padded before imports cleaned it) is 李梅."""
    return normalise(person_name(name))
