"""Normal forms of text and names: the one place that decides when two spellings are the same.

- `normalise`: full-width → half-width (NFKC), Traditional → Simplified (OpenCC, Taiwan
  phrases too: 矽藻土 → 硅藻土), lower case, collapsed whitespace, invisible characters gone;
- `core_name`: the part of a firm's name people say (linking, duplicates and search share it);
- `institution_key`: an institution's name compared, place names kept;
- `person_name`: a person's name as lists pad it (`李  梅`, `王　伟`) → 李梅 / 王伟.

The place names taken off a firm's name are data (`seeds/dictionary/regions.txt`), like the
domain words: a county elsewhere edits the file, not this module.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from pathlib import Path

import opencc

DICTIONARY = Path(__file__).resolve().parents[2] / "seeds" / "dictionary"
CJK = re.compile(r"[\u3400-\u9fff]")
_SPACE = re.compile(r"\s+")


def read_word_list(path: Path) -> list[str]:
    """Lines of a data file, without blank lines and `#` comments."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


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


INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")  # zero-width, soft hyphen


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", INVISIBLE.sub("", text))
    text = _to_simplified(text)
    return _SPACE.sub(" ", text).strip().lower()


_normalise_short = functools.lru_cache(maxsize=50_000)(_normalise)


def half_width(text: str) -> str:
    """Full-width digits, letters, brackets and spaces as their ASCII forms (NFKC)."""
    return unicodedata.normalize("NFKC", text)


_INNER_SPACE = re.compile(r"(?<=[\u3400-\u9fff·])\s+(?=[\u3400-\u9fff·])")


def person_name(text: str | None) -> str | None:
    """`李  梅` and `王　伟` → 李梅 / 王伟; a Latin name keeps its single spaces."""
    if not text:
        return None
    name = _INNER_SPACE.sub("", INVISIBLE.sub("", half_width(text)).strip())
    return _SPACE.sub(" ", name) or None


# ---- firms' and institutions' names ------------------------------------------------------------


def _regions() -> str:
    names = read_word_list(DICTIONARY / "regions.txt")
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


_REGIONS = _regions()  # read once
_REGION = re.compile(rf"^(?:{_REGIONS})+")  # in front of a name
_REGION_IN_BRACKETS = re.compile(rf"[(（]\s*(?:{_REGIONS})\s*[)）]")
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
