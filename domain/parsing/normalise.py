"""What every parser does to an answer before reading it."""

from __future__ import annotations

import unicodedata

# Nothing a person types as a date or a period is longer; anything longer is not one, and
# dateparser's run time grows with the input, so longer text never reaches it.
MAX_PARSE_LEN = 64


def normalise(text: str) -> str:
    """NFKC (full-width digits, ／, －, （） become ASCII) and strip."""
    return unicodedata.normalize("NFKC", text).strip()
