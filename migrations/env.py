"""Alembic environment for Flask-Migrate: the app's engine and metadata, batch mode on SQLite."""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    # only when nothing configured logging yet (the `crm db` CLI): never replace the handlers
    # of a running application or of pytest's caplog
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

migrate_ext = current_app.extensions["migrate"]
target_metadata = migrate_ext.db.metadata


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`crm db upgrade --sql`)."""
    context.configure(
        url=str(migrate_ext.db.engine.url).replace("%", "%%"),
        target_metadata=target_metadata,
        literal_binds=True,
        **migrate_ext.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def process_revision_directives(_context, _revision, directives) -> None:  # noqa: ANN001
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(migrate_ext.configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    with migrate_ext.db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch operation rebuilds a table (copy, DROP TABLE, rename). With foreign keys
            # on, SQLite's DROP TABLE first deletes the table's rows and runs their ON DELETE
            # actions: 0022 rebuilding `achievement` emptied cooperation.achievement_id and
            # deleted suggestions of achievements. Off for the migration (set on the driver's
            # connection: inside a transaction the pragma does nothing) and checked after; the
            # connection is then dropped, so the pool's next one is set up with them on.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check")):
                    rows = broken.all()
                    if rows:
                        raise RuntimeError(f"foreign keys broken by the migration: {rows[:10]}")
        finally:
            if sqlite:
                if connection.in_transaction():  # only a failed migration leaves one open
                    connection.rollback()
                connection.invalidate()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
