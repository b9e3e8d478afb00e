"""A search query read the way the records were indexed.

The text is normalised and cut into tokens (jieba) like a record's fields, and kept whole as
well, so an alias or a full name matches as one term; latin input is also read as pinyin: in
full, as initials, or mixed (jinchengld → jcld). For part of a name as officers type it, the
query names the ranges of name keys to read (`crm.search.names`): characters (锦程), full pinyin
(jincheng), initials (jcld) or mixed (锦cld).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crm.text.analyzer import get_analyzer
from crm.text.normal import normalise
from crm.text.pinyin import HAN_CHARS, initials_of_mixed, pinyin_initials_of_query
from crm.text.terms import MAX_TERM

_LATIN = re.compile(r"^[a-z][a-z ]*$")
_CJK_ONLY = re.compile(f"^[{HAN_CHARS}]+$")
_MIXED = re.compile(f"^[{HAN_CHARS}a-z]+$")


@dataclass
class Query:
    text: str
    normal: str
    tokens: list[str]
    pinyin: set[str]
    prefixes: list[str] = field(default_factory=list)  # name keys that start with these

    @classmethod
    def parse(cls, text: str) -> Query:
        normal = normalise(text)[:200]
        tokens = list(dict.fromkeys(get_analyzer().tokens(normal)))
        pinyin: set[str] = set()
        prefixes: list[str] = []
        compact = normal.replace(" ", "")[:40]
        if _LATIN.match(normal) and len(compact) >= 2:
            variants = {i for i in pinyin_initials_of_query(compact) if len(i) >= 2}
            pinyin = {"py:" + compact, "pyi:" + compact} | {"pyi:" + i for i in variants}
            # a range for the reading with the most whole syllables (chengl → cl, not c·h·e·g·l)
            # and for the letters as typed: each other reading only narrows one of these
            fewest = min(map(len, variants), default=0)
            prefixes = ["py:" + compact, "pyi:" + compact]
            prefixes += ["pyi:" + i for i in variants if len(i) == fewest]
        elif _CJK_ONLY.match(compact):  # 锦程, 领带服饰: part of a name as written
            prefixes = ["nx:" + compact]
        elif _MIXED.match(compact):  # 锦cld: characters and pinyin in one word
            prefixes = ["pyi:" + i for i in initials_of_mixed(compact) if len(i) >= 2]
        prefixes = sorted({p[:MAX_TERM] for p in prefixes})
        # a prefix another one starts adds nothing to that one's range: pyi:wz covers pyi:wzhi
        prefixes = [p for p in prefixes if not any(p != o and p.startswith(o) for o in prefixes)]
        return cls(text, normal, tokens, pinyin, prefixes)

    @property
    def spelled(self) -> str:
        """What a name's pieces must spell for a hit found by its name keys alone."""
        return self.normal.replace(" ", "")

    @property
    def terms(self) -> set[str]:
        return {t[:64] for t in {self.normal, *self.tokens, *self.pinyin} if t}
