"""Benchmark 3: reminders at scale (the issue's point 6).

Three workloads, each bounded in count and in time:

- **instant**: 100,000 follow-ups due at the same minute on a SQLite file, the pusher
  tests/recording.py's RecordingPusher (returns at once), one dispatcher calling
  ``run_due()`` until the queue is empty or the time limit stops it. Reminders/s against the
  target of 1,000/s.
- **paced**: the real TelegramChannel, built from Settings as ``renraku run`` builds it, pushes
  to a fake Bot API (in the driver) whose every sendMessage takes 50 ms and which answers 429
  to any message beyond 30 in a sliding second. Messages/s achieved against that limit
  (target ≥ 95 %), the 429s it had to give (target 0) and any chat that got a message twice.
- **two dispatchers** on PostgreSQL, instant unpaced pushes: one process drains a queue, then
  two processes drain a queue as large, side by side. Together ÷ one (target ≥ 1.6×), and
  every reminder pushed once across both.

Seeding is not timed: one reminder is made through the real conversation, then its user,
interview and follow-up are cloned in SQL (``INSERT ... SELECT`` over a generated series,
one statement per table), so 100,000 rows take seconds and every column is what the app
itself wrote. Each reminder keeps its composed text and records each sent part, as shipped.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bench.common import (
    START,
    Meter,
    Table,
    child,
    database,
    num,
    postgres_status,
    ratio,
)
from tests.fakes.telegram_api import FakeTelegramAPI, too_many_requests

INSTANT_DUE = 100_000
INSTANT_LIMIT_S = 60.0
PACED_DUE = 450
PACED_LIMIT_S = 90.0
PACED_PER_S = 30.0
PUSH_SECONDS = 0.05
PAIR_DUE = 3_000
PAIR_LIMIT_S = 60.0

# The targets.
TARGET_PER_S = 1_000.0
TARGET_PACED_SHARE = 0.95
TARGET_PAIR_GAIN = 1.6

FIRST_EXTERNAL_ID = 5_000_000  # cloned users' Telegram chat ids start here
CHILD_TIMEOUT = 200.0


# --- seeding ----------------------------------------------------------------------------------


async def _template(engine: Any, uow_factory: Any, unexpected: str) -> tuple[int, Any]:
    """Record one interview by conversation; keep only its follow-up. Return (id, due)."""
    from sqlalchemy import select

    from bench.script import REGISTRATION, play
    from storage.models import Interview, Reminder, ReminderKind, User
    from tests.support import Chat

    chat = Chat(engine, user=str(FIRST_EXTERNAL_ID - 1), channel="telegram")
    for step in REGISTRATION:
        await play(chat, step, unexpected)
    async with uow_factory() as uow:
        interview = await uow.session.scalar(
            select(Interview).join(User).where(User.external_id == chat.address.external_id)
        )
        assert interview is not None
        await uow.reminders.cancel_for_interview(interview.id, kinds=[ReminderKind.HALFWAY])
        due = await uow.session.scalar(
            select(Reminder.due_at).where(
                Reminder.interview_id == interview.id,
                Reminder.kind == ReminderKind.FOLLOWUP.value,
            )
        )
        await uow.commit()
        return interview.id, due


def _columns(model: Any, *left_out: str) -> list[str]:
    return [c.name for c in model.__table__.columns if c.name not in {"id", *left_out}]


async def clone(db: Any, template_id: int, count: int) -> float:
    """``count`` users, each with a copy of the template interview and its pending follow-up.

    Returns the seconds it took. Users are numbered from FIRST_EXTERNAL_ID (Telegram chat ids).
    """
    from sqlalchemy import text

    from storage.models import Interview, Reminder, ReminderKind, ReminderState, User

    started = time.perf_counter()
    series = (
        "WITH RECURSIVE series(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM series WHERE n < :last) "
    )
    user_cols = _columns(User, "external_id")
    interview_cols = _columns(Interview, "user_id")
    reminder_cols = _columns(Reminder, "interview_id", "user_id", "idempotency_key")
    ids = "CAST(:first + series.n AS TEXT)"
    # The column names come from the models, never from input; the values are bound.
    async with db.begin() as conn:
        template_user = await conn.scalar(
            text("SELECT user_id FROM interviews WHERE id = :id"), {"id": template_id}
        )
        await conn.execute(
            text(
                series + f"INSERT INTO users (external_id, {', '.join(user_cols)}) "  # noqa: S608
                f"SELECT {ids}, {', '.join('t.' + c for c in user_cols)} "
                "FROM series, users t WHERE t.id = :user"
            ),
            {"last": count - 1, "first": FIRST_EXTERNAL_ID, "user": template_user},
        )
        await conn.execute(
            text(
                f"INSERT INTO interviews (user_id, {', '.join(interview_cols)}) "  # noqa: S608
                f"SELECT u.id, {', '.join('t.' + c for c in interview_cols)} "
                "FROM users u, interviews t WHERE t.id = :id AND u.id <> t.user_id "
                "AND u.channel = 'telegram' ORDER BY u.id"
            ),
            {"id": template_id},
        )
        await conn.execute(
            text(
                "INSERT INTO reminders (interview_id, user_id, idempotency_key, "  # noqa: S608
                f"{', '.join(reminder_cols)}) "
                "SELECT i.id, i.user_id, 'bench-' || CAST(i.id AS TEXT), "
                f"{', '.join('r.' + c for c in reminder_cols)} "
                "FROM interviews i, reminders r WHERE r.interview_id = :id "
                "AND r.kind = :kind AND r.state = :pending AND i.id <> :id ORDER BY i.id"
            ),
            {
                "id": template_id,
                "kind": ReminderKind.FOLLOWUP.value,
                "pending": ReminderState.PENDING.value,
            },
        )
    return time.perf_counter() - started


# --- the measured process ---------------------------------------------------------------------


async def _app_parts(url: str) -> dict[str, Any]:
    from bot.bootstrap import uow_factory
    from messages.catalog import load_catalog
    from storage.db import create_engine, create_session_factory

    db = create_engine(url)
    return {
        "db": db,
        "factory": uow_factory(create_session_factory(db)),
        "catalog": load_catalog(),
    }


async def seed(params: dict[str, Any]) -> None:
    """Child role: migrate, make the template, clone it; says RESULT with the due moment."""
    from bench.child import say
    from bot.engine import Engine
    from storage.migrate import upgrade
    from tests.support import ManualClock

    await upgrade(params["url"])
    parts = await _app_parts(params["url"])
    try:
        engine = Engine(parts["factory"], parts["catalog"], clock=ManualClock(START))
        unexpected = parts["catalog"].text("ja", "errors.unexpected")
        template_id, due = await _template(engine, parts["factory"], unexpected)
        seconds = await clone(parts["db"], template_id, params["count"] - 1)
    finally:
        await parts["db"].dispose()
    say("RESULT", {"due": due.isoformat(), "seed_s": seconds})


async def dispatch(params: dict[str, Any]) -> None:
    """Child role: one dispatcher; READY, wait for GO, run until drained or the time limit."""
    from datetime import datetime

    from sqlalchemy import func, select

    from bench.child import command, say
    from bot.bootstrap import bootstrap, uow_factory
    from bot.reminders import ReminderDispatcher
    from bot.web import Metrics
    from storage.models import Reminder
    from tests.recording import RecordingPusher
    from tests.support import ManualClock, sqlite_settings

    due = datetime.fromisoformat(params["due"])
    clock = ManualClock(due)
    app = None
    pushers: dict[str, Any]
    if params["pusher"] == "telegram":
        # The channel exactly as `renraku run` builds it from Settings; only it is started
        # (not the app's own dispatcher loop), so every send is counted here.
        with tempfile.TemporaryDirectory(prefix="renraku-bench-") as folder:
            settings = sqlite_settings(
                Path(folder),
                database_url=params["url"],
                telegram_bot_token=params["token"],
                telegram_base_url=params["base_url"],
                # The fake allows 30 messages in any second, as Telegram documents for bulk.
                telegram_push_rate=30,
            )
        app = await bootstrap(settings, clock=clock, migrate=False)
        channel = app.pushers["telegram"]
        await channel.start()
        pushers = {"telegram": channel}
        factory = uow_factory(app.session_factory)
        catalog = app.catalog
        db = app.db
    else:
        parts = await _app_parts(params["url"])
        recorder = RecordingPusher()
        pushers = {"telegram": recorder}
        factory, catalog, db = parts["factory"], parts["catalog"], parts["db"]
    dispatcher = ReminderDispatcher(
        factory, catalog, pushers, clock, Metrics(), worker_id=params["worker_id"]
    )
    # Every statement the dispatcher sends to the database (BEGIN and COMMIT included, as
    # bench/engine.py counts them), for the statements-per-reminder figure.
    statements: Counter[str] = Counter()

    def count_statement(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        statements[statement.split(None, 1)[0].upper()] += 1

    def count_commit(_conn: Any) -> None:
        statements["COMMIT"] += 1

    def count_begin(_conn: Any) -> None:
        # On SQLite, BEGIN IMMEDIATE rides the first statement's trip and is not a cursor
        # execute of its own; counted here on both databases, as bench/engine.py does.
        statements["BEGIN"] += 1

    from sqlalchemy import event

    event.listen(db.sync_engine, "before_cursor_execute", count_statement)
    event.listen(db.sync_engine, "commit", count_commit)
    event.listen(db.sync_engine, "begin", count_begin)
    meter = Meter()
    try:
        say("READY")
        if await command() != "GO":
            return
        meter.mark()
        started = time.perf_counter()

        async def time_limit() -> None:
            await asyncio.sleep(params["limit_s"])
            # Stops after the batch in flight; what it claimed and did not send goes back.
            await dispatcher.stop()

        limiter = asyncio.create_task(time_limit())
        sent = 0
        try:
            while True:
                got = await dispatcher.run_due()
                sent += got
                if got == 0 or limiter.done():
                    break
        finally:
            limiter.cancel()
        elapsed = time.perf_counter() - started
        usage = meter.read()
        event.remove(db.sync_engine, "before_cursor_execute", count_statement)
        event.remove(db.sync_engine, "commit", count_commit)
        event.remove(db.sync_engine, "begin", count_begin)
        async with factory() as uow:
            states = dict(
                (
                    await uow.session.execute(
                        select(Reminder.state, func.count()).group_by(Reminder.state)
                    )
                ).all()
            )
        keys = (
            [] if params["pusher"] == "telegram" else [p.idempotency_key for p in recorder.pushes]
        )
        say(
            "RESULT",
            {
                **usage,
                "sent": sent,
                "elapsed_s": elapsed,
                "per_s": sent / elapsed if elapsed else 0.0,
                "states": {str(k): int(v) for k, v in states.items()},
                "keys": keys if params.get("return_keys") else [],
                "duplicates": len(keys) - len(set(keys)),
                "stopped_by_limit": limiter.done() and not limiter.cancelled(),
                "statements": dict(statements),
            },
        )
    finally:
        if app is not None:
            await app.pushers["telegram"].stop()
        await db.dispose()


async def measure(params: dict[str, Any]) -> None:
    await (seed if params["role"] == "seed" else dispatch)(params)


# --- the driver -------------------------------------------------------------------------------


class PacedFake(FakeTelegramAPI):
    """The Bot API with a cost and a limit: each sendMessage takes PUSH_SECONDS, and a message
    beyond ``per_second`` in any sliding second gets 429 (retry after 1 s), as Telegram's
    bulk limit would."""

    def __init__(self, per_second: float) -> None:
        super().__init__(max_poll_seconds=5.0)
        self.per_second = per_second
        self.accepted: deque[float] = deque()
        self.sent_times: list[float] = []
        self.refused = 0
        self.per_chat: Counter[int] = Counter()

    def _chat_for_sending(self, params: dict[str, Any]) -> int:
        # Every seeded user once talked to the bot (the template registered by conversation).
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id >= FIRST_EXTERNAL_ID - 1:
            return chat_id
        return super()._chat_for_sending(params)

    async def _api_sendMessage(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        now = time.monotonic()
        while self.accepted and now - self.accepted[0] >= 1.0:
            self.accepted.popleft()
        if len(self.accepted) >= self.per_second:
            self.refused += 1
            raise too_many_requests(1)
        self.accepted.append(now)
        await asyncio.sleep(PUSH_SECONDS)
        result = await super()._api_sendMessage(params, files)
        self.sent_times.append(time.monotonic())
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            self.per_chat[chat_id] += 1
        return result


@asynccontextmanager
async def _seeded(backend: str, count: int) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="renraku-bench-") as folder:
        async with database(backend, Path(folder)) as url:
            async with child("reminders", {"role": "seed", "url": url, "count": count}) as seeder:
                seeded = await seeder.receive("RESULT", CHILD_TIMEOUT)
            yield url, seeded


# --- the machine's CPU during a phase (Linux /proc; skipped where it cannot be read) ----------


def _machine_ticks() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all cores since boot, from /proc/stat's cpu line."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(f) for f in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    total = sum(fields[:8])  # guest time is already counted in user and nice
    idle = fields[3] + fields[4]  # idle + iowait
    return total - idle, total


def _postgres_ticks() -> int | None:
    """CPU ticks of every process whose comm is ``postgres`` (None: none readable).

    utime + stime of each, plus cutime + cstime: a backend that ends during a phase (its
    connection closed) takes its own ticks with it, and they reappear in the postmaster's
    children's times once it is reaped, so the sum only grows.
    """
    found = False
    ticks = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as stat:
                line = stat.read()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        # The comm is in parentheses and may hold spaces; the fields after it are numbered.
        comm = line[line.find("(") + 1 : line.rfind(")")]
        if comm != "postgres":
            continue
        rest = line[line.rfind(")") + 2 :].split()
        try:
            # Fields 14 to 17: utime, stime, cutime, cstime.
            ticks += sum(int(field) for field in rest[11:15])
        except (IndexError, ValueError):
            continue
        found = True
    return ticks if found else None


class CpuPhase:
    """The machine's busy share and PostgreSQL's CPU seconds between start() and stop()."""

    def __init__(self) -> None:
        self._machine: tuple[int, int] | None = None
        self._postgres: int | None = None
        self._wall = 0.0
        self.busy_share: float | None = None
        self.postgres_s: float | None = None
        self.wall_s = 0.0

    def start(self) -> None:
        self._machine, self._postgres = _machine_ticks(), _postgres_ticks()
        self._wall = time.perf_counter()

    def stop(self) -> None:
        self.wall_s = time.perf_counter() - self._wall
        machine, postgres = _machine_ticks(), _postgres_ticks()
        if machine is not None and self._machine is not None and machine[1] > self._machine[1]:
            self.busy_share = (machine[0] - self._machine[0]) / (machine[1] - self._machine[1])
        if postgres is not None and self._postgres is not None:
            self.postgres_s = max(postgres - self._postgres, 0) / _TICKS_PER_S

    def as_dict(self) -> dict[str, Any]:
        return {"busy_share": self.busy_share, "postgres_s": self.postgres_s, "wall_s": self.wall_s}


try:
    _TICKS_PER_S = float(os.sysconf("SC_CLK_TCK"))
except (AttributeError, ValueError, OSError):  # not a POSIX system
    _TICKS_PER_S = 100.0


async def _dispatchers(
    url: str,
    seeded: dict[str, Any],
    n: int,
    limit_s: float,
    phase: CpuPhase | None = None,
    **extra: Any,
) -> list[dict[str, Any]]:
    """Start ``n`` dispatcher processes, let them go at once, collect their RESULTs.

    ``phase``: started as the GOs go out and stopped once every RESULT is in.
    """
    params = {"role": "dispatch", "url": url, "due": seeded["due"], "limit_s": limit_s, **extra}
    async with contextlib_stack() as stack:
        children = [
            await stack.enter_async_context(child("reminders", {**params, "worker_id": f"w{i}"}))
            for i in range(n)
        ]
        for process in children:
            await process.receive("READY", CHILD_TIMEOUT)
        if phase is not None:
            phase.start()
        for process in children:
            await process.send("GO")
        results = list(
            await asyncio.gather(*(p.receive("RESULT", limit_s + CHILD_TIMEOUT) for p in children))
        )
        if phase is not None:
            phase.stop()
        return results


def contextlib_stack() -> Any:
    import contextlib

    return contextlib.AsyncExitStack()


async def instant(scale: float) -> dict[str, Any]:
    count = max(1_000, round(INSTANT_DUE * scale))
    limit = max(10.0, INSTANT_LIMIT_S * scale)
    async with _seeded("sqlite", count) as (url, seeded):
        [result] = await _dispatchers(url, seeded, 1, limit, pusher="recording")
    return {**result, "due": count, "limit_s": limit, "seed_s": seeded["seed_s"]}


async def paced(scale: float) -> dict[str, Any]:
    count = max(60, round(PACED_DUE * scale))
    fake = PacedFake(PACED_PER_S)
    await fake.start()
    try:
        async with _seeded("sqlite", count) as (url, seeded):
            [result] = await _dispatchers(
                url,
                seeded,
                1,
                PACED_LIMIT_S,
                pusher="telegram",
                base_url=fake.base_url,
                token=fake.token,
            )
    finally:
        await fake.stop()
    times = fake.sent_times
    # The steady rate: from the first message to the last, so start-up is not counted.
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    per_s = (len(times) - 1) / span if span else 0.0
    counts = Counter(fake.per_chat.values())
    return {
        **result,
        "due": count,
        "messages": len(times),
        "messages_per_s": per_s,
        "refused": fake.refused,
        "messages_per_chat": dict(counts),
        "seed_s": seeded["seed_s"],
    }


async def pair(scale: float) -> dict[str, Any]:
    count = max(500, round(PAIR_DUE * scale))
    one_phase, two_phase = CpuPhase(), CpuPhase()
    async with _seeded("postgresql", count) as (url, seeded):
        [one] = await _dispatchers(url, seeded, 1, PAIR_LIMIT_S, one_phase, pusher="recording")
    async with _seeded("postgresql", count) as (url, seeded):
        two = await _dispatchers(
            url, seeded, 2, PAIR_LIMIT_S, two_phase, pusher="recording", return_keys=True
        )
    keys = [k for r in two for k in r["keys"]]
    both_s = max(r["elapsed_s"] for r in two)
    return {
        "due": count,
        "one": one,
        "two": two,
        "one_per_s": one["per_s"],
        "two_per_s": sum(r["sent"] for r in two) / both_s if both_s else 0.0,
        "two_duplicates": len(keys) - len(set(keys)),
        "two_sent": sum(r["sent"] for r in two),
        "one_phase": one_phase.as_dict(),
        "two_phase": two_phase.as_dict(),
    }


async def run(scale: float = 1.0) -> list[Table]:
    pg_ok, pg_info = await postgres_status()
    fast = await instant(scale)
    slow = await paced(scale)
    both = await pair(scale) if pg_ok else None
    return [_table(fast, slow, both, pg_info)]


def _per_reminder(slow: dict[str, Any]) -> str:
    """How many messages a reminder took, from what the fake received, not assumed."""
    counts = sorted(slow["messages_per_chat"])
    if len(counts) == 1:
        return str(counts[0])
    if not counts:
        return "no"
    return f"{slow['messages'] / max(slow['sent'], 1):.2f} (from {counts[0]} to {counts[-1]})"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


def _cpu_rows(both: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The machine's busy share and PostgreSQL's CPU in each phase, two beside one."""
    one, two = both["one_phase"], both["two_phase"]
    rows = [
        (
            "  machine CPU busy (all cores, /proc/stat), two / one",
            _share(two["busy_share"]),
            _share(one["busy_share"]),
            "",
        )
    ]

    def pg(phase: dict[str, Any], sent: int) -> str:
        if phase["postgres_s"] is None:
            return "n/a"
        cores = phase["postgres_s"] / phase["wall_s"] if phase["wall_s"] else 0.0
        per = phase["postgres_s"] / max(sent, 1) * 1000
        return f"{phase['postgres_s']:.2f} s ({cores:.2f} cores, {per:.2f} ms/reminder)"

    rows.append(
        (
            "  PostgreSQL server CPU in /proc, two / one (a lower bound: unreaped backends missed)",
            pg(two, both["two_sent"]),
            pg(one, both["one"]["sent"]),
            "",
        )
    )
    return rows


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _table(
    fast: dict[str, Any], slow: dict[str, Any], both: dict[str, Any] | None, pg_info: str
) -> Table:
    table = Table(
        "Reminders at scale",
        ["metric", "Renraku", "baseline (target or limit)", "ratio (Renraku ÷ baseline)"],
    )
    table.add(
        f"instant pushes, SQLite, {fast['due']:,} due: reminders/s "
        f"({_verdict(fast['per_s'] >= TARGET_PER_S)})",
        num(fast["per_s"]),
        f"{TARGET_PER_S:,.0f} (target)",
        ratio(fast["per_s"], TARGET_PER_S),
    )
    table.add(
        "  sent in the run / due",
        f"{fast['sent']:,}",
        f"{fast['due']:,}",
        ratio(fast["sent"], fast["due"]),
    )
    table.add("  duplicates (pushed twice)", str(fast["duplicates"]), "0", "")
    table.add(
        "  dispatcher CPU per reminder (ms)",
        num(fast["cpu_s"] / max(fast["sent"], 1) * 1000, 2),
        num(1000 / TARGET_PER_S, 2) + " (the target's budget)",
        ratio(fast["cpu_s"] / max(fast["sent"], 1) * 1000, 1000 / TARGET_PER_S),
    )
    statements = fast.get("statements", {})
    table.add(
        "  statements per reminder (BEGIN and COMMIT included)",
        num(sum(statements.values()) / max(fast["sent"], 1), 2),
        "",
        "",
    )
    share = slow["messages_per_s"] / PACED_PER_S
    table.add(
        f"paced: {slow['due']} due, 50 ms per send, fake allows 30 msg/s: messages/s "
        f"({_verdict(share >= TARGET_PACED_SHARE)} at ≥ 95 %)",
        num(slow["messages_per_s"]),
        f"{PACED_PER_S:.0f} (limit)",
        f"{share * 100:.0f} %",
    )
    table.add(
        f"  429s from the fake ({_verdict(slow['refused'] == 0)} at 0)",
        str(slow["refused"]),
        "0",
        "",
    )
    per_chat = ", ".join(
        f"{n} msg: {c} chats" for n, c in sorted(slow["messages_per_chat"].items())
    )
    table.add("  reminders sent / due", f"{slow['sent']:,}", f"{slow['due']:,}", "")
    if both is not None:
        gain = both["two_per_s"] / both["one_per_s"] if both["one_per_s"] else 0.0
        table.add(
            f"two dispatcher processes, PostgreSQL, {both['due']:,} due: reminders/s "
            f"({_verdict(gain >= TARGET_PAIR_GAIN)} at ≥ 1.6×)",
            num(both["two_per_s"]),
            f"{num(both['one_per_s'])} (one process)",
            f"{gain:.2f}×",
        )
        table.add(
            f"  duplicates across the two ({_verdict(both['two_duplicates'] == 0)} at 0)",
            str(both["two_duplicates"]),
            "0",
            "",
        )
        table.add(
            "  sent by each process",
            " + ".join(f"{r['sent']:,}" for r in both["two"]),
            f"{both['one']['sent']:,} (one alone)",
            "",
        )
        table.add(
            "  dispatcher CPU per reminder (ms), two / one",
            num(statistics.fmean(r["cpu_s"] / max(r["sent"], 1) * 1000 for r in both["two"]), 2),
            num(both["one"]["cpu_s"] / max(both["one"]["sent"], 1) * 1000, 2),
            "",
        )
        for row in _cpu_rows(both):
            table.add(*row)
    table.notes.append(
        "Instant: RecordingPusher, one dispatcher, run_due() until empty or "
        f"{fast['limit_s']:.0f} s "
        f"(then it stops after its batch); rows by state after: {fast['states']}. Seeding "
        f"{fast['seed_s']:.1f} s, not timed."
    )
    per_kind = ", ".join(
        f"{kind} {n / max(fast['sent'], 1):.2f}"
        for kind, n in sorted(statements.items(), key=lambda kv: -kv[1])
    )
    table.notes.append(
        "Instant, statements per reminder by kind (before_cursor_execute on the engine's "
        f"sync_engine, plus its begin and commit events): {per_kind}."
    )
    table.notes.append(
        "Paced: the real TelegramChannel from Settings (token and base URL only); each "
        f"reminder went out as {_per_reminder(slow)} sendMessage calls (as the fake counted "
        "them); the rate is counted from the first message to the "
        f"last. Messages per chat: {per_chat}; rows by state: {slow['states']}."
    )
    if both is None:
        table.notes.append(f"Two dispatchers skipped: {pg_info}")
    else:
        table.notes.append(
            "Two dispatchers: each a process of its own with its own RecordingPusher, started "
            "together; together = all sent ÷ the slower one's time. " + pg_info
        )
    table.notes.append(
        "Everything shares 2 cores: the dispatchers, PostgreSQL and the driver with the fake."
    )
    return table
