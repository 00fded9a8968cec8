"""An application is a company with its rounds: the next round after a pass, /list, /new again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.engine import Engine
from handlers import digest, planning
from handlers.context import Context
from storage.models import Application, Interview, InterviewStatus, Reminder, ReminderKind
from tests.support import Chat
from tests.unit.test_registration import onboard, register_by_taps
from tests.walker import EngineChat, Walker

COMPANY = "株式会社サンプル"
NEXT_ROUND = {"stage": "二次面接", "next_at": "12/10 14:00", "place": "本社 8階 会議室"}


async def _interviews(app: Renraku) -> list[Interview]:
    async with app.uow() as uow:
        found = await uow.session.scalars(select(Interview).order_by(Interview.id))
        return list(found.all())


async def _reminders(app: Renraku) -> list[Reminder]:
    async with app.uow() as uow:
        return list((await uow.session.scalars(select(Reminder).order_by(Reminder.id))).all())


async def _passed(app: Renraku, chat: Chat) -> int:
    """A first interview recorded by taps, then 合格."""
    await onboard(chat)
    await register_by_taps(chat)
    [first] = await _interviews(app)
    await chat.act(f"o:{first.id}:pass")
    return first.id


async def _record_next_round(app: Renraku, chat: Chat, answers: dict[str, str]) -> str:
    await chat.press(app.catalog.text("ja", "outcome.record_next"))
    return await Walker(app.catalog).walk(EngineChat(chat), answers)


async def _booked_round(app: Renraku, engine: Engine) -> Chat:
    """A first interview passed, and the next round (12/10 14:00) recorded and saved."""
    chat = Chat(engine)
    await _passed(app, chat)
    await _record_next_round(app, chat, NEXT_ROUND)
    await chat.press("保存")
    return chat


async def test_a_pass_offers_the_next_round_with_the_known_fields_filled_in(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    first_id = await _passed(app, chat)
    card = await _record_next_round(app, chat, NEXT_ROUND)
    # Who the user talks to and how they applied come over, shown on the card to check.
    for known in (
        COMPANY,
        "営業職",
        "直接応募",
        "人事部 採用担当",
        "人事部",
        "saiyo@example.co.jp",
    ):
        assert known in card, known
    assert "12月10日(木) 14:00" in card and "本社 8階 会議室" in card
    # What can only be known after the interview is not asked ahead of it.
    assert "連絡の期限" not in card and "うまくいったこと" not in card
    await chat.press("保存")
    assert "12月10日(木) 14:00" in chat.text and "前日" in chat.text
    first, second = await _interviews(app)
    assert first.id == first_id and second.application_id == first.application_id
    assert second.status == InterviewStatus.SCHEDULED.value
    assert second.scheduled_at == datetime(2026, 12, 10, 5, 0, tzinfo=UTC)
    assert (second.interviewer_name, second.place) == ("人事部 採用担当", "本社 8階 会議室")
    kinds = {r.kind for r in await _reminders(app) if r.interview_id == second.id}
    assert kinds == {
        ReminderKind.PREP_EVE.value,
        ReminderKind.PREP_MORNING.value,
        ReminderKind.ROUND_AFTER.value,
    }


async def test_list_shows_the_companys_rounds_as_one_card(app: Renraku, engine: Engine) -> None:
    chat = await _booked_round(app, engine)
    await chat.say("/list")
    assert "一次 ✓ → 二次（12月10日(木) 14:00）" in chat.text
    assert chat.text.count(f"🏢 {COMPANY}") == 1
    assert "面接予定" in chat.text and "場所: 本社 8階 会議室" in chat.text
    assert "記録した面接は 2 件です。" in chat.text


async def test_a_past_time_for_the_next_round_is_refused_kindly_and_changes_nothing(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await _passed(app, chat)
    walker = Walker(app.catalog)
    await chat.press(app.catalog.text("ja", "outcome.record_next"))
    await walker.walk(EngineChat(chat), NEXT_ROUND, until="next_at")
    before = (len(await _interviews(app)), len(await _reminders(app)))
    await chat.say("11/20 14:00")
    assert "11月20日(金) 14:00 は、もう過ぎています" in chat.text
    assert walker.recognise(chat.text) == "next_at"
    await chat.say("今日 9:00")  # an hour ago
    assert "もう過ぎています" in chat.text
    assert (len(await _interviews(app)), len(await _reminders(app))) == before
    await chat.say("日付ではない")
    assert "日時として読み取れませんでした" in chat.text


async def _seed_applications(app: Renraku, count: int) -> None:
    async with app.uow() as uow:
        user = await uow.users.get_or_create("console", "u1", locale="ja", timezone="Asia/Tokyo")
        user.onboarded = True
        await uow.session.flush()
        for n in range(1, count + 1):
            application = await uow.applications.create(user.id, f"会社{n:02d}")
            uow.session.add(
                Interview(
                    user_id=user.id,
                    application_id=application.id,
                    company=application.company,
                    # Application 1 is the oldest, so it comes last and is the 11th.
                    interview_date=date(2026, 11, n),
                    stage="first",
                    promised="weeks:2",
                    contact_method="email",
                    status=InterviewStatus.WAITING.value,
                    followups_sent=0,
                    muted=False,
                )
            )
        await uow.commit()


async def test_list_pages_through_every_application(app: Renraku, engine: Engine) -> None:
    await _seed_applications(app, 11)
    chat = Chat(engine)
    await chat.say("/list")
    assert chat.text.count("🏢 ") == 10 and "会社01" not in chat.text
    assert "（1/2ページ）" in chat.text
    await chat.press("次へ")
    assert "🏢 会社01" in chat.text and chat.text.count("🏢 ") == 1
    assert "次へ" not in [c.label for c in chat.choices()]
    # Someone else's list has nothing of this user's.
    other = Chat(engine, "u2")
    await other.say("/list")
    assert "会社" not in other.text.replace("まだ記録がありません", "")


async def test_new_naming_a_company_in_progress_offers_to_add_the_next_round(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    await chat.say("/new")
    await chat.say(COMPANY)
    assert "同じ選考の次の面接として記録しますか" in chat.text
    await chat.press("はい")
    walker = Walker(app.catalog)
    answers = {
        "date": "今日",
        "stage": "二次面接",
        "promised": "1週間以内",
        "method": "電話",
        "asked": "いいえ",
    }
    card = await walker.walk(EngineChat(chat), answers)
    assert "人事部 採用担当" in card and "saiyo@example.co.jp" in card
    await chat.press("保存")
    first, second = await _interviews(app)
    assert second.application_id == first.application_id is not None
    async with app.uow() as uow:
        assert len((await uow.session.scalars(select(Application))).all()) == 1


async def test_no_keeps_a_separate_application_and_an_ended_one_is_not_offered(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    [first] = await _interviews(app)
    await chat.act(f"o:{first.id}:rej")
    await chat.say("/new")
    await chat.say(COMPANY)
    assert "次の面接として記録しますか" not in chat.text
    assert Walker(app.catalog).recognise(chat.text) == "date"


async def test_after_the_round_its_remaining_questions_open_with_the_known_fields(
    app: Renraku, engine: Engine
) -> None:
    chat = await _booked_round(app, engine)
    second = (await _interviews(app))[-1]
    await chat.act(f"i:{second.id}:held")
    walker = Walker(app.catalog)
    answers = {"promised": "1週間以内", "method": "メール", "asked": "いいえ", "good": "落ち着けた"}
    card = await walker.walk(EngineChat(chat), answers)
    assert "面接日: 12月10日(木)" in card and "人事部 採用担当" in card
    await chat.press("保存")
    held = (await _interviews(app))[-1]
    assert held.id == second.id and held.status == InterviewStatus.WAITING.value
    assert (held.promised, held.reflection_good) == ("weeks:1", "落ち着けた")
    assert held.scheduled_at == datetime(2026, 12, 10, 5, 0, tzinfo=UTC)
    pending = {
        r.kind for r in await _reminders(app) if r.interview_id == held.id and r.state == "pending"
    }
    assert ReminderKind.FOLLOWUP.value in pending
    assert not pending & {ReminderKind.PREP_EVE.value, ReminderKind.PREP_MORNING.value}


async def test_a_round_moved_to_another_time_moves_its_reminders(
    app: Renraku, engine: Engine
) -> None:
    chat = await _booked_round(app, engine)
    second = (await _interviews(app))[-1]
    await chat.act(f"i:{second.id}:edit")
    await chat.press("面接の日時")
    await chat.say("12/11 15:00")
    await chat.press("保存")
    pending = [
        r for r in await _reminders(app) if r.interview_id == second.id and r.state == "pending"
    ]
    eve = next(r for r in pending if r.kind == ReminderKind.PREP_EVE.value)
    assert eve.due_at == datetime(2026, 12, 10, 1, 0, tzinfo=UTC)  # 12/10 10:00 JST
    assert len(pending) == 3


async def test_a_new_reminder_hour_keeps_the_round_reminders_on_the_rounds_time(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await _passed(app, chat)
    await _record_next_round(app, chat, {**NEXT_ROUND, "next_at": "12/10 11:00"})
    await chat.press("保存")
    second = (await _interviews(app))[-1]
    async with app.uow() as uow:
        user = await uow.users.find("console", "u1")
        assert user is not None
        user.reminder_hour = 7
        await uow.commit()
    async with app.uow() as uow:
        user = await uow.users.find("console", "u1")
        assert user is not None
        ctx = Context(uow, user, app.catalog, datetime(2026, 11, 25, 1, 0, tzinfo=UTC), None)
        await planning.reschedule_pending(ctx, "Asia/Tokyo")
        await uow.commit()
    pending = {
        r.kind: r.due_at
        for r in await _reminders(app)
        if r.interview_id == second.id and r.state == "pending"
    }
    # The hour 7 is quiet: the checklist waits for 8:00 the day before, the morning line
    # (7:00) is dropped, and the questions afterwards stay two hours after 11:00, not 8:00.
    assert ReminderKind.PREP_MORNING.value not in pending
    assert pending[ReminderKind.ROUND_AFTER.value] == datetime(2026, 12, 10, 4, 0, tzinfo=UTC)
    assert pending[ReminderKind.PREP_EVE.value] == datetime(2026, 12, 8, 23, 0, tzinfo=UTC)


async def test_a_booked_round_has_its_own_calendar_event_with_an_alarm_the_day_before(
    app: Renraku, engine: Engine
) -> None:
    chat = await _booked_round(app, engine)
    second = (await _interviews(app))[1]
    await chat.act(f"c:{second.id}")
    [document] = [r.document for r in chat.last if r.document is not None]
    events = list(Calendar.from_ical(document.content).walk("VEVENT"))
    # Only the interview itself: nothing was promised for a round that has not happened.
    [event] = events
    assert str(event["UID"]) == f"interview-{second.id}-next@renraku"
    assert event.decoded("DTSTART") == datetime(2026, 12, 10, 5, 0, tzinfo=UTC)
    [alarm] = event.subcomponents
    assert alarm.decoded("TRIGGER") == -timedelta(days=1)


async def test_the_weekly_digest_names_a_round_booked_for_this_week(
    app: Renraku, engine: Engine
) -> None:
    chat = await _booked_round(app, engine)
    async with app.uow() as uow:
        user = await uow.users.find("console", chat.address.external_id)
        assert user is not None
        # Monday 12/7, 10:00 in Tokyo: the round is on Thursday of that week.
        monday = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
        ctx = Context(uow=uow, user=user, catalog=app.catalog, now=monday, dialogue=None)
        [reply] = await digest.compose(ctx)
    assert f"12月10日(木) 14:00 {COMPANY}の二次面接" in reply.text
