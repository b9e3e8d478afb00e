"""A record's terms, each with the weight of the field it came from, and how they are packed.

Search stores one row per term; matching reads one packed string per record (`pack`), which
is 100k rows to read instead of three million. Pinyin keys are for search only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from crm.text.analyzer import get_analyzer
from crm.text.normal import core_name, normalise
from crm.text.pinyin import name_pieces

#: Field weights: a name, the fields that say what a record is about, the rest, notes.
NAME, STRONG, NORMAL, WEAK = 3.0, 2.0, 1.0, 0.5
MAX_TERM = 64
#: Name keys: a name from its start as written (nx:), in full pinyin (py:) and as initials
#: (pyi:), and the same from each later character under INSIDE (in:py:lingdaifushi), so `锦程`,
#: `lingdai` and `jcld` find 锦程领带服饰 by a prefix range, and a name's start is read apart
#: from its inside (a common syllable's infixes never crowd out the names it starts).
#: Search keys, not words: matching never reads them.
INSIDE = "in:"
PINYIN = ("py:", "pyi:", "nx:", INSIDE)
#: A key that starts inside a name weighs this share of the name's weight: whole-name and
#: prefix hits rank above infix ones.
INFIX = 2 / 3
# packed terms: weight GROUP_MARK terms joined by TERM_MARK, groups joined by GROUP_END
GROUP_END, GROUP_MARK, TERM_MARK = "\x1e", "\x1d", "\x1f"
_NO_MARKS = str.maketrans("", "", "\x1c\x1d\x1e\x1f")

Fields = Iterable[tuple[str | None, float]]


KeyName = Callable[[str | None], str]


def name_terms(
    name: str | None, infixes: bool = False, keyed: KeyName = core_name
) -> dict[str, float]:
    """A name as a whole, its core, and its name keys (each with a factor of the name's
    weight) of the part people type, `keyed(name)` (a firm's core name, an institution's name
    with its place names): from its start, and with `infixes` from each later character."""
    if not name:
        return {}
    return dict(_name_terms(name, infixes, keyed))


@functools.lru_cache(maxsize=65536)
def _name_terms(name: str, infixes: bool, keyed: KeyName) -> tuple[tuple[str, float], ...]:
    whole, core = normalise(name), core_name(name)
    pieces = name_pieces(keyed(name))
    terms = {whole: 1.0, core: 1.0}
    # an infix key needs two pieces left: a lone last initial would find every name
    starts = range(max(1, len(pieces) - 1)) if infixes else range(1)
    for start in starts:
        rest = pieces[start:]
        inside, factor = ("", 1.0) if start == 0 else (INSIDE, INFIX)
        for key in (
            "nx:" + "".join(chunk for chunk, _ in rest),
            "py:" + "".join(syllable for _, syllable in rest),
            "pyi:" + "".join(syllable[:1] for _, syllable in rest),
        ):
            if key not in PINYIN:
                terms.setdefault(inside + key, factor)
    return tuple(
        (term[:MAX_TERM], factor) for term, factor in terms.items() if term and term not in PINYIN
    )


def weighted_terms(
    fields: Fields, named: bool, infixes: bool = False, keyed: KeyName = core_name
) -> dict[str, float]:
    """Every term of a record's fields with the highest weight any field gives it; a field
    weighing as a name also gives the name whole (and, if `named`, its core and name keys,
    with `infixes` from inside the name too)."""
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
            keys = name_terms(text, infixes, keyed) if named else {normalise(text): 1.0}
            for term, factor in keys.items():
                add(term, weight * factor)
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
