"""Benchmark 1: Telegram updates in, replies out — Renraku's TelegramChannel vs a bare PTB bot.

The fake Bot API of tests/fakes runs here, in the driver; each bot runs in a process of its
own (bench/telegram_app.py), polling the fake over real HTTP on 127.0.0.1 — the way
python-telegram-bot talks to api.telegram.org. Polling, not webhook: one getUpdates hands
over up to 100 updates, so the fake's share of the work per update stays small, and both bots
take updates through the very same PTB Updater. The fake's webhook mode posts one update at a
time and waits for each answer (and Renraku answers a webhook only once the update is handled),
which would time the fake's delivery loop, not the bot.

Simulated users are closed loops: each one sends an update, waits until the bot's answer to it
has reached the fake, then sends the next, without think time; all users start together. Every
user plays the same 15 turns (bench/script.py). For Renraku a turn is done when the number of
messages it sends for that turn (learnt once through the engine, ``calibrate``) has arrived;
for the echo bot, when its one echo has arrived. Latency = from the moment the update is
available in getUpdates to the moment the last of those messages reaches the fake.
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import START, Table, child, latency_summary, num, ratio
from bench.script import REGISTRATION, Step
from tests.fakes.telegram_api import FakeTelegramAPI, FakeUser

USERS = 50
USERS_LIMITED = 10
STEP_TIMEOUT = 20.0
PHASE_TIMEOUT = 120.0
START_TIMEOUT = 90.0
WARM_UP_USER, SOLO_USER, FIRST_USER = 1, 2, 1000


@dataclass(frozen=True)
class Turn:
    step: Step
    action: str  # the callback data a tap sends ("" for typed text)
    messages: int  # how many messages Renraku sends in answer


async def calibrate() -> list[Turn]:
    """Play the script through the engine once, to learn each turn's data and answer size."""
    from bench.script import play
    from bot.bootstrap import bootstrap
    from bot.channels.telegram_render import render
    from tests.support import Chat, ManualClock, sqlite_settings

    with tempfile.TemporaryDirectory(prefix="renraku-bench-") as folder:
        app = await bootstrap(
            sqlite_settings(Path(folder)), clock=ManualClock(START), with_channels=False
        )
        try:
            unexpected = app.catalog.text("ja", "errors.unexpected")
            chat = Chat(app.engine, user="1", channel="telegram")
            turns: list[Turn] = []
            for step in REGISTRATION:
                action = chat.action_for(step.value) if step.kind == "press" else ""
                replies = await play(chat, step, unexpected)
                if any(reply.document is not None for reply in replies):
                    raise RuntimeError("the script produced a document; count it as a message")
                turns.append(Turn(step, action, sum(len(render(r)) for r in replies)))
        finally:
            await app.stop()
    return turns


class CountingFake(FakeTelegramAPI):
    """The fake Bot API, noting when each message the bot sends arrives."""

    def __init__(self) -> None:
        super().__init__(max_poll_seconds=5.0)
        self.delivered: defaultdict[int, int] = defaultdict(int)
        self._waiting: dict[int, tuple[int, asyncio.Future[float]]] = {}

    def expect(self, chat_id: int, messages: int) -> asyncio.Future[float]:
        """A future for the moment ``messages`` more messages have reached this chat."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[chat_id] = (self.delivered[chat_id] + messages, done)
        return done

    def _arrived(self, params: dict[str, Any]) -> None:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            return
        self.delivered[chat_id] += 1
        waiting = self._waiting.get(chat_id)
        if waiting is not None and self.delivered[chat_id] >= waiting[0]:
            del self._waiting[chat_id]
            if not waiting[1].done():
                waiting[1].set_result(time.perf_counter())

    async def _api_sendMessage(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        result = await super()._api_sendMessage(params, files)
        self._arrived(params)
        return result

    async def _api_sendDocument(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        result = await super()._api_sendDocument(params, files)
        self._arrived(params)
        return result


async def converse(
    fake: CountingFake, user_id: int, turns: list[Turn], renraku: bool
) -> list[float]:
    """One user plays every turn; returns each turn's latency in seconds."""
    user = FakeUser(user_id, first_name="Bench")
    seconds: list[float] = []
    for turn in turns:
        if turn.step.kind == "press" and renraku:
            # The button on the bot's latest message, as a person would tap it.
            message, button = fake.find_button(user_id, turn.step.value)
        done = fake.expect(user_id, turn.messages if renraku else 1)
        started = time.perf_counter()
        if turn.step.kind == "say":
            fake.say(user, turn.step.value)
        elif renraku:
            fake.press(user, button["callback_data"], message=message)
        else:
            fake.press(user, turn.action)
        try:
            finished = await asyncio.wait_for(done, STEP_TIMEOUT)
        except TimeoutError:
            raise RuntimeError(
                f"user {user_id}: no answer to {turn.step.value!r} in {STEP_TIMEOUT:.0f}s"
            ) from None
        seconds.append(finished - started)
    return seconds


async def _quiet(fake: CountingFake, seconds: float = 0.2, limit: float = 3.0) -> None:
    """Wait until the bot has made no call for a moment (trailing edits), at most ``limit``."""
    deadline = time.monotonic() + limit
    seen = -1
    while len(fake.calls) != seen and time.monotonic() < deadline:
        seen = len(fake.calls)
        await asyncio.sleep(seconds)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def session(impl: str, limiter: str, users: int, turns: list[Turn]) -> dict[str, Any]:
    """Start a fake and one bot process; warm up, one user alone, then ``users`` at once."""
    renraku = impl == "renraku"
    fake = CountingFake()
    await fake.start()
    try:
        params = {"impl": impl, "limiter": limiter, "base_url": fake.base_url, "token": fake.token}
        async with child("telegram_app", params) as bot:
            ready = await bot.receive("READY", START_TIMEOUT)
            await converse(fake, WARM_UP_USER, turns, renraku)
            await _quiet(fake)
            await bot.send("MARK")
            await bot.receive("MARKED", 30)
            solo = await converse(fake, SOLO_USER, turns, renraku)
            await _quiet(fake)
            await bot.send("MARK")
            solo_usage = await bot.receive("MARKED", 30)

            calls_before = len(fake.calls)
            cpu_before = _cpu()
            started = time.perf_counter()
            loaded = await asyncio.wait_for(
                asyncio.gather(
                    *(converse(fake, FIRST_USER + i, turns, renraku) for i in range(users))
                ),
                PHASE_TIMEOUT,
            )
            elapsed = time.perf_counter() - started
            driver_cpu = _cpu() - cpu_before
            await _quiet(fake)
            methods = Counter(call.method for call in fake.calls[calls_before:])
            await bot.send("STOP")
            result = await bot.receive("RESULT", 60)
    finally:
        await fake.stop()

    expected = sum(t.messages for t in turns) if renraku else len(turns)
    wrong = [u for u in range(FIRST_USER, FIRST_USER + users) if fake.delivered[u] != expected]
    latencies = [s for user in loaded for s in user]
    return {
        **result,
        "impl": impl,
        "users": users,
        "updates": len(latencies),
        "elapsed_s": elapsed,
        "updates_per_s": len(latencies) / elapsed,
        "loaded": latency_summary(latencies),
        "solo": latency_summary(solo),
        "ready_rss_mib": ready["rss_mib"],
        "solo_usage": solo_usage,
        "driver_busy": driver_cpu / elapsed,
        "methods": dict(methods),
        "users_with_wrong_answers": len(wrong),
    }


async def run(scale: float = 1.0) -> list[Table]:
    turns = await calibrate()
    tables = []
    for limiter, users in (("off", USERS), ("on", USERS_LIMITED)):
        count = max(2, round(users * scale))
        base = await session("baseline", limiter, count, turns)
        renraku = await session("renraku", limiter, count, turns)
        tables.append(_table(limiter, count, turns, base, renraku))
    return tables


def _calls_per_update(result: dict[str, Any]) -> float:
    """Bot API calls the bot made per update, getUpdates left out."""
    calls = sum(n for method, n in result["methods"].items() if method != "getUpdates")
    return float(calls) / max(int(result["updates"]), 1)


def _engine_ms(usage: dict[str, Any]) -> float:
    seconds = float(usage.get("engine_seconds", 0.0))
    return seconds / max(float(usage.get("engine_calls", 0.0)), 1.0) * 1000


def _table(
    limiter: str, users: int, turns: list[Turn], base: dict[str, Any], renraku: dict[str, Any]
) -> Table:
    state = {"off": "OFF for both (limits 0)", "on": "ON for both (30/s bot-wide)"}[limiter]
    table = Table(
        f"Telegram, polling: {users} users × {len(turns)} updates, rate limiter {state}",
        ["metric", "Renraku", "baseline (bare PTB echo)", "ratio (Renraku ÷ baseline)"],
    )

    def row(label: str, pick: Any, digits: int = 1, *, compare: bool = True) -> None:
        mine, theirs = pick(renraku), pick(base)
        shown = ratio(mine, theirs) if compare else ""
        table.add(label, num(mine, digits), num(theirs, digits), shown)

    row("updates handled", lambda r: r["updates"], 0)
    row("updates/s", lambda r: r["updates_per_s"])
    row(f"latency p50 (ms), {users} users at once", lambda r: r["loaded"]["p50"])
    row(f"latency p95 (ms), {users} users at once", lambda r: r["loaded"]["p95"])
    row(f"latency p99 (ms), {users} users at once", lambda r: r["loaded"]["p99"])
    row("latency p50 (ms), one user alone", lambda r: r["solo"]["p50"])
    row("latency p95 (ms), one user alone", lambda r: r["solo"]["p95"])
    row("Bot API calls per update (not getUpdates)", _calls_per_update, 2)
    row(
        "bot-process CPU per update (ms), at once",
        lambda r: r["cpu_s"] / max(r["updates"], 1) * 1000,
        2,
    )
    row(
        "bot-process CPU per update (ms), alone",
        lambda r: r["solo_usage"]["cpu_s"] / len(turns) * 1000,
        2,
    )
    row("RSS after start (MiB)", lambda r: r["ready_rss_mib"])
    row("RSS after warm-up, before the load (MiB)", lambda r: r["rss_at_mark_mib"])
    row("peak RSS during the load (MiB)", lambda r: r["peak_rss_mib"])
    row("  of which grown during the load (MiB)", lambda r: r["peak_delta_mib"])
    row(
        "driver + fake CPU busy during the load (%)",
        lambda r: r["driver_busy"] * 100,
        0,
        compare=False,
    )

    table.notes.append(
        "Renraku's engine (renraku_handle_seconds: Engine.handle, database included) took "
        f"{_engine_ms(renraku['solo_usage']):.1f} ms per update for the user alone and "
        f"{_engine_ms(renraku):.1f} ms at once (waiting for the CPU and the database "
        "included); the rest is PTB, HTTP to the fake and rendering."
    )
    for name, result in (("Renraku", renraku), ("baseline", base)):
        calls = ", ".join(f"{m} {n}" for m, n in sorted(result["methods"].items()))
        table.notes.append(f"{name} Bot API calls during the load: {calls}.")
        if result["users_with_wrong_answers"]:
            table.notes.append(
                f"{name}: {result['users_with_wrong_answers']} users got a different number "
                "of messages than expected."
            )
    expected_interviews = users + 2
    if renraku.get("interviews") != expected_interviews:
        table.notes.append(
            f"Renraku saved {renraku.get('interviews')} interviews, {expected_interviews} expected."
        )
    table.notes.append(
        f"Each bot in its own process; the driver and the fake share another. Latency is from "
        "the update being available in getUpdates to the bot's last message for it reaching "
        f"the fake ({sum(t.messages for t in turns)} messages per registration for Renraku, "
        f"{len(turns)} for the echo bot)."
    )
    return table
