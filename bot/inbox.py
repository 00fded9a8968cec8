"""The durable inbox: events are written down before the platform hears they arrived.

An event is deleted as soon as it has been handled and answered. One left behind (the
process died in between, or its handler failed) is taken again after a lease by any replica;
handling it twice is harmless because the engine remembers every event id it has handled.
One that still fails after ``MAX_ATTEMPTS`` retries is set aside: kept for an operator to
look at, counted in ``renraku_inbox_set_aside_total``, and never taken again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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

    async def put(self, items: list[tuple[Incoming, str | None]]) -> list[Received]:
        """Store events in one transaction; a redelivered one still waiting is left out."""
        received: list[Received] = []
        async with self._uow_factory() as uow:
            now = self._clock()
            for incoming, reply_to in items:
                if incoming.event_id is None:
                    # Nothing to recognise a redelivery by: handled at once, never stored.
                    received.append(Received(0, incoming, reply_to))
                    continue
                inbox_id = await uow.inbox.add(
                    incoming.address.channel, incoming.event_id, incoming.to_dict(), reply_to, now
                )
                if inbox_id is not None:
                    received.append(Received(inbox_id, incoming, reply_to))
            await uow.commit()
        return received

    async def done(self, inbox_id: int) -> None:
        if inbox_id == 0:
            return
        async with self._uow_factory() as uow:
            await uow.inbox.remove(inbox_id)
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
