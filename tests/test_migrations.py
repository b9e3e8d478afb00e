"""One migration history that builds exactly the models' schema, and unwinds cleanly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from flask_migrate import downgrade, upgrade

from crm.extensions import db
from tests.conftest import make_test_app


def _schema_diff() -> list:
    """What `crm db migrate` would generate now: nothing, if models and migrations agree."""
    opts = dict(current_app.extensions["migrate"].configure_args)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=opts)
        return compare_metadata(context, db.metadata)


def _tables() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_matches_models_and_downgrade_unwinds(databases, tmp_path):
    app = make_test_app(databases.new(), tmp_path)
    with app.app_context():
        upgrade()
        assert current_app.extensions["migrate"].configure_args["compare_type"] is True
        assert _tables() == set(db.metadata.tables)
        assert _schema_diff() == []

        downgrade(revision="base")
        assert _tables() == set()

        upgrade()
        assert _schema_diff() == []
        db.engine.dispose()


def test_upgrade_from_the_previous_schema_keeps_data(databases, tmp_path):
    app = make_test_app(databases.new(), tmp_path)
    with app.app_context():
        upgrade(revision="0002_search_index")
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO audit_entry (at, action, table_name, record_id, changes)"
                " VALUES ('2026-01-01 00:00:00', 'update', 'enterprise', 7, '{}')"
            )
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT action, record_id, ip FROM audit_entry").all()
        assert [tuple(r) for r in rows] == [("update", 7, None)]
        assert _schema_diff() == []
        db.engine.dispose()
