"""The background embedder as production runs it: gunicorn with its committed config (app
preloaded in the master, workers forked), a record saved, its vector made by a worker's thread
within seconds — the engine and its OpenMP threads started after the fork, never before."""

from __future__ import annotations

import time
import urllib.request

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from crm.extensions import db
from crm.institutions.models import Researcher
from crm.text import embed
from crm.text.models import MatchVector
from tests.conftest import Databases, make_test_app
from tests.serving import serve

pytestmark = pytest.mark.skipif(
    not embed.available(), reason=f"embedding engine unavailable: {embed.unavailable()}"
)


def test_a_worker_embeds_what_was_saved_within_seconds(databases: Databases, tmp_path):
    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    workers = 2 if databases.kind == "postgresql" else 1
    with serve(url, workers=workers, CRM_EMBEDDER="true") as server:
        for _ in range(workers * 2):  # a request starts each worker's embedder
            urllib.request.urlopen(f"{server.base}/login", timeout=10).close()  # noqa: S310
        with app.app_context():
            person = Researcher(name="后台老师", research_directions="锂电池热失控预警")
            db.session.add(person)
            db.session.commit()
            saved, person_id = time.monotonic(), person.id
            row = None
            while time.monotonic() - saved < 20:
                row = db.session.execute(
                    sa.select(MatchVector.model, MatchVector.sentences).where(
                        MatchVector.kind == "researcher", MatchVector.record_id == person_id
                    )
                ).first()
                db.session.rollback()
                if row is not None:
                    break
                time.sleep(0.2)
            waited = time.monotonic() - saved
            db.engine.dispose()
    assert row is not None, "no vector 20 s after the save"
    assert row.model == embed.MODEL and row.sentences == ["研究方向\t锂电池热失控预警"]
    assert waited < 5.0  # the poll is 2 s; embedding one short profile takes well under 1 s
