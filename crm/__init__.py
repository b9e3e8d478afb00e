"""科技红娘 CRM: the application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, has_request_context, request
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from crm import cli, errors, links, models, money, policy, privacy, security, submissions
from crm.api import auth as api_auth
from crm.api.pages import bp as tokens_bp
from crm.api.views import bp as api_bp
from crm.audit import services as audit_services
from crm.audit.views import bp as audit_bp
from crm.auth.views import bp as auth_bp
from crm.config import load_config
from crm.contacts.views import bp as contacts_bp
from crm.cooperation.views import bp as cooperation_bp
from crm.cultivation.views import bp as cultivation_bp
from crm.dashboard.views import bp as dashboard_bp
from crm.db import configure_sqlite
from crm.dedup.views import bp as dedup_bp
from crm.enterprises.views import bp as enterprises_bp
from crm.events.views import bp as events_bp
from crm.extensions import csrf, db, login_manager, migrate
from crm.imports.views import bp as imports_bp
from crm.institutions.views import bp as institutions_bp
from crm.main.views import bp as main_bp
from crm.matching import cache as match_cache
from crm.matching import embedder
from crm.matching.views import bp as matching_bp
from crm.needs.views import bp as needs_bp
from crm.projects.views import bp as projects_bp
from crm.search import index as search_index
from crm.search.views import bp as search_bp
from crm.targets.views import bp as targets_bp
from crm.trash.views import bp as trash_bp
from crm.visits.views import bp as visits_bp

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

__all__ = ["create_app", "models"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints. No side effects on the database."""
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates")
    load_config(app, test_config)
    logging.getLogger("crm").setLevel(app.config["LOG_LEVEL"])
    if proxies := int(app.config["TRUSTED_PROXIES"]):
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    csrf.init_app(app)
    login_manager.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(
                db.engine, int(app.config["SQLITE_BUSY_TIMEOUT_MS"]), _starts_write_transaction
            )
    app.url_map.converters["int"] = RecordId  # before any route: <int:…> is a record id
    audit_services.install(Session)  # every session, the app's and any a script makes
    search_index.install(Session)
    match_cache.install()  # after the search hooks: indexes take in what this process commits
    embedder.install(app)  # saved records gain their vectors in a background thread

    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(enterprises_bp)
    app.register_blueprint(contacts_bp)
    app.register_blueprint(visits_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(institutions_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(trash_bp)
    app.register_blueprint(needs_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(dedup_bp)
    app.register_blueprint(matching_bp)
    app.register_blueprint(cooperation_bp)
    app.register_blueprint(cultivation_bp)
    app.register_blueprint(projects_bp)
    app.register_blueprint(targets_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(events_bp)
    errors.register_error_handlers(app)
    submissions.register(app)
    app.before_request(api_auth.authenticate_request)  # before the access check: the token's user
    app.before_request(policy.enforce_view_access)
    app.after_request(api_auth.add_rate_headers)
    app.jinja_env.globals["policy"] = policy
    app.jinja_env.globals["tz"] = ZoneInfo(app.config["TIMEZONE"])
    privacy.register(app)
    links.register(app)
    money.register(app)
    security.install(app)
    cli.register(app)
    return app


class RecordId(IntegerConverter):
    """`<int:…>` in a route: 1 to 2,147,483,647 — an id a 32-bit column can hold — written as
    a pattern, so that a longer number makes the URL match nothing (404) for every method,
    instead of reaching the database (500) or a method check (405)."""

    regex = (
        r"(?:[1-9]\d{0,8}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}"
        r"|21474[0-7]\d{4}|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d"
        r"|214748364[0-6]|2147483647)"
    )


def _starts_write_transaction() -> bool:
    """SQLite: safe requests only read (BEGIN); anything else may write (BEGIN IMMEDIATE) —
    and so may every API request, which counts against its token's rate (and notes its use)
    on the token's row: a read transaction upgraded later fails at once if another write
    committed meanwhile."""
    if not has_request_context():
        return True
    if request.path.startswith("/api/") and request.path not in api_auth.PUBLIC:
        return True
    return request.method not in ("GET", "HEAD", "OPTIONS")
