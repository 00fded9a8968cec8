"""Free text users type (names, notes, reflections): cleaned up, or refused with a reason."""

from __future__ import annotations

import enum
import re
import unicodedata

import regex  # type: ignore[import-untyped, unused-ignore]

__all__ = ["TextProblem", "clean_text"]


class TextProblem(enum.StrEnum):
    """Why a piece of free text was refused."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    CONTROL_CHARS = "control_chars"
    NO_WORDS = "no_words"


_NEWLINES = re.compile(r"\r\n|[\r\u2028\u2029]")
_HORIZONTAL_SPACE_RUN = re.compile(r"[^\S\n]{2,}")
_GRAPHEME = regex.compile(r"\X")


def _has_control_chars(s: str) -> bool:
    """True for C0/C1 controls other than newline and tab, and for lone surrogates."""
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in s)


def _length(s: str) -> int:
    """Length as a person counts it: one per grapheme, so 👍🏽 or 🇯🇵 is 1."""
    return len(_GRAPHEME.findall(s))


def _has_word(s: str) -> bool:
    """True when some character is a letter or a digit (not only emoji and symbols)."""
    return any(unicodedata.category(c)[0] in "LN" for c in s)


def clean_text(text: str, max_len: int, *, need_word: bool = False) -> str | TextProblem:
    """The text as typed, stripped and with runs of spaces in a line collapsed, or why not.

    ``need_word`` refuses answers made only of emoji or symbols, for names of things.
    """
    s = _NEWLINES.sub("\n", text).strip()
    if not s:
        return TextProblem.EMPTY
    if _has_control_chars(s):
        return TextProblem.CONTROL_CHARS
    s = "\n".join(_HORIZONTAL_SPACE_RUN.sub(" ", line).strip() for line in s.split("\n"))
    # Code points >= graphemes, so only long strings need the slower grapheme count.
    if len(s) > max_len and _length(s) > max_len:
        return TextProblem.TOO_LONG
    if need_word and not _has_word(s):
        return TextProblem.NO_WORDS
    return s
