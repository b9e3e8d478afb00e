"""Error pages: Chinese, no traceback, JSON for API clients; failed requests roll back."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import upgrade

from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.policy import Level, access
from tests.conftest import make_test_app


def test_404_is_chinese(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_405_is_chinese(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "不支持的请求方式" in response.get_data(as_text=True)


def _boom_app(databases, tmp_path):
    app = make_test_app(databases.new(), tmp_path)

    @app.post("/boom")
    @access(Level.PUBLIC, self_service=True)
    def boom():
        db.session.add(Enterprise(name="写了一半的企业"))
        db.session.flush()
        raise RuntimeError("secret internal detail")

    with app.app_context():
        upgrade()
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def test_500_hides_the_traceback_and_rolls_back(databases, tmp_path, caplog):
    app = _boom_app(databases, tmp_path)
    client = app.test_client()
    response = client.post("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "服务器出错了" in body
    assert "Traceback" not in body and "secret internal detail" not in body
    assert any("secret internal detail" in r.getMessage() or r.exc_info for r in caplog.records)
    json_response = client.post("/boom", headers={"Accept": "application/json"})
    assert json_response.status_code == 500
    assert json_response.get_json()["error"]["code"] == 500
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 0
    with app.app_context():  # after the session above gave its connection back
        db.engine.dispose()
