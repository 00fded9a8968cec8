"""A day and a time of day as users type them: 12/10 14:00, 12月10日14時, 明日 10時半, 12/10 2pm.

The day part is read by parse_date (a day without a year is the nearest such day); the time
part must be there.
The result is a wall-clock time with no zone: the caller places it in the user's zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from domain.parsing.dates import parse_date
from domain.parsing.normalise import MAX_PARSE_LEN, normalise

__all__ = ["parse_moment"]

# Hand-written: dateparser drops a time it cannot place and guesses the rest, so the time of
# day is cut off the end here and only the day is left to parse_date.
_TIME = re.compile(
    r"(?:^|(?<=[\s日0-9)]))"
    r"(?P<ampm_ja>午前|午後)?\s*"
    r"(?P<hour>[0-9]{1,2})\s*(?:(?::|：)\s*(?P<minute>[0-9]{2})|時\s*(?:(?P<half>半)|(?P<minute_ja>[0-9]{1,2})\s*分)?)?"
    r"\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?\s*(?:から|〜|~)?$",
    re.IGNORECASE,
)


def _hour_of(hour: int, ja: str | None, en: str | None) -> int | None:
    after_noon = ja == "午後" or (en is not None and en.lower().startswith("p"))
    before_noon = ja == "午前" or (en is not None and en.lower().startswith("a"))
    if after_noon or before_noon:
        if not 1 <= hour <= 12:
            return None
        return hour % 12 + (12 if after_noon else 0)
    return hour if 0 <= hour <= 23 else None


def parse_moment(text: str, today: date) -> datetime | None:
    """A naive local datetime from a typed day and time, or None; a time is required."""
    s = normalise(text)
    if not s or len(s) > MAX_PARSE_LEN:
        return None
    found = _TIME.search(s)
    if found is None:
        return None
    explicit = found["minute"] is not None or "時" in found.group(0) or found["ampm"]
    if not explicit:
        # A bare number at the end ("12/10 14") is not clearly a time.
        return None
    hour = _hour_of(int(found["hour"]), found["ampm_ja"], found["ampm"])
    minute_text = found["minute"] or found["minute_ja"]
    minute = 30 if found["half"] else int(minute_text) if minute_text else 0
    if hour is None or not 0 <= minute <= 59:
        return None
    day_text = s[: found.start()].strip().rstrip("の、, ").strip()
    if not day_text:
        return None
    ahead = parse_date(day_text, today, prefer="future")
    behind = parse_date(day_text, today, prefer="past")
    if ahead is None or behind is None:
        day = ahead or behind
    else:
        # A day without a year is the nearest one: 11/20 typed on 11/25 is five days ago
        # (which the caller can refuse kindly), not next year.
        day = min((ahead, behind), key=lambda d: abs((d - today).days))
    if day is None:
        return None
    return datetime.combine(day, time(hour, minute))
