"""Calendar dates as users type them: 2026-11-25, 11/25, 11月25日 (水), 昨日, きのう, Nov 25.

Each answer becomes a date or None; nothing here raises on user input.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import functools
import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from domain.parsing.normalise import MAX_PARSE_LEN, normalise

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

__all__ = ["Prefer", "parse_date"]

Prefer = Literal["past", "future"]

# Hand-written: dateparser knows 今日/昨日/一昨日/明日/明後日 but not their kana spellings,
# which phone keyboards often leave unconverted.
_KANA_RELATIVE = {
    "きょう": "今日",
    "きのう": "昨日",
    "おととい": "一昨日",
    "おとつい": "一昨日",
    "あした": "明日",
    "あす": "明日",
    "あさって": "明後日",
}

_EN_WEEKDAY = (
    r"mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:r|rs|rsday)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?"
)
# Hand-written: dateparser rejects a weekday in the other language ("11月25日 (Wed)") and
# reads "11月25日水曜日" with the wrong year, so the weekday is dropped before parsing.
# It is not checked against the date: the user's date wins.
_WEEKDAY_SUFFIX = re.compile(
    rf"\s*\(\s*(?:[月火水木金土日](?:曜日?)?|(?:{_EN_WEEKDAY})\.?)\s*\)$"
    r"|(?<=日)\s*[月火水木金土日]曜日?$",
    re.IGNORECASE,
)

# Hand-written numeric forms. dateparser reads "11/25" as 2011-11-25 under DATE_ORDER
# "YMD", silently swaps impossible ones ("2026/13/01" -> 2026-01-13, "2/30" -> 1930-11-02)
# and, for year-less dates with PREFER_DATES_FROM "future", skips today itself. These
# strict patterns reject impossible dates outright.
_YMD = re.compile(r"([0-9]{4})\s*[-/.]\s*([0-9]{1,2})\s*[-/.]\s*([0-9]{1,2})")
_YMD_JA = re.compile(r"([0-9]{4})\s*年\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日?")
_MD = re.compile(r"([0-9]{1,2})\s*[-/.]\s*([0-9]{1,2})")
_MD_JA = re.compile(r"([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日?")
# Hand-written: "20日" alone means "the 20th"; dateparser reads it as "20 days ago".
_DAY_JA = re.compile(r"([0-9]{1,2})\s*日")
# Digits and date punctuation only, but none of the forms above ("5", "2026", "11月"):
# dateparser would fill the gaps from today (e.g. "5" -> May 25), so refuse instead.
_NUMERIC_ONLY = re.compile(r"[0-9\s/.\-年月日]+")
# Hand-written: dateparser reads a duration with no direction ("10 days", "2週間") as
# "ago" or "later" by PREFER_DATES_FROM, adds up several ("1週間~10日" -> +17 days) and
# reads "来月25日" as "next month + 25 days". None of those is a date the user gave, so a
# number with a time unit is only passed on together with a direction (3日前, in 2 days).
_DURATION = re.compile(
    r"[0-9]+\s*(?:日|週|[ヶかカケヵ箇]月|年|営業日"
    r"|(?:(?:business|working)\s+)?(?:days?|weeks?|months?|years?)\b)",
    re.IGNORECASE,
)
_DIRECTION = re.compile(r"前|後|あと|\b(?:ago|later|after|before|from\s+now|in)\b", re.IGNORECASE)
_EN_MONTH_NAME = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE
)
_FOUR_DIGIT_YEAR = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")
_LEADING_YEAR = re.compile(r"[0-9]{4}(?![0-9])")


def _valid_date(year: int, month: int, day: int) -> date | None:
    """date(year, month, day), or None when no such day exists."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _fits(candidate: date, today: date, prefer: Prefer) -> bool:
    """True when candidate is on the preferred side of today (today itself fits both)."""
    return candidate <= today if prefer == "past" else candidate >= today


def _resolve_year(month: int, day: int, today: date, prefer: Prefer) -> date | None:
    """The latest (past) or earliest (future) month/day not beyond today; None if none."""
    if not 1 <= month <= 12 or not 1 <= day <= _stdlib_calendar.monthrange(2000, month)[1]:
        return None
    step = -1 if prefer == "past" else 1
    # Nine tries: February 29 can be eight years away (2096 -> 2104).
    for offset in range(9):
        candidate = _valid_date(today.year + step * offset, month, day)
        if candidate is not None and _fits(candidate, today, prefer):
            return candidate
    return None


def _resolve_day_of_month(day: int, today: date, prefer: Prefer) -> date | None:
    """The nearest date on the preferred side of today whose day of the month is day."""
    if not 1 <= day <= 31:
        return None
    step = -1 if prefer == "past" else 1
    for offset in range(13):
        year, month0 = divmod(today.year * 12 + today.month - 1 + step * offset, 12)
        candidate = _valid_date(year, month0 + 1, day)
        if candidate is not None and _fits(candidate, today, prefer):
            return candidate
    return None


def _parse_numeric_date(s: str, today: date, prefer: Prefer) -> date | Literal[False] | None:
    """Hand-parse the numeric forms; False when s is not one of them."""
    for pattern in (_YMD, _YMD_JA):
        if m := pattern.fullmatch(s):
            return _valid_date(int(m[1]), int(m[2]), int(m[3]))
    for pattern in (_MD, _MD_JA):
        if m := pattern.fullmatch(s):
            return _resolve_year(int(m[1]), int(m[2]), today, prefer)
    if m := _DAY_JA.fullmatch(s):
        return _resolve_day_of_month(int(m[1]), today, prefer)
    return False


@functools.lru_cache(maxsize=16)
def _date_parser(today: date, prefer: Prefer, order: Literal["YMD", "MDY"]) -> DateDataParser:
    """A dateparser instance for one "today"; cached because building one is not free."""
    # Imported here: importing dateparser takes a noticeable fraction of a second and most
    # answers never need it.
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["ja", "en"],
        settings={
            "PREFER_DATES_FROM": prefer,
            "RELATIVE_BASE": datetime(today.year, today.month, today.day),
            "DATE_ORDER": order,
            # No 'timestamp' (digits as epoch seconds) and no 'no-spaces-time' guessing.
            "PARSERS": ["relative-time", "absolute-time"],
        },
    )


def _parse_with_dateparser(s: str, today: date, prefer: Prefer) -> date | None:
    """Relative words and month names via dateparser; None unless it found a whole day."""
    order: Literal["YMD", "MDY"] = "YMD" if _LEADING_YEAR.match(s) else "MDY"
    try:
        data = _date_parser(today, prefer, order).get_date_data(s)
    except Exception:  # dateparser is a heuristic black box: user text must never crash us
        return None
    # "nov" or "2026年11月" come back as a month/year period with the day made up.
    if data.date_obj is None or data.period != "day":
        return None
    found = data.date_obj.date()
    if _EN_MONTH_NAME.search(s) and not _FOUR_DIGIT_YEAR.search(s):
        # Hand-written: with PREFER_DATES_FROM "future" dateparser turns "Nov 25" on
        # 2026-11-25 into 2027-11-25; "not before today" must include today.
        return _resolve_year(found.month, found.day, today, prefer)
    return found


def parse_date(text: str, today: date, *, prefer: Prefer) -> date | None:
    """A calendar date from what the user typed, or None; year-less dates lean to prefer."""
    s = normalise(text)
    if not s or len(s) > MAX_PARSE_LEN:
        return None
    s = _WEEKDAY_SUFFIX.sub("", s).strip()
    s = _KANA_RELATIVE.get(s, s)
    numeric = _parse_numeric_date(s, today, prefer)
    if numeric is not False:
        return numeric
    if _NUMERIC_ONLY.fullmatch(s) or (_DURATION.search(s) and not _DIRECTION.search(s)):
        return None
    return _parse_with_dateparser(s, today, prefer)
