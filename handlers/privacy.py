"""A user's own data: export it as a file, or delete all of it after a confirmation."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from domain.protocol import Document, Reply
from handlers import confirming
from handlers.context import Context
from handlers.listing import applications_of
from handlers.menu import main_menu
from handlers.registration import REGISTRATION
from storage.models import Interview

# 2: interviews grouped as the rounds of their applications.
EXPORT_VERSION = 2


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def export_data(ctx: Context) -> list[Reply]:
    user = ctx.user
    groups = sorted(await applications_of(ctx), key=lambda r: (r[0].interview_date, r[0].id))
    applications = [
        {"company": rounds[0].company, "rounds": [await _round(ctx, i) for i in rounds]}
        for rounds in groups
    ]
    count = sum(len(rounds) for rounds in groups)
    reminders = [
        {
            "kind": r.kind,
            "due_at": _plain(r.due_at),
            "state": r.state,
            "sent_at": _plain(r.sent_at),
            # What went out of a reminder so far (its send record), and what it said.
            "parts_sent": r.parts_sent,
            "composed": r.composed,
        }
        for r in await ctx.uow.reminders.for_user(user.id)
    ]
    # Messages received but not yet handled (or set aside): they hold what the user typed.
    held = [
        {
            "received_at": _plain(event.received_at),
            "text": event.payload.get("text"),
            "action": event.payload.get("action"),
            "set_aside": event.set_aside_at is not None,
        }
        for event in await ctx.uow.inbox.for_chat(user.channel, user.external_id)
    ]
    payload = {
        "format": "renraku-export",
        "version": EXPORT_VERSION,
        "exported_at": _plain(ctx.now),
        "user": {
            "channel": user.channel,
            "external_id": user.external_id,
            "name": user.display_name,
            "phone": user.phone,
            "email": user.email,
            "language": user.locale,
            "timezone": user.timezone,
            "reminder_hour": user.reminder_hour,
            "quiet_hours": [user.quiet_start, user.quiet_end],
            "halfway_nudge": user.halfway_nudge,
            "weekly_digest": user.weekly_digest,
            "created_at": _plain(user.created_at),
        },
        "applications": applications,
        "reminders": reminders,
        "held_messages": held,
    }
    content = json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
    document = Document(filename=f"renraku-export-{ctx.today.isoformat()}.json", content=content)
    return [
        Reply(text=ctx.t("privacy.export_ready", count=count), document=document),
        ctx.reply(ctx.t("privacy.export_note"), main_menu(ctx)),
    ]


DELETE_ALL_STEP = "deleteme"


async def _round(ctx: Context, interview: Interview) -> dict[str, Any]:
    history = await ctx.uow.history.for_interview(interview.id)
    notes = await ctx.uow.notes.notes_for(interview.id)
    return {
        # The answers, named by their columns, in the order they are asked.
        **{
            column.attribute: _plain(getattr(interview, column.attribute))
            for column in REGISTRATION.columns()
        },
        "status": interview.status,
        "followups_sent": interview.followups_sent,
        "created_at": _plain(interview.created_at),
        "status_history": [
            {"from": h.from_status, "to": h.to_status, "at": _plain(h.changed_at)} for h in history
        ],
        # Oldest first, as they were written.
        "notes": [{"text": n.text, "created_at": _plain(n.created_at)} for n in reversed(notes)],
    }


async def ask_delete(ctx: Context) -> list[Reply]:
    await confirming.ask(ctx, DELETE_ALL_STEP)
    return [
        ctx.reply(
            ctx.t("privacy.confirm_delete"),
            [
                ctx.button("privacy.delete_yes", "p:delok"),
                ctx.button("privacy.delete_no", "p:keep"),
            ],
        )
    ]


async def privacy_action(ctx: Context, args: list[str]) -> list[Reply]:
    op = args[0] if args else ""
    if op == "delok":
        if not confirming.is_open(ctx, DELETE_ALL_STEP):
            return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]
        locale = ctx.locale
        await ctx.uow.inbox.remove_for_chat(ctx.user.channel, ctx.user.external_id)
        await ctx.uow.users.delete(ctx.user)
        ctx.dialogue = None
        return [Reply(text=ctx.catalog.text(locale, "privacy.deleted"))]
    if op == "keep":
        await confirming.close(ctx)
        return [ctx.reply(ctx.t("privacy.kept"), main_menu(ctx))]
    if op == "export":
        return await export_data(ctx)
    return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]
