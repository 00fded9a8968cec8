"""Short words that pick a choice: 二次 for 二次面接, めーる for メール, ２週間 for 2週間以内."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from domain.parsing.normalise import MAX_PARSE_LEN

# Hand-written with str.translate (no kana library is installed, and this is one table):
# phone keyboards leave めーる / デンワ as either script, so katakana is compared as hiragana.
_KATAKANA_TO_HIRAGANA = str.maketrans({chr(c): chr(c - 0x60) for c in range(0x30A1, 0x30F7)})
_WHITESPACE_RUN = re.compile(r"\s+")
# A polite ending or a particle and punctuation do not change the choice: 二次です, メールで。
_CHOICE_TRAILER = re.compile(r"(?:です|でした|で)?[\s。、.,!?]*$")
_QUOTES = "「」『』\"'"


def fold_word(text: str) -> str:
    """A short answer in the form words are compared in: NFKC (full-width digits and letters),
    casefolded, katakana as hiragana, spaces collapsed, quotes, ending and punctuation dropped."""
    s = unicodedata.normalize("NFKC", text).casefold().translate(_KATAKANA_TO_HIRAGANA)
    s = _WHITESPACE_RUN.sub(" ", s).strip().strip(_QUOTES).strip()
    return _CHOICE_TRAILER.sub("", s) or s


def matching_values(text: str, words: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """Every value one of whose words is what was typed, compared after fold_word.

    One value: the answer. None: not one of them. Several: ambiguous, for the caller to ask.
    """
    if len(text) > MAX_PARSE_LEN:
        return frozenset()
    typed = fold_word(text)
    if not typed:
        return frozenset()
    return frozenset(
        value for value, forms in words.items() if any(fold_word(w) == typed for w in forms)
    )
