"""Understanding what users type: dates, promised waiting periods, contacts, free text and
short words that pick a choice.

Job seekers answer the bot's questions on a phone keyboard, in Japanese or English, with
full-width digits, weekday suffixes like "(水)" and a dozen spellings of "one month".
Each parser here turns one such answer into a value or None; none of them raises on
user input and none of them talks to the user (wording lives in the message catalogues).
Only the tokens users type (今日, 営業日, ...) appear here, as patterns.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import enum
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

import phonenumbers
import regex  # type: ignore[import-untyped, unused-ignore]
from email_validator import EmailNotValidError, validate_email

from domain.calendar import MAX_AMOUNT, PeriodUnit, PromisedPeriod

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

__all__ = [
    "Contact",
    "Prefer",
    "TextProblem",
    "clean_text",
    "fold_word",
    "matching_values",
    "parse_contact",
    "parse_date",
    "parse_period",
]

Prefer = Literal["past", "future"]

# Nothing a person types as a date or a period is longer; anything longer is not one, and
# dateparser's run time grows with the input, so longer text never reaches it.
_MAX_PARSE_LEN = 64
# RFC 5321 caps an address at 254 characters; a phone number with spaces is far shorter.
_MAX_CONTACT_LEN = 254


def _normalise(text: str) -> str:
    """NFKC (full-width digits, ／, －, （） become ASCII) and strip."""
    return unicodedata.normalize("NFKC", text).strip()


# --------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------

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
    s = _normalise(text)
    if not s or len(s) > _MAX_PARSE_LEN:
        return None
    s = _WEEKDAY_SUFFIX.sub("", s).strip()
    s = _KANA_RELATIVE.get(s, s)
    numeric = _parse_numeric_date(s, today, prefer)
    if numeric is not False:
        return numeric
    if _NUMERIC_ONLY.fullmatch(s) or (_DURATION.search(s) and not _DIRECTION.search(s)):
        return None
    return _parse_with_dateparser(s, today, prefer)


# --------------------------------------------------------------------------------------
# Promised periods
# --------------------------------------------------------------------------------------

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


def parse_period(text: str, today: date) -> PromisedPeriod | None:
    """What the company promised ("2週間以内", "5営業日", "12/10", "言われていない"), or None."""
    s = _normalise(text)
    if not s or len(s) > _MAX_PARSE_LEN:
        return None
    s = _TRAILING_PUNCT.sub("", s)
    if _UNSPECIFIED.fullmatch(s):
        return PromisedPeriod(PeriodUnit.UNSPECIFIED)
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


# --------------------------------------------------------------------------------------
# Contacts
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """A way to reach the company: a normalised e-mail address or a formatted phone number."""

    kind: Literal["email", "phone"]
    value: str


# Phone keyboards produce many dashes; NFKC leaves these alone. Japanese users often type
# the long-vowel mark "ー" in phone numbers.
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−ー", "-"))
# Only what people put in a phone number: no letters (phonenumbers would read "0120-ABC"
# as a vanity number and pick digits out of "call 03-..."), no extensions.
_PHONE_CHARS = re.compile(r"\+?[0-9\s\-().]{6,30}")


def parse_contact(text: str) -> Contact | None:
    """An e-mail address or a valid phone number (Japanese numbers by default), or None."""
    s = _normalise(text)
    if not s or len(s) > _MAX_CONTACT_LEN:
        return None
    if "@" in s:
        try:
            email = validate_email(s, check_deliverability=False)
        except EmailNotValidError:
            return None
        return Contact("email", email.normalized)
    s = s.translate(_DASHES)
    if not _PHONE_CHARS.fullmatch(s):
        return None
    try:
        number = phonenumbers.parse(s, "JP")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    # NATIONAL drops the country code, so it is only right for Japanese numbers.
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 81
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return Contact("phone", phonenumbers.format_number(number, style))


# --------------------------------------------------------------------------------------
# Free text
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Words that pick a choice
# --------------------------------------------------------------------------------------

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
    if len(text) > _MAX_PARSE_LEN:
        return frozenset()
    typed = fold_word(text)
    if not typed:
        return frozenset()
    return frozenset(
        value for value, forms in words.items() if any(fold_word(w) == typed for w in forms)
    )
