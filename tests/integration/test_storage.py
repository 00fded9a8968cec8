"""Migrations, restarts and the conversation on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, select

from bot.bootstrap import bootstrap
from bot.config import Settings
from handlers.registration import REGISTRATION
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import DialogueState, Interview
from tests.support import Chat, ManualClock, sqlite_settings
from tests.unit.test_registration import onboard, register_by_taps

TABLES = {
    "users",
    "interviews",
    "dialogue_states",
    "reminders",
    "status_history",
    "processed_events",
}


async def test_migrations_create_every_table_and_run_twice(db_settings: Settings) -> None:
    await upgrade(db_settings.database_url)
    await upgrade(db_settings.database_url)
    engine = create_engine(db_settings.database_url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert names >= TABLES
    assert "alembic_version" in names


async def test_sqlite_folder_is_created(tmp_path: Path) -> None:
    settings = sqlite_settings(
        tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/deep/er/r.db"
    )
    app = await bootstrap(settings, with_channels=False)
    await app.stop()
    assert (tmp_path / "deep" / "er" / "r.db").exists()


async def test_restart_mid_registration_resumes_at_the_same_question(
    db_settings: Settings, clock: ManualClock
) -> None:
    first = await bootstrap(db_settings, clock=clock, with_channels=False)
    chat = Chat(first.engine)
    await onboard(chat)
    await chat.say("/new")
    await chat.say("株式会社サンプル")
    await chat.press("今日")
    asked = chat.last[-1].text
    await first.stop()

    second = await bootstrap(db_settings, clock=clock, with_channels=False)
    try:
        chat = Chat(second.engine)
        # A stale-free way to see where we are: answer the open question by its button.
        await chat.act("a:new:stage:first")
        # The question the table asks after the stage.
        following = REGISTRATION.next_after("stage", {"stage": "first"})
        assert following is not None
        assert second.catalog.text("ja", following.question_key) in chat.text
        async with second.uow() as uow:
            state = await uow.session.scalar(select(DialogueState))
            assert state is not None and state.step == following.key
            assert state.data["company"] == "株式会社サンプル"
        assert "どの段階" in asked
    finally:
        await second.stop()


async def test_full_registration_and_list_on_each_database(
    db_settings: Settings, clock: ManualClock
) -> None:
    app = await bootstrap(db_settings, clock=clock, with_channels=False)
    try:
        chat = Chat(app.engine)
        await onboard(chat)
        await register_by_taps(chat)
        await chat.say("/list")
        assert "株式会社サンプル" in chat.text
        async with app.uow() as uow:
            interview = await uow.session.scalar(select(Interview))
        assert interview is not None and interview.interviewer_contact == "saiyo@example.co.jp"
    finally:
        await app.stop()


async def test_redelivered_event_is_handled_once(db_settings: Settings, clock: ManualClock) -> None:
    from domain.protocol import Address, Incoming

    app = await bootstrap(db_settings, clock=clock, with_channels=False)
    try:
        address = Address("line", "U1")
        first = await app.engine.handle(Incoming.text_message(address, "/start", event_id="ev-1"))
        again = await app.engine.handle(Incoming.text_message(address, "/start", event_id="ev-1"))
        assert first and again == []
    finally:
        await app.stop()
