"""The README's settings table names every setting the code has."""

from __future__ import annotations

from pathlib import Path

from crm.config import DEFAULTS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented():
    text = README.read_text(encoding="utf-8")
    env_names = {
        "SQLALCHEMY_DATABASE_URI": "DATABASE_URL",
    }
    missing = [
        env_names.get(key, f"CRM_{key}")
        for key in DEFAULTS
        if f"`{env_names.get(key, f'CRM_{key}')}`" not in text
    ]
    assert missing == []
    assert "`SECRET_KEY`" in text
