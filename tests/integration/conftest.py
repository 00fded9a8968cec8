"""Every integration test runs on a real SQLite file and on a real PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from storage.migrate import upgrade
from tests.postgres import fresh_database
from tests.support import sqlite_settings


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'renraku.db'}"
        await upgrade(url)
        yield url
        return
    async with fresh_database() as url:
        await upgrade(url)
        yield url


@pytest.fixture
def db_settings(db_url: str, tmp_path: Path) -> Settings:
    return sqlite_settings(tmp_path, database_url=db_url)
