"""Test helpers shared by every layer: a clock the test moves, and app builders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings, load_settings


class ManualClock:
    """A clock that only moves when the test says so."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment.astimezone(UTC)
        return self.now


def sqlite_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a real SQLite file under the test's own folder, no channel tokens."""
    values: dict[str, object] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'renraku.db'}",
        "telegram_bot_token": None,
        "line_channel_secret": None,
        "line_channel_access_token": None,
        "telegram_webhook_url": None,
        "port": 0,
    }
    values.update(overrides)
    return load_settings(_env_file=None, **values)
