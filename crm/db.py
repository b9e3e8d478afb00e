"""Declarative base, column types and mixins shared by every model; SQLite connection setup."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def long_text(max_length: int) -> Any:
    """A Text column with the longest value people may write into it. Not a database limit:
    the web forms (`max_length`) and the API's field types read it from here, so both accept
    the same and the OpenAPI document states it."""
    return mapped_column(sa.Text, info={"max_length": max_length})


SORT_KEY = "sort_key_of"  # column info: (source attribute, key function)


def sort_key_column(source: str, key: Callable[[str | None], str]) -> Any:
    """A column holding `key(<source>)`, e.g. a name's pinyin, that lists sort by: the same
    order on SQLite and PostgreSQL, whatever the server's collation. Filled on every insert
    (ORM, Core and the bulk paths, `with_sort_keys`) and kept in step on ORM updates."""

    def default(context: Any) -> str:
        return key(context.get_current_parameters().get(source))

    return mapped_column(
        # byte order on PostgreSQL too: a linguistic collation skips the syllables' spaces
        sa.String(SORT_KEY_LENGTH).with_variant(
            sa.String(SORT_KEY_LENGTH, collation="C"), "postgresql"
        ),
        default=default,
        index=True,
        info={SORT_KEY: (source, key)},
    )


SORT_KEY_LENGTH = 255


def with_sort_keys(table: sa.Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for a bulk insert with their sort keys (COPY runs no column defaults)."""
    keyed = [(c.name, *c.info[SORT_KEY]) for c in table.columns if SORT_KEY in c.info]
    if not keyed:
        return rows
    return [
        {**row, **{name: key(row.get(source)) for name, source, key in keyed if name not in row}}
        for row in rows
    ]


def _refresh_sort_keys(_mapper: Any, _connection: Any, target: Any) -> None:
    table = getattr(type(target), "__table__", None)
    for column in table.columns if table is not None else ():
        if SORT_KEY in column.info:
            source, key = column.info[SORT_KEY]
            setattr(target, column.name, key(getattr(target, source)))


def max_length(attribute: Any) -> int:
    """The longest value a String column, or a `long_text` column, takes."""
    column = attribute.property.columns[0] if hasattr(attribute, "property") else attribute
    return int(getattr(column.type, "length", None) or column.info["max_length"])


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), date: sa.Date()},
    )

    def __repr__(self) -> str:
        ident = sa.inspect(self).identity
        label = getattr(self, "name", None) or getattr(self, "title", None)
        suffix = f" {label!r}" if label else ""
        return f"<{type(self).__name__} {ident[0] if ident else 'new'}{suffix}>"


event.listen(Base, "before_insert", _refresh_sort_keys, propagate=True)
event.listen(Base, "before_update", _refresh_sort_keys, propagate=True)


def enum_column(enum_cls: type[enum.Enum], name: str, **kwargs: Any) -> Any:
    """A portable enum column: stored as its value in a VARCHAR with a CHECK constraint."""
    return mapped_column(
        sa.Enum(
            enum_cls,
            name=name,
            native_enum=False,
            create_constraint=True,
            validate_strings=True,
            length=max(len(m.value) for m in enum_cls),
            values_callable=lambda cls: [m.value for m in cls],
        ),
        **kwargs,
    )


class Timestamped:
    """created/updated time and user, filled by the audit hook on flush."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # use_alter: these audit references never decide table order (user <-> department cycle)
    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL", use_alter=True))

    @declared_attr
    def updated_by_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL", use_alter=True))


class SoftDeletable:
    """Records people delete are only marked deleted; lists filter them out."""

    deleted_at: Mapped[datetime | None]

    @declared_attr
    def deleted_by_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Versioned:
    """Optimistic locking: an UPDATE with a stale version raises StaleDataError."""

    version: Mapped[int] = mapped_column(default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.version}


class Record(Timestamped, SoftDeletable, Versioned):
    """What most business records are: timestamped, soft-deletable, versioned."""


def configure_sqlite(engine: Engine, busy_timeout_ms: int, immediate: Any) -> None:
    """WAL, foreign keys, busy timeout; writes begin with BEGIN IMMEDIATE.

    pysqlite's own transaction handling is switched off so that SQLAlchemy's "begin" event
    decides how each transaction starts. `immediate()` says whether the current unit of work
    may write: then the write lock is taken up front and waits (busy timeout) instead of failing
    with "database is locked" when a read transaction later tries to upgrade.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate() else "BEGIN")


def insert_rows(
    connection: sa.Connection,
    table: sa.Table,
    rows: list[dict[str, Any]] | list[tuple[Any, ...]],
    columns: tuple[str, ...] | None = None,
) -> None:
    """Insert many plain rows fast: COPY on PostgreSQL, the driver's executemany on SQLite.

    Rows are dicts, or tuples in the order of `columns`. Values must already be in database
    form (no TypeDecorator runs on these paths).
    """
    if not rows:
        return
    if columns is None:
        names_ = list(rows[0])  # type: ignore[arg-type]
        tuples = [tuple(row[c] for c in names_) for row in rows]  # type: ignore[call-overload]
    else:
        names_, tuples = list(columns), rows  # type: ignore[assignment]
    columns = tuple(names_)
    with _as_sqlalchemy_errors(connection, f"bulk insert into {table.name}"):
        _insert_tuples(connection, table, columns, tuples)


@contextlib.contextmanager
def _as_sqlalchemy_errors(connection: sa.Connection, what: str) -> Iterator[None]:
    """The driver's own errors raised as SQLAlchemy raises them (OperationalError and so on),
    with a lost connection invalidated — so the app's handlers (503, rollback) work on these
    paths too instead of meeting a raw psycopg / sqlite3 error."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        lost = connection.dialect.is_disconnect(exc, connection.connection, None)
        if lost:
            connection.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            what, None, exc, dbapi.Error, connection_invalidated=lost, dialect=connection.dialect
        ) from exc


def _insert_tuples(
    connection: sa.Connection,
    table: sa.Table,
    columns: tuple[str, ...],
    tuples: list[tuple[Any, ...]],
) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    driver = connection.connection.driver_connection
    if connection.dialect.name == "sqlite":  # the driver's own executemany: no per-row compiling
        # the statement compiled once by SQLAlchemy (qmark placeholders, in column order)
        values = {c: sa.bindparam(c) for c in columns}
        compiled = sa.insert(table).values(values).compile(dialect=connection.dialect)
        order = [columns.index(name) for name in compiled.positiontup or ()]
        if order != list(range(len(columns))):
            tuples = [tuple(t[i] for i in order) for t in tuples]
        driver.cursor().executemany(str(compiled), tuples)  # type: ignore[union-attr]
        return
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), [dict(zip(columns, t, strict=True)) for t in tuples])
        return
    cursor = driver.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:  # noqa: S608
        for row in tuples:
            copy.write_row(row)


def render_migration_item(type_: str, obj: Any, _autogen_context: Any) -> str | bool:
    """Alembic autogenerate: write our TypeDecorators as their plain SQLAlchemy type.

    Migrations then never import application code, so renaming a class cannot break them.
    """
    if type_ == "type" and isinstance(obj, sa.types.TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


class Choice(enum.StrEnum):
    """A stored code with the Chinese label the UI shows: `INTENT = "intent", "意向"`."""

    label: str

    def __new__(cls, value: str, label: str) -> Choice:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


def exactly_one(*columns: str, name: str) -> sa.CheckConstraint:
    """CHECK that exactly one of the nullable columns is set."""
    terms = " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in columns)
    return sa.CheckConstraint(f"{terms} = 1", name=name)
