"""Unit tests for domain.calendar: Japanese business days, promised periods and quiet hours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import holidays
import pytest

import domain.calendar as cal
from domain.calendar import (
    DEFAULT_WAIT_DAYS,
    PeriodUnit,
    PromisedPeriod,
    add_business_days,
    at_local_hour,
    days_between,
    defer_out_of_quiet_hours,
    followup_day,
    halfway_day,
    in_quiet_hours,
    is_business_day,
    local_today,
    next_business_day,
    promised_day,
    recheck_day,
    schedule_at,
    to_local,
)

TOKYO = "Asia/Tokyo"
NEW_YORK = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------------------
# Business days
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # Ordinary weekdays.
        (date(2026, 11, 24), True),  # Tue
        (date(2026, 11, 25), True),  # Wed
        (date(2026, 11, 27), True),  # Fri
        # Weekends.
        (date(2026, 11, 28), False),  # Sat
        (date(2026, 11, 29), False),  # Sun
        # Public holidays 2026.
        (date(2026, 1, 12), False),  # 成人の日
        (date(2026, 2, 11), False),  # 建国記念の日
        (date(2026, 2, 23), False),  # 天皇誕生日
        (date(2026, 3, 20), False),  # 春分の日
        (date(2026, 4, 29), False),  # 昭和の日
        (date(2026, 5, 4), False),  # みどりの日
        (date(2026, 5, 5), False),  # こどもの日
        (date(2026, 5, 6), False),  # 振替休日 (憲法記念日 5/3 fell on a Sunday)
        (date(2026, 7, 20), False),  # 海の日
        (date(2026, 8, 11), False),  # 山の日
        (date(2026, 9, 21), False),  # 敬老の日
        (date(2026, 9, 22), False),  # 国民の休日 (sandwiched between two holidays)
        (date(2026, 9, 23), False),  # 秋分の日
        (date(2026, 10, 12), False),  # スポーツの日
        (date(2026, 11, 3), False),  # 文化の日
        (date(2026, 11, 23), False),  # 勤労感謝の日
        # Public holidays 2027.
        (date(2027, 1, 11), False),  # 成人の日
        (date(2027, 3, 22), False),  # 振替休日 (春分の日 3/21 fell on a Sunday)
        (date(2027, 11, 3), False),  # 文化の日
        (date(2027, 11, 23), False),  # 勤労感謝の日
        # Days around holidays are business days.
        (date(2026, 5, 7), True),  # Thu after Golden Week
        (date(2026, 11, 2), True),  # Mon before 文化の日
        (date(2026, 11, 4), True),  # Wed after 文化の日
        (date(2027, 1, 12), True),  # Tue after 成人の日
        # Year-end break 12/29-1/3.
        (date(2026, 12, 28), True),  # Mon: last business day of 2026
        (date(2026, 12, 29), False),  # Tue
        (date(2026, 12, 30), False),  # Wed
        (date(2026, 12, 31), False),  # Thu
        (date(2027, 1, 1), False),  # Fri, 元日
        (date(2027, 1, 2), False),  # Sat
        (date(2027, 1, 3), False),  # Sun
        (date(2027, 1, 4), True),  # Mon: first business day of 2027
        (date(2026, 1, 2), False),  # Fri: only the break makes it a day off
        (date(2027, 12, 29), False),  # Wed: only the break
        (date(2028, 1, 3), False),  # Mon: only the break
        (date(2028, 1, 4), True),  # Tue
    ],
)
def test_is_business_day(day: date, expected: bool) -> None:
    assert is_business_day(day) is expected


def test_holiday_calendar_is_built_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = holidays.country_holidays

    def counting(country: str) -> object:
        calls.append(country)
        return real(country)

    cal._jp_holidays.cache_clear()
    # The answers are kept too: forgotten, each day is asked of the calendar again.
    cal.is_business_day.cache_clear()
    monkeypatch.setattr(holidays, "country_holidays", counting)
    try:
        for day in (date(2026, 11, 3), date(2027, 1, 11), date(2030, 5, 6), date(2026, 11, 4)):
            is_business_day(day)
        assert calls == ["JP"]
    finally:
        cal._jp_holidays.cache_clear()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 25), date(2026, 11, 25)),  # already a business day
        (date(2026, 11, 28), date(2026, 11, 30)),  # Sat -> Mon
        (date(2026, 11, 29), date(2026, 11, 30)),  # Sun -> Mon
        (date(2026, 11, 21), date(2026, 11, 24)),  # Sat, Sun, 勤労感謝の日 Mon -> Tue
        (date(2026, 11, 3), date(2026, 11, 4)),  # 文化の日 -> Wed
        (date(2026, 5, 2), date(2026, 5, 7)),  # Golden Week incl. 振替休日 5/6 -> Thu
        (date(2026, 12, 28), date(2026, 12, 28)),  # Mon before the break
        (date(2026, 12, 29), date(2027, 1, 4)),  # year-end break
        (date(2027, 1, 1), date(2027, 1, 4)),
        (date(2027, 1, 3), date(2027, 1, 4)),
        (date(2027, 1, 9), date(2027, 1, 12)),  # Sat, Sun, 成人の日 -> Tue
    ],
)
def test_next_business_day(day: date, expected: date) -> None:
    assert next_business_day(day) == expected


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 11, 25), 1, date(2026, 11, 26)),
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # Fri + 1 skips the weekend
        (date(2026, 11, 28), 1, date(2026, 11, 30)),  # start on a Saturday
        (date(2026, 11, 20), 5, date(2026, 11, 30)),  # skips weekend and 勤労感謝の日
        (date(2026, 11, 2), 1, date(2026, 11, 4)),  # skips 文化の日
        # Golden Week 2026: 4/29 昭和の日, 5/3-5/6 with 振替休日.
        (date(2026, 4, 30), 1, date(2026, 5, 1)),
        (date(2026, 4, 30), 2, date(2026, 5, 7)),
        (date(2026, 4, 28), 5, date(2026, 5, 11)),
        # New year: 12/29-1/3 is closed.
        (date(2026, 12, 24), 3, date(2027, 1, 4)),
        (date(2026, 12, 28), 1, date(2027, 1, 4)),
        (date(2026, 12, 25), 2, date(2027, 1, 4)),
        (date(2027, 1, 8), 1, date(2027, 1, 12)),  # Fri, then weekend and 成人の日
        (date(2026, 11, 25), 10, date(2026, 12, 9)),
    ],
)
def test_add_business_days(start: date, n: int, expected: date) -> None:
    assert add_business_days(start, n) == expected


@pytest.mark.parametrize("n", [0, -1])
def test_add_business_days_rejects_non_positive(n: int) -> None:
    with pytest.raises(ValueError, match="n must be >= 1"):
        add_business_days(date(2026, 11, 25), n)


# --------------------------------------------------------------------------------------
# PromisedPeriod
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "stored"),
    [
        (PromisedPeriod(PeriodUnit.DAYS, 10), "days:10"),
        (PromisedPeriod(PeriodUnit.DAYS, 365), "days:365"),
        (PromisedPeriod(PeriodUnit.BUSINESS_DAYS, 5), "bdays:5"),
        (PromisedPeriod(PeriodUnit.BUSINESS_DAYS, 250), "bdays:250"),
        (PromisedPeriod(PeriodUnit.WEEKS, 2), "weeks:2"),
        (PromisedPeriod(PeriodUnit.WEEKS, 52), "weeks:52"),
        (PromisedPeriod(PeriodUnit.MONTHS, 1), "months:1"),
        (PromisedPeriod(PeriodUnit.MONTHS, 12), "months:12"),
        (PromisedPeriod(PeriodUnit.DATE, until=date(2026, 12, 10)), "date:2026-12-10"),
        (PromisedPeriod(PeriodUnit.DATE, until=date(2027, 1, 4)), "date:2027-01-04"),
        (PromisedPeriod(PeriodUnit.UNSPECIFIED), "none"),
    ],
)
def test_storage_round_trip(period: PromisedPeriod, stored: str) -> None:
    assert period.to_storage() == stored
    assert PromisedPeriod.from_storage(stored) == period
    assert PromisedPeriod.from_storage(period.to_storage()) == period


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        " ",
        "NONE",
        " none",
        "none ",
        "days",
        "days:",
        "days:0",
        "days:-1",
        "days:010",
        "days:1.5",
        "days:abc",
        "days:10 ",
        "days:366",
        "bdays:251",
        "weeks:53",
        "months:13",
        "hours:3",
        "date:",
        "date:2026-02-30",
        "date:20261210",
        "date:2026-12-10T00:00",
        "date:2026/12/10",
        "unspecified",
        "days:１０",
    ],
)
def test_from_storage_rejects_garbage(garbage: str) -> None:
    with pytest.raises(ValueError):
        PromisedPeriod.from_storage(garbage)


@pytest.mark.parametrize(
    ("unit", "amount", "until"),
    [
        (PeriodUnit.DAYS, 0, None),
        (PeriodUnit.WEEKS, -1, None),
        (PeriodUnit.MONTHS, 13, None),
        (PeriodUnit.DAYS, 3, date(2026, 12, 1)),
        (PeriodUnit.DATE, 0, None),
        (PeriodUnit.DATE, 3, date(2026, 12, 1)),
        (PeriodUnit.UNSPECIFIED, 14, None),
        (PeriodUnit.UNSPECIFIED, 0, date(2026, 12, 1)),
    ],
)
def test_promised_period_rejects_meaningless_combinations(
    unit: PeriodUnit, amount: int, until: date | None
) -> None:
    with pytest.raises(ValueError):
        PromisedPeriod(unit, amount, until)


def test_unit_values_are_the_storage_prefixes() -> None:
    assert [u.value for u in PeriodUnit] == [
        "days",
        "bdays",
        "weeks",
        "months",
        "date",
        "at",
        "none",
    ]
    assert DEFAULT_WAIT_DAYS == 14


# --------------------------------------------------------------------------------------
# Promised, follow-up, halfway and recheck days
# --------------------------------------------------------------------------------------

INTERVIEW = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(
    ("interview", "period", "expected"),
    [
        (INTERVIEW, PromisedPeriod(PeriodUnit.DAYS, 10), date(2026, 12, 5)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.DAYS, 3), date(2026, 11, 28)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.WEEKS, 2), date(2026, 12, 9)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.WEEKS, 1), date(2026, 12, 2)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.MONTHS, 1), date(2026, 12, 25)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.BUSINESS_DAYS, 5), date(2026, 12, 2)),
        (date(2026, 11, 20), PromisedPeriod(PeriodUnit.BUSINESS_DAYS, 5), date(2026, 11, 30)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.DATE, until=date(2026, 12, 10)), date(2026, 12, 10)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.UNSPECIFIED), date(2026, 12, 9)),
        # Month-end clamping.
        (date(2026, 1, 31), PromisedPeriod(PeriodUnit.MONTHS, 1), date(2026, 2, 28)),
        (date(2028, 1, 31), PromisedPeriod(PeriodUnit.MONTHS, 1), date(2028, 2, 29)),
        (date(2026, 3, 31), PromisedPeriod(PeriodUnit.MONTHS, 1), date(2026, 4, 30)),
        (date(2026, 11, 30), PromisedPeriod(PeriodUnit.MONTHS, 3), date(2027, 2, 28)),
        (date(2026, 8, 31), PromisedPeriod(PeriodUnit.MONTHS, 6), date(2027, 2, 28)),
        (date(2028, 2, 29), PromisedPeriod(PeriodUnit.MONTHS, 12), date(2029, 2, 28)),
        (date(2026, 12, 15), PromisedPeriod(PeriodUnit.MONTHS, 1), date(2027, 1, 15)),
        (date(2026, 1, 15), PromisedPeriod(PeriodUnit.MONTHS, 12), date(2027, 1, 15)),
    ],
)
def test_promised_day(interview: date, period: PromisedPeriod, expected: date) -> None:
    assert promised_day(interview, period) == expected


@pytest.mark.parametrize(
    ("interview", "period", "expected"),
    [
        # Lands on a Saturday -> Monday.
        (INTERVIEW, PromisedPeriod(PeriodUnit.DAYS, 3), date(2026, 11, 30)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.DAYS, 10), date(2026, 12, 7)),
        # A business day belongs to the company: the follow-up is the next one (Wed -> Thu).
        (INTERVIEW, PromisedPeriod(PeriodUnit.WEEKS, 2), date(2026, 12, 10)),
        # Nothing promised: day 14 is the guideline day, handled the same way.
        (INTERVIEW, PromisedPeriod(PeriodUnit.UNSPECIFIED), date(2026, 12, 10)),
        # A Friday promise -> the Monday after.
        (date(2026, 11, 27), PromisedPeriod(PeriodUnit.WEEKS, 2), date(2026, 12, 14)),
        # Lands on 文化の日 (Tue) -> Wed.
        (date(2026, 10, 27), PromisedPeriod(PeriodUnit.WEEKS, 1), date(2026, 11, 4)),
        # Nothing promised: 14 days lands on 勤労感謝の日 (Mon) -> Tue.
        (date(2026, 11, 9), PromisedPeriod(PeriodUnit.UNSPECIFIED), date(2026, 11, 24)),
        # One month lands on the 振替休日 5/6 -> Thu 5/7.
        (date(2026, 4, 6), PromisedPeriod(PeriodUnit.MONTHS, 1), date(2026, 5, 7)),
        # The 5th business day is the company's; the 6th is the follow-up.
        (date(2026, 11, 20), PromisedPeriod(PeriodUnit.BUSINESS_DAYS, 5), date(2026, 12, 1)),
        # The year-end break: a promise for 12/28 or 12/29..1/3 is followed up on 2027-01-04.
        (INTERVIEW, PromisedPeriod(PeriodUnit.DATE, until=date(2026, 12, 28)), date(2027, 1, 4)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.DATE, until=date(2026, 12, 29)), date(2027, 1, 4)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.DATE, until=date(2026, 12, 30)), date(2027, 1, 4)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.DATE, until=date(2026, 12, 31)), date(2027, 1, 4)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.DATE, until=date(2027, 1, 1)), date(2027, 1, 4)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.DATE, until=date(2027, 1, 2)), date(2027, 1, 4)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.DATE, until=date(2027, 1, 3)), date(2027, 1, 4)),
        (INTERVIEW, PromisedPeriod(PeriodUnit.DATE, until=date(2027, 1, 4)), date(2027, 1, 5)),
        (date(2026, 12, 21), PromisedPeriod(PeriodUnit.DAYS, 10), date(2027, 1, 4)),
    ],
)
def test_followup_day(interview: date, period: PromisedPeriod, expected: date) -> None:
    assert followup_day(interview, period) == expected


@pytest.mark.parametrize(
    ("interview", "due", "expected"),
    [
        (date(2026, 11, 25), date(2026, 12, 9), date(2026, 12, 2)),  # 14 days -> +7
        (date(2026, 11, 25), date(2026, 12, 10), date(2026, 12, 2)),  # 15 days -> +7
        (date(2026, 11, 25), date(2026, 11, 29), date(2026, 11, 27)),  # 4 days -> +2
        (date(2026, 11, 25), date(2026, 11, 30), date(2026, 11, 27)),  # 5 days -> +2
        (date(2026, 12, 20), date(2027, 1, 19), date(2027, 1, 4)),  # across the new year
        # The midpoint on a weekend or holiday moves to the next business day.
        (date(2026, 11, 24), date(2026, 12, 4), date(2026, 11, 30)),  # Sun 11/29 -> Mon
        (date(2026, 11, 9), date(2026, 12, 7), date(2026, 11, 24)),  # 勤労感謝の日 -> Tue
        (date(2026, 11, 26), date(2026, 12, 1), date(2026, 11, 30)),  # Sat 11/28 -> Mon
        # ... or back, when going forward would reach the promised day.
        (date(2026, 12, 25), date(2027, 1, 4), date(2026, 12, 28)),  # year-end break
        (date(2026, 12, 28), date(2027, 1, 1), None),  # no business day in between
        (date(2026, 11, 25), date(2026, 11, 28), None),  # 3 days: too short
        (date(2026, 11, 25), date(2026, 11, 26), None),
        (date(2026, 11, 25), date(2026, 11, 25), None),
        (date(2026, 11, 25), date(2026, 11, 1), None),  # due before the interview
    ],
)
def test_halfway_day(interview: date, due: date, expected: date | None) -> None:
    assert halfway_day(interview, due) == expected


@pytest.mark.parametrize(
    ("from_day", "business_days", "expected"),
    [
        (date(2026, 11, 25), None, date(2026, 11, 30)),  # default 3: Thu, Fri, Mon
        (date(2026, 11, 20), None, date(2026, 11, 26)),  # skips 勤労感謝の日
        (date(2026, 12, 28), 1, date(2027, 1, 4)),
        (date(2026, 12, 25), None, date(2027, 1, 5)),
        (date(2026, 4, 30), 5, date(2026, 5, 12)),
    ],
)
def test_recheck_day(from_day: date, business_days: int | None, expected: date) -> None:
    if business_days is None:
        assert recheck_day(from_day) == expected
    else:
        assert recheck_day(from_day, business_days) == expected


# --------------------------------------------------------------------------------------
# Local hours and time zones
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hour", "tz", "expected"),
    [
        (date(2026, 11, 25), 9, TOKYO, utc(2026, 11, 25, 0)),
        (date(2026, 11, 25), 0, TOKYO, utc(2026, 11, 24, 15)),
        (date(2026, 11, 25), 23, TOKYO, utc(2026, 11, 25, 14)),
        (date(2026, 11, 25), 9, "UTC", utc(2026, 11, 25, 9)),
        (date(2026, 11, 25), 9, NEW_YORK, utc(2026, 11, 25, 14)),  # EST, UTC-5
        (date(2026, 7, 1), 9, NEW_YORK, utc(2026, 7, 1, 13)),  # EDT, UTC-4
        # US DST starts 2026-03-08 at 02:00 local.
        (date(2026, 3, 7), 9, NEW_YORK, utc(2026, 3, 7, 14)),
        (date(2026, 3, 8), 9, NEW_YORK, utc(2026, 3, 8, 13)),
        (date(2026, 3, 8), 2, NEW_YORK, utc(2026, 3, 8, 7)),  # 02:00 does not exist: 03:00 EDT
        # US DST ends 2026-11-01 at 02:00 local.
        (date(2026, 10, 31), 9, NEW_YORK, utc(2026, 10, 31, 13)),
        (date(2026, 11, 1), 9, NEW_YORK, utc(2026, 11, 1, 14)),
        (date(2026, 11, 1), 1, NEW_YORK, utc(2026, 11, 1, 5)),  # ambiguous: the first 01:00
    ],
)
def test_at_local_hour(day: date, hour: int, tz: str, expected: datetime) -> None:
    result = at_local_hour(day, hour, tz)
    assert result == expected
    assert result.utcoffset() == timedelta(0)
    assert result.tzinfo is UTC


@pytest.mark.parametrize(("hour", "tz"), [(24, TOKYO), (-1, TOKYO), (9, "Mars/Olympus"), (9, "")])
def test_at_local_hour_rejects_bad_input(hour: int, tz: str) -> None:
    with pytest.raises(ValueError):
        at_local_hour(date(2026, 11, 25), hour, tz)


@pytest.mark.parametrize(
    "tz",
    [
        "Asia/" + "x" * 300,  # too long for the file system
        "x" * 300,
        "Asia",  # a folder of zones, not a zone
        "Asia/../Asia/Tokyo",
        "../etc/passwd",
        "Asia/To\x00kyo",
        "/etc/localtime",
        "Asia/Tokyo/",
        " ",
        "zone1970.tab",  # a data file beside the zones
    ],
)
def test_every_bad_time_zone_name_is_a_value_error(tz: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: at_local_hour(date(2026, 11, 25), 10, tz),
        lambda: local_today(utc(2026, 11, 25), tz),
        lambda: to_local(utc(2026, 11, 25), tz),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="unknown time zone"):
            call()
    assert not cal.is_time_zone(tz)


@pytest.mark.parametrize("tz", [TOKYO, NEW_YORK, "UTC", "Europe/London"])
def test_real_time_zones_are_time_zones(tz: str) -> None:
    assert cal.is_time_zone(tz)


@pytest.mark.parametrize(
    ("moment", "tz", "start", "end", "expected"),
    [
        # 22 -> 7 wraps midnight; Tokyo is UTC+9.
        (utc(2026, 11, 25, 12, 59), TOKYO, 22, 7, False),  # 21:59
        (utc(2026, 11, 25, 13, 0), TOKYO, 22, 7, True),  # 22:00
        (utc(2026, 11, 25, 15, 0), TOKYO, 22, 7, True),  # 00:00
        (utc(2026, 11, 25, 21, 59), TOKYO, 22, 7, True),  # 06:59
        (utc(2026, 11, 25, 22, 0), TOKYO, 22, 7, False),  # 07:00
        # One instant, three zones: 23:30 UTC is 08:30 Tokyo, 23:30 UTC, 18:30 New York.
        (utc(2026, 11, 25, 23, 30), TOKYO, 22, 7, False),
        (utc(2026, 11, 25, 23, 30), "UTC", 22, 7, True),
        (utc(2026, 11, 25, 23, 30), NEW_YORK, 22, 7, False),
        # A window that does not wrap: 13 -> 14.
        (utc(2026, 11, 25, 3, 59), TOKYO, 13, 14, False),  # 12:59
        (utc(2026, 11, 25, 4, 0), TOKYO, 13, 14, True),  # 13:00
        (utc(2026, 11, 25, 5, 0), TOKYO, 13, 14, False),  # 14:00
        # New York around DST: the same UTC time is 06:30 EST but 07:30 EDT.
        (utc(2026, 3, 7, 11, 30), NEW_YORK, 22, 7, True),  # 06:30 EST
        (utc(2026, 3, 8, 11, 30), NEW_YORK, 22, 7, False),  # 07:30 EDT
        (utc(2026, 10, 31, 11, 30), NEW_YORK, 22, 7, False),  # 07:30 EDT
        (utc(2026, 11, 1, 11, 30), NEW_YORK, 22, 7, True),  # 06:30 EST
        # No quiet hours.
        (utc(2026, 11, 25, 15, 0), TOKYO, None, None, False),
        (utc(2026, 11, 25, 15, 0), TOKYO, 22, None, False),
        (utc(2026, 11, 25, 15, 0), TOKYO, None, 7, False),
        (utc(2026, 11, 25, 15, 0), TOKYO, 0, 0, False),
        (utc(2026, 11, 25, 13, 0), TOKYO, 22, 22, False),
    ],
)
def test_in_quiet_hours(
    moment: datetime, tz: str, start: int | None, end: int | None, expected: bool
) -> None:
    assert in_quiet_hours(moment, tz, start, end) is expected


def test_in_quiet_hours_accepts_any_aware_offset() -> None:
    jst = timezone(timedelta(hours=9))
    assert in_quiet_hours(datetime(2026, 11, 25, 23, 0, tzinfo=jst), TOKYO, 22, 7) is True
    assert in_quiet_hours(datetime(2026, 11, 25, 21, 0, tzinfo=jst), TOKYO, 22, 7) is False


@pytest.mark.parametrize(
    ("moment", "tz", "start", "end", "expected"),
    [
        # Evening part of 22 -> 7: deferred to 07:00 the next local morning.
        (utc(2026, 11, 25, 13, 30), TOKYO, 22, 7, utc(2026, 11, 25, 22, 0)),
        # Small hours: deferred to 07:00 the same local day.
        (utc(2026, 11, 25, 18, 0), TOKYO, 22, 7, utc(2026, 11, 25, 22, 0)),
        (utc(2026, 11, 24, 21, 59), TOKYO, 22, 7, utc(2026, 11, 24, 22, 0)),
        # UTC user.
        (utc(2026, 11, 25, 23, 0), "UTC", 22, 7, utc(2026, 11, 26, 7, 0)),
        (utc(2026, 11, 26, 3, 0), "UTC", 22, 7, utc(2026, 11, 26, 7, 0)),
        # Non-wrapping window.
        (utc(2026, 11, 25, 4, 30), TOKYO, 13, 14, utc(2026, 11, 25, 5, 0)),
        # New York: the night DST starts is an hour shorter (ends 07:00 EDT = 11:00 UTC)...
        (utc(2026, 3, 8, 3, 30), NEW_YORK, 22, 7, utc(2026, 3, 8, 11, 0)),
        # ...and the night it ends is an hour longer (ends 07:00 EST = 12:00 UTC).
        (utc(2026, 11, 1, 3, 30), NEW_YORK, 22, 7, utc(2026, 11, 1, 12, 0)),
        # Quiet hours ending at a local hour that does not exist: 02:00 -> 03:00 EDT.
        (utc(2026, 3, 8, 5, 30), NEW_YORK, 0, 2, utc(2026, 3, 8, 7, 0)),
    ],
)
def test_defer_out_of_quiet_hours(
    moment: datetime, tz: str, start: int, end: int, expected: datetime
) -> None:
    result = defer_out_of_quiet_hours(moment, tz, start, end)
    assert result == expected
    assert result > moment
    assert in_quiet_hours(result, tz, start, end) is False


@pytest.mark.parametrize(
    ("moment", "tz", "start", "end"),
    [
        (utc(2026, 11, 25, 3, 0), TOKYO, 22, 7),  # 12:00, not quiet
        (utc(2026, 11, 25, 22, 0), TOKYO, 22, 7),  # exactly 07:00: already over
        (utc(2026, 11, 25, 15, 0), TOKYO, None, None),
        (utc(2026, 11, 25, 15, 0), TOKYO, 7, 7),
    ],
)
def test_defer_leaves_moment_outside_quiet_hours_unchanged(
    moment: datetime, tz: str, start: int | None, end: int | None
) -> None:
    assert defer_out_of_quiet_hours(moment, tz, start, end) is moment


@pytest.mark.parametrize(
    ("day", "hour", "tz", "start", "end", "expected"),
    [
        (date(2026, 11, 25), 9, TOKYO, 22, 7, utc(2026, 11, 25, 0)),
        (date(2026, 11, 25), 23, TOKYO, 22, 7, utc(2026, 11, 25, 22)),  # -> 07:00 on 11/26
        (date(2026, 11, 25), 6, TOKYO, 22, 7, utc(2026, 11, 24, 22)),  # -> 07:00 on 11/25
        (date(2026, 11, 25), 23, TOKYO, None, None, utc(2026, 11, 25, 14)),
        (date(2026, 3, 8), 6, NEW_YORK, 22, 7, utc(2026, 3, 8, 11)),  # 07:00 EDT
        (date(2026, 3, 7), 6, NEW_YORK, 22, 7, utc(2026, 3, 7, 12)),  # 07:00 EST
        (date(2026, 11, 25), 10, "UTC", 9, 17, utc(2026, 11, 25, 17)),
    ],
)
def test_schedule_at(
    day: date,
    hour: int,
    tz: str,
    start: int | None,
    end: int | None,
    expected: datetime,
) -> None:
    assert schedule_at(day, hour, tz, start, end) == expected


NAIVE = datetime(2026, 11, 25, 12, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: in_quiet_hours(NAIVE, TOKYO, 22, 7),
        lambda: in_quiet_hours(NAIVE, TOKYO, None, None),
        lambda: defer_out_of_quiet_hours(NAIVE, TOKYO, 22, 7),
        lambda: defer_out_of_quiet_hours(NAIVE, TOKYO, None, None),
        lambda: local_today(NAIVE, TOKYO),
        lambda: to_local(NAIVE, TOKYO),
    ],
    ids=["in_quiet", "in_quiet_none", "defer", "defer_none", "local_today", "to_local"],
)
def test_naive_datetimes_are_rejected(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="aware"):
        call()


@pytest.mark.parametrize(("start", "end"), [(24, 7), (22, -1), (25, 25)])
def test_quiet_hours_out_of_range(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="hour must be"):
        in_quiet_hours(utc(2026, 11, 25, 12), TOKYO, start, end)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 11, 25), date(2026, 12, 9), 14),
        (date(2026, 12, 9), date(2026, 11, 25), -14),
        (date(2026, 11, 25), date(2026, 11, 25), 0),
        (date(2028, 2, 28), date(2028, 3, 1), 2),
        (date(2026, 12, 31), date(2027, 1, 1), 1),
    ],
)
def test_days_between(start: date, end: date, expected: int) -> None:
    assert days_between(start, end) == expected


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        (utc(2026, 11, 25, 14, 59), TOKYO, date(2026, 11, 25)),
        (utc(2026, 11, 25, 15, 0), TOKYO, date(2026, 11, 26)),
        (utc(2026, 11, 25, 15, 0), "UTC", date(2026, 11, 25)),
        (utc(2026, 11, 25, 3, 0), NEW_YORK, date(2026, 11, 24)),
        (utc(2026, 11, 25, 5, 0), NEW_YORK, date(2026, 11, 25)),
        (utc(2026, 12, 31, 15, 0), TOKYO, date(2027, 1, 1)),
    ],
)
def test_local_today(now: datetime, tz: str, expected: date) -> None:
    assert local_today(now, tz) == expected


@pytest.mark.parametrize(
    ("moment", "tz", "wall_clock", "offset_hours"),
    [
        (utc(2026, 11, 25, 15, 0), TOKYO, datetime(2026, 11, 26, 0, 0), 9),
        (utc(2026, 11, 1, 5, 30), NEW_YORK, datetime(2026, 11, 1, 1, 30), -4),  # first 01:30
        (utc(2026, 11, 1, 6, 30), NEW_YORK, datetime(2026, 11, 1, 1, 30), -5),  # second 01:30
    ],
)
def test_to_local(moment: datetime, tz: str, wall_clock: datetime, offset_hours: int) -> None:
    local = to_local(moment, tz)
    assert local.replace(tzinfo=None) == wall_clock
    assert local.utcoffset() == timedelta(hours=offset_hours)
    # Compared via UTC: PEP 495 makes an ambiguous local time unequal to every other zone.
    assert local.astimezone(UTC) == moment
