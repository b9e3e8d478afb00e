"""The search index: the analysed terms of each searchable record, stored when it is written."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base


class SearchTerm(Base):
    """One term of one record with its weight (name terms weigh more than notes)."""

    __tablename__ = "search_term"
    __table_args__ = (
        sa.UniqueConstraint("kind", "record_id", "term"),
        # covering: a term's postings, heaviest first, without touching the table
        sa.Index("ix_search_term_postings", "term", "weight", "kind", "record_id"),
        # a deleted row's id is never handed out again (SQLite would reuse the highest): the
        # matching index reads "rows above the highest id it has seen" as "written since"
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    record_id: Mapped[int]
    term: Mapped[str] = mapped_column(sa.String(64))
    weight: Mapped[float]

    def __repr__(self) -> str:
        return f"<SearchTerm {self.kind}:{self.record_id} {self.term!r} {self.weight}>"
