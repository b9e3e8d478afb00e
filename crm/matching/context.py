"""Problem over context: which words of a need only restate what the firm makes.

"领带面料洗了以后容易起皱" from a tie maker is about 起皱; 领带 and 面料 say which firm asks,
and every tie-fabric expert shares them. Words that name the county's products — what the
records' enterprises list as main products (in two firms or more) and the industries' names —
and, for a need, its own firm's products and industries, are *context*: in the keyword query
they weigh `WEIGHT` of a word of the problem, and an explanation marks them "产品词". They
are never dropped: a need that says nothing else still matches on them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import sqlalchemy as sa

from crm.enterprises.models import Enterprise, Industry
from crm.extensions import db
from crm.matching.thesaurus import current_analyzer
from crm.text.models import MatchDoc
from crm.text.terms import NORMAL, unpack

WEIGHT = 0.35  # of a context word's weight in the keyword query
FIRMS = 2  # a product word: in this many firms' main products at least
REFRESH = 300.0  # seconds a process keeps the county's product words

_lock = threading.Lock()
_cache: dict[str, tuple[float, frozenset[str]]] = {}


def county_products() -> frozenset[str]:
    """Words naming what the county's firms make: from the enterprises' stored docs (their
    main products, as analysed when saved) and the industries' names."""
    url = str(db.engine.url)
    cached = _cache.get(url)
    if cached is not None and time.monotonic() - cached[0] < REFRESH:
        return cached[1]
    with _lock:
        table = MatchDoc.__table__
        counts: Counter[str] = Counter()
        rows = db.session.execute(
            sa.select(table.c.terms).where(table.c.kind == "enterprise", table.c.terms != "")
        )
        for (packed,) in rows:
            for weight, group in unpack(packed):
                if weight == NORMAL:
                    counts.update(set(group))
        words = {w for w, n in counts.items() if n >= FIRMS}
        analyzer = current_analyzer()
        for (name,) in db.session.execute(sa.select(Industry.name)):
            words.update(analyzer.tokens(name))
        found = frozenset(words)
        _cache[url] = (time.monotonic(), found)
    return found


def of_enterprise(enterprise: Enterprise | None) -> frozenset[str]:
    """A firm's own product words: its main products and its industries' names."""
    if enterprise is None:
        return frozenset()
    analyzer = current_analyzer()
    words = set(analyzer.tokens(enterprise.main_products))
    for industry in enterprise.industries:
        words.update(analyzer.tokens(industry.name))
    return frozenset(words)


def forget() -> None:
    """Drop the cached product words (tests, after loading firms)."""
    _cache.clear()
