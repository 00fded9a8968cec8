"""Unit tests for domain.parsing: dates, promised periods, contacts and free text."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

import domain.parsing as parsing
from domain.calendar import PeriodUnit, PromisedPeriod
from domain.parsing import (
    Contact,
    TextProblem,
    clean_text,
    dates,
    parse_contact,
    parse_date,
    parse_period,
)

TODAY = date(2026, 11, 25)  # a Wednesday
NEW_YEAR = date(2027, 1, 5)  # a Tuesday just after the year-end break

# --------------------------------------------------------------------------------------
# parse_date
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Relative words, kanji and kana.
        ("今日", date(2026, 11, 25)),
        ("きょう", date(2026, 11, 25)),
        ("昨日", date(2026, 11, 24)),
        ("きのう", date(2026, 11, 24)),
        ("一昨日", date(2026, 11, 23)),
        ("おととい", date(2026, 11, 23)),
        ("明日", date(2026, 11, 26)),
        ("あした", date(2026, 11, 26)),
        ("today", date(2026, 11, 25)),
        ("Today", date(2026, 11, 25)),
        ("yesterday", date(2026, 11, 24)),
        # Full numeric dates.
        ("2026-11-25", date(2026, 11, 25)),
        ("2026/11/25", date(2026, 11, 25)),
        ("2026.11.25", date(2026, 11, 25)),
        ("2026/1/5", date(2026, 1, 5)),
        ("2026年11月25日", date(2026, 11, 25)),
        ("2026 年 11 月 25 日", date(2026, 11, 25)),
        # Year-less numeric dates.
        ("11/25", date(2026, 11, 25)),
        ("11-25", date(2026, 11, 25)),
        ("11月25日", date(2026, 11, 25)),
        ("11/20", date(2026, 11, 20)),
        ("11月2日", date(2026, 11, 2)),
        # Weekday suffixes, Japanese or English, half- or full-width parentheses.
        ("11月25日(水)", date(2026, 11, 25)),
        ("11月25日（水）", date(2026, 11, 25)),
        ("11月25日(水曜日)", date(2026, 11, 25)),
        ("11月25日水曜日", date(2026, 11, 25)),
        ("11月25日 (Wed)", date(2026, 11, 25)),
        ("11月25日(Wed.)", date(2026, 11, 25)),
        ("11/25(水)", date(2026, 11, 25)),
        ("2026/11/25(水)", date(2026, 11, 25)),
        ("Nov 25 (Wed)", date(2026, 11, 25)),
        # English month names.
        ("Nov 25", date(2026, 11, 25)),
        ("25 Nov 2026", date(2026, 11, 25)),
        ("November 25, 2026", date(2026, 11, 25)),
        ("25 Nov 2025", date(2025, 11, 25)),
        # Full-width input from a Japanese keyboard.
        ("１１／２５", date(2026, 11, 25)),
        ("２０２６－１１－２５", date(2026, 11, 25)),
        ("１１月２５日（水）", date(2026, 11, 25)),
        ("  11/25  ", date(2026, 11, 25)),
        # Day of the month alone.
        ("25日", date(2026, 11, 25)),
        ("20日", date(2026, 11, 20)),
    ],
)
def test_parse_date_accepted_forms(text: str, expected: date) -> None:
    assert parse_date(text, TODAY, prefer="past") == expected


@pytest.mark.parametrize(
    ("text", "today", "prefer", "expected"),
    [
        # Today itself is acceptable both ways.
        ("11/25", TODAY, "past", date(2026, 11, 25)),
        ("11/25", TODAY, "future", date(2026, 11, 25)),
        ("Nov 25", TODAY, "future", date(2026, 11, 25)),
        ("11月25日", TODAY, "future", date(2026, 11, 25)),
        # Later this year in the past is last year; earlier in the future is next year.
        ("11/30", TODAY, "past", date(2025, 11, 30)),
        ("11/30", TODAY, "future", date(2026, 11, 30)),
        ("11/24", TODAY, "past", date(2026, 11, 24)),
        ("11/24", TODAY, "future", date(2027, 11, 24)),
        ("Nov 30", TODAY, "past", date(2025, 11, 30)),
        ("Dec 10", TODAY, "future", date(2026, 12, 10)),
        ("Dec 10", TODAY, "past", date(2025, 12, 10)),
        # Year boundary.
        ("12/28", NEW_YEAR, "past", date(2026, 12, 28)),
        ("12/28", NEW_YEAR, "future", date(2027, 12, 28)),
        ("12月28日", NEW_YEAR, "past", date(2026, 12, 28)),
        ("12月28日(月)", NEW_YEAR, "past", date(2026, 12, 28)),
        ("Dec 28", NEW_YEAR, "past", date(2026, 12, 28)),
        ("1/4", NEW_YEAR, "past", date(2027, 1, 4)),
        ("1/3", date(2026, 12, 28), "future", date(2027, 1, 3)),
        ("1月3日", date(2026, 12, 28), "future", date(2027, 1, 3)),
        ("12/31", date(2026, 12, 28), "future", date(2026, 12, 31)),
        ("昨日", date(2027, 1, 1), "past", date(2026, 12, 31)),
        ("明日", date(2026, 12, 31), "future", date(2027, 1, 1)),
        # A full date ignores prefer.
        ("2026-01-01", TODAY, "future", date(2026, 1, 1)),
        ("2027-01-01", TODAY, "past", date(2027, 1, 1)),
        # February 29 only exists in leap years.
        ("2/29", TODAY, "past", date(2024, 2, 29)),
        ("2/29", TODAY, "future", date(2028, 2, 29)),
        ("2028/2/29", TODAY, "past", date(2028, 2, 29)),
        # Day of the month alone: the nearest such day on the preferred side.
        ("10日", TODAY, "past", date(2026, 11, 10)),
        ("10日", TODAY, "future", date(2026, 12, 10)),
        ("31日", TODAY, "past", date(2026, 10, 31)),
        ("31日", TODAY, "future", date(2026, 12, 31)),
        ("30日", date(2027, 3, 1), "past", date(2027, 1, 30)),
        # dateparser's relative expressions that carry a direction.
        ("3日前", TODAY, "past", date(2026, 11, 22)),
        ("3 days ago", TODAY, "past", date(2026, 11, 22)),
        ("明後日", TODAY, "future", date(2026, 11, 27)),
        ("あさって", TODAY, "future", date(2026, 11, 27)),
        ("tomorrow", TODAY, "future", date(2026, 11, 26)),
        ("in 3 days", TODAY, "future", date(2026, 11, 28)),
    ],
)
def test_parse_date_prefer_and_year_boundaries(
    text: str, today: date, prefer: parsing.Prefer, expected: date
) -> None:
    assert parse_date(text, today, prefer=prefer) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\t",
        "🙂",
        "🙂🙂🙂",
        "abc",
        "hello world",
        "x" * 10_000,
        "1" * 10_000,
        "今日" * 5_000,
        "x" * 65,
        "?",
        "-",
        "/",
        # Impossible dates.
        "2/30",
        "13/1",
        "0/10",
        "11/0",
        "11/32",
        "2月30日",
        "2026-02-29",
        "2026-02-30",
        "2026/13/01",
        "2026年2月30日",
        "0000-01-01",
        "32日",
        "0日",
        # Not a whole day.
        "5",
        "2026",
        "11月",
        "2026年11月",
        "nov",
        "1700000000",
        # Durations without a direction are not dates.
        "10 days",
        "2 weeks",
        "2週間",
        "1ヶ月",
        "1週間~10日",
        "3 days 2 weeks",
        "来月25日",
    ],
)
@pytest.mark.parametrize("prefer", ["past", "future"])
def test_parse_date_rejects(text: str, prefer: parsing.Prefer) -> None:
    assert parse_date(text, TODAY, prefer=prefer) is None


def test_long_input_never_reaches_dateparser(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object) -> object:
        raise AssertionError("dateparser must not be called")

    monkeypatch.setattr(dates, "_date_parser", boom)
    assert parse_date("tomorrow " * 2_000, TODAY, prefer="future") is None
    assert parse_date("x" * 10_000, TODAY, prefer="past") is None
    assert parse_period("x" * 10_000, TODAY) is None
    # Numeric forms are hand-parsed and never need it either.
    assert parse_date("11/25", TODAY, prefer="past") == date(2026, 11, 25)
    assert parse_date("2026年11月25日", TODAY, prefer="past") == date(2026, 11, 25)


def test_dateparser_crash_becomes_none(monkeypatch: pytest.MonkeyPatch) -> None:
    class Exploding:
        def get_date_data(self, _text: str) -> object:
            raise RuntimeError("boom")

    monkeypatch.setattr(dates, "_date_parser", lambda *_args: Exploding())
    assert parse_date("tomorrow", TODAY, prefer="future") is None
    assert parse_date("Nov 25", TODAY, prefer="past") is None


def test_dateparser_instance_is_cached_per_day() -> None:
    first = dates._date_parser(TODAY, "past", "MDY")
    assert dates._date_parser(TODAY, "past", "MDY") is first
    assert dates._date_parser(NEW_YEAR, "past", "MDY") is not first


def test_importing_parsing_does_not_import_dateparser() -> None:
    code = "import sys, domain.parsing; print('dateparser' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


# --------------------------------------------------------------------------------------
# parse_period
# --------------------------------------------------------------------------------------

DAYS = PeriodUnit.DAYS
BDAYS = PeriodUnit.BUSINESS_DAYS
WEEKS = PeriodUnit.WEEKS
MONTHS = PeriodUnit.MONTHS


@pytest.mark.parametrize(
    ("text", "unit", "amount"),
    [
        # Weeks.
        ("1週間", WEEKS, 1),
        ("2週間", WEEKS, 2),
        ("二週間", WEEKS, 2),
        ("一週間", WEEKS, 1),
        ("2週", WEEKS, 2),
        ("２週間", WEEKS, 2),
        ("2週間以内", WEEKS, 2),
        ("1週間後", WEEKS, 1),
        ("2週間くらい", WEEKS, 2),
        ("2週間ぐらい", WEEKS, 2),
        ("2週間程度", WEEKS, 2),
        ("約2週間", WEEKS, 2),
        ("2週間後くらい", WEEKS, 2),
        ("二十一週間", WEEKS, 21),
        ("52週間", WEEKS, 52),
        # Days.
        ("10日", DAYS, 10),
        ("十日", DAYS, 10),
        ("3日", DAYS, 3),
        ("三日", DAYS, 3),
        ("十四日", DAYS, 14),
        ("二十日", DAYS, 20),
        ("十一日", DAYS, 11),
        ("九十九日", DAYS, 99),
        ("10日間", DAYS, 10),
        ("10日以内", DAYS, 10),
        ("10日以内に", DAYS, 10),
        ("１０日以内。", DAYS, 10),
        ("10日後", DAYS, 10),
        ("10日くらい", DAYS, 10),
        ("10日ぐらい", DAYS, 10),
        ("10日程度", DAYS, 10),
        ("10日ほどで", DAYS, 10),
        ("365日", DAYS, 365),
        # Business days.
        ("5営業日", BDAYS, 5),
        ("五営業日", BDAYS, 5),
        ("5営業日以内", BDAYS, 5),
        ("5営業日以内に", BDAYS, 5),
        ("3営業日程度", BDAYS, 3),
        ("250営業日", BDAYS, 250),
        # Months.
        ("1ヶ月", MONTHS, 1),
        ("1か月", MONTHS, 1),
        ("1カ月", MONTHS, 1),
        ("1ケ月", MONTHS, 1),
        ("1ヵ月", MONTHS, 1),
        ("1ｹ月", MONTHS, 1),
        ("ひと月", MONTHS, 1),
        ("ひと月くらい", MONTHS, 1),
        ("一ヶ月", MONTHS, 1),
        ("一ヶ月以内", MONTHS, 1),
        ("2ヶ月後", MONTHS, 2),
        ("三か月程度", MONTHS, 3),
        ("12ヶ月", MONTHS, 12),
        # Ranges: the later end counts.
        ("1〜2週間", WEEKS, 2),
        ("1~2週間程度", WEEKS, 2),
        ("１～２週間", WEEKS, 2),
        ("3-5営業日", BDAYS, 5),
        ("7〜10日", DAYS, 10),
        ("7-10 days", DAYS, 10),
        # English.
        ("2 weeks", WEEKS, 2),
        ("1 week", WEEKS, 1),
        ("a week", WEEKS, 1),
        ("two weeks", WEEKS, 2),
        ("10 days", DAYS, 10),
        ("within 10 days", DAYS, 10),
        ("about 2 weeks", WEEKS, 2),
        ("in 2 weeks", WEEKS, 2),
        ("2 weeks or so", WEEKS, 2),
        ("5 business days", BDAYS, 5),
        ("5 working days", BDAYS, 5),
        ("1 business day", BDAYS, 1),
        ("1 month", MONTHS, 1),
        ("a month", MONTHS, 1),
        ("2 Months", MONTHS, 2),
    ],
)
def test_parse_period_counted(text: str, unit: PeriodUnit, amount: int) -> None:
    assert parse_period(text, TODAY) == PromisedPeriod(unit, amount)


@pytest.mark.parametrize(
    "text",
    [
        "言われていない",
        "言われてない",
        "言われていません",
        "言われなかった",
        "特に言われていない",
        "何も言われてない",
        "聞いていない",
        "聞いてない",
        "聞いていません",
        "不明",
        "なし",
        "特になし",
        "無し",
        "わからない",
        "分からない",
        "わかりません",
        "未定",
        "不明です",
        "なし。",
        "not told",
        "Not told.",
        "wasn't told",
        "unknown",
        "Unknown",
        "no idea",
        "don't know",
    ],
)
def test_parse_period_unspecified(text: str) -> None:
    assert parse_period(text, TODAY) == PromisedPeriod(PeriodUnit.UNSPECIFIED)


@pytest.mark.parametrize(
    ("text", "until"),
    [
        ("12/10", date(2026, 12, 10)),
        ("12月10日", date(2026, 12, 10)),
        ("12月10日(木)", date(2026, 12, 10)),
        ("2026-12-10", date(2026, 12, 10)),
        ("2026/12/10", date(2026, 12, 10)),
        ("2026年12月10日", date(2026, 12, 10)),
        ("Dec 10", date(2026, 12, 10)),
        ("10 Dec 2026", date(2026, 12, 10)),
        ("明日", date(2026, 11, 26)),
        ("今日", date(2026, 11, 25)),
        # Year-less dates lean to the future.
        ("11/24", date(2027, 11, 24)),
        ("1/15", date(2027, 1, 15)),
        ("11/25", date(2026, 11, 25)),
        # "by" / "まで" name a deadline, so "10日まで" is the 10th, not 10 days.
        ("12月10日まで", date(2026, 12, 10)),
        ("12月10日までに", date(2026, 12, 10)),
        ("12/10くらい", date(2026, 12, 10)),
        ("10日まで", date(2026, 12, 10)),
        ("30日までに", date(2026, 11, 30)),
        ("by Dec 10", date(2026, 12, 10)),
        ("until 12/10", date(2026, 12, 10)),
    ],
)
def test_parse_period_date(text: str, until: date) -> None:
    assert parse_period(text, TODAY) == PromisedPeriod(PeriodUnit.DATE, until=until)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙂",
        "👍🏽",
        "x" * 10_000,
        "2週間" * 100,
        "abc",
        "soon",
        # Zero and absurd amounts.
        "0日",
        "0週間",
        "0 days",
        "0営業日",
        "999週間",
        "53週間",
        "366日",
        "13ヶ月",
        "251営業日",
        "1000 days",
        # Impossible or incomplete dates.
        "2/30",
        "13/1",
        "2/30まで",
        "1月",
        "一月",
        # Not a number we understand.
        "十十日",
        "3〜1週間",
        "1週間~10日",
        "二、三日",
        "来週",
        "まで",
    ],
)
def test_parse_period_rejects(text: str) -> None:
    assert parse_period(text, TODAY) is None


# --------------------------------------------------------------------------------------
# parse_contact
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("applicant@example.com", Contact("email", "applicant@example.com")),
        ("Applicant@Example.COM", Contact("email", "Applicant@example.com")),
        ("applicant.a+jobs@example.co.jp", Contact("email", "applicant.a+jobs@example.co.jp")),
        ("ａｐｐｌｉｃａｎｔ＠ｅｘａｍｐｌｅ．ｃｏｍ", Contact("email", "applicant@example.com")),
        ("  saiyo@example.jp  ", Contact("email", "saiyo@example.jp")),
        ("03-1234-5678", Contact("phone", "03-1234-5678")),
        ("0312345678", Contact("phone", "03-1234-5678")),
        ("(03) 1234-5678", Contact("phone", "03-1234-5678")),
        ("０３－１２３４－５６７８", Contact("phone", "03-1234-5678")),
        ("03ー1234ー5678", Contact("phone", "03-1234-5678")),
        ("03−1234−5678", Contact("phone", "03-1234-5678")),
        ("090-1234-5678", Contact("phone", "090-1234-5678")),
        ("09012345678", Contact("phone", "090-1234-5678")),
        ("090 1234 5678", Contact("phone", "090-1234-5678")),
        ("+81 90-1234-5678", Contact("phone", "090-1234-5678")),
        ("+819012345678", Contact("phone", "090-1234-5678")),
        ("+81-3-1234-5678", Contact("phone", "03-1234-5678")),
        ("06-6123-4567", Contact("phone", "06-6123-4567")),
        ("0120-123-456", Contact("phone", "0120-123-456")),
        ("050-1234-5678", Contact("phone", "050-1234-5678")),
        # A foreign number keeps its country code.
        ("+1 202-555-0143", Contact("phone", "+1 202-555-0143")),
    ],
)
def test_parse_contact(text: str, expected: Contact) -> None:
    assert parse_contact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙂",
        "abc",
        "a@b",
        "foo@",
        "@example.com",
        "a@@example.com",
        "applicant @example.com",
        "user@localhost",
        "x" * 10_000 + "@example.com",
        "12345",
        "03-1234-567",
        "011-123-4567",
        "call 03-1234-5678",
        "0120-ABC-DEF",
        "03-1234-5678 ext. 12",
        "03-1234-5678 / 03-9876-5432",
        "2026/11/25",
    ],
)
def test_parse_contact_rejects(text: str) -> None:
    assert parse_contact(text) is None


# --------------------------------------------------------------------------------------
# clean_text
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "max_len", "expected"),
    [
        ("株式会社サンプル", 50, "株式会社サンプル"),
        ("  hello   world  ", 50, "hello world"),
        ("a\t\tb", 50, "a b"),
        ("a\tb", 50, "a\tb"),  # a single tab stays as typed
        ("\u3000全角\u3000\u3000スペース\u3000", 50, "全角 スペース"),
        ("ＡＢＣ１２３", 50, "ＡＢＣ１２３"),  # not NFKC-normalised
        ("line one  \n  line   two", 50, "line one\nline two"),
        ("para\n\npara", 50, "para\n\npara"),
        ("a\r\nb\rc", 50, "a\nb\nc"),
        ("ありがとう🙏", 50, "ありがとう🙏"),
        ("x\u200dy", 50, "x\u200dy"),  # zero-width joiner is not a control character
        # Length is counted in code points after NFC, as the database's VARCHAR counts.
        ("abcde", 5, "abcde"),
        ("\u304b\u3099" * 5, 5, "が" * 5),  # a decomposed が is composed first
        ("あいうえお", 5, "あいうえお"),
        ("🙂🙂🙂🙂🙂", 5, "🙂🙂🙂🙂🙂"),
        ("👍🏽👨\u200d👩\u200d👧🇯🇵", 9, "👍🏽👨\u200d👩\u200d👧🇯🇵"),
        # Invisible reordering and zero-width marks go; what emoji sequences need stays.
        ("\u202e株式会社\u202c", 50, "株式会社"),
        ("\u2066サンプル\u2069\u200b商事", 50, "サンプル商事"),
        ("\ufeff\u200e田中\u200f", 50, "田中"),
        ("❤\ufe0f👨\u200d💻", 50, "❤\ufe0f👨\u200d💻"),
        ("a\u200b" * 5, 5, "aaaaa"),  # stripped before counting
        ("  abcde  ", 5, "abcde"),  # strip happens before counting
        ("a     b", 3, "a b"),  # so does collapsing
    ],
)
def test_clean_text_accepts(text: str, max_len: int, expected: str) -> None:
    assert clean_text(text, max_len) == expected


@pytest.mark.parametrize(
    ("text", "max_len", "problem"),
    [
        ("", 10, TextProblem.EMPTY),
        ("   ", 10, TextProblem.EMPTY),
        ("\n\t \u3000", 10, TextProblem.EMPTY),
        ("abcdef", 5, TextProblem.TOO_LONG),
        ("あいうえおか", 5, TextProblem.TOO_LONG),
        ("👍🏽👨\u200d👩\u200d👧🇯🇵", 8, TextProblem.TOO_LONG),
        ("\u200b\u202e\ufeff", 10, TextProblem.EMPTY),
        ("x" * 10_000, 500, TextProblem.TOO_LONG),
        ("a\x00b", 10, TextProblem.CONTROL_CHARS),
        ("a\x07b", 10, TextProblem.CONTROL_CHARS),
        ("a\x1bb", 10, TextProblem.CONTROL_CHARS),
        ("a\x7fb", 10, TextProblem.CONTROL_CHARS),
        ("a\x85b", 10, TextProblem.CONTROL_CHARS),
        ("a\x0bb", 10, TextProblem.CONTROL_CHARS),
        ("a\ud800b", 10, TextProblem.CONTROL_CHARS),
        ("\x00", 10, TextProblem.CONTROL_CHARS),
    ],
)
def test_clean_text_rejects(text: str, max_len: int, problem: TextProblem) -> None:
    assert clean_text(text, max_len) is problem


def test_text_problem_values() -> None:
    assert [p.value for p in TextProblem] == ["empty", "too_long", "control_chars", "no_words"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("🍣🎉", TextProblem.NO_WORDS),
        ("!!!", TextProblem.NO_WORDS),
        ("株式会社🍣", "株式会社🍣"),
        ("3M", "3M"),
    ],
)
def test_clean_text_can_require_a_word(text: str, expected: object) -> None:
    assert clean_text(text, 50, need_word=True) == expected
    assert clean_text(text, 50) == text
