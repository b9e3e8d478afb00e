"""Tokenising for search and matching: one analyzer, so a word search finds is the word
matching scores.

`tokens` cuts with a dedicated `jieba.Tokenizer` that knows the domain dictionary in
`seeds/dictionary/domain_words.txt`, in search mode (a long compound also yields every
dictionary word inside it: 永磁同步电机 → 永磁, 同步, 电机, 同步电机, …), stop words dropped;
`expand` adds what the thesaurus maps an owner's words to. The dictionary, stop words and
thesaurus are data; `Analyzer.from_files` reads them, `get_analyzer()` builds the
process-wide one on first use (jieba's prefix dictionary takes about a second).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import jieba

from crm.text.normal import CJK, DICTIONARY, normalise, read_word_list

# A token worth keeping: has a CJK character, or is an ASCII word/number of 2+ characters.
_WORD = re.compile(r"^[a-z0-9][a-z0-9.+\-]*$")
SHORT_TEXT, SHORT_CACHE = 40, 100_000

jieba.setLogLevel(logging.WARNING)


@dataclass
class Analyzer:
    domain_words: list[tuple[str, int | None, str | None]] = field(default_factory=list)
    stop_words: frozenset[str] = frozenset()
    _short: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    thesaurus: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    thesaurus_version: int | None = None  # the database's, once loaded from there

    def use_thesaurus(
        self, thesaurus: dict[str, tuple[tuple[str, float], ...]], version: int | None
    ) -> None:
        """Swap in another thesaurus (admins edited it): what owners say becomes a word, so
        it is cut whole; remembered short-text tokens are dropped, as they may cut otherwise."""
        for said in thesaurus.keys() - self.thesaurus.keys():
            if len(said) > 1:
                self._tokenizer.add_word(said, 2000)
        self.thesaurus = thesaurus
        self.__dict__.pop("spoken", None)
        self._short.clear()
        self.thesaurus_version = version

    @classmethod
    def from_files(cls, folder: Path = DICTIONARY) -> Analyzer:
        words = []
        for line in read_word_list(folder / "domain_words.txt"):
            parts = line.split()
            freq = int(parts[1]) if len(parts) > 1 else None
            words.append((parts[0], freq, parts[2] if len(parts) > 2 else None))
        stop = frozenset(normalise(w) for w in read_word_list(folder / "stopwords.txt"))
        synonyms = folder / "thesaurus.txt"
        thesaurus = parse_thesaurus(read_word_list(synonyms)) if synonyms.exists() else {}
        # what owners say is a word too, so 嗡嗡响 reaches the thesaurus whole
        words += [(said, 2000, None) for said in thesaurus if len(said) > 1]
        return cls(domain_words=words, stop_words=stop, thesaurus=thesaurus)

    @cached_property
    def spoken(self) -> dict[str, tuple[tuple[str, float], ...]]:
        """The thesaurus the other way round: an expert's term → how owners say it."""
        reverse: dict[str, list[tuple[str, float]]] = {}
        for said, experts in self.thesaurus.items():
            for expert, weight in experts:
                reverse.setdefault(expert, []).append((said, weight))
        return {k: tuple(v) for k, v in reverse.items()}

    def expand(
        self, tokens: Iterable[str], reverse: bool = False
    ) -> dict[str, tuple[float, str | None]]:
        """Query terms with weights: the text's own tokens at 1.0, and what the thesaurus
        maps them to at their (lower) weights, each with the token that fired it. `reverse`
        goes from experts' words to owners' (an achievement looking for enterprises)."""
        mapping = self.spoken if reverse else self.thesaurus
        terms: dict[str, tuple[float, str | None]] = {}
        for token in tokens:
            terms[token] = (1.0, None)
        for token in list(terms):
            for expert, weight in mapping.get(token, ()):
                have, source = terms.get(expert, (0.0, None))
                # the heavier expansion wins; at equal weight the longer phrase explains it
                if have < weight or (have == weight and source and len(token) > len(source)):
                    terms[expert] = (weight, token)
        return terms

    @cached_property
    def _tokenizer(self) -> jieba.Tokenizer:
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        for word, freq, tag in self.domain_words:
            tokenizer.add_word(normalise(word), freq, tag)
        return tokenizer

    def tokens(self, text: str | None) -> list[str]:
        """Search-mode tokens of a text, normalised, without stop words, in order.

        Short texts (titles, research directions, names) repeat across a roster; their tokens
        are remembered (a bounded cache; the dictionary does not change while it lives)."""
        if not text:
            return []
        if len(text) > SHORT_TEXT:
            return self._tokens(text)
        found = self._short.get(text)
        if found is None:
            if len(self._short) >= SHORT_CACHE:
                self._short.clear()
            found = self._short[text] = tuple(self._tokens(text))
        return list(found)

    def _tokens(self, text: str) -> list[str]:
        normal = normalise(text)
        return [
            tok for tok in self._search_mode(normal) if tok not in self.stop_words and _keep(tok)
        ]

    def _search_mode(self, text: str) -> Iterable[str]:
        """Each word jieba cuts, preceded by every dictionary word inside it (any length).

        jieba's own cut_for_search only looks at 2- and 3-character pieces, so it would miss
        同步电机 inside 永磁同步电机.
        """
        freq = self._tokenizer.FREQ
        for word in self._tokenizer.cut(text):
            word = word.strip()
            if not word:
                continue
            n = len(word)
            if n > 2:
                for size in range(2, n):
                    for start in range(n - size + 1):
                        piece = word[start : start + size]
                        if freq.get(piece):
                            yield piece
            yield word

    def terms(self, text: str | None) -> set[str]:
        return set(self.tokens(text))


def _keep(token: str) -> bool:
    if CJK.search(token):
        return True
    return len(token) >= 2 and bool(_WORD.match(token))


def parse_thesaurus(lines: Iterable[str]) -> dict[str, tuple[tuple[str, float], ...]]:
    """`马达, 电动机 => 电机 0.8, 电动机 0.6` lines into {said: ((expert, weight), ...)}."""
    mapping: dict[str, dict[str, float]] = {}
    for line in lines:
        said, sep, targets = line.partition("=>")
        if not sep:
            raise ValueError(f"thesaurus line without '=>': {line!r}")
        experts = []
        for target in targets.split(","):
            parts = target.split()
            if not parts:
                continue
            weight = float(parts[1]) if len(parts) > 1 else 0.7
            if not 0 < weight < 1:
                raise ValueError(f"thesaurus weight must be between 0 and 1: {line!r}")
            experts.append((normalise(parts[0]), weight))
        for word in said.split(","):
            if word.strip():
                entry = mapping.setdefault(normalise(word), {})
                for expert, weight in experts:
                    entry[expert] = max(weight, entry.get(expert, 0.0))
    return {k: tuple(sorted(v.items(), key=lambda e: -e[1])) for k, v in mapping.items()}


_lock = threading.Lock()
_analyzer: Analyzer | None = None


def get_analyzer() -> Analyzer:
    """The process-wide analyzer, built from seeds/dictionary on first use."""
    global _analyzer
    if _analyzer is None:
        with _lock:
            if _analyzer is None:
                _analyzer = Analyzer.from_files()
    return _analyzer
