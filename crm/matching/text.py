"""Text analysis shared by search and matching: normalise, tokenise, pinyin keys.

One implementation for both, so a word found by search is the word matching scores:
- `normalise`: full-width → half-width (NFKC), Traditional → Simplified (OpenCC, Taiwan
  phrases too: 矽藻土 → 硅藻土), lower case, collapsed whitespace;
- `tokens`: a dedicated `jieba.Tokenizer` that knows the domain dictionary in
  `seeds/dictionary/domain_words.txt`, in search mode (a long compound also yields every
  dictionary word inside it: 永磁同步电机 → 永磁, 同步, 电机, 同步电机, …), stop words dropped;
- `pinyin_keys`: full pinyin and initials (锦程领带 → jinchenglingdai, jcld).

The dictionary and stop words are data; `Analyzer.from_files` reads them, `get_analyzer()`
builds the process-wide one on first use (jieba's prefix dictionary takes about a second).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import jieba
import opencc

DICTIONARY = Path(__file__).resolve().parents[2] / "seeds" / "dictionary"

# A token worth keeping: has a CJK character, or is an ASCII word/number of 2+ characters.
CJK = _CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"^[a-z0-9][a-z0-9.+\-]*$")
_SPACE = re.compile(r"\s+")
SHORT_TEXT, SHORT_CACHE = 40, 100_000

jieba.setLogLevel(logging.WARNING)


def read_word_list(path: Path) -> list[str]:
    """Lines of a data file, without blank lines and `#` comments."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


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
    if _CJK.search(token):
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


_converter_lock = threading.Lock()
_converter: opencc.OpenCC | None = None


def _to_simplified(text: str) -> str:
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                _converter = opencc.OpenCC("tw2sp")
    return _converter.convert(text)


def normalise(text: str | None) -> str:
    """Half-width, Simplified, lower-case text with single spaces.

    Short texts — the names of institutions, towns, industries, titles — recur in every
    roster and are normalised once (a bounded cache: OpenCC's conversion is most of the cost)."""
    if not text:
        return ""
    if len(text) <= 64:
        return _normalise_short(text)
    return _normalise(text)


_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")  # zero-width, soft hyphen


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    text = _to_simplified(text)
    return _SPACE.sub(" ", text).strip().lower()


_normalise_short = functools.lru_cache(maxsize=50_000)(_normalise)


def pinyin_keys(text: str | None) -> tuple[str, str]:
    """(full pinyin, initials) of the Chinese characters and letters/digits in a text."""
    normal = normalise(text)
    if not normal:
        return "", ""
    syllables = [s for s in lazy_pinyin(normal, errors="default") if s.strip()]
    full = "".join(re.sub(r"[^a-z0-9]", "", s) for s in syllables)
    initials = "".join(
        re.sub(r"[^a-z0-9]", "", s)[:1] if _CJK.search(ch) else re.sub(r"[^a-z0-9]", "", s)
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


# ---- names and pinyin --------------------------------------------------------------------------

_REGION = re.compile(r"^(?:浙江省|浙江|绍兴市|绍兴|嵊州市|嵊州)+")  # in front of a name
_REGION_IN_BRACKETS = re.compile(r"[(（]\s*(?:浙江省|浙江|绍兴市|绍兴|嵊州市|嵊州)\s*[)）]")
# the company form, once; not 集团 (a group is not its member firm) nor 分公司 (a branch)
_COMPANY_SUFFIX = re.compile(r"(股份有限公司|有限责任公司|有限公司|专业合作社|(?<!分)公司|厂)$")
_BRACKETS = re.compile(r"[()\[\]{}（）【】〔〕<>《》]")
_FORMER = re.compile(r"[(（]\s*(?:原|曾用名|原名)[^()（）]*[)）]")
_NAME_PUNCT = re.compile(r"[\s·.,，、\-_]+")


def core_name(name: str | None) -> str:
    """The part of an enterprise name people say, the one key that linking an import, the
    duplicate check and search share: 浙江锦程领带有限公司, 锦程领带（嵊州）有限公司 and
    嵊州市 锦程领带有限责任公司 → 锦程领带. Place names go in front of the name or in brackets
    (not inside it: 新嵊州电机 is not 新电机), with brackets, spaces and punctuation, then the
    company form. 集团 and 分公司 stay: a group and a branch are firms of their own."""
    normal = _FORMER.sub("", normalise(name))  # 越丰电机有限公司（原越丰电器厂）
    normal = _REGION.sub("", _REGION_IN_BRACKETS.sub("", normal).strip())
    text = _COMPANY_SUFFIX.sub("", _NAME_PUNCT.sub("", _BRACKETS.sub("", normal)))
    return text or _NAME_PUNCT.sub("", normal)


def institution_key(name: str | None) -> str:
    """An institution's name compared: without brackets, spaces and punctuation, but with its
    place names (浙江大学 and 东华大学 differ exactly there)."""
    return _NAME_PUNCT.sub("", _BRACKETS.sub("", normalise(name)))


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
