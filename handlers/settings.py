"""Own name, phone and email, time zone, reminder hour, quiet hours, halfway nudge, weekly
digest, language."""

from __future__ import annotations

import unicodedata
from typing import Any

from domain import calendar
from domain.parsing import TextProblem, clean_text, parse_contact
from domain.protocol import Reply
from handlers import digest, planning
from handlers.context import BACK, CANCEL, Answer, Context, flow_action
from handlers.menu import main_menu
from handlers.typed import Option, typed_choice
from messages.catalog import LOCALES
from storage.models import ReminderKind

FLOW = "settings"
# The value of the button that removes a saved phone number or email address.
CLEAR = "_clear"
CONTACT_STEPS = ("phone", "email")
NAME_MAX = 30
HOURS = ("8", "9", "10", "12", "18", "20")
QUIET_PRESETS = {"22-8": (22, 8), "23-7": (23, 7), "21-9": (21, 9), "off": (None, None)}
ZONES = ("Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai", "UTC")


def _quiet_text(ctx: Context) -> str:
    start, end = ctx.user.quiet_start, ctx.user.quiet_end
    if start is None or end is None or start == end:
        return ctx.t("settings.quiet_off")
    return ctx.t("settings.quiet_range", start=start, end=end)


async def show_settings(ctx: Context) -> list[Reply]:
    user = ctx.user
    text = ctx.t(
        "settings.overview",
        name=user.display_name or ctx.t("settings.name_unset"),
        phone=user.phone or ctx.t("settings.name_unset"),
        email=user.email or ctx.t("settings.name_unset"),
        timezone=user.timezone,
        hour=user.reminder_hour,
        quiet=_quiet_text(ctx),
        nudge=ctx.t("settings.on" if user.halfway_nudge else "settings.off"),
        digest=ctx.t("settings.on" if user.weekly_digest else "settings.off"),
        language=ctx.t(f"settings.language_name.{ctx.locale}"),
    )
    choices = [
        ctx.button("settings.change.name", "s:name"),
        ctx.button("settings.change.phone", "s:phone"),
        ctx.button("settings.change.email", "s:email"),
        ctx.button("settings.change.timezone", "s:tz"),
        ctx.button("settings.change.hour", "s:hour"),
        ctx.button("settings.change.quiet", "s:quiet"),
        ctx.button("settings.change.nudge", "s:nudge"),
        ctx.button("settings.change.digest", "s:digest"),
        ctx.button("settings.change.language", "s:lang"),
        ctx.button("settings.change.done", "m:help"),
    ]
    return [ctx.reply(text, choices)]


async def settings_action(ctx: Context, args: list[str]) -> list[Reply]:
    field = args[0] if args else ""
    if field == "nudge":
        ctx.user.halfway_nudge = not ctx.user.halfway_nudge
        if not ctx.user.halfway_nudge:
            await _cancel_halfway(ctx)
        key = "settings.nudge_on" if ctx.user.halfway_nudge else "settings.nudge_off"
        return [ctx.reply(ctx.t(key)), *await show_settings(ctx)]
    if field in ("digest", "digest_off"):
        # digest_off (the digest's own button) only ever turns it off, however often pressed.
        if field == "digest" and not ctx.user.weekly_digest:
            await digest.turn_on(ctx)
        else:
            await digest.turn_off(ctx)
        key = "settings.digest_on" if ctx.user.weekly_digest else "settings.digest_off"
        return [ctx.reply(ctx.t(key)), *await show_settings(ctx)]
    if field in ("name", "phone", "email", "tz", "hour", "quiet", "lang"):
        await ctx.go(FLOW, field, {})
        return [_ask(ctx, field)]
    return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]


async def _cancel_halfway(ctx: Context) -> None:
    for interview in await ctx.uow.interviews.for_user(ctx.user.id):
        await ctx.uow.reminders.cancel_for_interview(interview.id, [ReminderKind.HALFWAY])


def _ask(ctx: Context, step: str) -> Reply:
    def pick(values: tuple[str, ...], label: str) -> list[Any]:
        return [ctx.button(label, flow_action(FLOW, step, v), value=v) for v in values]

    back = ctx.button("controls.back", flow_action(FLOW, step, BACK))
    if step == "name":
        return ctx.reply(ctx.t("settings.ask.name", limit=NAME_MAX), [back])
    if step in CONTACT_STEPS:
        saved = ctx.user.phone if step == "phone" else ctx.user.email
        clear = [ctx.button("settings.clear", flow_action(FLOW, step, CLEAR))] if saved else []
        return ctx.reply(ctx.t(f"settings.ask.{step}"), [*clear, back])
    if step == "tz":
        return ctx.reply(ctx.t("settings.ask.timezone"), [*pick(ZONES, "settings.value"), back])
    if step == "hour":
        return ctx.reply(
            ctx.t("settings.ask.hour"), [*pick(HOURS, "settings.hour_value"), back], columns=3
        )
    if step == "quiet":
        presets = [
            ctx.button(
                f"settings.quiet_preset.{key.replace('-', '_')}", flow_action(FLOW, step, key)
            )
            for key in QUIET_PRESETS
        ]
        return ctx.reply(ctx.t("settings.ask.quiet"), [*presets, back])
    langs = [
        ctx.button(f"settings.language_name.{code}", flow_action(FLOW, step, code))
        for code in LOCALES
    ]
    return ctx.reply(ctx.t("settings.ask.language"), [*langs, back])


def _options(ctx: Context, step: str) -> list[Option]:
    """The step's buttons as typing may name them (off, 22-8, English, ...)."""
    if step == "quiet":
        return [
            Option(
                key,
                f"settings.quiet_preset.{key.replace('-', '_')}",
                f"settings.words.quiet.{key.replace('-', '_')}",
            )
            for key in QUIET_PRESETS
        ]
    if step == "lang":
        return [
            Option(code, f"settings.language_name.{code}", f"settings.words.language.{code}")
            for code in LOCALES
        ]
    if step in CONTACT_STEPS and (ctx.user.phone if step == "phone" else ctx.user.email):
        return [Option(CLEAR, "settings.clear", "settings.words.clear")]
    return []


async def answer(ctx: Context, reply: Answer) -> list[Reply]:
    step = ctx.step or "name"
    if reply.value is None and reply.text is None:
        return [_ask(ctx, step)]
    if reply.value is None and reply.text is not None:
        picked = typed_choice(ctx, reply.text, _options(ctx, step))
        if isinstance(picked, str):
            reply = Answer(value=picked)
    if reply.value in (BACK, CANCEL):
        await ctx.end_flow()
        return await show_settings(ctx)
    if step in CONTACT_STEPS and reply.value == CLEAR:
        setattr(ctx.user, step, None)
        await ctx.end_flow()
        return [ctx.reply(ctx.t("settings.cleared")), *await show_settings(ctx)]
    problem = await _apply(ctx, step, reply)
    if problem is not None:
        return [ctx.reply(ctx.t(problem, limit=NAME_MAX)), _ask(ctx, step)]
    await ctx.end_flow()
    return [ctx.reply(ctx.t("settings.saved")), *await show_settings(ctx)]


async def _apply(ctx: Context, step: str, reply: Answer) -> str | None:
    """Change one setting; a catalog key naming the problem when the answer will not do."""
    user = ctx.user
    raw = (reply.value or reply.text or "").strip()
    if step == "name":
        if reply.text is None:
            return "settings.problem.use_text"
        cleaned = clean_text(reply.text, NAME_MAX, need_word=True)
        if isinstance(cleaned, TextProblem):
            return f"problems.{cleaned.value}"
        user.display_name = cleaned
        return None
    if step in CONTACT_STEPS:
        contact = parse_contact(reply.text) if reply.text is not None else None
        if contact is None or contact.kind != step:
            return f"settings.problem.{step}"
        setattr(user, step, contact.value)
        return None
    if step == "tz":
        if not calendar.is_time_zone(raw):
            return "settings.problem.timezone"
        if "/" not in raw and raw != "UTC":
            return "settings.problem.timezone"
        old = user.timezone
        user.timezone = raw
        await planning.reschedule_pending(ctx, old)
        return None
    if step == "hour":
        digits = unicodedata.normalize("NFKC", raw).removesuffix("時").removesuffix(":00")
        if not digits.isascii() or not digits.isdigit() or not 6 <= int(digits) <= 21:
            return "settings.problem.hour"
        user.reminder_hour = int(digits)
        await planning.reschedule_pending(ctx, user.timezone)
        return None
    if step == "quiet":
        if raw not in QUIET_PRESETS:
            return "settings.problem.use_buttons"
        user.quiet_start, user.quiet_end = QUIET_PRESETS[raw]
        await planning.reschedule_pending(ctx, user.timezone)
        return None
    if raw not in LOCALES:
        return "settings.problem.use_buttons"
    user.locale = raw
    return None
