"""/healthz over real HTTP: it names the part that is down and recovers by itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from bot.bootstrap import Renraku, bootstrap
from bot.config import Settings
from storage.migrate import upgrade
from tests.postgres import ADMIN_DSN, fresh_database
from tests.support import ManualClock, sqlite_settings


async def _health(app: Renraku) -> tuple[int, object]:
    assert app.web is not None
    url = f"http://127.0.0.1:{app.web.bound_port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


@pytest.fixture
async def running(db_settings: Settings, clock: ManualClock) -> AsyncIterator[Renraku]:
    app = await bootstrap(db_settings, clock=clock)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def test_healthy_app_answers_ok(running: Renraku) -> None:
    assert await _health(running) == (200, {"status": "ok"})


async def test_stopped_reminders_make_healthz_fail_until_they_run_again(
    running: Renraku,
) -> None:
    dispatcher = running.dispatcher
    assert dispatcher is not None
    await dispatcher.stop()
    assert await _health(running) == (503, {"status": "unavailable", "reminders": "unavailable"})
    await dispatcher.start()
    assert await _health(running) == (200, {"status": "ok"})


async def _allow_connections(database: str, allowed: bool) -> None:
    admin = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                database,
            )
    finally:
        await admin.close()


async def test_database_outage_is_named_and_healthz_recovers(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with fresh_database() as url:
        await upgrade(url)
        app = await bootstrap(sqlite_settings(tmp_path, database_url=url), clock=clock)
        await app.start()
        database = url.rsplit("/", 1)[1]
        try:
            assert (await _health(app))[0] == 200
            await _allow_connections(database, False)
            try:
                assert await _health(app) == (
                    503,
                    {"status": "unavailable", "database": "unavailable"},
                )
            finally:
                await _allow_connections(database, True)
            assert await _health(app) == (200, {"status": "ok"})
        finally:
            await app.stop()


async def test_failed_handling_shows_in_metrics_per_channel(running: Renraku) -> None:
    from sqlalchemy import text

    from domain.protocol import Address, Incoming

    async with running.db.begin() as conn:
        await conn.execute(text("DROP TABLE dialogue_states"))
    await running.engine.handle(Incoming.text_message(Address("line", "U1"), "/start"))
    assert running.web is not None
    url = f"http://127.0.0.1:{running.web.bound_port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.text()
    assert 'renraku_channel_errors_total{channel="line"} 1.0' in body
