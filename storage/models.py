"""The tables. Every piece of state lives here, so any replica can pick up any update."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class InterviewStatus(enum.StrEnum):
    WAITING = "waiting"
    FOLLOWED_UP = "followed_up"
    PASSED = "passed"
    REJECTED = "rejected"
    DECLINED = "declined"
    NO_RESPONSE = "no_response"
    # A round recorded before it happens: it has a time and no result yet.
    SCHEDULED = "scheduled"

    @property
    def is_open(self) -> bool:
        """A result is awaited."""
        return self in (InterviewStatus.WAITING, InterviewStatus.FOLLOWED_UP)


class ReminderKind(enum.StrEnum):
    HALFWAY = "halfway"
    FOLLOWUP = "followup"
    RECHECK = "recheck"
    # Snoozed by the user: the same message again, not counted as another nudge.
    FOLLOWUP_LATER = "followup_later"
    RECHECK_LATER = "recheck_later"
    # The user's week at a glance; it belongs to the user, not to one interview.
    DIGEST = "digest"
    # A scheduled round: the checklist the day before, a line that morning, and afterwards
    # the questions about how it went.
    PREP_EVE = "prep_eve"
    PREP_MORNING = "prep_morning"
    ROUND_AFTER = "round_after"


class ReminderState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(100))
    # The user's own contact, for the signature of their follow-ups and for call-backs.
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    reminder_hour: Mapped[int] = mapped_column(Integer, default=10)
    quiet_start: Mapped[int | None] = mapped_column(Integer, default=22)
    quiet_end: Mapped[int | None] = mapped_column(Integer, default=8)
    halfway_nudge: Mapped[bool] = mapped_column(Boolean, default=True)
    weekly_digest: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    onboarded: Mapped[bool] = mapped_column(Boolean, default=False)
    # Indices into the tip pools shown lately, newest last, so a tip does not come back soon.
    recent_tips: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    interviews: Mapped[list[Interview]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Application(Base):
    """One company a user applied to; its interviews are the rounds.

    Only the grouping key lives here. How the user applied and who they talk to stay on each
    round, where the registration table keeps every answer: a later round may have another
    interviewer, and the follow-up texts read one interview row.
    """

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    company: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Interview(Base):
    __tablename__ = "interviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    company: Mapped[str] = mapped_column(String(100))
    # None only for a row written by code that predates applications; saving sets it.
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    interview_date: Mapped[date] = mapped_column(Date)
    # A round recorded ahead: when and where it takes place (a place or an online link).
    scheduled_at: Mapped[datetime | None] = mapped_column()
    place: Mapped[str | None] = mapped_column(String(300))
    stage: Mapped[str] = mapped_column(String(16))
    # domain.calendar.PromisedPeriod in its storage form ("weeks:2", "bdays:5", "none", ...).
    promised: Mapped[str] = mapped_column(String(32))
    contact_method: Mapped[str] = mapped_column(String(16))
    position: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100))
    # How the user applied: "direct", "agent" or "site"; through an agent, the agent is asked.
    applied_via: Mapped[str | None] = mapped_column(String(16))
    agent_name: Mapped[str | None] = mapped_column(String(100))
    agent_contact: Mapped[str | None] = mapped_column(String(254))
    interviewer_name: Mapped[str | None] = mapped_column(String(100))
    interviewer_contact: Mapped[str | None] = mapped_column(String(254))
    asked_what_if_silent: Mapped[bool | None] = mapped_column(Boolean)
    asked_memo: Mapped[str | None] = mapped_column(Text)
    reflection_good: Mapped[str | None] = mapped_column(Text)
    reflection_improve: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=InterviewStatus.WAITING.value)
    followups_sent: Mapped[int] = mapped_column(Integer, default=0)
    # The day the user first said they followed up, and how many times they said so.
    first_followup_on: Mapped[date | None] = mapped_column(Date)
    followed_count: Mapped[int] = mapped_column(Integer, default=0)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the last calendar file said (handlers/calendar_files.py): its SEQUENCE, a
    # fingerprint of its events and their kinds, so a changed file supersedes the old one.
    calendar_issued: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="interviews")


class DialogueState(Base):
    """Where a user is in a conversation; one row per user, absent when idle."""

    __tablename__ = "dialogue_states"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


OPEN_DIGEST = text("kind = 'digest' AND state IN ('pending', 'paused', 'sending')")


class Reminder(Base):
    """A message promised for later. Written first; the dispatcher claims and sends it."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_state_due_at", "state", "due_at"),
        # At most one digest on its way per user: two planners racing (the housekeeping pass,
        # a settings toggle, the after-sent step) cannot give anyone two digests.
        Index(
            "uq_reminders_open_digest",
            "user_id",
            unique=True,
            sqlite_where=OPEN_DIGEST,
            postgresql_where=OPEN_DIGEST,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a kind that belongs to the user rather than to one interview (the digest).
    interview_id: Mapped[int | None] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default=ReminderState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Generated with the row, before any attempt, and reused on every retry (LINE retry key).
    # Also the insert sentinel: made here, not by the database, it lets SQLAlchemy match the
    # ids a multi-row INSERT returns to the rows, so the rows a flush adds go in one statement
    # (SQLite returns no ids in a known order for an integer primary key alone).
    idempotency_key: Mapped[str] = mapped_column(
        String(36), unique=True, default=new_idempotency_key, insert_sentinel=True
    )
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The replies as composed on the first try, kept while the reminder is part sent, so a
    # worker that takes over sends the rest of the same text (tips are picked at random).
    composed: Mapped[list[Any] | None] = mapped_column()
    # How many parts (push requests) the platform has accepted; a takeover resumes after them.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the platform started failing this row; the backoff and the give-up rule count from it.
    retrying_since: Mapped[datetime | None] = mapped_column()


class StatusChange(Base):
    __tablename__ = "status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class InterviewNote(Base):
    """A dated line the user added to an interview (追記); gone with the interview or the user."""

    __tablename__ = "interview_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedEvent(Base):
    """Channel event ids already handled, so a redelivered webhook is a no-op."""

    __tablename__ = "processed_events"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InboxEvent(Base):
    """A webhook event accepted but not yet handled; deleted once it is.

    Written before the platform gets its 200, so an event survives a crash of the process
    that received it and is picked up again by any replica.
    """

    __tablename__ = "inbox_events"
    __table_args__ = (UniqueConstraint("channel", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column()
    # The channel's way to answer this event (a LINE reply token); short-lived by nature.
    reply_to: Mapped[str | None] = mapped_column(String(256))
    # Also the lease: a recovery run moves it forward when it takes the event.
    received_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Set when retries ran out: the row is kept, out of recovery's way, instead of deleted.
    set_aside_at: Mapped[datetime | None] = mapped_column()


class DownloadKind(enum.StrEnum):
    # A link the user opens once, within minutes (a file for a channel that cannot send one).
    LINK = "link"
    # An image the platform fetches itself, as often as it likes, for days.
    IMAGE = "image"
    # A file kept for a button the user may press later (a deleted interview's calendar).
    HELD = "held"


class Download(Base):
    """A file waiting to be fetched; only a hash of its token is stored."""

    __tablename__ = "downloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column()
