"""Greeting, the sender's own name, phone and email, help, cancel, and the kind replies for
what is not understood."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.parsing import TextProblem, clean_text, parse_contact
from domain.protocol import Reply
from handlers import interview, listing, settings
from handlers.context import BACK, CANCEL, SKIP, Answer, Context, flow_action
from handlers.menu import main_menu

FLOW = "onboarding"
NAME_MAX = 30
# What onboarding asks, in order; each is skippable. Tests answer it by these step keys
# (tests/walker.py onboarding_lines), so a new question is one entry here and its taker.
STEPS = ("name", "phone", "email")


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
    await ctx.go(FLOW, STEPS[0], {})
    return [intro, _ask(ctx, STEPS[0])]


def _ask(ctx: Context, step: str) -> Reply:
    controls = [ctx.button("controls.skip", flow_action(FLOW, step, SKIP))]
    if step != STEPS[0]:
        controls.append(ctx.button("controls.back", flow_action(FLOW, step, BACK)))
    return ctx.reply(ctx.t(f"onboarding.ask.{step}"), controls)


async def answer(ctx: Context, reply: Answer) -> list[Reply]:
    step = ctx.step if ctx.step in STEPS else STEPS[0]
    if reply.value == CANCEL:
        await ctx.end_flow()
        return [ctx.reply(ctx.t("onboarding.later"), main_menu(ctx))]
    if reply.value == BACK:
        previous = STEPS[max(STEPS.index(step) - 1, 0)]
        await ctx.go(FLOW, previous, {})
        return [_ask(ctx, previous)]
    if reply.value == SKIP:
        notes = [ctx.reply(ctx.t("onboarding.name_skipped"))] if step == "name" else []
        return await _next(ctx, step, notes)
    if reply.text is None:
        return [_ask(ctx, step)]
    taken = await _TAKERS[step](ctx, reply.text)
    if isinstance(taken, str):
        return [ctx.reply(ctx.t(taken, limit=NAME_MAX)), _ask(ctx, step)]
    return await _next(ctx, step, taken)


async def _next(ctx: Context, step: str, notes: list[Reply]) -> list[Reply]:
    following = STEPS.index(step) + 1
    if following < len(STEPS):
        await ctx.go(FLOW, STEPS[following], {})
        return [*notes, _ask(ctx, STEPS[following])]
    await ctx.end_flow()
    return [*notes, ctx.reply(ctx.t("onboarding.done"), main_menu(ctx))]


# A taker keeps a typed answer on the user and says so, or names the catalog key of the problem.
Taker = Callable[[Context, str], Awaitable[list[Reply] | str]]


async def _take_name(ctx: Context, text: str) -> list[Reply] | str:
    cleaned = clean_text(text, NAME_MAX, need_word=True)
    if isinstance(cleaned, TextProblem):
        return f"problems.{cleaned.value}"
    ctx.user.display_name = cleaned
    return [ctx.reply(ctx.t("onboarding.name_saved", name=cleaned))]


async def _take_phone(ctx: Context, text: str) -> list[Reply] | str:
    contact = parse_contact(text)
    if contact is None or contact.kind != "phone":
        return "onboarding.bad_phone"
    ctx.user.phone = contact.value
    return [ctx.reply(ctx.t("onboarding.phone_saved", phone=contact.value))]


async def _take_email(ctx: Context, text: str) -> list[Reply] | str:
    contact = parse_contact(text)
    if contact is None or contact.kind != "email":
        return "onboarding.bad_email"
    ctx.user.email = contact.value
    return [ctx.reply(ctx.t("onboarding.email_saved", email=contact.value))]


_TAKERS: dict[str, Taker] = {"name": _take_name, "phone": _take_phone, "email": _take_email}


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
    # What the bot understands besides its commands: a free sentence, and notes on a card.
    text = "\n\n".join((ctx.t("help.text"), ctx.t("help.quick"), ctx.t("help.notes")))
    return [ctx.reply(text, main_menu(ctx))]


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
