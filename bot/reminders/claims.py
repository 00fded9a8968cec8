"""Taking due rows: a claim under a lease, in one short transaction of its own.

The claim commits before anything is composed or pushed, so the row lock is held for
milliseconds, and a second worker (thread, process, replica) on the same database passes over
the claimed rows instead of sending them again. The lease is what makes a crash harmless: a
claim older than ``LEASE`` belongs to a worker that died or hung, and the next claim gives its
rows back first. Only rows for channels this process can push to are taken; the others wait
for a process that can, and are reported once so the wait is not silent.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.engine import Clock
from bot.reminders.group_commit import OpenUnitOfWork
from storage.models import Interview, User
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died or hung; its rows go back.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Claim:
    """What the claim returned, detached from its session."""

    id: int
    user_id: int
    # None for a user-level kind (the weekly digest).
    interview_id: int | None
    kind: str
    due_at: datetime
    attempts: int
    idempotency_key: str
    # Set while a reminder is part sent: its stored composition and how many parts are out.
    composed: list[Any] | None = None
    parts_sent: int = 0
    retrying_since: datetime | None = None


Subject = tuple[User | None, Interview | None]


async def subjects(uow: UnitOfWork, claims: Sequence[Claim]) -> dict[int, Subject]:
    """Each claim's user and interview, by claim id, read in two queries for them all.

    None for one that is gone; the interview is None too for a user-level kind, and is
    found only for the user it belongs to.
    """
    users = await uow.users.get_many(list({c.user_id for c in claims}))
    interviews = await uow.interviews.owned_many(
        [(c.user_id, c.interview_id) for c in claims if c.interview_id is not None]
    )
    return {
        c.id: (
            users.get(c.user_id),
            None if c.interview_id is None else interviews.get(c.interview_id),
        )
        for c in claims
    }


class Claims:
    """This worker's view of the queue: what it may take, and when the next row falls due."""

    def __init__(
        self,
        uow_factory: OpenUnitOfWork,
        clock: Clock,
        channels: Collection[str],
        *,
        worker_id: str,
        max_attempts: int,
        batch_size: int,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        # Kept, not copied: channels registered after construction (the console) count too.
        self._channels = channels
        self.worker_id = worker_id
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self._unserved_reported: set[str] = set()

    async def take(self) -> list[Claim]:
        """Give back expired claims, then claim up to a batch of due rows for this worker."""
        async with self._uow_factory() as uow:
            now = self._clock()
            released = await uow.queue.release_stale(now - LEASE)
            rows = await uow.queue.claim_due(
                now,
                self.worker_id,
                channels=list(self._channels),
                max_attempts=self.max_attempts,
                limit=self.batch_size,
            )
            claims = [
                Claim(
                    r.id,
                    r.user_id,
                    r.interview_id,
                    r.kind,
                    r.due_at,
                    r.attempts,
                    r.idempotency_key,
                    composed=r.composed,
                    parts_sent=r.parts_sent,
                    retrying_since=r.retrying_since,
                )
                for r in rows
            ]
            await uow.commit()
        if released:
            log.warning("%d reminders taken back from an expired claim", released)
        return claims

    async def next_due(self) -> datetime | None:
        """Return when the earliest row this worker could claim falls due."""
        async with self._uow_factory() as uow:
            return await uow.queue.next_due(
                channels=list(self._channels), max_attempts=self.max_attempts
            )

    async def report_unserved(self) -> None:
        """Log, once per channel, due rows that no sender in this process can reach."""
        async with self._uow_factory() as uow:
            channels = await uow.queue.due_channels(self._clock())
        for channel in sorted(channels - set(self._channels) - self._unserved_reported):
            log.warning("reminders for channel %s wait: no sender for it in this process", channel)
            self._unserved_reported.add(channel)
