"""Greeting, own name, help, cancel, and the kind replies for what is not understood."""

from __future__ import annotations

from domain.parsing import TextProblem, clean_text
from domain.protocol import Reply
from handlers import interview, listing, settings
from handlers.context import BACK, CANCEL, SKIP, Answer, Context, flow_action
from handlers.menu import main_menu

FLOW = "onboarding"
NAME_MAX = 30


async def start(ctx: Context) -> list[Reply]:
    ctx.user.active = True
    ctx.user.onboarded = True
    await ctx.end_flow()
    intro = ctx.reply(ctx.t("onboarding.greeting"))
    if ctx.user.display_name:
        return [
            intro,
            ctx.reply(ctx.t("onboarding.welcome_back", name=ctx.user.display_name), main_menu(ctx)),
        ]
    await ctx.go(FLOW, "name", {})
    return [intro, _ask_name(ctx)]


def _ask_name(ctx: Context) -> Reply:
    return ctx.reply(
        ctx.t("onboarding.ask_name"),
        [ctx.button("controls.skip", flow_action(FLOW, "name", SKIP))],
    )


async def answer(ctx: Context, reply: Answer) -> list[Reply]:
    if (reply.value is None and reply.text is None) or reply.value == BACK:
        return [_ask_name(ctx)]
    if reply.value in (SKIP, CANCEL):
        await ctx.end_flow()
        return [ctx.reply(ctx.t("onboarding.name_skipped"), main_menu(ctx))]
    cleaned = clean_text(reply.text or "", NAME_MAX, need_word=True)
    if isinstance(cleaned, TextProblem):
        return [ctx.reply(ctx.t(f"problems.{cleaned.value}", limit=NAME_MAX)), _ask_name(ctx)]
    ctx.user.display_name = cleaned
    await ctx.end_flow()
    return [ctx.reply(ctx.t("onboarding.name_saved", name=cleaned), main_menu(ctx))]


async def menu_action(ctx: Context, args: list[str]) -> list[Reply]:
    target = args[0] if args else ""
    await ctx.end_flow()
    if target == "new":
        return await interview.begin(ctx)
    if target == "list":
        return await listing.show_list(ctx)
    if target == "settings":
        return await settings.show_settings(ctx)
    if target == "help":
        return await show_help(ctx)
    return await stale_button(ctx)


async def show_help(ctx: Context) -> list[Reply]:
    return [ctx.reply(ctx.t("help.text"), main_menu(ctx))]


async def cancel(ctx: Context) -> list[Reply]:
    if ctx.flow is None:
        return [ctx.reply(ctx.t("cancel.nothing"), main_menu(ctx))]
    await ctx.end_flow()
    return [ctx.reply(ctx.t("cancel.done"), main_menu(ctx))]


async def unknown_command(ctx: Context) -> list[Reply]:
    return [ctx.reply(ctx.t("errors.unknown_command"), main_menu(ctx))]


async def not_understood(ctx: Context) -> list[Reply]:
    return [ctx.reply(ctx.t("errors.not_understood"), main_menu(ctx))]


async def stale_button(ctx: Context) -> list[Reply]:
    if ctx.flow is not None:
        return [ctx.reply(ctx.t("errors.stale_button_in_flow"))]
    return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]


async def unfollow(ctx: Context) -> list[Reply]:
    ctx.user.active = False
    await ctx.uow.reminders.set_paused_for_user(ctx.user.id, paused=True)
    return []


async def reactivate(ctx: Context) -> None:
    """A user who blocked or unfollowed is back: their paused reminders resume."""
    ctx.user.active = True
    await ctx.uow.reminders.set_paused_for_user(ctx.user.id, paused=False)
