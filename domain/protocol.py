"""Channel-neutral types: what reaches the engine and what comes back out of it.

A channel turns its SDK objects into an ``Incoming`` and turns each ``Reply`` into SDK
calls. Nothing in here knows about Telegram, LINE or the terminal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class Kind(enum.StrEnum):
    """What the user did."""

    TEXT = "text"
    ACTION = "action"
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"


@dataclass(frozen=True, slots=True)
class Address:
    """Where a user lives: the channel name and the channel's own id for the chat."""

    channel: str
    external_id: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing a user did, in any channel."""

    address: Address
    kind: Kind
    text: str = ""
    action: str = ""
    language_code: str | None = None
    # The channel's id for this event (Telegram update_id, LINE webhookEventId); when given,
    # the engine handles each id once, so a redelivered event is a no-op.
    event_id: str | None = None

    def to_dict(self) -> dict[str, object]:
        """A plain form for storage (the durable inbox)."""
        return {
            "channel": self.address.channel,
            "external_id": self.address.external_id,
            "kind": self.kind.value,
            "text": self.text,
            "action": self.action,
            "language_code": self.language_code,
            "event_id": self.event_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Incoming:
        def text(key: str) -> str:
            value = data.get(key)
            return value if isinstance(value, str) else ""

        def optional(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        return cls(
            address=Address(text("channel"), text("external_id")),
            kind=Kind(text("kind")),
            text=text("text"),
            action=text("action"),
            language_code=optional("language_code"),
            event_id=optional("event_id"),
        )

    @classmethod
    def text_message(cls, address: Address, text: str, **kw: object) -> Incoming:
        return cls(address=address, kind=Kind.TEXT, text=text, **kw)  # type: ignore[arg-type]

    @classmethod
    def button(cls, address: Address, action: str, **kw: object) -> Incoming:
        return cls(address=address, kind=Kind.ACTION, action=action, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: what the user sees and the compact action sent back when pressed.

    ``action`` is at most 64 bytes so it fits Telegram's callback data as it is.
    """

    label: str
    action: str


@dataclass(frozen=True, slots=True)
class CopyItem:
    """A block the user copies with one tap (an email subject, a body, a phone script)."""

    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    """A file sent to the user, such as their data export."""

    filename: str
    content: bytes
    mime_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class Image:
    """A picture sent to the user, such as their /stats chart."""

    content: bytes
    mime_type: str = "image/png"
    filename: str = "image.png"


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the user. Rich parts degrade per channel; the text always carries the gist."""

    text: str
    choices: tuple[Choice, ...] = ()
    copy_items: tuple[CopyItem, ...] = ()
    document: Document | None = None
    image: Image | None = None
    # Hint for channels that lay buttons out: how many choices share a row.
    columns: int = 2


class DeliveryError(Exception):
    """Base of what a channel raises when a push cannot be delivered."""


class RecipientGone(DeliveryError):
    """The user blocked the bot or left the chat: stop pushing to them."""


class RetryLater(DeliveryError):
    """The platform asked us to slow down or had a passing fault; try the same push again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(DeliveryError):
    """The platform refused the push for good (bad request); retrying will not help."""


@dataclass(frozen=True, slots=True)
class Received:
    """An event held in the durable inbox, with what the channel needs to answer it."""

    inbox_id: int
    incoming: Incoming
    reply_to: str | None = None


class Inbox(Protocol):
    """Where a channel puts webhook events before acknowledging them to the platform."""

    async def put(self, items: list[tuple[Incoming, str | None]]) -> list[Received]: ...

    async def done(self, inbox_id: int) -> None: ...

    async def overdue(self, channel: str, older_than: float) -> list[Received]: ...


@dataclass(frozen=True, slots=True)
class OfferedLink:
    """A file kept for the user to fetch: its link, and the line that presents it to them."""

    url: str
    text: str


@dataclass(frozen=True, slots=True)
class HostedImage:
    """An image the platform fetches itself: the full picture and a small preview."""

    original_url: str
    preview_url: str


class Downloads(Protocol):
    """Where a channel that cannot carry files or image bytes keeps them behind links.

    Each link is unguessable and belongs to the user at ``address``; None means no link could
    be made (no public URL, or no such user), and the channel falls back as it can.
    """

    async def offer(self, address: Address, document: Document) -> OfferedLink | None: ...

    async def host_image(self, address: Address, image: Image) -> HostedImage | None: ...


class Priority(enum.StrEnum):
    """How much a reminder kind matters when a channel's pushes run short (LINE's quota)."""

    ESSENTIAL = "essential"  # follow-ups and re-checks: sent while anything is sent
    OPTIONAL = "optional"  # halfway nudges, preparation lines, digests: held first


class QuotaAware(Protocol):
    """A channel whose pushes cost a limited budget (LINE's monthly quota).

    Only such a channel has ``has_room``; the dispatcher asks it before composing a reminder
    of an optional kind, and a channel without it always has room.
    """

    async def has_room(self, priority: Priority) -> bool: ...


class Pusher(Protocol):
    """A channel's way of sending unsolicited messages (reminders).

    A reminder goes out as ``parts``: the push requests the channel makes of its replies
    (one per message on Telegram and the console; the whole reminder on LINE, which has a
    retry key per request). The dispatcher pushes one part per call and records each part
    the platform accepted, so a worker that takes a half-sent reminder over sends only the
    rest. ``idempotency_key`` is stable per part across retries, so a channel that supports
    retry keys (LINE's ``X-Line-Retry-Key``) can make a retried push count once.
    ``push`` raises ``RecipientGone``, ``RetryLater`` or ``PermanentFailure``.
    """

    def parts(self, replies: list[Reply]) -> list[list[Reply]]: ...

    async def push(
        self, external_id: str, replies: list[Reply], *, idempotency_key: str
    ) -> None: ...


def one_part_per_reply(replies: list[Reply]) -> list[list[Reply]]:
    """The parts of a channel that sends each reply as a request of its own."""
    return [[reply] for reply in replies]
