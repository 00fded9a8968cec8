"""Pushing one composed reminder, part by part, with no transaction open.

No database transaction spans a push: a platform's round trip (or its hang) must not hold a
row lock or a connection. Short waits (a 429 with a small Retry-After, a flaky moment) are
retried in place, a few times; anything longer goes back to the queue as a due time
(``outcomes``), so one slow platform cannot hold a batch, or a lease, for long. A push that
hangs is cut at ``PUSH_TIMEOUT`` and treated like a timeout the channel reported. Whatever a
channel raises, even a bug, is returned, not raised, so that it ends in the row's state.
A reminder goes out in the parts its channel makes of it (``Pusher.parts``); each accepted
part is recorded on the row, and committed, before the next is pushed (the records of pushes
that end together share one commit, ``group_commit``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.reminders.claims import Claim
from domain.protocol import Pusher, RecipientGone, Reply, RetryLater

# A push that hangs longer than this is treated like a timeout reported by the channel.
PUSH_TIMEOUT = 60.0
IN_PROCESS_TRIES = 3
IN_PROCESS_FIRST_WAIT = 1.0
IN_PROCESS_MAX_WAIT = 5.0

Sleep = Callable[[float], Awaitable[None]]


# Called with how many parts are out once the platform accepted one, and whether that was the
# last; False: the claim is lost.
RecordPart = Callable[[int, bool], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Delivery:
    claim: Claim
    channel: str
    external_id: str
    replies: list[Reply]
    # The parts before this one went out on an earlier try.
    first_part: int = 0


class ClaimLost(Exception):
    """Another worker took the row over mid-send; the rest of it is that worker's to send."""


def part_key(idempotency_key: str, index: int) -> str:
    """Return the retry key of one part, stable across tries and workers."""
    # Part 0 keeps the row's own key: a reminder pushed whole (LINE) keeps the key it had.
    return idempotency_key if index == 0 else f"{idempotency_key}:{index}"


def _requested_wait(error: RetryLater, tries: int) -> float:
    """The wait before the next try: what the platform asked for, else a doubling backoff."""
    if error.retry_after is not None:
        return max(0.0, float(error.retry_after))
    return min(IN_PROCESS_FIRST_WAIT * 2.0 ** (tries - 1), IN_PROCESS_MAX_WAIT)


class Sender:
    """Pushes through the channel of each delivery."""

    def __init__(
        self,
        pushers: Mapping[str, Pusher],
        sleep: Sleep,
        on_push_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._on_push_failure = on_push_failure
        # Kept, not copied: channels registered after construction (the console) count too.
        self._pushers = pushers
        self._sleep = sleep

    async def push(self, delivery: Delivery, record_part: RecordPart) -> Exception | None:
        """Push the parts not yet out, recording each; return the error that stopped it, if any.

        Each accepted part is recorded before the next is pushed, so a crash repeats at most
        the part that was in flight (and none on a channel with retry keys).
        """
        pusher = self._pushers.get(delivery.channel)
        if pusher is None:
            return RetryLater("no sender for this channel")
        parts = pusher.parts(delivery.replies)
        for index in range(delivery.first_part, len(parts)):
            key = part_key(delivery.claim.idempotency_key, index)
            error = await self._push_part(
                pusher, delivery.channel, delivery.external_id, parts[index], key
            )
            if error is not None:
                return error
            if not await record_part(index + 1, index + 1 == len(parts)):
                return ClaimLost()
        return None

    async def _push_part(
        self, pusher: Pusher, channel: str, external_id: str, replies: list[Reply], key: str
    ) -> Exception | None:
        # A plain loop rather than a retry library: nearly every push succeeds at the first
        # try, and that try should cost no more than the push itself.
        tries = 1
        while True:
            try:
                await self._push_once(pusher, channel, external_id, replies, key)
            except RetryLater as exc:
                wait = _requested_wait(exc, tries)
                if tries >= IN_PROCESS_TRIES or wait > IN_PROCESS_MAX_WAIT:
                    return exc
            except Exception as exc:
                return exc
            else:
                return None
            await self._sleep(wait)
            tries += 1

    async def _push_once(
        self, pusher: Pusher, channel: str, external_id: str, replies: list[Reply], key: str
    ) -> None:
        try:
            async with asyncio.timeout(PUSH_TIMEOUT):
                await pusher.push(external_id, replies, idempotency_key=key)
        except RecipientGone:
            raise  # the user left; the channel itself worked
        except Exception as exc:
            if self._on_push_failure is not None:
                self._on_push_failure(channel)
            if isinstance(exc, TimeoutError):
                raise RetryLater("push timed out") from exc
            raise
