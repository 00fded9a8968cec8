"""Date arithmetic for follow-ups: Japanese business days, promised periods and quiet hours.

Companies in Japan say things like "we will contact you within five business days" or
"in about two weeks". To know when a reply is overdue we need the Japanese notion of a
business day (weekends, public holidays including substitute holidays, and the
12/29-1/3 year-end break that nearly every company observes), and to know when to send
a nudge we need the user's local time and their quiet hours. Everything here is pure:
no I/O, no clock reads, no database; callers pass "now" and the user's time zone in.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "DEFAULT_WAIT_DAYS",
    "MAX_AMOUNT",
    "PeriodUnit",
    "PromisedPeriod",
    "add_business_days",
    "at_local_hour",
    "days_between",
    "defer_out_of_quiet_hours",
    "first_business_day_of_next_week",
    "followup_day",
    "halfway_day",
    "in_quiet_hours",
    "is_business_day",
    "is_time_zone",
    "local_today",
    "next_business_day",
    "promised_day",
    "recheck_day",
    "schedule_at",
    "timed_checkin",
    "to_local",
]

DEFAULT_WAIT_DAYS = 14
"""How long to wait when the company promised nothing."""

_HALFWAY_MIN_GAP_DAYS = 4


class PeriodUnit(enum.StrEnum):
    """What kind of wait the company promised; the values are the storage prefixes."""

    DAYS = "days"
    BUSINESS_DAYS = "bdays"
    WEEKS = "weeks"
    MONTHS = "months"
    DATE = "date"
    # A moment ("明日15時までにお電話します"): a wall-clock time in the user's zone.
    AT = "at"
    UNSPECIFIED = "none"


MAX_AMOUNT: Mapping[PeriodUnit, int] = MappingProxyType(
    {
        PeriodUnit.DAYS: 365,
        PeriodUnit.BUSINESS_DAYS: 250,
        PeriodUnit.WEEKS: 52,
        PeriodUnit.MONTHS: 12,
    }
)
"""Largest believable amount per counted unit (roughly one year each)."""

_COUNTED_STORAGE = re.compile(r"(days|bdays|weeks|months):([1-9][0-9]{0,3})")
_DATE_STORAGE = re.compile(r"date:([0-9]{4}-[0-9]{2}-[0-9]{2})")
# "at:2026-12-10T15:00+09:00": the promised moment with the user's UTC offset at the time.
_AT_STORAGE = re.compile(r"at:([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2})")

CHECKIN_AFTER_MOMENT = timedelta(minutes=30)
"""How long after a promised moment the user is asked whether the call came."""
OFFICE_HOURS = (time(9, 0), time(18, 0))
"""When a company can be called: [start, end) local time on a business day."""


@dataclass(frozen=True)
class PromisedPeriod:
    """When the company said it would get back to the user."""

    unit: PeriodUnit
    amount: int = 0
    until: date | None = None
    # Only for AT: the promised moment, aware, on the wall clock of the user's zone.
    at: datetime | None = None

    def __post_init__(self) -> None:
        """Reject combinations that mean nothing (e.g. DATE without a date, 0 weeks)."""
        if self.unit is PeriodUnit.AT:
            if self.at is None or self.until is not None or self.amount != 0:
                raise ValueError("an AT period needs `at` and neither amount nor until")
            _require_aware(self.at)
            return
        if self.at is not None:
            raise ValueError(f"a {self.unit.name} period takes no `at`")
        if self.unit is PeriodUnit.DATE:
            if self.until is None or self.amount != 0:
                raise ValueError("a DATE period needs `until` and no amount")
        elif self.unit is PeriodUnit.UNSPECIFIED:
            if self.until is not None or self.amount != 0:
                raise ValueError("an UNSPECIFIED period takes neither amount nor until")
        else:
            if self.until is not None:
                raise ValueError(f"a {self.unit.name} period takes no `until`")
            if not 1 <= self.amount <= MAX_AMOUNT[self.unit]:
                raise ValueError(
                    f"{self.unit.name} amount must be 1..{MAX_AMOUNT[self.unit]}, got {self.amount}"
                )

    def to_storage(self) -> str:
        """Encode compactly, e.g. "days:10", "bdays:5", "date:2026-12-10", "none"."""
        if self.unit is PeriodUnit.UNSPECIFIED:
            return "none"
        if self.at is not None:  # only AT periods carry a moment
            return f"at:{self.at.isoformat(timespec='minutes')}"
        if self.until is not None:  # only DATE periods carry a date (see __post_init__)
            return f"date:{self.until.isoformat()}"
        return f"{self.unit.value}:{self.amount}"

    @classmethod
    def from_storage(cls, s: str) -> PromisedPeriod:
        """Decode what to_storage wrote; raise ValueError on anything else."""
        if s == "none":
            return cls(PeriodUnit.UNSPECIFIED)
        if m := _COUNTED_STORAGE.fullmatch(s):
            return cls(PeriodUnit(m.group(1)), int(m.group(2)))
        if m := _DATE_STORAGE.fullmatch(s):
            return cls(PeriodUnit.DATE, until=date.fromisoformat(m.group(1)))
        if m := _AT_STORAGE.fullmatch(s):
            return cls(PeriodUnit.AT, at=datetime.fromisoformat(m.group(1)))
        raise ValueError(f"not a stored promised period: {s!r}")


class _YearEndBreak(holidays.HolidayBase):
    """12/29-1/3: no public holiday, yet nearly every Japanese company is closed."""

    def _populate(self, year: int) -> None:
        for month, day in ((1, 1), (1, 2), (1, 3), (12, 29), (12, 30), (12, 31)):
            self[date(year, month, day)] = "Year-end break"


@functools.cache
def _jp_holidays() -> holidays.HolidayBase:
    """Days Japanese companies are closed besides weekends, built once per process.

    Public holidays (incl. substitute holidays) plus the year-end break; the sum expands to
    new years lazily on lookup, so one instance serves all years.
    """
    return holidays.country_holidays("JP") + _YearEndBreak()


# These three are asked about the same few days by every reminder of a batch, and the days
# Japanese companies are closed never change within a process: each answer is worked out once.
@functools.lru_cache(maxsize=4096)
def is_business_day(d: date) -> bool:
    """True unless d is a weekend, a Japanese public holiday or in the 12/29-1/3 break."""
    return _jp_holidays().is_working_day(d)


@functools.lru_cache(maxsize=4096)
def next_business_day(d: date) -> date:
    """Return d if it is a business day, else the first business day after it."""
    # Not get_nth_working_day(d, 0): older holidays releases return d itself for n=0.
    closed = _jp_holidays()
    return d if closed.is_working_day(d) else closed.get_nth_working_day(d, 1)


@functools.lru_cache(maxsize=4096)
def add_business_days(d: date, n: int) -> date:
    """Return the n-th business day after d (d itself never counts; n >= 1)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return _jp_holidays().get_nth_working_day(d, n)


def first_business_day_of_next_week(d: date) -> date:
    """The first business day of the week (Monday to Sunday) after the one d is in."""
    return next_business_day(d + timedelta(days=7 - d.weekday()))


def _add_months(d: date, months: int) -> date:
    """Add calendar months, clamping the day to the target month's end (1/31 + 1 = 2/28)."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last))


def promised_day(interview_date: date, period: PromisedPeriod) -> date:
    """The day the company's promise runs out, before any business-day adjustment."""
    match period.unit:
        case PeriodUnit.DAYS:
            return interview_date + timedelta(days=period.amount)
        case PeriodUnit.WEEKS:
            return interview_date + timedelta(weeks=period.amount)
        case PeriodUnit.MONTHS:
            return _add_months(interview_date, period.amount)
        case PeriodUnit.BUSINESS_DAYS:
            return add_business_days(interview_date, period.amount)
        case PeriodUnit.DATE if period.until is not None:  # always set: see __post_init__
            return period.until
        case PeriodUnit.AT if period.at is not None:  # the day of the moment, where it was said
            return period.at.date()
        case _:  # UNSPECIFIED: nothing was promised
            return interview_date + timedelta(days=DEFAULT_WAIT_DAYS)


def followup_day(interview_date: date, period: PromisedPeriod) -> date:
    """The first business day strictly after the promised day: when a follow-up is due.

    The promised day itself belongs to the company (a result may still come that evening),
    so nothing asks the user to chase on it; with nothing promised the guideline day, 14 days
    after the interview, is treated the same way.
    """
    return add_business_days(promised_day(interview_date, period), 1)


def halfway_day(interview_date: date, due: date) -> date | None:
    """A business day near the midpoint of interview..due (exclusive), or None if none fits.

    The calendar midpoint moves forward to a business day, or back if going forward would
    reach ``due``; under 4 days apart there is no halfway at all.
    """
    gap = (due - interview_date).days
    if gap < _HALFWAY_MIN_GAP_DAYS:
        return None
    middle = interview_date + timedelta(days=gap // 2)
    forward = next_business_day(middle)
    if forward < due:
        return forward
    day = middle - timedelta(days=1)
    while day > interview_date:
        if is_business_day(day):
            return day
        day -= timedelta(days=1)
    return None


def timed_checkin(
    promised_at: datetime,
    tz: str,
    reminder_hour: int,
    quiet_start: int | None,
    quiet_end: int | None,
) -> datetime:
    """When to ask about a promise made for a moment: 30 minutes after it, in office hours.

    A check-in that would fall outside 9:00-18:00 of a business day (a 17:45 promise, a
    Friday-evening one) comes at the user's reminder hour of the next business day instead;
    one before 9:00 on a business day, at that day's reminder hour.
    """
    _require_aware(promised_at)
    moment = promised_at + CHECKIN_AFTER_MOMENT
    local = moment.astimezone(_zone(tz))
    day = local.date()
    if is_business_day(day):
        opens, closes = OFFICE_HOURS
        if opens <= local.time().replace(tzinfo=None) < closes:
            return defer_out_of_quiet_hours(moment, tz, quiet_start, quiet_end)
        if local.time().replace(tzinfo=None) < opens:
            same_day = schedule_at(day, reminder_hour, tz, quiet_start, quiet_end)
            if same_day >= moment:
                return same_day
    return schedule_at(add_business_days(day, 1), reminder_hour, tz, quiet_start, quiet_end)


def recheck_day(from_day: date, business_days: int = 3) -> date:
    """When to ask again after a follow-up: a few business days later."""
    return add_business_days(from_day, business_days)


def _zone(tz: str) -> ZoneInfo:
    """Look up an IANA time zone, raising ValueError for any name that is not one."""
    try:
        return ZoneInfo(tz)
    # ZoneInfo reads the name as a file path: a very long name, or a folder such as "Asia",
    # fails in the file system (OSError) rather than as an unknown key.
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone: {tz!r}") from exc


def is_time_zone(tz: str) -> bool:
    """True when tz names an IANA time zone that the functions here accept."""
    try:
        _zone(tz)
    except ValueError:
        return False
    return True


def _require_aware(moment: datetime) -> None:
    """Raise ValueError for naive datetimes, which would silently mean server-local time."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError("an aware datetime is required, got a naive one")


def _check_hour(hour: int) -> None:
    """Raise ValueError unless 0 <= hour <= 23."""
    if not 0 <= hour <= 23:
        raise ValueError(f"hour must be 0..23, got {hour}")


def at_local_hour(day: date, hour: int, tz: str) -> datetime:
    """The UTC instant of hour:00 local time on day in tz (a DST-gap hour maps forward)."""
    _check_hour(hour)
    local = datetime(day.year, day.month, day.day, hour, tzinfo=_zone(tz))
    return local.astimezone(UTC)


def _quiet_window(quiet_start: int | None, quiet_end: int | None) -> tuple[int, int] | None:
    """Validated (start, end) local hours, or None when there are no quiet hours."""
    if quiet_start is None or quiet_end is None:
        return None
    _check_hour(quiet_start)
    _check_hour(quiet_end)
    if quiet_start == quiet_end:
        return None
    return quiet_start, quiet_end


def _hour_is_quiet(hour: int, start: int, end: int) -> bool:
    """True when a local hour lies in [start, end), wrapping past midnight if start > end."""
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def in_quiet_hours(
    moment_utc: datetime, tz: str, quiet_start: int | None, quiet_end: int | None
) -> bool:
    """True when the moment falls in the user's quiet hours [start, end) local time."""
    _require_aware(moment_utc)
    window = _quiet_window(quiet_start, quiet_end)
    if window is None:
        return False
    local = moment_utc.astimezone(_zone(tz))
    return _hour_is_quiet(local.hour, *window)


def defer_out_of_quiet_hours(
    moment_utc: datetime, tz: str, quiet_start: int | None, quiet_end: int | None
) -> datetime:
    """The moment itself if not quiet, else the UTC instant the quiet hours end."""
    _require_aware(moment_utc)
    window = _quiet_window(quiet_start, quiet_end)
    if window is None:
        return moment_utc
    start, end = window
    local = moment_utc.astimezone(_zone(tz))
    if not _hour_is_quiet(local.hour, start, end):
        return moment_utc
    end_day = local.date()
    if start > end and local.hour >= start:
        # Evening part of a window that wraps midnight: it ends tomorrow morning.
        end_day += timedelta(days=1)
    return at_local_hour(end_day, end, tz)


def schedule_at(
    day: date, hour: int, tz: str, quiet_start: int | None, quiet_end: int | None
) -> datetime:
    """hour:00 local on day as UTC, pushed to the end of quiet hours if it falls inside."""
    return defer_out_of_quiet_hours(at_local_hour(day, hour, tz), tz, quiet_start, quiet_end)


def days_between(start: date, end: date) -> int:
    """Whole calendar days from start to end (negative if end is earlier)."""
    return (end - start).days


def local_today(now_utc: datetime, tz: str) -> date:
    """The user's calendar date at the aware instant now_utc."""
    _require_aware(now_utc)
    return now_utc.astimezone(_zone(tz)).date()


def to_local(moment_utc: datetime, tz: str) -> datetime:
    """The same instant on the wall clock of ``tz``."""
    _require_aware(moment_utc)
    return moment_utc.astimezone(_zone(tz))
