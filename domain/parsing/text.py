"""Free text users type (names, notes, reflections): cleaned up, or refused with a reason."""

from __future__ import annotations

import enum
import re
import unicodedata

__all__ = ["TextProblem", "clean_text"]


class TextProblem(enum.StrEnum):
    """Why a piece of free text was refused."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    CONTROL_CHARS = "control_chars"
    NO_WORDS = "no_words"


_NEWLINES = re.compile(r"\r\n|[\r\u2028\u2029]")
_HORIZONTAL_SPACE_RUN = re.compile(r"[^\S\n]{2,}")
# Invisible marks that reorder or hide text (bidi overrides and isolates, zero-width
# space, LRM/RLM, BOM): typed or pasted into a company name they make the summary card
# and the follow-up e-mail read differently from what is stored. ZWJ (U+200D) and the
# variation selectors stay: emoji sequences need them.
_INVISIBLE = str.maketrans(
    dict.fromkeys(
        [
            0x200B,
            0x200E,
            0x200F,
            0x2060,
            0xFEFF,
            0x061C,
            *range(0x202A, 0x202F),
            *range(0x2066, 0x206A),
        ]
    )
)


def _has_control_chars(s: str) -> bool:
    """True for C0/C1 controls other than newline and tab, and for lone surrogates."""
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in s)


def _has_word(s: str) -> bool:
    """True when some character is a letter or a digit (not only emoji and symbols)."""
    return any(unicodedata.category(c)[0] in "LN" for c in s)


def clean_text(text: str, max_len: int, *, need_word: bool = False) -> str | TextProblem:
    """The text as typed, stripped and with runs of spaces in a line collapsed, or why not.

    ``need_word`` refuses answers made only of emoji or symbols, for names of things.
    """
    # NFC, not NFKC: full-width letters in a name are the user's choice, but a decomposed
    # が (two code points) is the same text as が and must count as one.
    s = unicodedata.normalize("NFC", _NEWLINES.sub("\n", text).translate(_INVISIBLE)).strip()
    if not s:
        return TextProblem.EMPTY
    if _has_control_chars(s):
        return TextProblem.CONTROL_CHARS
    s = "\n".join(_HORIZONTAL_SPACE_RUN.sub(" ", line).strip() for line in s.split("\n"))
    # Code points, as PostgreSQL's VARCHAR(n) counts them, so whatever is accepted here
    # fits a column as wide as max_len; 👍🏽 counts 2, a family emoji 7.
    if len(s) > max_len:
        return TextProblem.TOO_LONG
    if need_word and not _has_word(s):
        return TextProblem.NO_WORDS
    return s
