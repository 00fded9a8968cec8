"""Two replicas on one database: one chat's updates are handled one at a time, whichever
replica receives them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku, bootstrap
from domain.protocol import Incoming, Reply
from storage.chat_lock import chat_key
from storage.models import Interview, Reminder, User
from tests.support import Chat, ManualClock, sqlite_settings
from tests.walker import Walker, onboard_engine, register

USERS = 20


@pytest.fixture
async def replicas(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[tuple[Renraku, Renraku]]:
    """Two whole apps, each with its own engine and connection pool, on one database."""
    settings = sqlite_settings(tmp_path, database_url=db_url)
    first = await bootstrap(settings, clock=clock, migrate=False, with_channels=False)
    second = await bootstrap(settings, clock=clock, migrate=False, with_channels=False)
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


async def reach_summary_card(chat: Chat, company: str) -> str:
    """Onboard and answer the required questions (the rest skipped); the 保存 button's action."""
    await onboard_engine(chat)
    answers = {"company": company, "date": "今日", "stage": "一次面接"}
    await register(chat, answers | {"promised": "2週間以内", "method": "メール"}, _walker(chat))
    return chat.action_for("保存")


def _walker(chat: Chat) -> Walker:
    return Walker(chat.engine.catalog)


# Telegram's and LINE's updates carry an id; the engine then takes the chat's lock in the
# statement that records it. The console's carry none.
@pytest.mark.parametrize("with_ids", [False, True], ids=["no event ids", "event ids"])
async def test_a_double_tap_on_save_reaching_both_replicas_saves_once(
    replicas: tuple[Renraku, Renraku], with_ids: bool
) -> None:
    first, second = replicas
    users = [f"7000{n:02d}" for n in range(USERS)]
    companies = {user: f"株式会社レプリカ{n}" for n, user in enumerate(users)}
    chats = {
        user: Chat((first if n % 2 else second).engine, user=user, channel="telegram")
        for n, user in enumerate(users)
    }
    actions = await asyncio.gather(
        *(reach_summary_card(chats[user], companies[user]) for user in users)
    )

    async def double_tap(user: str, action: str) -> tuple[list[Reply], list[Reply]]:
        taps = [
            Incoming.button(
                chats[user].address, action, event_id=f"{user}:{n}" if with_ids else None
            )
            for n in range(2)
        ]
        # Two taps are two updates; each replica gets one of them.
        a, b = await asyncio.gather(first.engine.handle(taps[0]), second.engine.handle(taps[1]))
        return a, b

    answers = await asyncio.gather(
        *(double_tap(user, action) for user, action in zip(users, actions, strict=True))
    )

    catalog = first.catalog
    stale = catalog.text("ja", "errors.stale_button")
    outcomes: Counter[tuple[str, ...]] = Counter()
    for user, pair in zip(users, answers, strict=True):
        saved = catalog.text(
            "ja", "interview.saved", company=companies[user], when="12月10日(木) 10:00"
        )
        outcomes[
            tuple(
                sorted(
                    "saved"
                    if replies[0].text == saved
                    else "stale"
                    if replies[0].text == stale
                    else "?"
                    for replies in pair
                )
            )
        ] += 1
    # One tap saves, the other finds the flow ended and gets the kind stale-button answer.
    assert outcomes == {("saved", "stale"): USERS}

    async with first.uow() as uow:
        interviews = Counter(
            (
                await uow.session.scalars(
                    select(User.external_id).join(Interview, Interview.user_id == User.id)
                )
            ).all()
        )
        reminders = (
            await uow.session.execute(
                select(User.external_id, Reminder.interview_id, Reminder.kind)
                .join(Interview, Interview.user_id == User.id)
                .join(Reminder, Reminder.interview_id == Interview.id)
            )
        ).all()
    assert interviews == dict.fromkeys(users, 1)
    plans = Counter((external_id, kind) for external_id, _, kind in reminders)
    assert plans and all(count == 1 for count in plans.values())
    assert {external_id for external_id, _ in plans} == set(users)


def test_a_chat_key_is_stable_and_tells_channels_apart() -> None:
    # Pinned: replicas of two releases during a rolling deploy must still lock the same key.
    assert chat_key("telegram", "700001") == -4356197610909762902
    assert chat_key("telegram", "700001") != chat_key("line", "700001")
    assert -(2**63) <= chat_key("line", "U" + "f" * 32) < 2**63
