"""The whole app, restarted across the wait: register, stop, let days pass, start again.

The apps are built by ``bootstrap`` on one SQLite file, the interview is recorded through the
real conversation, and the dispatcher is added to the services the way ``renraku console``
adds it. Reminders go to a recording pusher, or to the console channel itself.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.bootstrap import Renraku, bootstrap
from bot.channels.console import ConsoleChannel
from bot.config import Settings
from domain.protocol import Pusher
from handlers import planning
from tests.recording import RecordingPusher
from tests.support import Chat, ManualClock
from tests.unit.test_registration import onboard, register_by_taps

COMPANY = "株式会社サンプル"
NAME = "応募者A"


@asynccontextmanager
async def started(
    settings: Settings,
    clock: ManualClock,
    pusher: Pusher | Callable[[Renraku], Pusher] | None = None,
) -> AsyncIterator[Renraku]:
    """An app like ``renraku console`` runs it: the console's pusher, then the dispatcher."""
    app = await bootstrap(settings, clock=clock, with_channels=False)
    assert app.dispatcher is not None
    # Registered after the dispatcher was built, as `renraku console` does before start.
    app.pushers["console"] = (
        pusher(app) if callable(pusher) else pusher if pusher is not None else RecordingPusher()
    )
    app.services.append(app.dispatcher)
    try:
        await app.start()
        yield app
    finally:
        await app.stop()


async def settle(app: Renraku) -> float:
    """Wait for the dispatcher's start-up run; return how long it took, in seconds."""
    assert app.dispatcher is not None
    began = time.monotonic()
    await asyncio.wait_for(app.dispatcher.wait_idle(), 10)
    return time.monotonic() - began


async def register(settings: Settings, clock: ManualClock, user: str = "u1") -> None:
    async with started(settings, clock) as app:
        chat = Chat(app.engine, user=user)
        await onboard(chat, NAME)
        await register_by_taps(chat, COMPANY)
        assert "保存しました" in chat.text


async def test_26_days_later_one_personalised_followup_goes_out_at_start(
    settings: Settings, clock: ManualClock
) -> None:
    await register(settings, clock)
    await register(settings, clock, user="u2")

    clock.advance(days=26)  # Mon 12/21: a late follow-up still goes out, on a business day
    pusher = RecordingPusher()
    async with started(settings, clock, pusher) as app:
        took = await settle(app)
    assert took < 5
    assert sorted(p.external_id for p in pusher.pushes) == ["u1", "u2"], "one per interview"

    push = pusher.to("u1")[0]
    subject, body, phone = push.copy_texts
    assert subject == f"11月25日(水)の一次面接の選考結果について（{NAME}）"
    assert body.startswith(f"{COMPANY}\n人事部\n採用ご担当者様\n")
    assert f"11月25日(水)に営業職の一次面接を受けさせていただきました、{NAME}と申します。" in body
    assert "2週間以内にご連絡をいただけると伺っておりました" in body
    assert "約束の日（12月9日(水)）が過ぎました" in push.text
    assert f"{NAME}と申します" in phone
    care = [planning.split_tip(tip)[1] for tip in app.catalog.pool("ja", "pools.mental_care")]
    assert sum(tip in push.text for tip in care) == 1
    assert [a.rsplit(":", 1)[1] for a in push.actions] == ["done", "res", "later", "mute"]

    async with started(settings, clock, pusher) as again:
        await settle(again)
    assert len(pusher.pushes) == 2, "a restart sent something twice"


async def test_a_week_early_there_is_no_template_only_the_halfway_nudge(
    settings: Settings, clock: ManualClock
) -> None:
    await register(settings, clock)
    clock.advance(days=7)
    pusher = RecordingPusher()
    async with started(settings, clock, pusher) as app:
        await settle(app)
    [nudge] = pusher.pushes
    assert nudge.copy_texts == []
    assert "折り返し" in nudge.text

    clock.advance(days=7, hours=23)  # the whole promised day, Wed 12/9, until 09:00 on 12/10
    async with started(settings, clock, pusher) as app:
        await settle(app)
    assert len(pusher.pushes) == 1, "a template went out on or before the promised day"


async def test_the_console_channel_prints_the_followup(
    settings: Settings, clock: ManualClock
) -> None:
    await register(settings, clock, user="local")
    clock.advance(days=26)
    out = io.StringIO()

    def console(app: Renraku) -> Pusher:
        return ConsoleChannel(app.engine.handle, stdin=io.StringIO(""), stdout=out)

    async with started(settings, clock, console) as app:
        await settle(app)
    printed = out.getvalue()
    assert "┌─ ✉️ メールの件名" in printed
    assert f"│ 11月25日(水)の一次面接の選考結果について（{NAME}）" in printed
    assert "┌─ 📞 電話の台本" in printed
    assert re.search(r"\d\) 結果が来た\n", printed), printed
    assert "フォローした" in printed
