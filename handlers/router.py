"""The one table that maps commands, words, buttons and running flows to handlers."""

from __future__ import annotations

import functools
import unicodedata

from domain.protocol import Incoming, Kind, Reply
from handlers import (
    calendar_files,
    followup,
    interview,
    listing,
    notes,
    onboarding,
    outcome,
    privacy,
    quick_entry,
    settings,
    stats,
)
from handlers.context import (
    BACK,
    CANCEL,
    FLOW_ACTION_PREFIX,
    SKIP,
    ActionHandler,
    Answer,
    Context,
    FlowHandler,
    Handler,
)

COMMANDS: dict[str, Handler] = {
    "start": onboarding.start,
    "new": interview.begin,
    "list": listing.show_list,
    "help": onboarding.show_help,
    "cancel": onboarding.cancel,
    "settings": settings.show_settings,
    "export": privacy.export_data,
    "deleteme": privacy.ask_delete,
    "stats": stats.show_stats,
}

# Button actions are "<prefix>:<args...>"; each handler re-checks ownership of any id it gets.
ACTIONS: dict[str, ActionHandler] = {
    "m": onboarding.menu_action,
    "i": listing.interview_action,
    "o": outcome.outcome_action,
    "f": followup.followup_action,
    "s": settings.settings_action,
    "p": privacy.privacy_action,
    calendar_files.PREFIX: calendar_files.calendar_action,
}

FLOWS: dict[str, FlowHandler] = {
    interview.FLOW: interview.answer,
    settings.FLOW: settings.answer,
    onboarding.FLOW: onboarding.answer,
    outcome.FLOW: outcome.answer,
    notes.FLOW: notes.answer,
}

MAX_ACTION_LENGTH = 64


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


@functools.lru_cache(maxsize=1024)
def _folded(words: tuple[str, ...]) -> frozenset[str]:
    """A catalog's words for one meaning, normalised once rather than on every turn."""
    return frozenset(_normalise(w) for w in words)


def _command_of(ctx: Context, text: str) -> str | None:
    """The command a text names: ``/list``, ``/list@SomeBot`` or a word such as 一覧."""
    folded = _normalise(text)
    if folded.startswith("/"):
        name = folded[1:].split("@", 1)[0].split(maxsplit=1)[0] if len(folded) > 1 else ""
        return name if name in COMMANDS else "__unknown__"
    for command in COMMANDS:
        if folded in _folded(ctx.words(f"commands.{command}")):
            return command
    return None


def _control_of(ctx: Context, text: str) -> str | None:
    folded = _normalise(text)
    for value, key in ((SKIP, "skip"), (BACK, "back"), (CANCEL, "cancel")):
        if folded in _folded(ctx.words(key)):
            return value
    return None


async def route(ctx: Context, incoming: Incoming) -> list[Reply]:
    if not ctx.user.active and incoming.kind is not Kind.UNFOLLOW:
        await onboarding.reactivate(ctx)
    if incoming.kind is Kind.FOLLOW:
        return await onboarding.start(ctx)
    if incoming.kind is Kind.UNFOLLOW:
        return await onboarding.unfollow(ctx)
    if incoming.kind is Kind.ACTION:
        return await _route_action(ctx, incoming.action)
    return await _route_text(ctx, incoming.text)


async def _route_text(ctx: Context, text: str) -> list[Reply]:
    command = _command_of(ctx, text)
    if command == "__unknown__":
        return await onboarding.unknown_command(ctx)
    if command is not None:
        if command not in ("cancel", "help"):
            await ctx.end_flow()
        return await COMMANDS[command](ctx)
    flow = ctx.flow
    if flow is not None and flow in FLOWS:
        control = _control_of(ctx, text)
        answer = Answer(value=control) if control is not None else Answer(text=text)
        return await FLOWS[flow](ctx, answer)
    # With no flow open, a sentence about an interview starts a prefilled record.
    quick = await quick_entry.take_sentence(ctx, text)
    if quick is not None:
        return quick
    return await onboarding.not_understood(ctx)


async def _route_action(ctx: Context, action: str) -> list[Reply]:
    if not action or len(action.encode()) > MAX_ACTION_LENGTH:
        return await _stale(ctx)
    prefix, _, rest = action.partition(":")
    args = rest.split(":") if rest else []
    if prefix == FLOW_ACTION_PREFIX:
        return await _route_flow_button(ctx, args)
    handler = ACTIONS.get(prefix)
    if handler is None:
        return await _stale(ctx)
    return await handler(ctx, args)


async def _route_flow_button(ctx: Context, args: list[str]) -> list[Reply]:
    """``a:<flow>:<step>:<value>``: an answer button, valid only while that step is open."""
    if len(args) != 3:
        return await _stale(ctx)
    flow, step, value = args
    if ctx.flow != flow or ctx.step != step or flow not in FLOWS:
        return await _stale(ctx)
    return await FLOWS[flow](ctx, Answer(value=value))


async def _stale(ctx: Context) -> list[Reply]:
    """An old or foreign button: say so kindly, and repeat the open question if any."""
    replies = await onboarding.stale_button(ctx)
    flow = ctx.flow
    if flow is not None and flow in FLOWS:
        replies += await FLOWS[flow](ctx, Answer())
    return replies
