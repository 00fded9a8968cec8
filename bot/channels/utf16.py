"""Text length as Telegram and LINE count it: UTF-16 code units (an emoji is often two)."""

from __future__ import annotations


def length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fitting_prefix(text: str, room: int) -> int:
    """How many characters of ``text`` fit in ``room`` code units, never half a character."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > room:
            return index
    return len(text)
