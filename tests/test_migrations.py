"""One migration history that builds exactly the models' schema, and unwinds cleanly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from flask_migrate import downgrade, upgrade

from crm.extensions import db
from crm.matching import services
from crm.matching.models import ThesaurusEntry
from crm.text.models import MatchDoc
from crm.text.terms import unpack
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


def test_upgrade_packs_stored_terms_and_seeds_the_thesaurus(databases, tmp_path):
    """A database indexed before 0008 matches at once after the upgrade: its stored terms are
    packed into docs (pinyin keys left out) and the thesaurus table holds the seed file."""
    app = make_test_app(databases.new(), tmp_path)
    with app.app_context():
        upgrade(revision="0007_not_duplicate")
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO researcher (id, name, research_directions, created_at, updated_at,"
                " version) VALUES (1, '甲老师', '电机噪声', '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00', 1)"
            )
            conn.exec_driver_sql(
                "INSERT INTO search_term (kind, record_id, term, weight) VALUES"
                " ('researcher', 1, '电机', 2.0), ('researcher', 1, '噪声', 2.0),"
                " ('researcher', 1, '甲老师', 3.0), ('researcher', 1, 'py:jialaoshi', 3.0)"
            )
        upgrade()
        packed = db.session.execute(sa.select(MatchDoc.terms)).scalar_one()
        assert sorted((w, sorted(t)) for w, t in unpack(packed)) == [
            (2.0, ["噪声", "电机"]),
            (3.0, ["甲老师"]),
        ]
        assert db.session.scalar(sa.select(sa.func.count(ThesaurusEntry.id))) >= 30
        found = services.match_text("马达嗡嗡响")
        assert [(c.name, {m.term: m.via for m in c.matched}["电机"]) for c in found] == [
            ("甲老师", "马达")
        ]
        db.session.remove()
        db.engine.dispose()


def test_thesaurus_lines_written_later_reach_older_databases_once(databases, tmp_path):
    app = make_test_app(databases.new(), tmp_path)
    with app.app_context():
        upgrade(revision="0011_match_runs")
        with db.engine.begin() as conn:  # a database seeded before these lines were written
            conn.exec_driver_sql("DELETE FROM thesaurus_entry WHERE spoken = '缩水'")
            before = conn.exec_driver_sql(
                "SELECT value FROM index_version WHERE name = 'thesaurus'"
            ).scalar_one()
        upgrade()
        with db.engine.connect() as conn:
            experts = conn.exec_driver_sql(
                "SELECT experts FROM thesaurus_entry WHERE spoken = '缩水'"
            ).scalar_one()
            after = conn.exec_driver_sql(
                "SELECT value FROM index_version WHERE name = 'thesaurus'"
            ).scalar_one()
        assert experts == "防缩 0.7, 尺寸稳定性 0.6" and after == before + 1
        db.engine.dispose()


def test_upgrade_gives_existing_names_their_keys_and_sort_keys(databases, tmp_path):
    """A database from before 0021 finds a firm by part of its name at once, with the keys a
    reindex would write, and sorts by pinyin."""
    from crm.search import services as search
    from crm.search.index import reindex

    keys = sa.text(
        "SELECT kind, record_id, term, weight FROM search_term"
        " WHERE term LIKE 'nx:%' OR term LIKE 'py:%' OR term LIKE 'pyi:%' OR term LIKE 'in:%'"
        " ORDER BY kind, record_id, term"
    )
    app = make_test_app(databases.new(), tmp_path)
    with app.app_context():
        upgrade(revision="0020_match_vectors")
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO enterprise (id, name, is_above_scale, created_at, updated_at,"
                " version) VALUES (1, '嵊州市锦程领带服饰有限公司', false,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1),"
                " (2, '浙江丽珩领带有限公司', false, '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00', 1),"
                " (3, '嵊州市〇〇七电器厂', false, '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00', 1)"
            )
            conn.exec_driver_sql(
                "INSERT INTO researcher (id, name, created_at, updated_at, version)"
                " VALUES (1, '金成林', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)"
            )
            conn.exec_driver_sql(  # what the index held before: whole-name pinyin only
                "INSERT INTO search_term (kind, record_id, term, weight) VALUES"
                " ('enterprise', 1, 'py:jinchenglingdaifushi', 3.0),"
                " ('enterprise', 1, 'pyi:jcldfs', 3.0),"
                " ('enterprise', 2, 'py:lihanglingdai', 3.0),"
                " ('enterprise', 2, 'pyi:lhld', 3.0),"
                " ('researcher', 1, 'py:jinchenglin', 3.0), ('researcher', 1, 'pyi:jcl', 3.0)"
            )
        upgrade()
        for query in ("jcld", "lingdai", "锦程", "领带服饰", "金成", "七dq"):
            assert search.search(query), query
        sort_keys = db.session.scalars(sa.text("SELECT name_sort FROM enterprise ORDER BY id"))
        assert sort_keys.all() == [
            "jin cheng ling dai fu shi",
            "li hang ling dai",  # pypinyin reads 珩 háng
            "ling ling qi dian qi",  # 〇〇七电器: 厂 is the company form
        ]
        migrated = [tuple(r) for r in db.session.execute(keys)]
        reindex(db.session)
        db.session.commit()
        assert migrated == [tuple(r) for r in db.session.execute(keys)]
        db.session.remove()
        db.engine.dispose()


def test_upgrade_to_0022_keeps_what_points_at_a_rebuilt_table(databases, tmp_path):
    """0022 rebuilds `achievement` on SQLite (a new foreign key): the cooperation records and
    suggestions pointing at an achievement keep it (with foreign keys on during the rebuild,
    SQLite's DROP TABLE had set the one to null and deleted the other)."""
    app = make_test_app(databases.new(), tmp_path)
    with app.app_context():
        upgrade(revision="0021_name_keys")
        with db.engine.begin() as conn:
            for sql in (
                "INSERT INTO enterprise (id, name, name_sort, is_above_scale, created_at,"
                " updated_at, version) VALUES (1, '测试企业', 'ce shi', false, :at, :at, 1)",
                "INSERT INTO institution (id, name, name_sort, kind, created_at, updated_at,"
                " version) VALUES (1, '测试大学', 'ce shi', 'university', :at, :at, 1)",
                "INSERT INTO achievement (id, title, institution_id, created_at, updated_at,"
                " version) VALUES (1, '测试成果', 1, :at, :at, 1)",
                "INSERT INTO need (id, enterprise_id, title, status, created_at, updated_at,"
                " version) VALUES (1, 1, '测试需求', 'open', :at, :at, 1)",
                "INSERT INTO suggestion (id, need_id, achievement_id, score, matched_terms,"
                " adjustments, fused, status, created_at, updated_at, version)"
                " VALUES (1, 1, 1, 1.0, '[]', '[]', false, 'new', :at, :at, 1)",
                "INSERT INTO cooperation (id, title, enterprise_id, institution_id, type, stage,"
                " origin, achievement_id, created_at, updated_at, version) VALUES"
                " (1, '测试合作', 1, 1, 'transfer', 'intent', 'manual', 1, :at, :at, 1)",
                "INSERT INTO attachment (id, cooperation_id, filename, stored_name,"
                " content_type, size, sha256, created_at, updated_at) VALUES (1, 1, 'a.pdf',"
                " 'x.pdf', 'application/pdf', 1, '0', :at, :at)",
            ):
                conn.execute(sa.text(sql), {"at": "2026-01-01 00:00:00"})
        upgrade()
        with db.engine.connect() as conn:
            kept = conn.exec_driver_sql(
                "SELECT (SELECT achievement_id FROM cooperation WHERE id = 1),"
                " (SELECT count(*) FROM suggestion WHERE achievement_id = 1),"
                " (SELECT cooperation_id FROM attachment WHERE id = 1)"
            ).one()
            assert tuple(kept) == (1, 1, 1)
            if conn.dialect.name == "sqlite":  # and the app's connections enforce keys again
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert _schema_diff() == []
        db.engine.dispose()
