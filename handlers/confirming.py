"""A yes/no confirmation held as the open step, so its yes counts only while it is asked.

An old "yes" button pressed after "no", or a forged one never shown, then finds no open
step and changes nothing.
"""

from __future__ import annotations

from handlers.context import Context

FLOW = "confirm"


async def ask(ctx: Context, step: str) -> None:
    await ctx.go(FLOW, step, {})


def is_open(ctx: Context, step: str) -> bool:
    return (ctx.flow, ctx.step) == (FLOW, step)


async def close(ctx: Context) -> None:
    if ctx.flow == FLOW:
        await ctx.end_flow()
