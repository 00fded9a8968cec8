"""The measured side of the Telegram benchmark: one bot, polling the fake Bot API.

``renraku``: the whole app as ``renraku run`` builds it from Settings (bootstrap: a temp SQLite
file, migrations, the engine, the reminder dispatcher, the durable inbox, the real
TelegramChannel), with the engine's clock fixed at the tests' Wednesday morning so every run
says the same things. Nothing in it is patched: whatever pacing the channel applies to
replies is measured as shipped.

``baseline``: a bare python-telegram-bot Application with PTB's default settings (no rate
limiter, updates one at a time, its own Updater polling), a MessageHandler that echoes the
text and a CallbackQueryHandler that answers the query and echoes its data.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from bench.child import command, say
from bench.common import START, Meter, rss_mib

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


class Bot(Protocol):
    def since_mark(self) -> dict[str, Any]: ...

    def mark(self) -> None: ...

    async def report(self) -> dict[str, Any]: ...

    async def stop(self) -> None: ...


class RenrakuBot:
    def __init__(self, app: Any) -> None:
        self.app = app
        self._handled = (0.0, 0.0)

    @classmethod
    async def start(cls, params: dict[str, Any], folder: Path) -> RenrakuBot:
        from bot.bootstrap import bootstrap
        from tests.support import ManualClock, sqlite_settings

        settings = sqlite_settings(
            folder, telegram_bot_token=params["token"], telegram_base_url=params["base_url"]
        )
        app = await bootstrap(settings, clock=ManualClock(START))
        await app.start()
        return cls(app)

    def _handle_seconds(self) -> tuple[float, float]:
        registry = self.app.metrics.registry
        labels = {"channel": "telegram"}
        total = registry.get_sample_value("renraku_handle_seconds_sum", labels) or 0.0
        count = registry.get_sample_value("renraku_handle_seconds_count", labels) or 0.0
        return total, count

    def since_mark(self) -> dict[str, Any]:
        """The engine's time (renraku_handle_seconds) since the last mark."""
        total, count = self._handle_seconds()
        return {
            "engine_seconds": total - self._handled[0],
            "engine_calls": count - self._handled[1],
        }

    def mark(self) -> None:
        self._handled = self._handle_seconds()

    async def report(self) -> dict[str, Any]:
        from sqlalchemy import func, select

        from storage.models import Interview, User

        async with self.app.uow() as uow:
            interviews = await uow.session.scalar(select(func.count()).select_from(Interview))
            users = await uow.session.scalar(select(func.count()).select_from(User))
        return {**self.since_mark(), "interviews": interviews, "users": users}

    async def stop(self) -> None:
        await self.app.stop()


class EchoBot:
    def __init__(self, application: Any) -> None:
        self.application = application

    @classmethod
    async def start(cls, params: dict[str, Any], _folder: Path) -> EchoBot:
        from telegram import Update
        from telegram.ext import (
            Application,
            CallbackQueryHandler,
            ContextTypes,
            MessageHandler,
            filters,
        )

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message = update.effective_message
            if message is not None:
                await context.bot.send_message(message.chat.id, message.text or "…")

        async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            query = update.callback_query
            if query is None or query.message is None:
                return
            await query.answer()
            await context.bot.send_message(query.message.chat.id, str(query.data))

        builder = Application.builder().token(params["token"]).base_url(params["base_url"])
        application = builder.build()
        application.add_handler(MessageHandler(filters.TEXT, echo))
        application.add_handler(CallbackQueryHandler(pressed))
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            timeout=timedelta(seconds=10), allowed_updates=ALLOWED_UPDATES
        )
        return cls(application)

    def since_mark(self) -> dict[str, Any]:
        return {}

    def mark(self) -> None:
        """Nothing of its own to count."""

    async def report(self) -> dict[str, Any]:
        return {}

    async def stop(self) -> None:
        application = self.application
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()


async def serve(params: dict[str, Any]) -> None:
    starters: dict[str, Callable[[dict[str, Any], Path], Awaitable[Bot]]] = {
        "renraku": RenrakuBot.start,
        "baseline": EchoBot.start,
    }
    meter = Meter()
    with tempfile.TemporaryDirectory(prefix="renraku-bench-") as folder:
        bot: Bot = await starters[params["impl"]](params, Path(folder))
        try:
            say("READY", {"rss_mib": rss_mib()})
            while True:
                order = await command()
                if order == "MARK":
                    # What the phase since the last mark cost, then a fresh start.
                    usage = {**meter.read(), **bot.since_mark()}
                    meter.mark()
                    bot.mark()
                    say("MARKED", usage)
                elif order == "STOP":
                    usage = meter.read()
                    say("RESULT", {**usage, **await bot.report()})
                    return
        finally:
            await bot.stop()
