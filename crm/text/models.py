"""The stored analysis of each searchable record: its terms (search), its packed doc (matching)
and the counters that tell every worker what changed."""

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
        # a deleted row's id is never handed out again (SQLite would reuse the highest); the
        # matching index once relied on it and now follows `IndexVersion` instead (0008)
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    record_id: Mapped[int]
    # byte order on PostgreSQL whatever the server's locale: name keys are found by prefix
    # ranges (term >= 'py:jc' AND term < 'py:jd'), which a linguistic collation would reorder
    term: Mapped[str] = mapped_column(
        sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
    )
    weight: Mapped[float]

    def __repr__(self) -> str:
        return f"<SearchTerm {self.kind}:{self.record_id} {self.term!r} {self.weight}>"


class MatchDoc(Base):
    """All of one record's terms packed in one row, written with its search terms: the
    matching index is built from these (100k rows, not 3 million) and a worker takes in the
    rows whose `version` is newer than its own. A deleted record keeps an empty row, so
    every worker learns it is gone."""

    __tablename__ = "match_doc"

    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    record_id: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[str] = mapped_column(sa.Text, default="")  # see `crm.text.terms.pack`
    # NULL until the writing transaction commits; then the version it committed as
    version: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)


class IndexVersion(Base):
    """Counters bumped by every transaction that changes what matching reads. The bump is an
    UPDATE of one row, so it holds that row's lock until commit: versions are handed out
    in commit order, and a worker that has seen version N has seen everything up to N.
    `epoch` names the database, so an index file saved for another one is never loaded."""

    __tablename__ = "index_version"

    name: Mapped[str] = mapped_column(sa.String(16), primary_key=True)  # docs, thesaurus, epoch
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class MatchVector(Base):
    """A record's sentence vectors for semantic matching, written by the embedder (not by the
    saving request: a model call is 10–40 ms a sentence) for records whose doc changed since.

    `vector` is the normalised mean of the sentence vectors (what is searched); `sentences`
    and `sentence_vectors` say which sentence of the profile came closest to a need (the
    "语义相近" line of an explanation). Vectors are float16: 768 bytes a sentence. `source`
    is a hash of the text embedded, so a save that changes no embedded field costs no model
    call; `model` names the model that made it (another model: embedded again); `doc_version`
    is the version of the record's doc it was made from (a newer doc: looked at again). A
    deleted record keeps an empty row, so every worker learns it is gone. `version` is stamped
    on commit from the `vectors` counter, as `MatchDoc.version` is from `docs`."""

    __tablename__ = "match_vector"

    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    record_id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(sa.String(80))
    source: Mapped[str] = mapped_column(sa.String(40))
    doc_version: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    vector: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sentences: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    sentence_vectors: Mapped[bytes] = mapped_column(sa.LargeBinary)
    version: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)
