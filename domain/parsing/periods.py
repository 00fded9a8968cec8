"""What the company promised: 2週間以内, 5営業日, within 10 days, 12/10まで, 言われていない.

Each answer becomes a PromisedPeriod or None; nothing here raises on user input.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from domain.calendar import MAX_AMOUNT, PeriodUnit, PromisedPeriod, is_time_zone
from domain.parsing.dates import parse_date
from domain.parsing.normalise import MAX_PARSE_LEN, normalise

__all__ = ["parse_period"]


_KANJI_DIGITS = {
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_KANJI_TENS = re.compile(r"([二三四五六七八九]?)十([一二三四五六七八九]?)")
_EN_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}

_NUM = r"[0-9]{1,4}|[一二三四五六七八九十]{1,3}"
_RANGE_SEP = r"\s*(?:~|〜|-|から)\s*"
_JA_PERIOD = re.compile(
    rf"(?:(?P<low>{_NUM}){_RANGE_SEP})?(?P<num>{_NUM})\s*"
    r"(?:(?P<bdays>営業日)|(?P<days>日間?)|(?P<weeks>週間?)|(?P<months>[ヶかカケヵ箇]月間?))"
)
_JA_ONE_MONTH = re.compile(r"ひと月|ひとつき")
_EN_NUM = rf"[0-9]{{1,4}}|{'|'.join(_EN_NUMBERS)}"
_EN_PERIOD = re.compile(
    rf"(?:(?P<low>{_EN_NUM})(?:\s*(?:-|~)\s*|\s+to\s+))?(?P<num>{_EN_NUM})\s*"
    r"(?:(?P<bdays>(?:business|working)\s+days?)|(?P<days>days?)|(?P<weeks>weeks?)"
    r"|(?P<months>months?))",
    re.IGNORECASE,
)

_UNSPECIFIED = re.compile(
    r"(?:特に|とくに|何も|なにも)?"
    r"(?:言われ(?:て(?:い)?(?:ない|ません|なかった)|なかった|ませんでした)"
    r"|聞(?:いて(?:い)?(?:ない|ません|なかった)|かなかった|きませんでした)"
    r"|不明|なし|無し|未定|わから(?:ない|ず)|分から(?:ない|ず)|わかりません|分かりません"
    r"|知らない|知りません)(?:です)?"
    r"|(?:i\s+was\s+)?not\s+told|(?:i\s+)?wasn'?t\s+told|unknown|no\s+idea|none"
    r"|(?:i\s+)?don'?t\s+know|not\s+sure|they\s+didn'?t\s+say",
    re.IGNORECASE,
)
_TRAILING_PUNCT = re.compile(r"[\s。、.,!?]+$")
# Words around a period that do not change it: 約2週間, 10日以内に, 1週間後くらい, about 2 weeks.
_PERIOD_PREFIX = re.compile(
    r"^(?:(?:約|およそ|おおよそ|大体|だいたい|~|〜)\s*"
    r"|(?:within|about|around|in|approximately|approx\.?|roughly|after)\s+)",
    re.IGNORECASE,
)
_PERIOD_SUFFIX = re.compile(
    r"\s*(?:以内に|以内|程度|くらい|ぐらい|位|ほど|前後|後|で|に|later|or\s+so)$",
    re.IGNORECASE,
)
# "10日まで" / "by Dec 10" name a deadline date, never a count of days.
_UNTIL_SUFFIX = re.compile(r"\s*(?:まで|迄)に?$")
_UNTIL_PREFIX = re.compile(r"^(?:by|until|till|before)\s+", re.IGNORECASE)


# A time of day: 15時, 15時30分, 3時半, 午後3時, 15:00, 3pm, 3:30 pm.
_TIME = re.compile(
    r"(?<![0-9])(?:(?P<ampm>午前|午後)\s*)?(?P<h>[0-9]{1,2})\s*"
    r"(?:時\s*(?:(?P<m>[0-9]{1,2})\s*分|(?P<half>半))?|:\s*(?P<mm>[0-9]{2})(?:\s*(?P<ep>am|pm))?"
    r"|\s*(?P<ep2>am|pm)\b)",
    re.IGNORECASE,
)
# Words that may follow the moment without changing it: までに, 頃, までにお電話します, に連絡.
_AFTER_TIME = re.compile(
    r"(?:\s*(?:まで|迄|頃|ごろ|くらい|ぐらい|以内))?(?:\s*(?:に|には|で|です))?"
    r"(?:\s*(?:お|ご)?(?:電話|連絡|返事|返信|メール|結果)[^0-9]*)?",
    re.IGNORECASE,
)
_BEFORE_DATE = re.compile(r"^(?:by|until|till|before|at|on)(?:\s+|$)", re.IGNORECASE)
_AFTER_DATE = re.compile(r"\s*(?:の|、|,)?\s*$")
DEFAULT_ZONE = "Asia/Tokyo"


def _hour_minute(m: re.Match[str]) -> tuple[int, int] | None:
    hour = int(m["h"])
    minute = 30 if m["half"] else int(m["m"] or m["mm"] or 0)
    meridiem = (m["ep"] or m["ep2"] or "").lower()
    if m["ampm"] or meridiem:
        if not 1 <= hour <= 12:
            return None
        afternoon = m["ampm"] == "午後" or meridiem == "pm"
        hour = hour % 12 + (12 if afternoon else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return hour, minute


def _timed_promise(s: str, today: date, tz: str) -> PromisedPeriod | Literal[False] | None:
    """A promise of a moment: 明日15時までに, 12/10 15時, 12月10日15:00; False if no time."""
    m = _TIME.search(s)
    if m is None:
        return False
    before = _AFTER_DATE.sub("", _BEFORE_DATE.sub("", s[: m.start()].strip()))
    after = s[m.end() :]
    if _AFTER_TIME.fullmatch(after):
        said_day = before
    elif not before:  # the day after the time: "3pm tomorrow", "by 15:00 on Dec 10"
        said_day = _BEFORE_DATE.sub("", after.strip(" ,"))
    else:
        return False
    hm = _hour_minute(m)
    if hm is None:
        return None
    day = today if not said_day else parse_date(said_day, today, prefer="future")
    if day is None:
        return None
    zone = ZoneInfo(tz if is_time_zone(tz) else DEFAULT_ZONE)
    moment = datetime(day.year, day.month, day.day, *hm, tzinfo=zone)
    # The stored offset is the one in force then, so the wall clock reads back the same.
    return PromisedPeriod(PeriodUnit.AT, at=moment.astimezone(zone))


def _number(token: str) -> int | None:
    """Arabic, kanji (一..九十九) or small English number words; None if not a number."""
    if token.isascii() and token.isdigit():
        return int(token)
    if token in _KANJI_DIGITS:
        return _KANJI_DIGITS[token]
    if m := _KANJI_TENS.fullmatch(token):
        tens = _KANJI_DIGITS[m[1]] if m[1] else 1
        ones = _KANJI_DIGITS[m[2]] if m[2] else 0
        return tens * 10 + ones
    return _EN_NUMBERS.get(token.lower())


def _strip_repeatedly(s: str, pattern: re.Pattern[str]) -> str:
    """Remove pattern from s until it no longer matches."""
    while True:
        stripped = pattern.sub("", s, count=1).strip()
        if stripped == s:
            return s
        s = stripped


def _counted_period(s: str) -> PromisedPeriod | Literal[False] | None:
    """Match "N unit" or "N-M unit"; False when s is not shaped like a period at all."""
    if _JA_ONE_MONTH.fullmatch(s):
        return PromisedPeriod(PeriodUnit.MONTHS, 1)
    m = _JA_PERIOD.fullmatch(s) or _EN_PERIOD.fullmatch(s)
    if m is None:
        return False
    amount = _number(m["num"])
    if m["low"] is not None:
        low = _number(m["low"])
        if low is None or amount is None or low > amount:
            return None
    if amount is None:
        return None
    # For a range ("1〜2週間") the later end is what the user should wait for.
    unit = next(
        u
        for name, u in (
            ("bdays", PeriodUnit.BUSINESS_DAYS),
            ("days", PeriodUnit.DAYS),
            ("weeks", PeriodUnit.WEEKS),
            ("months", PeriodUnit.MONTHS),
        )
        if m[name] is not None
    )
    if not 1 <= amount <= MAX_AMOUNT[unit]:
        return None
    return PromisedPeriod(unit, amount)


def parse_period(text: str, today: date, tz: str = DEFAULT_ZONE) -> PromisedPeriod | None:
    """What the company promised ("2週間以内", "5営業日", "12/10", "明日15時まで",
    "言われていない"), or None; a time of day is read on the wall clock of ``tz``."""
    s = normalise(text)
    if not s or len(s) > MAX_PARSE_LEN:
        return None
    s = _TRAILING_PUNCT.sub("", s)
    if _UNSPECIFIED.fullmatch(s):
        return PromisedPeriod(PeriodUnit.UNSPECIFIED)
    timed = _timed_promise(s, today, tz)
    if timed is not False:
        return timed
    deadline = _UNTIL_SUFFIX.sub("", _UNTIL_PREFIX.sub("", s))
    if deadline != s:
        until = parse_date(deadline, today, prefer="future")
        return None if until is None else PromisedPeriod(PeriodUnit.DATE, until=until)
    core = _strip_repeatedly(_strip_repeatedly(s, _PERIOD_SUFFIX), _PERIOD_PREFIX)
    counted = _counted_period(core)
    if counted is not False:
        return counted
    until = parse_date(core, today, prefer="future") or parse_date(s, today, prefer="future")
    return None if until is None else PromisedPeriod(PeriodUnit.DATE, until=until)
