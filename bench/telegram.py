"""Benchmark 1: a crowd on Telegram — Renraku's TelegramChannel vs a bare PTB echo bot.

The issue "Fast under a crowd": 150 onboarded users each send ``/new`` and then a company name
(300 updates), all at once, by polling. Each bot runs in a process of its own
(bench/telegram_app.py) against a fake Bot API of its own (tests/fakes, here in the driver)
over real HTTP on 127.0.0.1: Renraku as ``renraku run`` builds it from Settings (durable inbox
on), the baseline a bare python-telegram-bot echo bot with PTB's defaults. Both are started
once and measured in three interleaved rounds (baseline, Renraku, baseline, ...), new users
each round, so drift on a shared machine hits both alike; the median of the three per-round
ratios is the figure.

Simulated users are closed loops: send an update, wait until the bot's answer to it has reached
the fake, send the next, without think time. For Renraku a turn is done when the number of
messages it sends for that turn (learnt once through the engine, ``calibrate``) has arrived;
for the echo bot, when its echo has arrived. Latency = from the moment the update is available
in getUpdates to the moment the last of those messages reaches the fake. Onboarding
(``/start`` and a name) comes first and is not timed.

Before the three measured rounds each bot plays one crowd round of the same size that is not
measured (a warm-up round, standard practice): the first round no longer pays for whatever
warms up under load (the interpreter's caches, connection pools, the database file's pages),
and both bots get the same warm-up.

Polling, not webhook: one getUpdates hands over up to 100 updates, so the fake's share of the
work stays small. The fake's webhook mode posts one update at a time and waits for each answer,
which would time the fake's delivery loop, not the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import START, Child, Table, child, latency_summary, num, ratio
from bench.script import CROWD, ONBOARDING, Step
from tests.fakes.telegram_api import FakeTelegramAPI, FakeUser

USERS = 150
ROUNDS = 3
SOLO_USERS = 50  # one after another, two timed turns each
STEP_TIMEOUT = 30.0
PHASE_TIMEOUT = 120.0
START_TIMEOUT = 90.0
WARM_UP_USER, FIRST_SOLO_USER, FIRST_WARM_UP_CROWD_USER, FIRST_CROWD_USER = 1, 100, 5_000, 10_000

# The targets.
TARGET_RATIO = 0.6  # Renraku's updates/s ÷ the echo bot's, same run
TARGET_SOLO_P50_MS = 10.0
TARGET_SOLO_P99_MS = 25.0


@dataclass(frozen=True)
class Turn:
    step: Step
    action: str  # the callback data a tap sends ("" for typed text)
    messages: int  # how many messages Renraku sends in answer


async def calibrate(steps: Sequence[Step]) -> list[Turn]:
    """Play the steps through the engine once, to learn each turn's data and answer size."""
    from bench.script import play
    from bot.bootstrap import bootstrap
    from bot.channels.telegram_render import joined_replies, render
    from tests.support import Chat, ManualClock, sqlite_settings

    with tempfile.TemporaryDirectory(prefix="renraku-bench-") as folder:
        app = await bootstrap(
            sqlite_settings(Path(folder)), clock=ManualClock(START), with_channels=False
        )
        try:
            unexpected = app.catalog.text("ja", "errors.unexpected")
            chat = Chat(app.engine, user="1", channel="telegram")
            turns: list[Turn] = []
            for step in steps:
                action = chat.action_for(step.value) if step.kind == "press" else ""
                replies = await play(chat, step, unexpected)
                if any(reply.document is not None for reply in replies):
                    raise RuntimeError("the script produced a document; count it as a message")
                # Counted as the channel sends them: adjacent plain replies joined.
                sent = sum(len(render(r)) for r in joined_replies(replies))
                turns.append(Turn(step, action, sent))
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
    fake: CountingFake, user_id: int, turns: Sequence[Turn], renraku: bool
) -> list[float]:
    """One user plays the turns; returns each turn's latency in seconds."""
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


class BotUnderTest:
    """One bot process and the fake it polls, started once and measured phase by phase."""

    def __init__(
        self, impl: str, fake: CountingFake, process: Child, onboarding: list[Turn],
        crowd: list[Turn],
    ) -> None:  # fmt: skip
        self.impl = impl
        self.renraku = impl == "renraku"
        self.fake = fake
        self.process = process
        self.onboarding = onboarding
        self.crowd = crowd
        self.ready: dict[str, Any] = {}
        self.expected: dict[int, int] = {}
        self.result: dict[str, Any] = {}

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls, impl: str, onboarding: list[Turn], crowd: list[Turn]
    ) -> AsyncIterator[BotUnderTest]:
        fake = CountingFake()
        await fake.start()
        try:
            params = {"impl": impl, "base_url": fake.base_url, "token": fake.token}
            async with child("telegram_app", params) as process:
                bot = cls(impl, fake, process, onboarding, crowd)
                bot.ready = await process.receive("READY", START_TIMEOUT)
                yield bot
                await process.send("STOP")
                bot.result = await process.receive("RESULT", 60)
        finally:
            await fake.stop()

    def _answers(self, turns: Sequence[Turn]) -> int:
        return sum(t.messages for t in turns) if self.renraku else len(turns)

    async def _play(self, user: int, turns: Sequence[Turn]) -> list[float]:
        self.expected[user] = self.expected.get(user, 0) + self._answers(turns)
        return await converse(self.fake, user, turns, self.renraku)

    async def _mark(self) -> dict[str, Any]:
        await _quiet(self.fake)
        await self.process.send("MARK")
        return await self.process.receive("MARKED", 30)

    async def warm_up(self) -> None:
        await self._play(WARM_UP_USER, [*self.onboarding, *self.crowd])

    async def solo(self, users: int) -> list[float]:
        """Users one after another, nothing else running: each onboards, then two timed turns."""
        seconds: list[float] = []
        for i in range(users):
            await self._play(FIRST_SOLO_USER + i, self.onboarding)
            seconds += await self._play(FIRST_SOLO_USER + i, self.crowd)
        return seconds

    async def crowd_round(self, first: int, users: int) -> dict[str, Any]:
        """``users`` onboard (not timed), then all send /new and a company name at once."""
        ids = range(first, first + users)
        await asyncio.wait_for(
            asyncio.gather(*(self._play(u, self.onboarding) for u in ids)), PHASE_TIMEOUT
        )
        await self._mark()
        calls_before = len(self.fake.calls)
        cpu_before = _cpu()
        started = time.perf_counter()
        loaded = await asyncio.wait_for(
            asyncio.gather(*(self._play(u, self.crowd) for u in ids)), PHASE_TIMEOUT
        )
        elapsed = time.perf_counter() - started
        driver_cpu = _cpu() - cpu_before
        usage = await self._mark()
        methods = Counter(call.method for call in self.fake.calls[calls_before:])
        latencies = [s for user in loaded for s in user]
        return {
            **usage,
            "updates": len(latencies),
            "elapsed_s": elapsed,
            "updates_per_s": len(latencies) / elapsed,
            "latency": latency_summary(latencies),
            "driver_busy": driver_cpu / elapsed,
            "methods": dict(methods),
        }

    def wrong_users(self) -> int:
        return sum(1 for u, n in self.expected.items() if self.fake.delivered[u] != n)


async def run(scale: float = 1.0) -> list[Table]:
    onboarding = await calibrate(ONBOARDING)
    crowd = (await calibrate([*ONBOARDING, *CROWD]))[len(ONBOARDING) :]
    users = max(2, round(USERS * scale))
    solo_users = max(5, round(SOLO_USERS * scale))
    rounds: dict[str, list[dict[str, Any]]] = {"baseline": [], "renraku": []}
    solo: dict[str, list[float]] = {}
    async with contextlib.AsyncExitStack() as stack:
        bots = {
            impl: await stack.enter_async_context(BotUnderTest.running(impl, onboarding, crowd))
            for impl in ("baseline", "renraku")
        }
        for impl, bot in bots.items():
            await bot.warm_up()
            solo[impl] = await bot.solo(solo_users)
        for bot in bots.values():
            # A warm-up round for both bots, not measured: the same crowd, other users.
            await bot.crowd_round(FIRST_WARM_UP_CROWD_USER, users)
        for number in range(ROUNDS):
            for impl, bot in bots.items():
                first = FIRST_CROWD_USER + number * 1000
                rounds[impl].append(await bot.crowd_round(first, users))
    # The results of STOP arrive once the stack has closed.
    return [_table(users, solo_users, crowd, bots, rounds, solo)]


def _calls_per_update(result: dict[str, Any]) -> float:
    """Bot API calls the bot made per update, getUpdates left out."""
    calls = sum(n for method, n in result["methods"].items() if method != "getUpdates")
    return float(calls) / max(int(result["updates"]), 1)


def _engine_ms(usage: dict[str, Any]) -> float:
    seconds = float(usage.get("engine_seconds", 0.0))
    return seconds / max(float(usage.get("engine_calls", 0.0)), 1.0) * 1000


def _median_round(rounds: list[dict[str, Any]], key: Any) -> float:
    return statistics.median(key(r) for r in rounds)


def _table(
    users: int,
    solo_users: int,
    crowd: list[Turn],
    bots: dict[str, BotUnderTest],
    rounds: dict[str, list[dict[str, Any]]],
    solo: dict[str, list[float]],
) -> Table:
    mine, theirs = rounds["renraku"], rounds["baseline"]
    per_round = [m["updates_per_s"] / t["updates_per_s"] for m, t in zip(mine, theirs, strict=True)]
    median_ratio = statistics.median(per_round)
    table = Table(
        f"Telegram crowd, polling: {users} users × /new + company name "
        f"({users * len(crowd)} updates), {len(mine)} rounds",
        ["metric", "Renraku", "baseline (bare PTB echo)", "ratio (Renraku ÷ baseline)"],
    )

    def row(label: str, pick: Any, digits: int = 1) -> None:
        a, b = _median_round(mine, pick), _median_round(theirs, pick)
        table.add(label, num(a, digits), num(b, digits), ratio(a, b))

    for number, (m, t) in enumerate(zip(mine, theirs, strict=True), start=1):
        table.add(
            f"updates/s, round {number}",
            num(m["updates_per_s"]),
            num(t["updates_per_s"]),
            ratio(m["updates_per_s"], t["updates_per_s"]),
        )
    verdict = "met" if median_ratio >= TARGET_RATIO else "MISSED"
    table.add(
        "updates/s, median ratio of the rounds (target ≥ 0.60×)",
        "",
        "",
        f"{median_ratio:.2f}× ({verdict})",
    )
    row(f"latency p50 (ms), {users} users at once (median round)", lambda r: r["latency"]["p50"])
    row(f"latency p99 (ms), {users} users at once (median round)", lambda r: r["latency"]["p99"])
    row("Bot API calls per update (not getUpdates)", _calls_per_update, 2)
    row(
        "bot-process CPU per update (ms), at once",
        lambda r: r["cpu_s"] / max(r["updates"], 1) * 1000,
        2,
    )
    mine_solo, theirs_solo = latency_summary(solo["renraku"]), latency_summary(solo["baseline"])
    for q, target in (("p50", TARGET_SOLO_P50_MS), ("p99", TARGET_SOLO_P99_MS)):
        met = "met" if mine_solo[q] <= target else "MISSED"
        table.add(
            f"latency {q} (ms), one user's turn alone, SQLite (target ≤ {target:.0f} ms: {met})",
            num(mine_solo[q]),
            num(theirs_solo[q]),
            ratio(mine_solo[q], theirs_solo[q]),
        )
    table.add(
        "RSS after start (MiB)",
        num(bots["renraku"].ready["rss_mib"]),
        num(bots["baseline"].ready["rss_mib"]),
        ratio(bots["renraku"].ready["rss_mib"], bots["baseline"].ready["rss_mib"]),
    )
    row("peak RSS during a round (MiB)", lambda r: r["peak_rss_mib"])
    table.add(
        "driver + fake CPU busy during a round (%)",
        num(_median_round(mine, lambda r: r["driver_busy"] * 100), 0),
        num(_median_round(theirs, lambda r: r["driver_busy"] * 100), 0),
        "",
    )

    table.notes.append(
        f"Alone: {solo_users} users one after another, each onboarded (not timed), then /new "
        f"and the company name timed ({len(solo['renraku'])} turns)."
    )
    table.notes.append(
        "Renraku's engine (renraku_handle_seconds: Engine.handle, database included) took "
        f"{_median_round(mine, _engine_ms):.1f} ms per update at once (median round; waiting "
        "for the CPU and the database included); the rest is PTB, the inbox, HTTP to the fake "
        "and rendering."
    )
    for name, impl in (("Renraku", "renraku"), ("baseline", "baseline")):
        calls = ", ".join(f"{m} {n}" for m, n in sorted(rounds[impl][-1]["methods"].items()))
        table.notes.append(f"{name} Bot API calls in the last round: {calls}.")
        wrong = bots[impl].wrong_users()
        if wrong:
            table.notes.append(f"{name}: {wrong} users got a different number of messages.")
    result = bots["renraku"].result
    expected_users = 1 + solo_users + (1 + len(mine)) * users  # the warm-up round's too
    if result.get("users") != expected_users:
        table.notes.append(f"Renraku has {result.get('users')} users, {expected_users} expected.")
    table.notes.append(
        "Renraku: TelegramChannel from Settings as `renraku run` builds it, polling, durable "
        "inbox on, nothing patched. Both bots play one unmeasured crowd round (other users, "
        "same size) before the measured ones: a warm-up round, standard practice. Baseline: "
        "`Application.builder().token().base_url().build()`, PTB defaults (no rate limiter, "
        "one update at a time). Each bot in its own "
        "process with its own fake; the driver and both fakes share another process. "
        f"Renraku sends {sum(t.messages for t in crowd)} messages for the two turns, the echo "
        "bot 2."
    )
    return table
