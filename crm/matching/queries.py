"""A text as a matching query, and what it matched told in its own words.

A query is tokenised like the records were and expanded through the industry thesaurus (an
expanded term weighs less than a literal one, and remembers which word fired it). A firm's
product words are weighed down (`weigh_context`) and, for the meaning side, make a vector of
their own (`product_vector`); owners' words no expert uses are reached through the characters
they share with known ones (`widen`). A candidate's score comes back as the terms that
matched, each with what it contributed and the word behind it (`matched_terms`).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crm.matching import context
from crm.matching.index import MatchIndex
from crm.matching.thesaurus import current_analyzer
from crm.text import embed
from crm.text.analyzer import Analyzer
from crm.text.normal import DICTIONARY, normalise, read_word_list

TITLE_BOOST = 1.5  # a need's title says what it is about; its description adds detail
SINGLE = 0.3  # a single character (锅, 跳, 不) says little; it never matches on its own
#: words of asking ("想找…的高校专家"), left out of a need's keywords (seeds/dictionary)
REQUEST_WORDS = frozenset(normalise(w) for w in read_word_list(DICTIONARY / "request_words.txt"))


@dataclass
class Query:
    weights: dict[str, float]
    via: dict[str, str]  # expanded term → the word that fired it
    thesaurus: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    context: frozenset[str] = frozenset()  # product words, weighed down (crm.matching.context)
    text: str = ""  # as written, for the meaning side


def build_query(
    title: str | None,
    description: str | None = None,
    reverse: bool = False,
    analyzer: Analyzer | None = None,
) -> Query:
    """Terms of a need's text with weights: title above description, literal above expanded
    (`reverse`: an achievement's text, expanded to how owners say it). The analyzer is the
    process's with the database's thesaurus unless one is given (a batch worker's)."""
    analyzer = analyzer or current_analyzer()
    weights: dict[str, float] = {}
    via: dict[str, str] = {}
    for text, boost in ((title, TITLE_BOOST), (description, 1.0)):
        tokens = [t for t in analyzer.tokens(text) if t not in REQUEST_WORDS]
        for term, (weight, source) in analyzer.expand(tokens, reverse).items():
            if len(term) == 1 and source is None:
                weight *= SINGLE
            if weights.get(term, 0.0) < weight * boost:
                weights[term] = weight * boost
                if source is None:
                    via.pop(term, None)
                else:
                    via[term] = source
    text = "。".join(t for t in (title, description) if t)
    return Query(weights, via, analyzer.thesaurus, text=text)


def weigh_context(query: Query, words: frozenset[str]) -> Query:
    """The query with its product words (and what they fired) at `context.WEIGHT`: the words
    of the problem decide among the firm's own trade (领带面料 people for 起皱)."""
    literal = {t for t in query.weights if t not in query.via}
    found = frozenset(t for t in literal if t in words)
    if not found or found == literal:  # nothing but product words: nothing to weigh against
        return query
    weights = {
        t: w * context.WEIGHT if t in found or query.via.get(t) in found else w
        for t, w in query.weights.items()
    }
    return Query(weights, query.via, query.thesaurus, found, query.text)


def product_vector(
    words: frozenset[str], word_vector: Callable[[str], np.ndarray | None] | None = None
) -> np.ndarray | None:
    """The vector of a need's product words alone (`VectorIndex.meaning`'s context): the
    mean of each word's, so a batch can embed the county's few hundred product words once."""
    if not words or (word_vector is None and not embed.available()):
        return None
    found = [v for w in sorted(words) if (v := (word_vector or _word_vector)(w)) is not None]
    if not found:
        return None
    mean = np.mean(found, axis=0)
    return mean / np.linalg.norm(mean)


@functools.lru_cache(maxsize=4096)
def _word_vector(word: str) -> np.ndarray:
    return embed.embed_query(word)


FUZZY, FUZZY_EACH = 0.5, 3
FUZZY_WORD, FUZZY_SAID = 0.67, 0.5  # least character overlap with an expert's word, an owner's


def widen(query: Query, index: MatchIndex) -> Query:
    """Owners' words no expert uses, reached through the characters they share with words
    experts do use (磁铁 → 磁钢, 漏检 → 检测, 染缸 → 印染) or with what owners are known to say
    (褶子 → 起褶 → 抗皱). Only for a literal word of two or more characters that neither the
    index nor the thesaurus knows; the closest few by character overlap (Dice ≥ 0.5), each
    weighing at most half the word, never more than a term the text or thesaurus gave, and
    explained like an expansion ("检测 ← 漏检")."""
    weights, via = dict(query.weights), dict(query.via)
    for token, weight in query.weights.items():
        if (
            token in via
            or token in index.terms
            or token in query.thesaurus
            or len(token) < 2
            or not _CJK_WORD.fullmatch(token)
        ):
            continue
        chars = set(token)
        words: set[str] = set()  # FUZZY_WORD takes two shared characters at least
        for a, b in itertools.combinations(sorted(chars), 2):
            words |= index.words_with(a) & index.words_with(b)
        said_by_character = _said_by_character(query.thesaurus)
        said = {s for ch in chars for s in said_by_character.get(ch, ())}
        near = sorted(
            [(dice, w) for w in words if (dice := _dice(token, w)) >= FUZZY_WORD]
            + [(dice, s) for s in said if (dice := _dice(token, s)) >= FUZZY_SAID],
            key=lambda d: (-d[0], d[1]),
        )
        for dice, other in near[:FUZZY_EACH]:
            targets = (
                [(other, 1.0)] if other in index.terms else list(query.thesaurus.get(other, ()))
            )
            for term, expansion in targets:
                value = weight * FUZZY * dice * expansion
                if value > weights.get(term, 0.0):
                    weights[term], via[term] = value, token
    return Query(weights, via, query.thesaurus, query.context, query.text)


_said_cache: dict[int, tuple[dict[str, Any], dict[str, set[str]]]] = {}


def _said_by_character(thesaurus: dict[str, Any]) -> dict[str, set[str]]:
    """What owners are known to say (two characters or more), by each character in it; kept
    while the thesaurus is the same object (a new one replaces it when admins edit)."""
    cached = _said_cache.get(id(thesaurus))
    if cached is not None and cached[0] is thesaurus:
        return cached[1]
    out: dict[str, set[str]] = {}
    for said in thesaurus:
        if len(said) >= 2:
            for ch in set(said):
                out.setdefault(ch, set()).add(said)
    _said_cache.clear()
    _said_cache[id(thesaurus)] = (thesaurus, out)
    return out


def _dice(a: str, b: str) -> float:
    shared = len(set(a) & set(b))
    return 2 * shared / (len(set(a)) + len(set(b)))


_CJK_WORD = re.compile(r"[\u3400-\u9fff]+")


@dataclass
class MatchedTerm:
    term: str
    contribution: float
    via: str | None = None  # the owner's word the thesaurus expanded, if any
    context: bool = False  # a product word: it says which firm asks, not what the problem is

    def as_dict(self) -> dict[str, Any]:
        out = {"term": self.term, "contribution": round(self.contribution, 3), "via": self.via}
        if self.context:
            out["context"] = True
        return out


def matched_terms(parts: dict[str, float], query: Query) -> list[MatchedTerm]:
    """Each matched term with its contribution and the owner's word behind it, largest first."""
    return [
        MatchedTerm(
            term,
            value,
            query.via.get(term),
            term in query.context or query.via.get(term) in query.context,
        )
        for term, value in sorted(parts.items(), key=lambda p: -p[1])
    ]


def explain(parts: dict[str, float], query: Query) -> list[dict[str, Any]]:
    """What a suggestion keeps of why it was made."""
    return [m.as_dict() for m in matched_terms(parts, query)]
