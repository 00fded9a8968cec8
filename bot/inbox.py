"""The durable inbox: events are written down before the platform hears they arrived.

An event is deleted once it has been handled and answered; a channel may hold the deletes
of handled events back a moment and send them with its next write (``put(finished=...)``),
since a handled event met again is skipped by its id. One left behind (the process died in
between, or its handler failed) is taken again after a lease by any replica;
handling it twice is harmless because the engine remembers every event id it has handled.
One that still fails after ``MAX_ATTEMPTS`` retries is set aside: kept for an operator to
look at, counted in ``renraku_inbox_set_aside_total``, and never taken again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from bot.engine import Clock
from bot.web import Metrics
from domain.protocol import Incoming, Received
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

# Past this many recovery attempts an event is set aside (with a log line), not retried forever.
MAX_ATTEMPTS = 5
RECOVERY_BATCH = 100


class DurableInbox:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._metrics = metrics

    async def put(
        self, items: list[tuple[Incoming, str | None]], finished: Sequence[int] = ()
    ) -> list[Received]:
        """Store events in one transaction; a redelivered one still waiting is left out.

        ``finished`` are rows of events handled since: they are deleted in the same
        transaction, so a busy channel writes its inbox once per batch, not twice per event.
        """
        received: list[Received] = []
        by_channel: dict[str, list[tuple[str, dict[str, object], str | None]]] = {}
        for incoming, reply_to in items:
            if incoming.event_id is not None:
                by_channel.setdefault(incoming.address.channel, []).append(
                    (incoming.event_id, incoming.to_dict(), reply_to)
                )
        async with self._uow_factory() as uow:
            await uow.inbox.remove_many(finished)
            now = self._clock()
            kept: dict[tuple[str, str], int] = {}
            for channel, events in by_channel.items():
                for event_id, inbox_id in (await uow.inbox.add_many(channel, events, now)).items():
                    kept[channel, event_id] = inbox_id
            await uow.commit()
        for incoming, reply_to in items:
            if incoming.event_id is None:
                # Nothing to recognise a redelivery by: handled at once, never stored.
                received.append(Received(0, incoming, reply_to))
                continue
            inbox_id = kept.pop((incoming.address.channel, incoming.event_id), 0)
            if inbox_id:
                received.append(Received(inbox_id, incoming, reply_to))
        return received

    async def done(self, inbox_id: int) -> None:
        await self.done_many([inbox_id])

    async def done_many(self, inbox_ids: Sequence[int]) -> None:
        """Let go of handled events, all in one transaction."""
        ids = [inbox_id for inbox_id in inbox_ids if inbox_id != 0]
        if not ids:
            return
        async with self._uow_factory() as uow:
            await uow.inbox.remove_many(ids)
            await uow.commit()

    async def overdue(self, channel: str, older_than: float) -> list[Received]:
        """Take events nobody finished within ``older_than`` seconds, renewing their lease."""
        now = self._clock()
        async with self._uow_factory() as uow:
            rows = await uow.inbox.take_overdue(
                channel, now - timedelta(seconds=older_than), now, RECOVERY_BATCH
            )
            taken: list[Received] = []
            set_aside: list[int] = []
            for row in rows:
                if row.attempts > MAX_ATTEMPTS:
                    await uow.inbox.set_aside(row.id, now)
                    set_aside.append(row.id)
                    continue
                taken.append(Received(row.id, Incoming.from_dict(row.payload), row.reply_to))
            await uow.commit()
        for inbox_id in set_aside:
            # The row id leads an operator to the event; its content stays out of the log.
            log.error(
                "inbox: %s event set aside after %d retries: id=%s", channel, MAX_ATTEMPTS, inbox_id
            )
            if self._metrics is not None:
                self._metrics.inbox_set_aside.labels(channel).inc()
        if taken:
            log.warning("inbox: %d unfinished %s events taken up again", len(taken), channel)
        return taken
