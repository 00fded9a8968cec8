"""Benchmark 4: storage at scale (the issue's point 7).

A SQLite file with 1,000,000 stored interviews, each with a pending follow-up (20,000 users
with 50 interviews each), against one with 1,000 interviews, in the same run:

- ``renraku run`` (the real CLI, a process of its own, Telegram pointed at the fake Bot API
  in the driver): seconds from spawn until ``/healthz`` answers 200 (target ≤ 2 s) and its
  RSS then (target ≤ 150 MiB).
- ``/list`` for a user with 50 interviews, through Engine.handle (target ≤ 20 ms).
- The dispatcher's "what is due next" and claim queries (storage/reminder_queue.py):
  ``EXPLAIN QUERY PLAN`` on the big SQLite file, ``EXPLAIN`` on PostgreSQL (seeded the same
  way, smaller, and ANALYZEd so the planner knows the table is large).

Seeding is not timed against anything: one interview is made through the real conversation,
then cloned in SQL (``INSERT ... SELECT`` over a generated series, one statement per table),
so every column is what the app itself wrote. Every follow-up is due 30 days after the real
clock, so the ``renraku run`` under test finds nothing to send.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    START,
    Table,
    child,
    child_env,
    database,
    latency_summary,
    num,
    postgres_status,
    ratio,
)
from tests.fakes.telegram_api import FakeTelegramAPI

BIG = 1_000_000
SMALL = 1_000
PER_USER = 50
PG_BIG = 200_000
LIST_TIMES = 30
READY_TIMEOUT = 60.0
CHILD_TIMEOUT = 230.0
FIRST_EXTERNAL_ID = 7_000_000

TARGET_READY_S = 2.0
TARGET_RSS_MIB = 150.0
TARGET_LIST_MS = 20.0


# --- seeding and measuring, in a child process ------------------------------------------------


def _columns(model: Any, *left_out: str) -> list[str]:
    return [c.name for c in model.__table__.columns if c.name not in {"id", *left_out}]


async def _seed(url: str, interviews: int) -> dict[str, Any]:
    from sqlalchemy import select, text, update

    from bench.script import REGISTRATION, play
    from bot.bootstrap import uow_factory
    from bot.engine import Engine
    from messages.catalog import load_catalog
    from storage.db import create_engine, create_session_factory
    from storage.migrate import upgrade
    from storage.models import Interview, Reminder, ReminderKind, ReminderState, User
    from tests.support import Chat, ManualClock

    started = time.perf_counter()
    await upgrade(url)
    db = create_engine(url)
    try:
        factory = uow_factory(create_session_factory(db))
        catalog = load_catalog()
        engine = Engine(factory, catalog, clock=ManualClock(START))
        chat = Chat(engine, user=str(FIRST_EXTERNAL_ID - 1), channel="telegram")
        unexpected = catalog.text("ja", "errors.unexpected")
        for step in REGISTRATION:
            await play(chat, step, unexpected)
        later = datetime.now(UTC) + timedelta(days=30)
        async with factory() as uow:
            interview = await uow.session.scalar(
                select(Interview).join(User).where(User.external_id == chat.address.external_id)
            )
            assert interview is not None
            template = interview.id
            await uow.reminders.cancel_for_interview(template, kinds=[ReminderKind.HALFWAY])
            await uow.session.execute(
                update(Reminder)
                .where(Reminder.interview_id == template, Reminder.kind == "followup")
                .values(due_at=later)
            )
            await uow.commit()
        users = max(1, interviews // PER_USER)
        user_cols = _columns(User, "external_id")
        interview_cols = _columns(Interview, "user_id")
        reminder_cols = _columns(Reminder, "interview_id", "user_id", "idempotency_key")
        series = (
            "WITH RECURSIVE series(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM series "
            "WHERE n < :last) "
        )
        # Column names come from the models, never from input; values are bound.
        async with db.begin() as conn:
            template_user = await conn.scalar(
                text("SELECT user_id FROM interviews WHERE id = :id"), {"id": template}
            )
            await conn.execute(
                text(
                    series + f"INSERT INTO users (external_id, {', '.join(user_cols)}) "  # noqa: S608
                    f"SELECT CAST(:first + series.n AS TEXT), "
                    f"{', '.join('t.' + c for c in user_cols)} "
                    "FROM series, users t WHERE t.id = :user"
                ),
                {"last": users - 1, "first": FIRST_EXTERNAL_ID, "user": template_user},
            )
            await conn.execute(
                text(
                    series + f"INSERT INTO interviews (user_id, {', '.join(interview_cols)}) "  # noqa: S608
                    f"SELECT u.id, {', '.join('t.' + c for c in interview_cols)} "
                    "FROM users u, series, interviews t WHERE t.id = :id AND u.id <> t.user_id "
                    "ORDER BY u.id, series.n"
                ),
                {"id": template, "last": PER_USER - 1},
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
                    "id": template,
                    "kind": ReminderKind.FOLLOWUP.value,
                    "pending": ReminderState.PENDING.value,
                },
            )
        async with db.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
            counted = await conn.scalar(text("SELECT count(*) FROM interviews"))
            pending = await conn.scalar(
                text("SELECT count(*) FROM reminders WHERE state = :p"),
                {"p": ReminderState.PENDING.value},
            )
    finally:
        await db.dispose()
    return {
        "interviews": int(counted or 0),
        "pending": int(pending or 0),
        "users": users + 1,
        "seed_s": time.perf_counter() - started,
    }


def _queue_queries(dialect: str) -> list[tuple[str, Any]]:
    """The statements storage/reminder_queue.py runs to plan and to claim."""
    from sqlalchemy import func, select

    from storage.models import Reminder
    from storage.reminder_queue import ReminderQueue

    claimable = ReminderQueue._claimable(["telegram"], 5)
    now = datetime.now(UTC)
    return [
        (
            "next_due",
            select(Reminder.due_at).where(claimable).order_by(Reminder.due_at).limit(1),
        ),
        ("next_due as it was (min)", select(func.min(Reminder.due_at)).where(claimable)),
        ("claim_due", ReminderQueue.due_rows(dialect, now, ["telegram"], 5, 50)),
    ]


async def _explain(url: str) -> dict[str, list[str]]:
    from storage.db import create_engine

    db = create_engine(url)
    plans: dict[str, list[str]] = {}
    try:
        async with db.connect() as conn:
            dialect = conn.dialect
            for name, query in _queue_queries(dialect.name):
                compiled = str(
                    query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
                )
                prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
                rows = (await conn.exec_driver_sql(prefix + compiled)).all()
                if dialect.name == "sqlite":
                    plans[name] = [str(row[-1]) for row in rows]
                else:
                    plans[name] = [str(row[0]) for row in rows]
                timings = []
                for _ in range(5):
                    started = time.perf_counter()
                    await conn.execute(query)
                    timings.append((time.perf_counter() - started) * 1000)
                plans[name + " (SQL)"] = [" ".join(compiled.split())]
                plans[name + " (ms, median of 5)"] = [f"{sorted(timings)[2]:.2f}"]
    finally:
        await db.dispose()
    return plans


async def _time_list(url: str) -> dict[str, Any]:
    """``/list`` for a cloned user with PER_USER interviews, LIST_TIMES times."""
    from bench.script import EventChat
    from bot.bootstrap import bootstrap
    from tests.support import ManualClock, sqlite_settings

    with tempfile.TemporaryDirectory(prefix="renraku-bench-") as folder:
        settings = sqlite_settings(Path(folder), database_url=url)
    app = await bootstrap(settings, clock=ManualClock(START), migrate=False, with_channels=False)
    try:
        chat = EventChat(app.engine, user=str(FIRST_EXTERNAL_ID + 1), channel="telegram")
        seconds = []
        replies = 0
        for _ in range(LIST_TIMES + 2):
            started = time.perf_counter()
            answer = await chat.say("/list")
            seconds.append(time.perf_counter() - started)
            replies = len(answer)
        text_size = sum(len(r.text) for r in answer)
    finally:
        await app.stop()
    # The first two warm the caches (statements, catalog) and are not counted.
    return {**latency_summary(seconds[2:]), "replies": replies, "chars": text_size}


async def measure(params: dict[str, Any]) -> None:
    from bench.child import say

    url = params["url"]
    if params["role"] == "seed":
        say("RESULT", await _seed(url, params["interviews"]))
    elif params["role"] == "list":
        say("RESULT", await _time_list(url))
    else:
        say("RESULT", {"plans": await _explain(url)})


# --- the driver -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _file_mib(folder: Path, name: str) -> float:
    """The database file with its WAL, which holds part of it until the next checkpoint."""
    return sum(p.stat().st_size for p in folder.glob(name + "*")) / 2**20


def _rss_of(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _renraku_run(url: str, fake: FakeTelegramAPI) -> dict[str, Any]:
    """Spawn ``renraku run`` on this database; seconds until /healthz is 200, and its RSS."""
    import aiohttp

    port = _free_port()
    env = child_env()
    env.update(
        DATABASE_URL=url,
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BASE_URL=fake.base_url,
        PORT=str(port),
        LOG_LEVEL="WARNING",
    )
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    ready_s = float("nan")
    rss = float("nan")
    try:
        async with aiohttp.ClientSession() as session:
            deadline = started + READY_TIMEOUT
            while time.perf_counter() < deadline and process.returncode is None:
                try:
                    async with session.get(
                        f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(1)
                    ) as response:
                        if response.status == 200:
                            ready_s = time.perf_counter() - started
                            break
                except (aiohttp.ClientError, TimeoutError):
                    pass
                # Polling for readiness: a short interval bounds the error of the measurement.
                await asyncio.sleep(0.02)
        if process.returncode is None:
            rss = _rss_of(process.pid)
            # Settled: what it holds a moment after being ready.
            await asyncio.sleep(1.0)
            rss_settled = _rss_of(process.pid)
        else:
            rss_settled = float("nan")
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        err = await process.stderr.read() if process.stderr is not None else b""
    return {
        "ready_s": ready_s,
        "rss_mib": rss,
        "rss_settled_mib": rss_settled,
        "stderr": err.decode(errors="replace").strip().splitlines()[-3:],
    }


async def _one_size(folder: Path, interviews: int, name: str) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{folder / name}"
    async with child("storage", {"role": "seed", "url": url, "interviews": interviews}) as c:
        seeded = await c.receive("RESULT", CHILD_TIMEOUT)
    fake = FakeTelegramAPI(max_poll_seconds=1.0)
    await fake.start()
    try:
        started = await _renraku_run(url, fake)
    finally:
        await fake.stop()
    async with child("storage", {"role": "list", "url": url}) as c:
        listed = await c.receive("RESULT", CHILD_TIMEOUT)
    plans: dict[str, list[str]] = {}
    if interviews > SMALL:
        async with child("storage", {"role": "explain", "url": url}) as c:
            plans = (await c.receive("RESULT", CHILD_TIMEOUT))["plans"]
    size = _file_mib(folder, name)
    return {**seeded, "run": started, "list": listed, "plans": plans, "file_mib": size}


async def run(scale: float = 1.0) -> list[Table]:
    big = max(10_000, round(BIG * scale))
    pg_ok, pg_info = await postgres_status()
    with tempfile.TemporaryDirectory(prefix="renraku-bench-") as name:
        folder = Path(name)
        small = await _one_size(folder, SMALL, "small.db")
        large = await _one_size(folder, big, "big.db")
    pg_plans: dict[str, list[str]] = {}
    pg_seeded: dict[str, Any] = {}
    if pg_ok:
        with tempfile.TemporaryDirectory(prefix="renraku-bench-") as name:
            async with database("postgresql", Path(name)) as url:
                count = max(10_000, round(PG_BIG * scale))
                async with child("storage", {"role": "seed", "url": url, "interviews": count}) as c:
                    pg_seeded = await c.receive("RESULT", CHILD_TIMEOUT)
                async with child("storage", {"role": "explain", "url": url}) as c:
                    pg_plans = (await c.receive("RESULT", CHILD_TIMEOUT))["plans"]
    return [_table(small, large, pg_seeded, pg_plans, pg_info)]


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _table(
    small: dict[str, Any],
    large: dict[str, Any],
    pg_seeded: dict[str, Any],
    pg_plans: dict[str, list[str]],
    pg_info: str,
) -> Table:
    table = Table(
        f"Storage at scale: SQLite file with {large['interviews']:,} interviews vs "
        f"{small['interviews']:,}",
        [
            "metric",
            f"{large['interviews']:,} interviews",
            f"baseline: {small['interviews']:,}",
            "ratio (large ÷ baseline)",
        ],
    )

    def row(label: str, pick: Any, digits: int = 1) -> None:
        a, b = pick(large), pick(small)
        table.add(label, num(a, digits), num(b, digits), ratio(a, b))

    ready, rss = large["run"]["ready_s"], large["run"]["rss_mib"]
    row(
        f"`renraku run` ready, s (target ≤ 2 s: {_verdict(ready <= TARGET_READY_S)})",
        lambda r: r["run"]["ready_s"],
        2,
    )
    row(
        f"RSS when ready, MiB (target ≤ 150: {_verdict(rss <= TARGET_RSS_MIB)})",
        lambda r: r["run"]["rss_mib"],
    )
    row("RSS 1 s after ready, MiB", lambda r: r["run"]["rss_settled_mib"])
    p50, p99 = large["list"]["p50"], large["list"]["p99"]
    row(
        f"/list, user with {PER_USER} interviews, p50 ms "
        f"(target ≤ 20 ms: {_verdict(p50 <= TARGET_LIST_MS)})",
        lambda r: r["list"]["p50"],
    )
    row(
        f"/list p99 ms ({_verdict(p99 <= TARGET_LIST_MS)} at ≤ 20)",
        lambda r: r["list"]["p99"],
    )
    row("pending reminders", lambda r: r["pending"], 0)
    row("users", lambda r: r["users"], 0)
    row("database file, MiB", lambda r: r["file_mib"])
    row("seeding, s (not a target)", lambda r: r["seed_s"])
    table.notes.append(
        f"/list answered with {large['list']['replies']} replies, {large['list']['chars']:,} "
        f"characters; timed {LIST_TIMES} times after two warm-up calls, Engine.handle only."
    )
    for name, r in (("large", large), ("baseline", small)):
        if r["run"]["stderr"] and r["run"]["ready_s"] != r["run"]["ready_s"]:
            table.notes.append(f"{name} `renraku run` said: {' / '.join(r['run']['stderr'])}")
    for name, plan in large["plans"].items():
        table.notes.append(f"SQLite EXPLAIN QUERY PLAN, {name}: `" + " | ".join(plan) + "`")
    if pg_plans:
        table.notes.append(
            f"PostgreSQL, {pg_seeded.get('interviews', 0):,} interviews, ANALYZEd: {pg_info}"
        )
        for name, plan in pg_plans.items():
            table.notes.append(f"PostgreSQL EXPLAIN, {name}: `" + " | ".join(plan) + "`")
    else:
        table.notes.append(f"PostgreSQL EXPLAIN skipped: {pg_info}")
    return table
