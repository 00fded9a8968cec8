"""POST /webhook/line on the running app: signatures, quick 200s, dedup, sources, unfollow."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.channels.line import LineChannel
from bot.web import Metrics, WebServer
from domain.protocol import Incoming, Kind, Reply
from storage.models import Interview, Reminder, ReminderState, User
from tests.channels.line.support import LineUser, line_channel, onboard, register_interview
from tests.fakes.line_api import DEFAULT_SECRET, DEFAULT_TOKEN, FakeLineApi, LineWebhookClient, sign
from tests.support import sqlite_settings

USER_B = "Ub00000000000000000000000000000b2"


async def _users(app: Renraku) -> list[User]:
    async with app.uow() as uow:
        return list((await uow.session.scalars(select(User))).all())


async def _reminders(app: Renraku) -> list[Reminder]:
    async with app.uow() as uow:
        return list((await uow.session.scalars(select(Reminder))).all())


async def test_unsigned_or_badly_signed_requests_are_refused_and_not_handled(
    line_app: Renraku, line_api: FakeLineApi, webhook: LineWebhookClient
) -> None:
    body = webhook.body(line_api.follow("Uattacker"))
    good = sign(body, DEFAULT_SECRET)
    attempts = [
        (body, None),
        (body, ""),
        (body, "bm90IGEgc2lnbmF0dXJl"),
        (body, sign(body, "another-channel-secret")),
        (body.replace(b"Uattacker", b"Uvictim00"), good),
        (b"\xff\xfe not utf-8", sign(b"\xff\xfe not utf-8", DEFAULT_SECRET)),
        (b"{not json", sign(b"{not json", DEFAULT_SECRET)),
    ]
    for raw, signature in attempts:
        status, _ = await webhook.post_raw(raw, signature)
        assert status == 400
    await line_channel(line_app).wait_idle()
    assert line_api.replies == [] and await _users(line_app) == []

    assert line_app.web is not None
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{line_app.web.bound_port}/metrics") as response,
    ):
        metrics = await response.text()
    assert 'renraku_webhook_rejected_total{channel="line"} 7.0' in metrics


async def test_an_empty_signed_body_is_the_console_verify_call(
    line_app: Renraku, webhook: LineWebhookClient
) -> None:
    assert await webhook.post() == 200


async def test_the_200_comes_before_the_handling_finishes(tmp_path: Path) -> None:
    fake = FakeLineApi()
    await fake.start()
    release = asyncio.Event()
    seen: list[Incoming] = []

    async def slow_handle(incoming: Incoming) -> list[Reply]:
        seen.append(incoming)
        await release.wait()
        return [Reply("ok")]

    settings = sqlite_settings(
        tmp_path,
        line_channel_secret=DEFAULT_SECRET,
        line_channel_access_token=DEFAULT_TOKEN,
        line_api_base_url=fake.base_url,
    )
    metrics = Metrics()
    server = WebServer("127.0.0.1", 0, metrics)
    channel = LineChannel(slow_handle, settings, web=server, metrics=metrics)
    await channel.start()
    await server.start()
    try:
        client = LineWebhookClient(f"http://127.0.0.1:{server.bound_port}/webhook/line")
        event = fake.text("Uslow", "こんにちは")
        body = client.body(event)
        status, seconds = await client.post_raw(body, sign(body, DEFAULT_SECRET))
        assert status == 200 and seconds < 1.0
        assert fake.replies == []  # still being handled
        release.set()
        reply = await fake.wait_reply(event["replyToken"])
        assert reply.messages == [{"type": "text", "text": "ok"}]
        assert seen[0].kind is Kind.TEXT and seen[0].event_id == event["webhookEventId"]
    finally:
        await server.stop()
        await channel.stop()
        await fake.stop()


async def test_one_users_events_are_answered_in_order_while_others_go_ahead(
    tmp_path: Path,
) -> None:
    fake = FakeLineApi()
    await fake.start()
    first_held = asyncio.Event()
    seen: list[str] = []

    async def handle(incoming: Incoming) -> list[Reply]:
        seen.append(incoming.text or "")
        if incoming.text == "a1":
            await first_held.wait()
        return [Reply(f"re {incoming.text}")]

    settings = sqlite_settings(
        tmp_path,
        line_channel_secret=DEFAULT_SECRET,
        line_channel_access_token=DEFAULT_TOKEN,
        line_api_base_url=fake.base_url,
    )
    metrics = Metrics()
    server = WebServer("127.0.0.1", 0, metrics)
    # A handle without the engine's own per-chat order: the channel alone keeps it.
    channel = LineChannel(handle, settings, web=server, metrics=metrics)
    await channel.start()
    await server.start()
    try:
        client = LineWebhookClient(f"http://127.0.0.1:{server.bound_port}/webhook/line")
        a1, a2, b1 = fake.text("Ua", "a1"), fake.text("Ua", "a2"), fake.text(USER_B, "b1")
        a3 = fake.text("Ua", "a3")
        assert await client.post(a1, a2, b1) == 200
        # A later delivery for the same user waits behind the first one too.
        assert await client.post(a3) == 200
        await fake.wait_reply(b1["replyToken"])
        assert seen == ["a1", "b1"]
        first_held.set()
        await channel.wait_idle()
        assert seen == ["a1", "b1", "a2", "a3"]
        texts = [r.messages[0]["text"] for r in fake.replies if r.user_id == "Ua"]
        assert texts == ["re a1", "re a2", "re a3"]
    finally:
        await server.stop()
        await channel.stop()
        await fake.stop()


async def test_a_redelivered_event_is_handled_once(
    line_app: Renraku, line_api: FakeLineApi, line_user: LineUser, webhook: LineWebhookClient
) -> None:
    await onboard(line_user)
    first = line_api.text(line_user.user_id, "面接を記録")
    await line_user.send(first)
    assert "quickReply" in line_user.last[-1]

    again = line_api.text(
        line_user.user_id, "面接を記録", event_id=first["webhookEventId"], redelivery=True
    )
    assert await webhook.post(again) == 200
    await line_channel(line_app).wait_idle()
    assert line_api.reply_for(again["replyToken"]) is None

    # A redelivery whose first delivery never arrived is handled like any event.
    lost = line_api.text(line_user.user_id, "株式会社サンプル", redelivery=True)
    await line_user.send(lost)
    assert "今日" in [b.get("displayText") for b in line_user.buttons()]


async def test_events_from_groups_and_rooms_are_ignored(
    line_app: Renraku, line_api: FakeLineApi, webhook: LineWebhookClient
) -> None:
    event = line_api.text("Ugroupmember", "一覧")
    event["source"] = {"type": "group", "groupId": "Cgroup", "userId": "Ugroupmember"}
    assert await webhook.post(event) == 200
    await line_channel(line_app).wait_idle()
    assert line_api.replies == [] and await _users(line_app) == []


async def test_standby_events_belong_to_another_channel(
    line_app: Renraku, line_api: FakeLineApi, webhook: LineWebhookClient
) -> None:
    event = line_api.text("Ustandby", "一覧")
    event["mode"] = "standby"
    del event["replyToken"]
    assert await webhook.post(event) == 200
    await line_channel(line_app).wait_idle()
    assert line_api.replies == [] and await _users(line_app) == []


async def test_a_sticker_gets_a_kind_answer(line_app: Renraku, line_user: LineUser) -> None:
    await line_user.send(line_user.fake.sticker(line_user.user_id))
    assert line_app.catalog.text("ja", "errors.not_understood") in line_user.text


async def test_a_postback_can_only_touch_its_senders_own_interviews(
    line_app: Renraku, line_api: FakeLineApi, line_user: LineUser, webhook: LineWebhookClient
) -> None:
    await onboard(line_user)
    await register_interview(line_user)
    async with line_app.uow() as uow:
        interview_id = (await uow.session.scalars(select(Interview.id))).one()

    other = LineUser(line_api, webhook, USER_B)
    await other.follow()
    for data in (f"i:{interview_id}:del", f"i:{interview_id}:res", f"o:{interview_id}:passed"):
        await other.tap(data)
        assert "株式会社サンプル" not in other.text
    async with line_app.uow() as uow:
        interview = await uow.session.get(Interview, interview_id)
        assert interview is not None and interview.status == "waiting"


async def test_unfollow_makes_the_user_inactive_and_follow_brings_them_back(
    line_app: Renraku, line_api: FakeLineApi, line_user: LineUser, webhook: LineWebhookClient
) -> None:
    await onboard(line_user)
    await register_interview(line_user)
    assert {r.state for r in await _reminders(line_app)} == {ReminderState.PENDING.value}

    assert await webhook.post(line_api.unfollow(line_user.user_id)) == 200
    await line_channel(line_app).wait_idle()
    (user,) = await _users(line_app)
    assert user.active is False
    assert {r.state for r in await _reminders(line_app)} == {ReminderState.PAUSED.value}
    assert line_api.push_attempts == []

    await line_user.follow()
    (user,) = await _users(line_app)
    assert user.active is True
    assert {r.state for r in await _reminders(line_app)} == {ReminderState.PENDING.value}
    assert line_api.push_attempts == []


async def test_handled_events_are_counted(line_app: Renraku, line_user: LineUser) -> None:
    await line_user.follow()
    await line_user.say("ヘルプ")
    assert line_app.web is not None
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{line_app.web.bound_port}/metrics") as response,
    ):
        metrics = await response.text()
    assert 'renraku_updates_total{channel="line"} 2.0' in metrics
    assert json.dumps(line_user.user_id) not in metrics


async def test_logs_carry_no_text_user_id_or_secret(
    line_app: Renraku,
    line_api: FakeLineApi,
    line_user: LineUser,
    webhook: LineWebhookClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Our own loggers and the SDK's at their most talkative (aiosqlite's DEBUG echoes SQL
    # parameters, which is the logging set-up's business, not the channel's).
    caplog.set_level(logging.INFO)
    for name in ("bot", "linebot", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    await onboard(line_user, "秘密の名前")
    await register_interview(line_user, "極秘株式会社")
    body = webhook.body(line_api.text(line_user.user_id, "署名なしの本文"))
    await webhook.post_raw(body, "forged")
    await webhook.post(line_api.text(line_user.user_id, "一覧", reply_token="unknown-token"))
    await line_channel(line_app).wait_idle()
    assert line_api.rejections == ["Invalid reply token"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (
        "秘密の名前",
        "極秘株式会社",
        "署名なしの本文",
        line_user.user_id,
        DEFAULT_TOKEN,
        DEFAULT_SECRET,
    ):
        assert secret not in logged


async def test_a_body_over_the_limit_is_413_not_400(
    line_app: Renraku, webhook: LineWebhookClient
) -> None:
    huge = b'{"events": [], "padding": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    status, _ = await webhook.post_raw(huge, sign(huge, DEFAULT_SECRET))
    assert status == 413
