"""What an import was asked to do (`Options`) and what it did (`Report`: counts, row messages,
each row's outcome), both kept as JSON with a preview or a job."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crm.imports.headers import Match
from crm.imports.importers.rows import Issue, Outcome
from crm.imports.table import SheetInfo
from crm.sheets import SHEETS

MAX_STORED_ISSUES = 2000  # a batch keeps this many row messages; the count is always exact
MAX_SHOWN_OUTCOMES = 5000  # the preview lists this many rows' outcomes; the counts are exact
OUTCOMES = ("created", "updated", "unchanged", "skipped")
PROGRESS_EVERY = 5000


@dataclass
class Options:
    """What the officer chose on the mapping page (or the CLI's options); empty: automatic."""

    kind: str | None = None
    sheet: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # header → field key, or "" to ignore
    year: int | None = None  # the year of figures whose header names none
    above_scale: bool | None = None  # a 规上 list: mark its firms 规上 (None: from the title)
    decisions: dict[str, int] = field(default_factory=dict)  # name → enterprise id, 0 = new
    # a published project list (立项 / 验收名单): None = from its title and columns
    list_stage: str | None = None  # "approved" (立项名单) / "accepted" (验收名单)
    programme_id: int | None = None  # the programme (科技计划) of every row
    listed_on: date | None = None  # the list's date (立项日期 / 验收日期); None = today


@dataclass
class Report:
    kind: str
    filename: str
    dry_run: bool
    batch_id: int | None = None
    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    format: str = ""
    encoding: str | None = None
    where: str = ""  # which sheet and row held the header
    sheet: str | None = None
    headers: list[str] = field(default_factory=list)
    sheets: list[SheetInfo] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    questions: dict[str, list[tuple[int, str, float]]] = field(default_factory=dict)
    sample: list[list[str | None]] = field(default_factory=list)
    title: str | None = None
    year: int | None = None
    above_scale_year: int | None = None
    options: Options = field(default_factory=Options)

    error_total: int | None = None  # when issues were cut to MAX_STORED_ISSUES

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def error_count(self) -> int:
        """Rows skipped for errors (a row may have several)."""
        if self.error_total is not None:
            return self.error_total
        return len({i.row for i in self.errors})

    @property
    def label(self) -> str:
        return SHEETS[self.kind].label

    def summary(self) -> str:
        c = self.counts
        created, updated = c.get("created", 0), c.get("updated", 0)
        unchanged, skipped = c.get("unchanged", 0), c.get("skipped", 0)
        return (
            f"新增 {created}，更新 {updated}，未变 {unchanged}，"
            f"跳过 {skipped}（其中有错误的 {self.error_count} 行）"
        )

    def samples(self, column: int) -> list[str]:
        """A column's first values, for the mapping page."""
        return [r[column] for r in self.sample if column < len(r) and r[column]][:3]

    @property
    def yearly(self) -> bool:
        return any(m.column is not None and m.column.yearly for m in self.matches)

    def to_json(self) -> dict[str, Any]:
        """The report as a background job keeps it (outcomes and issues bounded)."""
        return {
            "kind": self.kind,
            "filename": self.filename,
            "dry_run": self.dry_run,
            "batch_id": self.batch_id,
            "rows": self.rows,
            "counts": self.counts,
            "issues": [i.as_dict() for i in self.issues[:MAX_STORED_ISSUES]],
            "issue_count": len(self.issues),
            "error_count": self.error_count,
            "format": self.format,
            "encoding": self.encoding,
            "where": self.where,
            "sheet": self.sheet,
            "headers": self.headers,
            "sheets": [[s.name, s.hidden] for s in self.sheets],
            "matches": [
                [m.header, m.column.key if m.column else None, m.how, m.year, m.ident]
                for m in self.matches
            ],
            "outcomes": [
                [o.row, o.outcome, o.label, o.detail] for o in self.outcomes[:MAX_SHOWN_OUTCOMES]
            ],
            "questions": self.questions,
            "sample": self.sample,
            "title": self.title,
            "year": self.year,
            "above_scale_year": self.above_scale_year,
            "options": options_json(self.options),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        sheet = SHEETS[data["kind"]]
        by_key = {c.key: c for c in sheet.columns}
        report = cls(
            data["kind"],
            data["filename"],
            data["dry_run"],
            batch_id=data["batch_id"],
            rows=data["rows"],
            counts=data["counts"],
            issues=[Issue(**i) for i in data["issues"]],
            format=data["format"],
            encoding=data["encoding"],
            where=data["where"],
            sheet=data["sheet"],
            headers=data["headers"],
            sheets=[SheetInfo(name, hidden) for name, hidden in data["sheets"]],
            matches=[
                Match(h, by_key.get(k) if k else None, how, y, ident)
                for h, k, how, y, ident in data["matches"]
            ],
            outcomes=[Outcome(*o) for o in data["outcomes"]],
            questions={k: [tuple(c) for c in v] for k, v in data["questions"].items()},
            sample=data["sample"],
            title=data["title"],
            year=data["year"],
            above_scale_year=data["above_scale_year"],
            options=options_from_json(data["options"]),
        )
        report.error_total = data["error_count"]
        return report


def options_json(options: Options) -> dict[str, Any]:
    data = dataclasses.asdict(options)
    data["listed_on"] = options.listed_on.isoformat() if options.listed_on else None
    return data


def options_from_json(data: dict[str, Any]) -> Options:
    data = dict(data)
    data["decisions"] = {str(k): int(v) for k, v in (data.get("decisions") or {}).items()}
    data["mapping"] = {str(k): str(v) for k, v in (data.get("mapping") or {}).items()}
    data["listed_on"] = date.fromisoformat(data["listed_on"]) if data.get("listed_on") else None
    return Options(**data)


def options_signature(options: Options) -> str:
    """The settings of a preview, to tell whether the page's settings changed since."""
    text = json.dumps(options_json(options), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
