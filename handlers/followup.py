"""Reminder contents and the buttons under them (filled in by the Reminders work)."""

from __future__ import annotations

from bot.protocol import Reply
from handlers.context import Context
from handlers.menu import main_menu


async def followup_action(ctx: Context, args: list[str]) -> list[Reply]:
    return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]
