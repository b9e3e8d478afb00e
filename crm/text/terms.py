"""A record's terms, each with the weight of the field it came from, and how they are packed.

Search stores one row per term; matching reads one packed string per record (`pack`), which
is 100k rows to read instead of three million. Pinyin keys are for search only.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from crm.text.analyzer import get_analyzer
from crm.text.normal import core_name, normalise
from crm.text.pinyin import pinyin_syllables

#: Field weights: a name, the fields that say what a record is about, the rest, notes.
NAME, STRONG, NORMAL, WEAK = 3.0, 2.0, 1.0, 0.5
MAX_TERM = 64
PINYIN = ("py:", "pyi:")  # search keys, not words: never matched on
# packed terms: weight GROUP_MARK terms joined by TERM_MARK, groups joined by GROUP_END
GROUP_END, GROUP_MARK, TERM_MARK = "\x1e", "\x1d", "\x1f"
_NO_MARKS = str.maketrans("", "", "\x1c\x1d\x1e\x1f")

Fields = Iterable[tuple[str | None, float]]


def name_terms(name: str | None) -> set[str]:
    """A name as a whole, its core, and the core's pinyin (full and initials)."""
    if not name:
        return set()
    return set(_name_terms(name))


@functools.lru_cache(maxsize=65536)
def _name_terms(name: str) -> frozenset[str]:
    whole, core = normalise(name), core_name(name)
    syllables = pinyin_syllables(core)
    terms = {whole, core, "py:" + "".join(syllables), "pyi:" + "".join(s[:1] for s in syllables)}
    return frozenset(t[:MAX_TERM] for t in terms if t and t not in PINYIN)


def weighted_terms(fields: Fields, named: bool) -> dict[str, float]:
    """Every term of a record's fields with the highest weight any field gives it; a field
    weighing as a name also gives the name whole (and, if `named`, its core and pinyin)."""
    analyzer = get_analyzer()
    weights: dict[str, float] = {}

    def add(term: str, weight: float) -> None:
        term = term[:MAX_TERM]
        if weights.get(term, 0.0) < weight:
            weights[term] = weight

    for text, weight in fields:
        for token in analyzer.tokens(text):
            add(token, weight)
        if weight >= NAME:
            for term in name_terms(text) if named else {normalise(text)}:
                add(term, weight)
    return weights


def pack(terms: dict[str, float]) -> str:
    """A record's terms in one string, grouped by weight (pinyin keys left out): what the
    matching index reads instead of one row per term."""
    groups: dict[float, list[str]] = {}
    for term, weight in terms.items():
        if not term.startswith(PINYIN) and (clean := term.translate(_NO_MARKS)):
            groups.setdefault(weight, []).append(clean)
    return GROUP_END.join(
        f"{weight:g}{GROUP_MARK}{TERM_MARK.join(words)}" for weight, words in groups.items()
    )


def unpack(packed: str) -> Iterable[tuple[float, list[str]]]:
    """(weight, terms) groups of a packed string; nothing for a deleted record."""
    if not packed:
        return
    for group in packed.split(GROUP_END):
        weight, _, words = group.partition(GROUP_MARK)
        yield float(weight), words.split(TERM_MARK)
