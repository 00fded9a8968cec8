"""The main menu every flow ends on."""

from __future__ import annotations

from domain.protocol import Choice
from handlers.context import Context


def main_menu(ctx: Context) -> tuple[Choice, ...]:
    return (
        ctx.button("menu.new", "m:new"),
        ctx.button("menu.list", "m:list"),
        ctx.button("menu.settings", "m:settings"),
        ctx.button("menu.help", "m:help"),
    )
