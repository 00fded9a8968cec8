"""A day and a time as users type them, for a round recorded ahead."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.parsing import parse_moment

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12/10 14:00", datetime(2026, 12, 10, 14, 0)),
        ("12月10日14時", datetime(2026, 12, 10, 14, 0)),
        ("12月10日 14時30分", datetime(2026, 12, 10, 14, 30)),
        ("１２／１０　１４：００", datetime(2026, 12, 10, 14, 0)),
        ("明日 10時半", datetime(2026, 11, 26, 10, 30)),
        ("12/10 午後2時", datetime(2026, 12, 10, 14, 0)),
        ("12/10 2pm", datetime(2026, 12, 10, 14, 0)),
        ("12月10日(木) 9:00", datetime(2026, 12, 10, 9, 0)),
        # The nearest such day: five days ago, for the caller to refuse, not next year.
        ("11/20 14:00", datetime(2026, 11, 20, 14, 0)),
        ("1/5 10:00", datetime(2027, 1, 5, 10, 0)),
    ],
)
def test_a_day_and_a_time_are_read(typed: str, expected: datetime) -> None:
    assert parse_moment(typed, TODAY) == expected


@pytest.mark.parametrize(
    "typed", ["12/10", "14:00", "12/10 14", "12/10 25:00", "12/10 午後13時", ""]
)
def test_a_day_without_a_time_or_an_impossible_time_is_not_a_moment(typed: str) -> None:
    assert parse_moment(typed, TODAY) is None
