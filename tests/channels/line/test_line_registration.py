"""A whole LINE conversation over signed webhooks, answered only with reply tokens."""

from __future__ import annotations

from sqlalchemy import select

from bot.bootstrap import Renraku
from storage.models import Interview, User
from tests.channels.line.support import LineUser, line_channel, onboard, register_interview
from tests.fakes.line_api import FakeLineApi, postback_buttons
from tests.walker import Walker


def _assert_only_free_replies(fake: FakeLineApi) -> None:
    assert fake.rejections == []
    assert fake.push_attempts == []
    assert {path for _, path in fake.requests} == {"/v2/bot/message/reply"}
    for reply in fake.replies:
        assert 1 <= len(reply.messages) <= 5
        for message in reply.messages:
            assert len((message.get("quickReply") or {}).get("items", [])) <= 13
        assert all("quickReply" not in m for m in reply.messages[:-1])


async def test_follow_then_a_full_registration_then_the_list(
    line_app: Renraku, line_api: FakeLineApi, line_user: LineUser
) -> None:
    catalog = line_app.catalog
    await line_user.follow()
    assert "Renraku" in line_user.text
    assert line_user.quick_labels() == [catalog.text("ja", "controls.skip")]

    await line_user.say("応募者")
    assert "応募者" in line_user.text
    # The rest of onboarding (own phone and email), skipped.
    for line in Walker(catalog).onboarding_lines({})[1:]:
        await line_user.say(line)
    assert line_user.quick_labels() == ["面接を記録", "一覧", "設定", "ヘルプ"]

    summary = await register_interview(line_user)
    assert "株式会社サンプル" in summary and "11月25日(水)" in summary
    assert "saiyo@example.co.jp" in summary
    assert "12月10日(木)" in line_user.text  # when Renraku will check in
    assert line_user.quick_labels() == ["面接を記録", "一覧", "設定", "ヘルプ"]

    async with line_app.uow() as uow:
        interview = (await uow.session.scalars(select(Interview))).one()
        user = (await uow.session.scalars(select(User))).one()
    assert user.external_id == line_user.user_id and user.channel == "line"
    assert interview.company == "株式会社サンプル" and interview.contact_method == "email"
    assert interview.reflection_good == "志望動機を具体的に話せた"
    assert interview.reflection_improve is None

    await line_user.press("一覧")
    card = next(m for m in line_user.last if m["type"] == "flex")
    assert "株式会社サンプル" in str(card["contents"])
    card_actions = [b["data"] for b in postback_buttons([card])]
    assert f"i:{interview.id}:res" in card_actions
    assert "▓" in line_user.text or "░" in line_user.text

    _assert_only_free_replies(line_api)


async def test_typed_commands_and_japanese_words(
    line_app: Renraku, line_api: FakeLineApi, line_user: LineUser
) -> None:
    catalog = line_app.catalog
    await onboard(line_user)

    await line_user.say("ヘルプ")
    assert catalog.text("ja", "help.text") in line_user.text
    await line_user.say("/help")
    assert catalog.text("ja", "help.text") in line_user.text

    await line_user.say("一覧")
    assert catalog.text("ja", "list.empty") in line_user.text
    await line_user.say("/list")
    assert catalog.text("ja", "list.empty") in line_user.text

    await line_user.say("設定")
    assert "応募者" in line_user.text
    assert len(line_user.buttons()) >= 6

    await line_user.say("面接を記録")
    assert catalog.text("ja", "interview.ask.company") in line_user.text
    await line_user.say("キャンセル")
    assert catalog.text("ja", "cancel.done") in line_user.text
    await line_user.say("/new")
    assert catalog.text("ja", "interview.ask.company") in line_user.text
    await line_user.say("/cancel")
    assert catalog.text("ja", "cancel.done") in line_user.text

    await line_user.say("/nosuchcommand")
    assert catalog.text("ja", "errors.unknown_command") in line_user.text

    _assert_only_free_replies(line_api)


async def test_a_used_reply_token_is_not_retried_as_a_push(
    line_app: Renraku, line_api: FakeLineApi, line_user: LineUser
) -> None:
    await line_user.follow()
    token = line_api.replies[-1].reply_token
    event = line_api.text(line_user.user_id, "ヘルプ", reply_token=token)
    assert await line_user.client.post(event) == 200
    await line_channel(line_app).wait_idle()
    assert line_api.rejections == ["Invalid reply token"]
    assert line_api.push_attempts == []
