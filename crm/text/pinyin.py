"""Pinyin of names: the keys search stores and the way a typed query is read as pinyin.

pypinyin is imported on first use: its phrase tables take a quarter of a second to load,
which a `crm match` that never needs pinyin should not pay.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from crm.text.normal import normalise

#: A character pypinyin reads as one syllable: the common and rare ideographs, compatibility
#: ones and 〇 (嵊州市〇〇七电器厂), wider than the tokeniser's CJK
HAN_CHARS = "\u3007\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
HAN = re.compile(f"[{HAN_CHARS}]")


def pinyin_keys(text: str | None) -> tuple[str, str]:
    """(full pinyin, initials) of the Chinese characters and letters/digits in a text."""
    normal = normalise(text)
    if not normal:
        return "", ""
    syllables = [s for s in lazy_pinyin(normal, errors="default") if s.strip()]
    full = "".join(re.sub(r"[^a-z0-9]", "", s) for s in syllables)
    initials = "".join(
        re.sub(r"[^a-z0-9]", "", s)[:1] if HAN.search(ch) else re.sub(r"[^a-z0-9]", "", s)
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
    return re.findall(f"[{HAN_CHARS}]|[^{HAN_CHARS}]+", text)


def name_pieces(text: str | None) -> list[tuple[str, str]]:
    """(piece, syllable) of a normalised name: each Chinese character with its toneless
    syllable, each other run (letters, digits) with itself in lower case."""
    return list(_name_pieces(text or ""))


@functools.lru_cache(maxsize=65536)
def _name_pieces(text: str) -> tuple[tuple[str, str], ...]:
    normal = normalise(text)
    chunks = [c for c in _chunks(normal) if c.strip()]
    syllables = pinyin_syllables(normal)
    if len(chunks) != len(syllables):  # a run pypinyin split differently: keep what aligns
        return tuple((s, s) for s in syllables)
    return tuple(zip(chunks, syllables, strict=True))


def sort_key(text: str | None) -> str:
    """What a list sorted by name sorts on: the syllables, spaced (jin cheng < jing)."""
    return " ".join(s for s in pinyin_syllables(text) if s)[:255]


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
    return spells(query, [(s, s) for s in syllables])


def spells(query: str, pieces: list[tuple[str, str]]) -> bool:
    """Does a typed query spell consecutive pieces of a name (`name_pieces`), starting at any
    of them? Each piece is typed as written (锦), as its syllable in full (jin) or by its
    initial (j); the last one may be half typed (jinch → 锦程)."""
    q = re.sub(f"[^a-z0-9{HAN_CHARS}]", "", query.lower())
    if not q:
        return False

    @functools.cache
    def match(qi: int, pi: int) -> bool:
        if qi == len(q):
            return True
        if pi == len(pieces):
            return False
        chunk, syl = pieces[pi]
        if HAN.match(q[qi]):
            return q[qi] == chunk and match(qi + 1, pi + 1)
        if syl.startswith(q[qi:]):  # the last piece, half typed
            return True
        if syl and q.startswith(syl, qi) and match(qi + len(syl), pi + 1):
            return True
        return bool(syl) and q[qi] == syl[0] and match(qi + 1, pi + 1)

    return any(match(0, start) for start in range(len(pieces)))


def initials_of_mixed(query: str, limit: int = 8) -> set[str]:
    """The initials a query mixing characters and pinyin may stand for: 锦cld → {jcld}. A
    character read several ways gives each of its initials, its usual reading first (单: d
    before s and c), so a cap on the combinations never drops the likely one."""
    from pypinyin import Style, pinyin  # noqa: PLC0415

    options: list[list[str]] = []
    for piece in re.findall(f"[{HAN_CHARS}]|[a-z]+", query.lower()):
        if HAN.match(piece):
            usual = lazy_pinyin(piece)[0][:1]
            readings = pinyin(piece, style=Style.FIRST_LETTER, heteronym=True)[0]
            others = sorted({r[:1] for r in readings if r[:1].isalpha()} - {usual})
            options.append([i for i in (usual, *others) if i.isalpha()] or [piece])
        else:  # whole syllables first: tianfang → tf before tianf…
            options.append(sorted(pinyin_initials_of_query(piece, limit), key=len))
    found = [""]
    for option in options:
        found = [f + o for f in found for o in option][: limit * 2]
    return set(found) - {""}
