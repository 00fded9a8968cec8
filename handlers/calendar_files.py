"""Calendar files (.ics) for an interview: the promised day, the follow-up moment, the next round.

Each event keeps one UID for the life of the interview (``interview-<id>-<kind>@<domain>``)
and the file carries a SEQUENCE that grows whenever what it says changes, so opening a newer
file updates the events already in the user's calendar instead of adding copies. What the
last file said is kept on the interview (``calendar_issued``): its sequence, a fingerprint of
its events and when each started. An event that was in an earlier file but has no reason to
be any more (the follow-up after a result came) is sent again as cancelled; a deleted
interview gets a file whose METHOD is CANCEL.

The .ics text itself comes from the icalendar library; this module only decides what goes in.
"""

from __future__ import annotations

import enum
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain import calendar
from domain.calendar import PeriodUnit, PromisedPeriod
from domain.parsing import parse_id
from domain.protocol import Choice, Document, Reply

# A module import: handlers.interview offers this module's button after saving.
from handlers import interview as interview_flow
from handlers.context import Context
from handlers.menu import main_menu
from storage.models import (
    Download,
    DownloadKind,
    Interview,
    InterviewStatus,
    ReminderKind,
    ReminderState,
)

if TYPE_CHECKING:
    from icalendar import Event

PREFIX = "c"
MIME_TYPE = "text/calendar"
PRODID = "-//Renraku//Interview follow-up//EN"
UID_DOMAIN = "renraku"
FOLLOWUP_MINUTES = 15
NEXT_INTERVIEW_MINUTES = 60
# A deleted interview's cancelling file waits this long for its button to be pressed.
HELD_FOR = timedelta(days=7)
# Reminder kinds that are the follow-up moment (the halfway nudge is not one).
FOLLOWUP_KINDS = (ReminderKind.FOLLOWUP.value, ReminderKind.RECHECK.value)
# The next round's time, once the interview model carries one; without it there is no event.


class EventKind(enum.StrEnum):
    PROMISED = "promised"
    FOLLOWUP = "followup"
    NEXT = "next"


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One event as it will be written: an all-day ``date`` or a timed ``datetime`` start."""

    kind: EventKind
    start: date | datetime
    summary: str
    description: str
    minutes: int = 0
    alarm: str | None = None
    alarm_before: timedelta = timedelta(0)

    def fingerprint(self) -> list[str]:
        return [self.kind.value, self.start.isoformat(), self.summary, self.description]


def uid(interview_id: int, kind: EventKind | str, domain: str = UID_DOMAIN) -> str:
    return f"interview-{interview_id}-{kind}@{domain}"


# --- the .ics text ---------------------------------------------------------------------------


def _vevent(
    interview_id: int,
    event: CalendarEvent,
    *,
    sequence: int,
    stamp: datetime,
    cancelled: bool = False,
) -> Event:
    from icalendar import Alarm, Event

    vevent = Event()
    vevent.add("uid", uid(interview_id, event.kind))
    vevent.add("dtstamp", stamp)
    vevent.add("sequence", sequence)
    vevent.add("summary", event.summary)
    if event.description:
        vevent.add("description", event.description)
    vevent.add("dtstart", event.start)
    if isinstance(event.start, datetime):
        vevent.add("dtend", event.start + timedelta(minutes=event.minutes))
    else:
        # An all-day event ends, exclusively, on the next day; it does not make the user busy.
        vevent.add("dtend", event.start + timedelta(days=1))
        vevent.add("transp", "TRANSPARENT")
    vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if event.alarm is not None and not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event.alarm)
        alarm.add("trigger", -event.alarm_before)
        vevent.add_component(alarm)
    return vevent


def build_ics(
    interview_id: int,
    live: list[CalendarEvent],
    *,
    sequence: int,
    stamp: datetime,
    cancelled: list[CalendarEvent] | None = None,
    method: str = "PUBLISH",
) -> bytes:
    """A VCALENDAR with the live events and, cancelled, those that no longer hold."""
    # Imported when a file is made: icalendar takes ~0.15 s to import, and start-up
    # (every `renraku run`) should not pay for what few turns use.
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    for event in live:
        cal.add_component(_vevent(interview_id, event, sequence=sequence, stamp=stamp))
    for event in cancelled or []:
        cal.add_component(
            _vevent(interview_id, event, sequence=sequence, stamp=stamp, cancelled=True)
        )
    return bytes(cal.to_ical())


# --- what an interview's calendar holds ------------------------------------------------------


async def _followup_moment(ctx: Context, interview: Interview) -> datetime | None:
    if not InterviewStatus(interview.status).is_open:
        return None
    for reminder in await ctx.uow.reminders.pending_for_interview(interview.id):
        if reminder.state == ReminderState.PENDING.value and reminder.kind in FOLLOWUP_KINDS:
            return reminder.due_at
    return None


async def events_for(ctx: Context, interview: Interview) -> list[CalendarEvent]:
    """The events an interview has now, in a fixed order."""
    company = interview.company
    stage = ctx.t(f"interview.stage.{interview.stage}")
    period = PromisedPeriod.from_storage(interview.promised)
    promised = calendar.promised_day(interview.interview_date, period)
    params = {"company": company, "stage": stage, "date": ctx.fmt_date(interview.interview_date)}
    if interview.status == InterviewStatus.SCHEDULED.value and interview.scheduled_at is not None:
        # A round booked ahead: its own time is the event, with an alarm the day before; no
        # promise has been made for it yet.
        return [
            CalendarEvent(
                EventKind.NEXT,
                interview.scheduled_at,
                ctx.t("calendar.next_summary", **params),
                ctx.t("calendar.next_description", **params),
                minutes=NEXT_INTERVIEW_MINUTES,
                alarm=ctx.t("calendar.next_alarm", **params),
                alarm_before=timedelta(days=1),
            )
        ]
    if period.unit is PeriodUnit.UNSPECIFIED:
        # Nothing was promised: the day is our guideline, and no text claims otherwise.
        summary = ctx.t("calendar.guideline_summary", **params)
        description = ctx.t("calendar.guideline_description", **params)
    else:
        period_text = interview_flow.describe_period(ctx, period)
        summary = ctx.t("calendar.promised_summary", period=period_text, **params)
        description = ctx.t("calendar.promised_description", period=period_text, **params)
    events = [CalendarEvent(EventKind.PROMISED, promised, summary, description)]
    followup = await _followup_moment(ctx, interview)
    if followup is not None:
        events.append(
            CalendarEvent(
                EventKind.FOLLOWUP,
                followup,
                ctx.t("calendar.followup_summary", **params),
                ctx.t("calendar.followup_description", **params),
                minutes=FOLLOWUP_MINUTES,
                alarm=ctx.t("calendar.followup_alarm", **params),
            )
        )
    return events


def _digest(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def _gone_event(ctx: Context, interview: Interview, kind: str, start: str) -> CalendarEvent | None:
    """An event issued before, as it must be named to cancel it (its start as it was)."""
    try:
        event_kind = EventKind(kind)
        moment: date | datetime = (
            datetime.fromisoformat(start) if "T" in start else date.fromisoformat(start)
        )
    except ValueError:
        return None
    summary = ctx.t("calendar.cancelled_summary", company=interview.company)
    return CalendarEvent(event_kind, moment, summary, "")


async def calendar_file(ctx: Context, interview: Interview) -> Document:
    """The interview's .ics now; remembers what it said so the next one can supersede it."""
    live = await events_for(ctx, interview)
    issued: dict[str, Any] = dict(interview.calendar_issued or {})
    earlier: dict[str, str] = dict(issued.get("events") or {})
    live_kinds = {e.kind.value for e in live}
    gone = [
        event
        for kind, start in earlier.items()
        if kind not in live_kinds and (event := _gone_event(ctx, interview, kind, start))
    ]
    fingerprint = _digest([e.fingerprint() for e in live] + [e.fingerprint() for e in gone])
    sequence = int(issued.get("sequence", -1))
    if issued.get("fingerprint") != fingerprint:
        sequence += 1
    # Kinds cancelled once stay listed, so every later file keeps them cancelled.
    interview.calendar_issued = {
        "sequence": sequence,
        "fingerprint": fingerprint,
        "events": {**earlier, **{e.kind.value: e.start.isoformat() for e in live}},
    }
    content = build_ics(interview.id, live, sequence=sequence, stamp=ctx.now, cancelled=gone)
    return Document(f"renraku-interview-{interview.id}.ics", content, MIME_TYPE)


def cancelling_file(ctx: Context, interview: Interview) -> Document | None:
    """For a deleted interview: a METHOD:CANCEL file for every event it ever put in a calendar.

    None when no calendar file was ever made for it: there is nothing to take back.
    """
    issued: dict[str, Any] = dict(interview.calendar_issued or {})
    earlier: dict[str, str] = dict(issued.get("events") or {})
    events = [
        event
        for kind, start in earlier.items()
        if (event := _gone_event(ctx, interview, kind, start))
    ]
    if not events:
        return None
    content = build_ics(
        interview.id,
        [],
        sequence=int(issued.get("sequence", 0)) + 1,
        stamp=ctx.now,
        cancelled=events,
        method="CANCEL",
    )
    return Document(f"renraku-interview-{interview.id}-cancel.ics", content, MIME_TYPE)


# --- buttons and replies ---------------------------------------------------------------------


def button(ctx: Context, interview_id: int) -> Choice:
    return ctx.button("calendar.button", f"{PREFIX}:{interview_id}")


def offer(ctx: Context, interview: Interview) -> Reply:
    """A line with the calendar button, for the message after saving."""
    return ctx.reply(ctx.t("calendar.offer"), [button(ctx, interview.id)])


async def hold_cancellation(ctx: Context, interview: Interview) -> Choice | None:
    """Before deleting: keep the cancelling file for a button; None if nothing to cancel."""
    document = cancelling_file(ctx, interview)
    if document is None:
        return None
    held = Download(
        user_id=ctx.user.id,
        # Never shown to anyone: a held file is found by its id and its owner.
        token_hash=hashlib.sha256(secrets.token_urlsafe(32).encode()).hexdigest(),
        kind=DownloadKind.HELD.value,
        filename=document.filename,
        mime_type=document.mime_type,
        content=document.content,
        created_at=ctx.now,
        expires_at=ctx.now + HELD_FOR,
    )
    ctx.uow.downloads.add(held)
    await ctx.uow.downloads.flush()
    return ctx.button("calendar.cancel_button", f"{PREFIX}:x:{held.id}")


async def calendar_action(ctx: Context, args: list[str]) -> list[Reply]:
    """``c:<interview id>``: the file for one's own interview; ``c:x:<id>``: a held cancel."""
    if len(args) == 1 and (interview_id := parse_id(args[0])) is not None:
        interview = await ctx.uow.interviews.owned(ctx.user.id, interview_id)
        if interview is None:
            return [ctx.reply(ctx.t("errors.interview_gone"), main_menu(ctx))]
        document = await calendar_file(ctx, interview)
        return [
            Reply(text=ctx.t("calendar.ready", company=interview.company), document=document),
            ctx.reply(ctx.t("calendar.how_to"), main_menu(ctx)),
        ]
    if len(args) == 2 and args[0] == "x" and (download_id := parse_id(args[1])) is not None:
        held = await ctx.uow.downloads.owned(ctx.user.id, download_id)
        if held is None or held.kind != DownloadKind.HELD.value or held.expires_at <= ctx.now:
            return [ctx.reply(ctx.t("calendar.cancel_gone"), main_menu(ctx))]
        document = Document(held.filename, held.content, held.mime_type)
        return [
            Reply(text=ctx.t("calendar.cancel_ready"), document=document),
            ctx.reply(ctx.t("calendar.cancel_how_to"), main_menu(ctx)),
        ]
    return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]
