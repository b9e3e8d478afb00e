"""Operations: `crm check --deploy` names what must not go to production; backup and
restore round-trip a real database (the drill), on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask_migrate import upgrade

from crm.clock import local_today
from crm.extensions import db
from crm.ops import backup, checks
from crm.seed import demo as seed
from tests.conftest import Databases, make_test_app


def _codes(app) -> list[str]:
    return [f.code for f in checks.deploy(app)]


def test_check_deploy_names_each_problem(databases: Databases, tmp_path):
    careless = make_test_app("sqlite:///" + str(tmp_path / "a.sqlite3"), tmp_path / "a", WORKERS=4)
    assert set(_codes(careless)) == {"crm.W001", "crm.E002", "crm.E003", "crm.E004", "crm.E005"}
    result = careless.test_cli_runner().invoke(args=["check", "--deploy"])
    assert result.exit_code != 0 and "crm.E004" in result.output and "部署检查发现" in result.output
    (tmp_path / "backups").mkdir()
    ready = make_test_app(
        databases.new(),
        tmp_path / "b",
        ENV_NAME="production",
        SECRET_KEY=secrets.token_hex(32),
        WORKERS=4,
        BACKUP_DIR=str(tmp_path / "backups"),
    )
    ready.debug = False
    if databases.kind == "sqlite":
        assert _codes(ready) == ["crm.E004"]  # several workers on SQLite
        ready.config["WORKERS"] = 1
    assert _codes(ready) == []
    result = ready.test_cli_runner().invoke(args=["check", "--deploy"])
    assert result.exit_code == 0 and "部署检查通过" in result.output


def _counts() -> dict[str, int]:
    inspector = sa.inspect(db.engine)
    return {
        table: db.session.scalar(sa.text(f'SELECT count(*) FROM "{table}"'))  # noqa: S608
        for table in inspector.get_table_names()
    }


def test_backup_and_restore_drill(databases: Databases, tmp_path):
    live = make_test_app(databases.new(), tmp_path / "live")
    with live.app_context():
        upgrade()
        seed.load_demo(local_today())
        db.session.commit()
        before = _counts()
        epoch = db.session.scalar(sa.text("SELECT value FROM index_version WHERE name = 'epoch'"))
        db.session.remove()
    assert before["enterprise"] > 50 and before["cooperation"] > 20
    file = backup.backup(live, tmp_path / "drill.backup")
    assert file.stat().st_size > 0 and not (tmp_path / "drill.backup.part").exists()
    fresh = make_test_app(databases.new(), tmp_path / "fresh")
    with fresh.app_context():
        upgrade()  # an empty database of the same schema, as a new server would have
        db.session.remove()
    result = fresh.test_cli_runner().invoke(args=["restore", str(file), "--yes"])
    assert result.exit_code == 0, result.output
    with fresh.app_context():
        after = _counts()
        assert after == before
        if databases.kind == "sqlite":
            assert db.session.scalar(sa.text("PRAGMA integrity_check")) == "ok"
        restored_epoch = db.session.scalar(
            sa.text("SELECT value FROM index_version WHERE name = 'epoch'")
        )
        assert restored_epoch != epoch  # saved match indexes of the old one are not reused
        db.session.remove()
        db.engine.dispose()
    with live.app_context():
        db.engine.dispose()
