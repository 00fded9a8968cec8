"""The promised day on Telegram: the reminder dispatcher pushes through the real library."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from handlers import planning
from handlers.context import Context
from storage.models import Interview, Reminder, ReminderKind, ReminderState
from tests.channels.copied import filled_templates, pasted
from tests.channels.telegram.support import (
    Telegram,
    TelegramChat,
    onboard,
    register_interview,
    user_row,
)
from tests.fakes.telegram_api import FakeTelegramAPI, Sent
from tests.support import ManualClock


@pytest.fixture
async def aoi(fake: FakeTelegramAPI, app: Renraku) -> TelegramChat:
    chat = Telegram(fake, app).chat(1001)
    await onboard(app, chat, "応募者A")
    await register_interview(app, chat, "株式会社ミライ")
    return chat


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def _reminders(app: Renraku) -> list[Reminder]:
    async with app.uow() as uow:
        return list((await uow.session.scalars(select(Reminder).order_by(Reminder.due_at))).all())


async def _followup_day(app: Renraku, clock: ManualClock) -> Reminder:
    followup = next(r for r in await _reminders(app) if r.kind == ReminderKind.FOLLOWUP.value)
    clock.set(followup.due_at)
    assert app.dispatcher is not None
    await app.dispatcher.run_due()
    return followup


async def test_the_promised_day_brings_copy_buttons_and_code_blocks(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    before = len(fake.messages(aoi.id))
    await _followup_day(app, clock)

    pushed = fake.messages(aoi.id)[before:]
    copies = [b["copy_text"]["text"] for m in pushed for b in m.copy_buttons()]
    assert copies, [m.text for m in pushed]
    assert all(1 <= len(text.encode("utf-16-le")) // 2 <= 256 for text in copies)
    shown = "\n".join(m.text for m in pushed)
    assert "株式会社ミライ" in shown and "応募者A" in shown
    # Whatever was too long for a button is a code block, which copies on a tap.
    long_blocks = [m for m in pushed if "<pre>" in m.raw]
    assert long_blocks or all(len(c) <= 256 for c in copies)
    data = [b["callback_data"] for m in pushed for b in m.callback_buttons()]
    assert data and all(1 <= len(d.encode()) <= 64 for d in data)
    sent = {r.kind: r.state for r in await _reminders(app)}
    assert sent[ReminderKind.FOLLOWUP.value] == ReminderState.SENT.value


async def test_every_block_of_the_follow_up_copies_whole_with_one_tap_per_part(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    before = len(fake.messages(aoi.id))
    await _followup_day(app, clock)
    pushed = fake.messages(aoi.id)[before:]

    templates = await filled_templates(app, "telegram", str(aoi.id), clock())
    subject, body, phone = templates.values()
    assert utf16(subject) <= 256 < min(utf16(body), utf16(phone))
    buttons = [(b["text"], b["copy_text"]["text"]) for m in pushed for b in m.copy_buttons()]
    parts = pasted(buttons)
    # The subject is one button; the body and the phone script are numbered parts which,
    # pasted one after another, are the whole templates.
    assert {label: "".join(texts) for label, texts in parts.items()} == templates
    subject_label, body_label, phone_label = templates
    assert parts[subject_label] == [subject]
    assert len(parts[body_label]) > 1 and len(parts[phone_label]) > 1
    assert all(1 <= utf16(text) <= 256 for _, text in buttons)
    # Each block's buttons sit under the message that shows the block, as a code block.
    for label, text in templates.items():
        [shown] = [m for m in pushed if text in m.text]
        assert {b["text"] for b in shown.copy_buttons()} >= {
            name for name, _ in buttons if name.startswith(label)
        }
    assert sum(m.raw.count("<pre>") for m in pushed) >= 2


async def test_the_follow_up_is_two_messages_the_texts_to_copy_then_what_to_do(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    before = len(fake.messages(aoi.id))
    await _followup_day(app, clock)
    pushed = fake.messages(aoi.id)[before:]

    # Each message is a buzz on the phone and 1/30 s of the bot's bulk budget: the checks ride
    # with the texts to copy, and the buttons of what happened next come last.
    assert len(pushed) == 2, [m.text for m in pushed]
    material, actions = pushed
    assert "約束の日" in material.text and "迷惑メールフォルダ" in material.text
    assert material.text.index("迷惑メールフォルダ") < material.text.index("メールの件名")
    assert material.copy_buttons() and not material.callback_buttons()
    labels = [b["text"] for b in actions.callback_buttons()]
    assert "フォローした" in labels and not actions.copy_buttons()
    # The button the first message points to is the one under the second.
    assert "下の「結果が来た」を押してください" in material.text and "結果が来た" in labels


async def test_pressing_a_reminder_button_keeps_its_copy_buttons(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    before = len(fake.messages(aoi.id))
    await _followup_day(app, clock)
    pushed = fake.messages(aoi.id)[before:]
    [material] = [m for m in pushed if m.copy_buttons()]
    target = next(m for m in pushed if m.callback_buttons())
    copy_buttons = material.copy_buttons()
    await aoi.press_data(target.callback_buttons()[0]["callback_data"], message=target)
    # The pressed message's choices are spent; the texts to copy stay copyable.
    assert target.callback_buttons() == []
    assert material.copy_buttons() == copy_buttons and len(copy_buttons) >= 3


async def test_a_user_who_blocked_the_bot_gets_no_more_pushes(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    fake.blocked_users.add(aoi.id)  # blocked without Telegram telling the bot yet
    await _followup_day(app, clock)
    user = await user_row(app, aoi.id)
    assert user is not None and user.active is False
    states = {r.kind: r.state for r in await _reminders(app)}
    assert states[ReminderKind.FOLLOWUP.value] != ReminderState.SENT.value


async def test_a_revoked_token_holds_the_reminder_instead_of_failing_it(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    # The bot's token is the operator's to fix, not the user's doing: the reminder waits.
    fake.fail("sendMessage", 401, "Unauthorized", times=20)
    followup = await _followup_day(app, clock)
    held = next(r for r in await _reminders(app) if r.id == followup.id)
    assert (held.state, held.last_error, held.attempts) == ("pending", "RetryLater", 0)
    assert held.due_at > clock.now
    user = await user_row(app, aoi.id)
    assert user is not None and user.active is True


# --- the right day, true words and the sender's contact, over the real library -------------


async def _plan(app: Renraku, clock: ManualClock, chat: TelegramChat, **fields: object) -> int:
    """An interview recorded for this chat's user and planned as saving it would plan it."""
    async with app.uow() as uow:
        user = await uow.users.find("telegram", str(chat.id))
        assert user is not None
        user.phone, user.email = "090-1234-5678", "applicant@example.jp"
        values: dict[str, object] = {
            "company": "株式会社サンプル",
            "interview_date": date(2026, 11, 25),
            "stage": "first",
            "promised": "weeks:2",
            "contact_method": "email",
            "interviewer_name": "人事部 採用担当",
            "interviewer_contact": "saiyo@example.co.jp",
            "status": "waiting",
            "followups_sent": 0,
            "followed_count": 0,
            "muted": False,
            **fields,
        }
        interview = Interview(user_id=user.id, **values)
        uow.interviews.add(interview)
        await uow.interviews.flush()
        ctx = Context(uow=uow, user=user, catalog=app.catalog, now=clock.now, dialogue=None)
        await planning.plan(ctx, interview)
        await uow.commit()
        return interview.id


def _pushed_text(pushed: list[Sent]) -> str:
    copies = [b["copy_text"]["text"] for m in pushed for b in m.copy_buttons()]
    return "\n".join([m.text for m in pushed] + copies)


async def _run_at(app: Renraku, clock: ManualClock, moment: datetime) -> None:
    clock.set(moment)
    assert app.dispatcher is not None
    await app.dispatcher.run_due()


@pytest.fixture
async def applicant(fake: FakeTelegramAPI, app: Renraku) -> TelegramChat:
    chat = Telegram(fake, app).chat(1002)
    await chat.say("/start")
    await chat.say("応募者A")
    return chat


async def test_two_weeks_nothing_on_the_promised_day_then_the_followup_signed(
    app: Renraku, fake: FakeTelegramAPI, applicant: TelegramChat, clock: ManualClock
) -> None:
    await _plan(app, clock, applicant)
    before = len(fake.messages(applicant.id))
    # Every hour of the promised day, Wed 12/9, in Tokyo (00:00 UTC is 09:00 JST).
    for hour in range(0, 15):
        await _run_at(app, clock, datetime(2026, 12, 9, hour, 0, tzinfo=UTC))
    on_the_day = fake.messages(applicant.id)[before:]
    assert not [m for m in on_the_day if m.copy_buttons()], "a template on the promised day"

    await _run_at(app, clock, datetime(2026, 12, 10, 0, 59, tzinfo=UTC))
    assert len(fake.messages(applicant.id)) == before + len(on_the_day)
    await _run_at(app, clock, datetime(2026, 12, 10, 1, 0, tzinfo=UTC))  # 10:00 on Thu 12/10
    pushed = fake.messages(applicant.id)[before + len(on_the_day) :]
    text = _pushed_text(pushed)
    assert [m for m in pushed if m.copy_buttons()]
    assert "約束の日（12月9日(水)）が過ぎました" in text
    # Never "today is the promised day" (a tip may well say 今日は about something else).
    assert not re.search(r"今日[はが].{0,10}約束", text)
    assert "応募者A" in text and "090-1234-5678" in text and "applicant@example.jp" in text
    assert "送り先: saiyo@example.co.jp" in text


async def test_nothing_promised_no_push_claims_a_promise(
    app: Renraku, fake: FakeTelegramAPI, applicant: TelegramChat, clock: ManualClock
) -> None:
    await _plan(app, clock, applicant, promised="none")
    before = len(fake.messages(applicant.id))
    for day in range(26, 31):
        await _run_at(app, clock, datetime(2026, 11, day, 1, 0, tzinfo=UTC))
    for day in range(1, 12):
        await _run_at(app, clock, datetime(2026, 12, day, 1, 0, tzinfo=UTC))
    pushed = fake.messages(applicant.id)[before:]
    text = _pushed_text(pushed)
    assert [m for m in pushed if m.copy_buttons()], "the follow-up never came"
    for word in ("約束", "以内", "伺って", "近日中"):
        assert word not in text, word
    assert "目安" in text and "面接から15日" in text


async def test_a_halfway_on_a_weekend_waits_for_monday(
    app: Renraku, fake: FakeTelegramAPI, applicant: TelegramChat, clock: ManualClock
) -> None:
    # 10 days from Tue 11/24: the calendar midpoint is Sunday 11/29.
    await _plan(app, clock, applicant, interview_date=date(2026, 11, 24), promised="days:10")
    before = len(fake.messages(applicant.id))
    for moment in (
        datetime(2026, 11, 28, 1, 0, tzinfo=UTC),
        datetime(2026, 11, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
    ):
        await _run_at(app, clock, moment)
    assert fake.messages(applicant.id)[before:] == [], "a push on the weekend"
    await _run_at(app, clock, datetime(2026, 11, 30, 1, 0, tzinfo=UTC))
    [nudge] = fake.messages(applicant.id)[before:]
    assert "折り返し" in nudge.text and not nudge.copy_buttons()
