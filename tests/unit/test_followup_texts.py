"""The follow-up texts read as their recipient reads them: a recruiter, a receptionist, an agent."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.protocol import CopyItem
from handlers import followup_texts as texts
from handlers.context import Context
from messages.catalog import load_catalog
from storage.models import Interview, User

CATALOG = load_catalog()
COMPANY = "株式会社サンプル"
# 10:00 in Tokyo on Thu 12/10, the first business day after the promised Wed 12/9.
FOLLOWUP_AT = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
CUSHIONS = ("お手数ですが", "恐れ入りますが", "恐縮ですが", "ご多忙", "ご多用", "差し支えなければ")
PROMISE_WORDS = ("約束", "以内", "伺って", "promised", "within", "I was told")


def _context(
    *,
    locale: str = "ja",
    name: str | None = "応募者A",
    phone: str | None = "090-1234-5678",
    email: str | None = "applicant@example.jp",
    now: datetime = FOLLOWUP_AT,
    **fields: Any,
) -> tuple[Context, Interview]:
    user = User(
        channel="console",
        external_id="u1",
        display_name=name,
        phone=phone,
        email=email,
        locale=locale,
        timezone="Asia/Tokyo",
        reminder_hour=10,
        quiet_start=22,
        quiet_end=8,
        recent_tips={},
    )
    values: dict[str, Any] = {
        "company": COMPANY,
        "interview_date": date(2026, 11, 25),
        "stage": "second",
        "promised": "weeks:2",
        "contact_method": "email",
        "interviewer_name": "人事部 採用担当",
        "interviewer_contact": "saiyo@example.co.jp",
        "position": None,
        "department": None,
        "applied_via": None,
        "agent_name": None,
        "agent_contact": None,
        "first_followup_on": None,
        "followed_count": 0,
    }
    values.update(fields)
    interview = Interview(**values)
    ctx = Context(uow=None, user=user, catalog=CATALOG, now=now, dialogue=None)  # type: ignore[arg-type]
    return ctx, interview


def _items(template: str = "followup", **kw: Any) -> dict[str, str]:
    ctx, interview = _context(**kw)
    return {
        part: item.text
        for part, item in zip(
            texts.COPY_PARTS, texts.copy_items(ctx, interview, template), strict=True
        )
    }


def _all_text(items: dict[str, str]) -> str:
    return "\n".join(items.values())


# --- whom it is addressed to -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "written", "spoken"),
    [
        ("田中", "田中様", "田中様"),
        ("田中さん", "田中様", "田中様"),
        ("田中 様", "田中様", "田中様"),
        ("田中様様", "田中様", "田中様"),
        # A role is not a name: the department it names gets its line, the role the generic form.
        ("人事部 採用担当", "人事部\n採用ご担当者様", "人事部の採用ご担当の方"),
        ("採用担当さん", "採用ご担当者様", "採用ご担当の方"),
        ("人事部 田中", "人事部 田中様", "人事部 田中様"),
        ("様", "採用ご担当者様", "採用ご担当の方"),
        ("  ", "採用ご担当者様", "採用ご担当の方"),
        (None, "採用ご担当者様", "採用ご担当の方"),
    ],
)
def test_the_addressee_gets_exactly_one_honorific(
    typed: str | None, written: str, spoken: str
) -> None:
    ctx, interview = _context(interviewer_name=typed)
    assert texts.to_written(ctx, interview) == f"{COMPANY}\n{written}"
    assert texts.to_spoken(ctx, interview) == spoken


def test_a_department_typed_in_both_answers_is_written_once() -> None:
    ctx, interview = _context(interviewer_name="人事部 田中さん", department="人事部")
    assert texts.to_written(ctx, interview) == f"{COMPANY}\n人事部\n田中様"
    assert texts.to_spoken(ctx, interview) == "人事部の田中様"


def test_a_known_department_is_its_own_line_and_named_on_the_phone() -> None:
    ctx, interview = _context(interviewer_name=None, department="人事部")
    assert texts.to_written(ctx, interview) == f"{COMPANY}\n人事部\n採用ご担当者様"
    assert texts.to_spoken(ctx, interview) == "人事部の採用ご担当の方"


def test_english_names_keep_their_own_letters() -> None:
    ctx, interview = _context(locale="en", interviewer_name="Hassan")
    assert texts.to_written(ctx, interview) == "Hassan"
    interview.interviewer_name = "Tanaka-san"
    assert texts.to_written(ctx, interview) == "Tanaka"


# --- the follow-up email, as the recruiter reads it -------------------------------------------


def test_the_followup_email_reads_as_a_recruiter_expects() -> None:
    items = _items(position="営業職")
    body = items["email_body"]
    assert items["email_subject"] == "11月25日(水)の二次面接の選考結果について（応募者A）"
    assert body.startswith(f"{COMPANY}\n人事部\n採用ご担当者様\n\nお世話になっております。")
    assert "いつも" not in body, "いつも is for people one deals with regularly"
    assert "11月25日(水)に営業職の二次面接を受けさせていただきました、応募者Aと申します。" in body
    assert "選考結果は2週間以内にご連絡をいただけると伺っておりました" in body
    assert sum(body.count(c) for c in CUSHIONS) == 1, "one cushion phrase is polite; more grovels"
    assert "幸いです" in body and "助かります" not in _all_text(items)
    assert body.endswith(
        "――――――――――――――\n応募者A\n電話: 090-1234-5678\nメール: applicant@example.jp\n――――――――――――――"
    )
    assert "090-1234-5678までお電話" in items["phone_script"]


def test_no_text_is_doubled_or_broken_whatever_is_missing() -> None:
    items = _items(name=None, phone=None, email=None, interviewer_name="様様", position=None)
    everything = _all_text(items)
    assert items["email_subject"] == "11月25日(水)の二次面接の選考結果について（〇〇）"
    assert "（（" not in everything and "様様" not in everything and "さん様" not in everything
    assert "〇〇と申します" in everything
    assert "電話: 〇〇〇-〇〇〇〇-〇〇〇〇\nメール: 〇〇〇@〇〇〇" in items["email_body"]
    assert "〇〇〇-〇〇〇〇-〇〇〇〇までお電話" in items["phone_script"]
    assert "{" not in everything and "の二次面接を" not in everything


@pytest.mark.parametrize("template", ["followup", "recheck", "agent", "offer"])
@pytest.mark.parametrize("locale", ["ja", "en"])
def test_every_template_is_filled_completely(locale: str, template: str) -> None:
    items = _items(template, locale=locale, company="Sample Co., Ltd.", promised="none")
    everything = _all_text(items)
    assert "{" not in everything and "}" not in everything
    assert ".." not in everything, "Co., Ltd. must not gain a second period"
    assert all(text and not text.startswith("\n") for text in items.values())
    if template != "agent":
        assert "いつも" not in everything, "mails to a company do not start with いつも"


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("template", ["followup", "recheck", "agent"])
def test_nothing_promised_means_no_promise_is_claimed(locale: str, template: str) -> None:
    items = _items(template, locale=locale, promised="none")
    everything = _all_text(items)
    assert not [w for w in PROMISE_WORDS if w in everything], everything
    if template != "recheck":
        assert ("2週間以上" in everything) or ("over 2 weeks" in everything)


@pytest.mark.parametrize(
    ("days", "ja", "en"),
    [(10, "10日", "10 days"), (14, "2週間", "2 weeks"), (15, "2週間以上", "over 2 weeks")],
)
def test_elapsed_time_reads_naturally(days: int, ja: str, en: str) -> None:
    ctx, _ = _context()
    assert texts.elapsed(ctx, days) == ja
    ctx_en, _ = _context(locale="en")
    assert texts.elapsed(ctx_en, days) == en
    assert texts.elapsed(ctx_en, 1) == "1 day"


def test_the_recheck_names_the_day_of_the_first_followup() -> None:
    items = _items("recheck", first_followup_on=date(2026, 12, 10), followed_count=1)
    assert "12月10日(木)に、選考の状況についてご連絡を差し上げましたが" in items["email_body"]
    assert "12月10日(木)に、選考結果の件でご連絡いたしましたが" in items["phone_script"]
    unknown = _items("recheck")
    assert "先日、選考の状況について" in unknown["email_body"]
    assert "先日に" not in _all_text(unknown)


def test_an_agent_is_greeted_as_someone_the_user_works_with() -> None:
    items = _items("agent", applied_via="agent", agent_name="担当さん", position="営業職")
    assert items["email_body"].startswith("担当様\n\nいつもお世話になっております。応募者Aです。")
    assert f"{COMPANY}様の営業職の二次面接" in items["email_body"]
    assert f"{COMPANY}様に選考の状況をご確認いただけますと幸いです" in items["email_body"]
    generic = _items("agent", applied_via="agent")
    assert generic["email_body"].startswith("ご担当者様\n")


def test_the_english_followup_reads_naturally() -> None:
    items = _items(locale="en", name="Applicant A", interviewer_name="Tanaka-san")
    body = items["email_body"]
    assert items["email_subject"] == (
        "Following up on my second interview on Wed, Nov 25 (Applicant A)"
    )
    assert body.startswith("Dear Tanaka,\n\nMy name is Applicant A, and I had the second")
    assert "I was told I would hear about the result within 2 weeks." in body
    assert re.search(r"Best regards,\n--\nApplicant A\nPhone: 090-1234-5678\n", body)
    assert "put me through to Tanaka, please?" in items["phone_script"]
    role = _items(locale="en", name="Applicant A", interviewer_name="Recruiter")
    # A role is not a name: the generic salutation.
    assert role["email_body"].startswith("Dear Hiring Team,\n")


# --- where to send it -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "line"),
    [
        ("saiyo@example.co.jp", "送り先: saiyo@example.co.jp"),
        ("03-1234-5678", "電話番号: 03-1234-5678"),
        (None, None),
        ("  ", None),
    ],
)
def test_a_contact_is_labelled_by_what_it_is(contact: str | None, line: str | None) -> None:
    ctx, _ = _context()
    assert texts.contact_line(ctx, contact) == line


def test_a_phone_result_puts_the_phone_script_first() -> None:
    ctx, interview = _context(contact_method="phone")
    order = texts.parts_order(interview)
    items: tuple[CopyItem, ...] = texts.copy_items(ctx, interview, "followup", order)
    assert [i.label for i in items] == ["📞 電話の台本", "✉️ メールの件名", "✉️ メールの本文"]


@pytest.mark.parametrize("template", ["followup", "recheck", "agent", "offer"])
@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("promised", ["weeks:2", "none"])
def test_filling_only_the_fields_a_template_uses_gives_the_same_texts(
    locale: str, template: str, promised: str
) -> None:
    ctx, interview = _context(
        locale=locale, promised=promised, applied_via="agent", agent_name="佐藤さん"
    )
    every = texts.fields(ctx, interview)
    for part, item in zip(
        texts.COPY_PARTS, texts.copy_items(ctx, interview, template), strict=True
    ):
        assert item.text == ctx.t(f"templates.{template}.{part}", **every).strip("\n")
