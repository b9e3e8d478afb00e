"""The WSGI entry point for gunicorn: `gunicorn --preload --workers 4 'crm.wsgi:app'`.

With `--preload` this module runs once, in the master, before the workers are forked: jieba's
dictionary (about a second), pypinyin's tables (half a second), the names fuzzy search compares
with, the matching index (about a second at 100k researchers) and the records' vectors
(memory-mapped from the folder a previous process saved) are loaded here and every
worker starts with them, sharing their memory until it changes; each
worker then keeps its index current from the database's version counter.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from crm import create_app
from crm.extensions import db
from crm.matching.cache import get_index
from crm.matching.services import saved_vectors_path
from crm.matching.vectors import get_vectors
from crm.search.services import search
from crm.text.analyzer import get_analyzer
from crm.text.pinyin import lazy_pinyin

logger = logging.getLogger(__name__)

app = create_app()
get_analyzer().tokens("预热")
lazy_pinyin("预热")  # pypinyin's phrase tables: half a second on a worker's first pinyin query
with app.app_context():
    try:
        get_index(db.session.connection())
        # the records' vectors, memory-mapped from the saved index (the model itself is loaded
        # by each worker after the fork: OpenMP's threads do not survive one)
        get_vectors(db.session.connection(), saved=saved_vectors_path())
        for warm in ("预热", "yure"):  # the names fuzzy search compares with; the pinyin path
            search(warm)
    except sa.exc.SQLAlchemyError:  # not migrated yet: each worker builds it on first use
        logger.warning("Matching index not preloaded: the database is not ready", exc_info=True)
    finally:
        db.session.remove()
        db.engine.dispose()  # no connection crosses the fork
