"""Pinyin of names: the keys search stores and the way a typed query is read as pinyin.

pypinyin is imported on first use: its phrase tables take a quarter of a second to load,
which a `crm match` that never needs pinyin should not pay.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from crm.text.normal import CJK, normalise


def pinyin_keys(text: str | None) -> tuple[str, str]:
    """(full pinyin, initials) of the Chinese characters and letters/digits in a text."""
    normal = normalise(text)
    if not normal:
        return "", ""
    syllables = [s for s in lazy_pinyin(normal, errors="default") if s.strip()]
    full = "".join(re.sub(r"[^a-z0-9]", "", s) for s in syllables)
    initials = "".join(
        re.sub(r"[^a-z0-9]", "", s)[:1] if CJK.search(ch) else re.sub(r"[^a-z0-9]", "", s)
        for ch, s in zip(_chunks(normal), syllables, strict=False)
    )
    return full, initials


def lazy_pinyin(text: str, **kwargs: object) -> list[str]:
    """pypinyin's, imported on first use: its phrase tables take a quarter of a second to load,
    which a `crm match` that never needs pinyin should not pay."""
    from pypinyin import lazy_pinyin as convert  # noqa: PLC0415

    return convert(text, **kwargs)


def _chunks(text: str) -> Iterable[str]:
    """The pieces lazy_pinyin returns one syllable for: each CJK character, each other run."""
    return re.findall(r"[\u3400-\u9fff]|[^\u3400-\u9fff]+", text)


def pinyin_syllables(text: str | None) -> list[str]:
    """One toneless syllable per Chinese character; other runs kept as lower-case words."""
    normal = normalise(text)
    return [re.sub(r"[^a-z0-9]", "", s) for s in lazy_pinyin(normal) if s.strip()]


@functools.cache
def _all_syllables() -> frozenset[str]:
    return frozenset(lazy_pinyin("".join(chr(c) for c in range(0x4E00, 0x9FA6))))


def pinyin_initials_of_query(query: str, limit: int = 8) -> set[str]:
    """The initials a typed pinyin query may stand for, each piece being a whole syllable or
    just its first letter: jinchengld → {jcld}; jcld → {jcld}."""
    q = re.sub(r"[^a-z]", "", query.lower())
    syllables = _all_syllables()
    found: set[str] = set()

    def walk(pos: int, initials: str) -> None:
        if len(found) >= limit:
            return
        if pos == len(q):
            found.add(initials)
            return
        for size in range(min(6, len(q) - pos), 1, -1):
            if q[pos : pos + size] in syllables:
                walk(pos + size, initials + q[pos])
        walk(pos + 1, initials + q[pos])  # a single letter: an initial

    if q and len(q) <= 40:
        walk(0, "")
    return found


def pinyin_matches(query: str, syllables: list[str]) -> bool:
    """Does the typed query spell consecutive syllables, each in full or by its initial?"""
    q = re.sub(r"[^a-z0-9]", "", query.lower())
    if not q:
        return False

    @functools.cache
    def match(qi: int, si: int) -> bool:
        if qi == len(q):
            return True
        if si == len(syllables):
            return False
        syl = syllables[si]
        if q.startswith(syl, qi) and match(qi + len(syl), si + 1):
            return True
        return bool(syl) and q[qi] == syl[0] and match(qi + 1, si + 1)

    return any(match(0, start) for start in range(len(syllables)))
