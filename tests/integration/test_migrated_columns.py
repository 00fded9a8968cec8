"""The migrations build every column the models map, so a fresh or upgraded DB can hold a row."""

from __future__ import annotations

from sqlalchemy import inspect

from bot.config import Settings
from storage.db import create_engine
from storage.models import Base


async def test_every_mapped_column_exists_after_migrating(db_settings: Settings) -> None:
    engine = create_engine(db_settings.database_url)
    try:
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda sync: {
                    table: {c["name"] for c in inspect(sync).get_columns(table)}
                    for table in Base.metadata.tables
                }
            )
    finally:
        await engine.dispose()
    missing = {
        f"{name}.{column.name}"
        for name, table in Base.metadata.tables.items()
        for column in table.columns
        if column.name not in columns[name]
    }
    assert not missing, sorted(missing)
    assert {"phone", "email"} <= columns["users"]
    assert {"position", "applied_via", "first_followup_on", "followed_count"} <= columns[
        "interviews"
    ]
