"""Ids that come back in button actions, read strictly."""

from __future__ import annotations

import re

__all__ = ["MAX_ID", "parse_id"]

# The largest value a BIGINT (PostgreSQL) or INTEGER (SQLite) column holds; a bigger one
# overflows the driver instead of simply matching nothing.
MAX_ID = 2**63 - 1
# [0-9], not str.isdigit(): that also accepts "²" and "０", which int() then rejects or
# reads as a different number. An action is ours, but anyone can forge callback data.
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(text: str) -> int | None:
    """The id in an action argument, or None unless it is ASCII digits in 1..MAX_ID."""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
