"""The event loop ``renraku run`` runs on: uvloop, where the platform has it.

Under a crowd the bot is CPU-bound in one process, and a good share of each update is the
event loop's own work (socket reads and writes for every Bot API call, the wake-up for every
database statement handed to aiosqlite's thread). uvloop does that work in C: in the Telegram
crowd benchmark it took a measurable share off the CPU per update. Everything the app runs on
the loop (python-telegram-bot, aiohttp, aiosqlite, asyncpg, APScheduler's AsyncIOScheduler)
uses only asyncio's public loop API, which uvloop implements. Windows has no uvloop; there the
standard loop runs.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new loop, as ``asyncio.run`` does."""
    if sys.platform == "win32":
        return asyncio.run(main)
    import uvloop

    return uvloop.run(main)
