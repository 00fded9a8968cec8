"""The list, settings and privacy flows, and that nobody reaches anyone else's data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.engine import Engine
from domain.protocol import Address, Incoming
from handlers.registration import REGISTRATION
from storage.models import InboxEvent, Interview, Reminder, User
from tests.support import Chat, ManualClock
from tests.unit.test_registration import onboard, register_by_taps


@pytest.fixture
async def registered(engine: Engine) -> Chat:
    """A user who has said /start, given a name and recorded one interview."""
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    return chat


async def _interview_ids(app: Renraku) -> list[int]:
    async with app.uow() as uow:
        return list((await uow.session.scalars(select(Interview.id))).all())


async def test_list_shows_status_progress_and_next_checkin(
    app: Renraku, registered: Chat, clock: ManualClock
) -> None:
    chat = registered
    clock.advance(days=9)
    await chat.say("/list")
    assert "株式会社サンプル（一次面接）" in chat.text
    assert "状態: 連絡待ち" in chat.text
    assert "▓▓▓▓▓▓░░░░ 9/14日" in chat.text
    assert "次のお知らせ: 12月10日(木) 10:00" in chat.text
    labels = [c.label for c in chat.choices()]
    assert labels[:3] == ["結果が来た", "編集", "削除"]


async def test_list_is_empty_at_first(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.say("一覧")
    assert "まだ記録がありません" in chat.text


async def test_delete_asks_first_and_then_removes_the_interview_and_its_reminders(
    app: Renraku, registered: Chat
) -> None:
    chat = registered
    await chat.say("/list")
    await chat.press("削除")
    assert "削除しますか" in chat.text
    assert await _interview_ids(app) != []
    await chat.press("削除する")
    assert await _interview_ids(app) == []
    async with app.uow() as uow:
        assert (await uow.session.scalars(select(Reminder))).all() == []


async def test_another_user_cannot_touch_someone_elses_interview(
    app: Renraku, engine: Engine
) -> None:
    owner, stranger = Chat(engine, "owner"), Chat(engine, "stranger")
    await onboard(owner)
    await register_by_taps(owner)
    [iid] = await _interview_ids(app)
    await onboard(stranger, "他人")
    for action in (
        f"i:{iid}:delok",
        f"i:{iid}:edit",
        f"i:{iid}:res",
        f"o:{iid}:rej",
        f"o:{iid}:pass",
    ):
        await stranger.act(action)
        assert "見つかりませんでした" in stranger.text, action
    async with app.uow() as uow:
        interview = await uow.session.get(Interview, iid)
        assert interview is not None and interview.status == "waiting"
        assert (
            len(
                (
                    await uow.session.scalars(select(Reminder).where(Reminder.state == "pending"))
                ).all()
            )
            == 2
        )


async def test_malformed_buttons_get_a_kind_message(engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    for action in ("i:abc:del", "i:1", "zz:1:2", "a:new:company", "x" * 300, "", "i:99999:delok"):
        await chat.act(action)
        assert chat.text, action
        assert "Traceback" not in chat.text


async def test_edit_from_the_list_moves_the_check_in_when_the_promise_changes(
    app: Renraku, registered: Chat
) -> None:
    chat = registered
    await chat.say("/list")
    await chat.press("編集")
    await chat.press("連絡の期限")
    await chat.press("1週間以内")
    await chat.press("保存")
    # The promised Wed 12/2 is the company's: the check-in is the business day after it.
    assert "12月3日(木) 10:00" in chat.text
    async with app.uow() as uow:
        pending = (
            await uow.session.scalars(select(Reminder).where(Reminder.state == "pending"))
        ).all()
    # Halfway through a week is Saturday the 28th: the nudge waits for Monday.
    assert [(r.kind, r.due_at) for r in pending] == [
        ("halfway", datetime(2026, 11, 30, 1, 0, tzinfo=UTC)),
        ("followup", datetime(2026, 12, 3, 1, 0, tzinfo=UTC)),
    ]


async def test_settings_change_reminder_hour_moves_pending_reminders(
    app: Renraku, registered: Chat
) -> None:
    chat = registered
    await chat.say("/settings")
    assert "お知らせの時刻: 10時" in chat.text
    await chat.press("お知らせの時刻")
    await chat.say("25")
    assert "6〜21" in chat.text
    await chat.press("9時")
    assert "お知らせの時刻: 9時" in chat.text
    async with app.uow() as uow:
        dues = (await uow.session.scalars(select(Reminder.due_at).order_by(Reminder.due_at))).all()
    assert dues == [
        datetime(2026, 12, 2, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 10, 0, 0, tzinfo=UTC),
    ]


async def test_settings_nudge_off_cancels_halfway_and_language_switches(
    app: Renraku, registered: Chat
) -> None:
    chat = registered
    await chat.say("/settings")
    await chat.press("中間のお知らせ オン/オフ")
    assert "中間のお知らせ: オフ" in chat.text
    async with app.uow() as uow:
        kinds = (
            await uow.session.scalars(select(Reminder.kind).where(Reminder.state == "pending"))
        ).all()
    assert kinds == ["followup"]
    await chat.press("言語")
    await chat.press("English")
    assert "Language: English" in chat.text
    await chat.say("/list")
    assert "Status: Waiting" in chat.text


async def test_settings_name_and_timezone(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/settings")
    await chat.press("タイムゾーン")
    await chat.say("Mars/Olympus")
    assert "タイムゾーンとして読み取れません" in chat.text
    await chat.say("Europe/London")
    await chat.press("お名前")
    await chat.say("新しい名前")
    async with app.uow() as uow:
        user = await uow.session.scalar(select(User))
    assert user is not None
    assert (user.timezone, user.display_name) == ("Europe/London", "新しい名前")


@pytest.mark.parametrize("typed", ["Asia", "Asia/" + "x" * 300, "Asia/../Asia/Tokyo"])
async def test_a_time_zone_that_is_not_one_is_refused_kindly(engine: Engine, typed: str) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/settings")
    await chat.press("タイムゾーン")
    await chat.say(typed)
    assert "タイムゾーンとして読み取れません" in chat.text


NOT_ANSWERS = ("status", "followups_sent", "created_at", "status_history", "notes")


async def test_export_sends_all_own_data_as_json(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    other = Chat(engine, "other")
    await onboard(chat)
    await register_by_taps(chat)
    await onboard(other, "別の人")
    await register_by_taps(other, "別の会社")
    replies = await chat.say("/export")
    document = next(r.document for r in replies if r.document is not None)
    payload = json.loads(document.content)
    assert payload["user"]["name"] == "応募者"
    assert [a["company"] for a in payload["applications"]] == ["株式会社サンプル"]
    [only] = payload["applications"][0]["rounds"]
    assert only["status_history"][0]["to"] == "waiting"
    assert "別の会社" not in document.content.decode()
    # Every answer, under the same keys as before the table (the export format is versioned).
    answers = {k: v for k, v in only.items() if k not in NOT_ANSWERS}
    assert answers == {
        "company": "株式会社サンプル",
        "interview_date": "2026-11-25",
        "stage": "first",
        "scheduled_at": None,
        "place": None,
        "position": "営業職",
        "promised": "weeks:2",
        "contact_method": "email",
        "applied_via": "direct",
        "agent_name": None,
        "agent_contact": None,
        "interviewer_name": "人事部 採用担当",
        "department": "人事部",
        "interviewer_contact": "saiyo@example.co.jp",
        "asked_what_if_silent": True,
        "asked_memo": "人事部に電話してよいとのこと",
        "reflection_good": "志望動機を具体的に話せた",
        "reflection_improve": "逆質問をもっと用意する",
    }
    assert list(answers) == [c.attribute for c in REGISTRATION.columns()]


async def test_deleteme_confirms_then_removes_everything_of_that_user_only(
    app: Renraku, engine: Engine
) -> None:
    chat, other = Chat(engine), Chat(engine, "other")
    await onboard(chat)
    await register_by_taps(chat)
    await onboard(other, "別の人")
    await register_by_taps(other, "別の会社")
    await chat.say("/deleteme")
    await chat.press("やめる")
    assert len(await _interview_ids(app)) == 2
    await chat.say("/deleteme")
    await chat.press("すべて削除する")
    assert "削除しました" in chat.text
    async with app.uow() as uow:
        users = (await uow.session.scalars(select(User.external_id))).all()
        companies = (await uow.session.scalars(select(Interview.company))).all()
        reminders = (await uow.session.scalars(select(Reminder))).all()
    assert users == ["other"]
    assert companies == ["別の会社"]
    assert {r.user_id for r in reminders} == {(await _user_id(app, "other"))}


async def _user_id(app: Renraku, external_id: str) -> int:
    async with app.uow() as uow:
        user = await uow.users.find("console", external_id)
        assert user is not None
        return user.id


async def test_unknown_command_and_chatter_get_the_menu(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.say("/frobnicate")
    assert "コマンドはわかりません" in chat.text
    await chat.say("こんにちは")
    assert [c.label for c in chat.choices()] == ["面接を記録", "一覧", "設定", "ヘルプ"]


async def test_english_speaker_gets_english(engine: Engine) -> None:
    from domain.protocol import Address, Incoming

    replies = await engine.handle(
        Incoming.text_message(Address("console", "en1"), "/start", language_code="en-US")
    )
    assert "Hello" in replies[0].text


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("なし", "夜間の通知停止: なし"), ("23-7", "夜間の通知停止: 23時〜7時"), ("Off", "なし")],
)
async def test_settings_quiet_hours_can_be_typed(engine: Engine, typed: str, shown: str) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/settings")
    await chat.press("夜間の通知停止")
    await chat.say(typed)
    assert "設定を保存しました" in chat.text
    assert shown in chat.text


@pytest.mark.parametrize("typed", ["英語", "えいご", "English", "ＥＮＧＬＩＳＨ"])
async def test_settings_language_can_be_typed(engine: Engine, typed: str) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/settings")
    await chat.press("言語")
    await chat.say(typed)
    assert "Language: English" in chat.text


async def test_settings_a_typed_choice_that_is_none_gets_the_buttons_again(engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/settings")
    await chat.press("言語")
    await chat.say("フランス語")
    assert "下のボタンから選んでください" in chat.text
    assert [c.label for c in chat.choices()] == ["日本語", "English", "戻る"]
    await chat.say("/settings")
    assert "言語: 日本語" in chat.text


async def test_settings_hour_accepts_full_width_digits(engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/settings")
    await chat.press("お知らせの時刻")
    await chat.say("１８時")
    assert "お知らせの時刻: 18時" in chat.text


# --- a confirmation counts only while it is the open step ---------------------------------


async def test_an_old_delete_all_button_after_cancelling_deletes_nothing(
    app: Renraku, registered: Chat
) -> None:
    chat = registered
    await chat.say("/deleteme")
    old_yes = chat.action_for("すべて削除する")
    await chat.press("やめる")
    await chat.act(old_yes)
    assert "削除しました" not in chat.text
    assert len(await _interview_ids(app)) == 1
    assert await _user_id(app, chat.address.external_id)


async def test_a_delete_all_confirmation_never_shown_deletes_nothing(
    app: Renraku, registered: Chat
) -> None:
    chat = registered
    await chat.act("p:delok")
    assert "削除しました" not in chat.text
    assert len(await _interview_ids(app)) == 1


async def test_an_interview_delete_confirmation_counts_only_while_it_is_open(
    app: Renraku, registered: Chat
) -> None:
    chat = registered
    [iid] = await _interview_ids(app)
    # Never asked: a forged confirmation.
    await chat.act(f"i:{iid}:delok")
    assert await _interview_ids(app) == [iid]
    # Asked, then kept: the old 削除する button does nothing any more.
    await chat.say("/list")
    await chat.press("削除")
    old_yes = chat.action_for("削除する")
    await chat.press("やめる")
    await chat.act(old_yes)
    assert await _interview_ids(app) == [iid]
    # Asked and confirmed: deleted.
    await chat.say("/list")
    await chat.press("削除")
    await chat.press("削除する")
    assert await _interview_ids(app) == []


async def test_held_messages_are_exported_and_deleted_with_the_user(
    app: Renraku, registered: Chat
) -> None:
    chat = registered
    mine = Incoming.text_message(chat.address, "保存をお願いします", event_id="ev-held-1")
    other = Incoming.text_message(
        Address("console", "someone-else"), "他の人の文", event_id="ev-held-2"
    )
    async with app.uow() as uow:
        for incoming in (mine, other):
            assert incoming.event_id is not None
            await uow.inbox.add("console", incoming.event_id, incoming.to_dict(), None, app.clock())
        await uow.commit()
    await chat.say("/export")
    [document] = [r.document for r in chat.last if r.document is not None]
    payload = json.loads(document.content)
    assert [m["text"] for m in payload["held_messages"]] == ["保存をお願いします"]
    assert all("parts_sent" in r and "composed" in r for r in payload["reminders"])

    await chat.say("/deleteme")
    await chat.press("すべて削除する")
    async with app.uow() as uow:
        left = (await uow.session.scalars(select(InboxEvent.event_id))).all()
    assert left == ["ev-held-2"]
