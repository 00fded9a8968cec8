"""Test doubles for reminder delivery: a pusher that records (or fails on cue), a fake sleep."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from domain.protocol import Reply, one_part_per_reply


class ProcessDied(BaseException):
    """Stands in for kill -9 in the middle of a push: nothing after it runs or is recorded."""


@dataclass(frozen=True)
class Push:
    external_id: str
    replies: list[Reply]
    idempotency_key: str

    @property
    def text(self) -> str:
        """Every text of the push, copy items included, as one string to search."""
        parts: list[str] = []
        for reply in self.replies:
            parts.append(reply.text)
            parts.extend(f"{item.label}\n{item.text}" for item in reply.copy_items)
        return "\n".join(parts)

    @property
    def copy_texts(self) -> list[str]:
        return [item.text for reply in self.replies for item in reply.copy_items]

    @property
    def actions(self) -> list[str]:
        return [choice.action for reply in self.replies for choice in reply.choices]


@dataclass
class RecordingPusher:
    """A channel that keeps what it was asked to push, and raises what a test queues up."""

    pushes: list[Push] = field(default_factory=list)
    calls: int = 0
    # Raised in order, one per push attempt to that chat.
    queued_errors: dict[str, list[Exception]] = field(default_factory=dict)
    # Raised on every push to that chat.
    failing: dict[str, Exception] = field(default_factory=dict)
    # Real seconds each push takes; lets two dispatchers interleave.
    latency: float = 0.0
    # The most pushes that were in flight at once.
    in_flight: int = 0
    most_in_flight: int = 0
    # True: like Telegram, each reply is a request of its own; False: like LINE, one request.
    per_reply: bool = False
    # The process dies (once) as it is about to deliver the message with this number.
    die_at_message: int | None = None
    delivered_messages: int = 0
    # Set: every push waits (up to ``gate_timeout`` real seconds) until this many are in
    # flight at once; from then on the gate stays open. Makes "side by side" deterministic.
    gate: int | None = None
    gate_timeout: float = 5.0
    gate_opened: asyncio.Event = field(default_factory=asyncio.Event)
    # The most pushes in flight at once to any one chat.
    most_in_flight_for_one: int = 0
    _in_flight_to: dict[str, int] = field(default_factory=dict)

    def fail_next(self, external_id: str, *errors: Exception) -> None:
        self.queued_errors.setdefault(external_id, []).extend(errors)

    def parts(self, replies: list[Reply]) -> list[list[Reply]]:
        return one_part_per_reply(replies) if self.per_reply else [replies]

    async def push(self, external_id: str, replies: list[Reply], *, idempotency_key: str) -> None:
        self.calls += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        mine = self._in_flight_to.get(external_id, 0) + 1
        self._in_flight_to[external_id] = mine
        self.most_in_flight_for_one = max(self.most_in_flight_for_one, mine)
        try:
            if self.gate is not None:
                if self.in_flight >= self.gate:
                    self.gate_opened.set()
                # A timeout lets the push go on; the test's count then shows what was missing.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.gate_opened.wait(), self.gate_timeout)
            await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
            self._in_flight_to[external_id] -= 1
        queued = self.queued_errors.get(external_id)
        if queued:
            raise queued.pop(0)
        if external_id in self.failing:
            raise self.failing[external_id]
        if not self.per_reply:
            self.pushes.append(Push(external_id, list(replies), idempotency_key))
            return
        # Message by message, as a channel without batch requests delivers them.
        for reply in replies:
            if self.die_at_message == self.delivered_messages:
                self.die_at_message = None
                raise ProcessDied
            self.delivered_messages += 1
            self.pushes.append(Push(external_id, [reply], idempotency_key))

    def to(self, external_id: str) -> list[Push]:
        return [p for p in self.pushes if p.external_id == external_id]


@dataclass
class FakeSleep:
    """Stands in for asyncio.sleep in the dispatcher: records the waits, waits for nothing."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)
