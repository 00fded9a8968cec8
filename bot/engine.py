"""Incoming → replies: load the user and their dialogue, route, save, in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot.chat_order import ChatOrder
from bot.logs import where_it_failed
from domain.protocol import Address, Incoming, Kind, Reply
from handlers.context import Context
from handlers.router import route
from messages.catalog import Catalog
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class Engine:
    """The conversation engine every channel shares."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        catalog: Catalog,
        *,
        default_timezone: str = "Asia/Tokyo",
        clock: Clock = system_clock,
        on_reminders_changed: Callable[[], None] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self.catalog = catalog
        self._default_timezone = default_timezone
        self.clock = clock
        self._on_reminders_changed = on_reminders_changed
        self._on_failure: Callable[[str], None] | None = None
        # One update per chat at a time inside this process; the database transaction
        # keeps replicas honest with each other.
        self._order: ChatOrder[Address] = ChatOrder()

    def set_reminders_listener(self, listener: Callable[[], None]) -> None:
        self._on_reminders_changed = listener

    def set_failure_listener(self, listener: Callable[[str], None]) -> None:
        """Call listener with the channel's name whenever handling an event fails."""
        self._on_failure = listener

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Handle one user event; never raises for a handler's fault."""
        async with self._order.turn(incoming.address):
            try:
                return await self._handle_in_transaction(incoming)
            except Exception as exc:
                # No message text in the log: only where it happened and what kind of event.
                log.error(
                    "handling failed: channel=%s kind=%s error=%s",
                    incoming.address.channel,
                    incoming.kind.value,
                    where_it_failed(exc),
                )
                if self._on_failure is not None:
                    self._on_failure(incoming.address.channel)
                return [
                    Reply(text=self.catalog.text(self._locale_hint(incoming), "errors.unexpected"))
                ]

    def _locale_hint(self, incoming: Incoming) -> str:
        # An IETF tag as the app reports it ("en", "en-GB"); the case is not guaranteed.
        return "en" if (incoming.language_code or "").lower().startswith("en") else "ja"

    async def _handle_in_transaction(self, incoming: Incoming) -> list[Reply]:
        address = incoming.address
        now = self.clock()
        async with self._uow_factory() as uow:
            # The chat's lock first, before anything is read; with an event id, one statement
            # takes it and records the id.
            if incoming.event_id is None:
                await uow.chats.lock(address.channel, address.external_id)
            elif not await uow.events.first_time(
                address.channel, incoming.event_id, now, lock_chat=address.external_id
            ):
                log.info("duplicate event skipped: channel=%s", address.channel)
                return []
            user = await uow.users.find(address.channel, address.external_id)
            if user is None:
                if incoming.kind is Kind.UNFOLLOW:
                    await uow.commit()
                    return []
                user = await uow.users.get_or_create(
                    address.channel,
                    address.external_id,
                    locale=self._locale_hint(incoming),
                    timezone=self._default_timezone,
                )
            ctx = Context(
                uow=uow,
                user=user,
                catalog=self.catalog,
                now=now,
                dialogue=await uow.dialogues.get(user.id),
            )
            replies = await route(ctx, incoming)
            await uow.commit()
        if uow.reminders_changed and self._on_reminders_changed is not None:
            self._on_reminders_changed()
        return replies
