"""A LINE event the process accepted but died before handling is answered after a restart."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.bootstrap import Renraku, bootstrap
from bot.config import Settings
from domain.protocol import Incoming, Reply
from storage.models import InboxEvent
from tests.channels.line.support import line_channel
from tests.fakes.line_api import FakeLineApi, LineWebhookClient, all_text
from tests.support import ManualClock

USER = "U0000000000000000000000000000c0de"


async def _waiting(app: Renraku) -> int:
    async with app.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(InboxEvent)) or 0)


def _client(app: Renraku) -> LineWebhookClient:
    assert app.web is not None
    return LineWebhookClient(f"http://127.0.0.1:{app.web.bound_port}/webhook/line")


async def _stuck_app(settings: Settings, clock: ManualClock) -> Renraku:
    """An app whose handling never finishes, like a process about to be killed."""
    app = await bootstrap(settings, clock=clock)
    channel = line_channel(app)

    async def never(incoming: Incoming) -> list[Reply]:
        await asyncio.Event().wait()
        return []

    channel._handle = never
    channel._drain_timeout = 0.05
    await app.start()
    return app


async def test_an_event_left_unhandled_by_a_dead_process_is_answered_after_restart(
    line_settings: Settings, line_api: FakeLineApi, clock: ManualClock
) -> None:
    dying = await _stuck_app(line_settings, clock)
    follow = line_api.follow(USER)
    assert await _client(dying).post(follow) == 200
    assert await _waiting(dying) == 1
    await dying.stop()
    assert line_api.replies == []

    clock.advance(minutes=2)
    revived = await bootstrap(line_settings, clock=clock)
    await revived.start()
    try:
        reply = await line_api.wait_reply(follow["replyToken"])
        assert "Renraku" in all_text(reply.messages)
        await line_channel(revived).wait_idle()
        assert await _waiting(revived) == 0
        async with revived.uow() as uow:
            user = await uow.users.find("line", USER)
        assert user is not None and user.onboarded
    finally:
        await revived.stop()


async def test_a_redelivery_of_a_waiting_event_is_kept_once(
    line_settings: Settings, line_api: FakeLineApi, clock: ManualClock
) -> None:
    app = await _stuck_app(line_settings, clock)
    try:
        event = line_api.text(USER, "一覧")
        client = _client(app)
        assert await client.post(event) == 200
        redelivered = dict(event, deliveryContext={"isRedelivery": True})
        assert await client.post(redelivered) == 200
        assert await _waiting(app) == 1
    finally:
        await app.stop()


async def test_handled_events_leave_nothing_in_the_inbox(
    line_app: Renraku, line_api: FakeLineApi, webhook: LineWebhookClient
) -> None:
    event = line_api.follow(USER)
    assert await webhook.post(event) == 200
    await line_api.wait_reply(event["replyToken"])
    await line_channel(line_app).wait_idle()
    assert await _waiting(line_app) == 0
