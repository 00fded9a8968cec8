"""Benchmark 2: the conversation engine alone, no channel, on a SQLite file and on PostgreSQL.

Every user plays the whole registration (bench/script.py, onboarding included). Measured
twice per database, in a process of its own: one user at a time (the cost of a turn with
nothing else running), then many users at once (throughput, and what the database does under
concurrent transactions).
SQLite is the baseline: it is the default ``DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import (
    START,
    Meter,
    Table,
    backends,
    database,
    latency_summary,
    postgres_status,
    run_once,
)

USERS = 50
SOLO_USERS = 50
WARM_UP_USERS = 2
TIMEOUT = 150.0


# --- the measured process -------------------------------------------------------------------


async def _register(engine: Any, user: str, unexpected: str) -> tuple[list[float], str | None]:
    """Play the registration; return each turn's seconds and why it stopped early, if it did."""
    from bench.script import REGISTRATION, EventChat, TurnFailed, play

    chat = EventChat(engine, user=user)
    seconds: list[float] = []
    for step in REGISTRATION:
        started = time.perf_counter()
        try:
            await play(chat, step, unexpected)
        except TurnFailed as exc:
            return seconds, f"turn {len(seconds) + 1} ({step.value}): {exc}"
        seconds.append(time.perf_counter() - started)
    return seconds, None


class StatementCounter:
    """SQL statements the app's engine sends: every cursor execute (SAVEPOINT and RELEASE
    included), each transaction's BEGIN, and each COMMIT and ROLLBACK.

    BEGIN is counted from SQLAlchemy's ``begin`` event, not from a cursor: on a SQLite file
    it rides the transaction's first statement (storage/db.py), on PostgreSQL asyncpg sends
    it itself; either way the database runs it."""

    def __init__(self, db: Any) -> None:
        from sqlalchemy import event

        self.count = 0
        self.kinds: Counter[str] = Counter()
        self._sync = db.sync_engine
        self._listeners = [
            ("before_cursor_execute", self._statement),
            ("begin", lambda _conn: self._note("BEGIN")),
            ("commit", lambda _conn: self._note("COMMIT")),
            ("rollback", lambda _conn: self._note("ROLLBACK")),
        ]
        for name, listener in self._listeners:
            event.listen(self._sync, name, listener)

    def close(self) -> None:
        """Stop counting, so the timed phases pay nothing for it."""
        from sqlalchemy import event

        for name, listener in self._listeners:
            event.remove(self._sync, name, listener)

    def _statement(self, _c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        kind = statement.split(None, 1)[0].upper()
        if kind != "BEGIN":  # counted by the begin event
            self._note(kind)

    def _note(self, kind: str) -> None:
        self.count += 1
        self.kinds[kind] += 1

    def reset(self) -> None:
        self.count = 0
        self.kinds.clear()


async def count_statements(app: Any, counter: StatementCounter) -> list[dict[str, Any]]:
    """One new user plays the registration alone; the statements of each turn."""
    from bench.script import REGISTRATION, EventChat, play

    unexpected = app.catalog.text("ja", "errors.unexpected")
    chat = EventChat(app.engine, user="statements", channel="telegram")
    turns = []
    for step in REGISTRATION:
        counter.reset()
        await play(chat, step, unexpected)
        kinds = dict(counter.kinds)
        turns.append({"turn": step.value, "statements": counter.count, "kinds": kinds})
    return turns


async def measure(params: dict[str, Any]) -> None:
    from sqlalchemy import func, select

    from bench.child import say
    from bench.script import NEW_AT
    from bot.bootstrap import bootstrap
    from storage.models import Interview, Reminder
    from tests.support import ManualClock, sqlite_settings

    backend, users, solo_users = params["backend"], params["users"], params["solo_users"]
    meter = Meter()
    with tempfile.TemporaryDirectory(prefix="renraku-bench-") as folder:
        async with database(backend, Path(folder)) as url:
            settings = sqlite_settings(Path(folder), database_url=url)
            app = await bootstrap(settings, clock=ManualClock(START), with_channels=False)
            try:
                unexpected = app.catalog.text("ja", "errors.unexpected")
                counter = StatementCounter(app.db)
                statements = await count_statements(app, counter)
                counter.close()
                for i in range(WARM_UP_USERS):
                    await _register(app.engine, f"warm-{i}", unexpected)
                solo: list[float] = []
                solo_failures: list[str] = []
                solo_crowd: list[list[float]] = []
                for i in range(solo_users):
                    seconds, failure = await _register(app.engine, f"solo-{i}", unexpected)
                    solo += seconds
                    solo_failures += [failure] if failure else []
                    # The crowd's turns: /new and the company name.
                    solo_crowd.append(seconds[NEW_AT : NEW_AT + 2])

                meter.mark()
                started = time.perf_counter()
                outcomes = await asyncio.gather(
                    *(_register(app.engine, f"user-{i}", unexpected) for i in range(users))
                )
                elapsed = time.perf_counter() - started
                usage = meter.read()

                async with app.uow() as uow:
                    interviews = await uow.session.scalar(
                        select(func.count()).select_from(Interview)
                    )
                    reminders = await uow.session.scalar(select(func.count()).select_from(Reminder))
            finally:
                await app.stop()

    together = [s for seconds, _ in outcomes for s in seconds]
    failures = [f for _, f in outcomes if f]
    say(
        "RESULT",
        {
            "backend": backend,
            "users": users,
            "turns": len(together),
            "elapsed_s": elapsed,
            "turns_per_s": len(together) / elapsed,
            "concurrent": latency_summary(together),
            "solo": latency_summary(solo),
            "solo_turns_per_s": len(solo) / sum(solo) if solo else 0.0,
            "failed_users": len(failures) + len(solo_failures),
            "failures": (failures + solo_failures)[:5],
            "interviews": interviews,
            "reminders": reminders,
            "expected_interviews": WARM_UP_USERS + solo_users + users + 1,
            "statements": statements,
            "crowd_solo": latency_summary([s for seconds in solo_crowd for s in seconds]),
            **usage,
        },
    )


# --- the driver -----------------------------------------------------------------------------


async def run(scale: float = 1.0) -> list[Table]:
    users = max(2, round(USERS * scale))
    solo_users = max(1, round(SOLO_USERS * scale))
    pg_ok, pg_info = await postgres_status()
    results: dict[str, dict[str, Any]] = {}
    for backend in backends(pg_ok):
        results[backend] = await run_once(
            "engine",
            {"backend": backend, "users": users, "solo_users": solo_users},
            TIMEOUT,
        )
    return [_table(results, users, pg_ok, pg_info), _statements_table(results)]


def _statements_table(results: dict[str, dict[str, Any]]) -> Table:
    from bench.script import NEW_AT, REGISTRATION

    names = {"sqlite": "SQLite file", "postgresql": "PostgreSQL"}
    table = Table(
        "SQL statements per engine turn (one user alone, registration of bench/script.py)",
        ["turn", *(names[b] for b in results)],
    )
    per_backend = [r["statements"] for r in results.values()]
    for i, first in enumerate(per_backend[0]):
        label = f"{i + 1:2}. {first['turn']}" + (" (crowd)" if i in (NEW_AT, NEW_AT + 1) else "")
        table.add(label, *(str(turns[i]["statements"]) for turns in per_backend))
    table.add(
        "crowd turn: /new + company name",
        *(
            str(turns[NEW_AT]["statements"] + turns[NEW_AT + 1]["statements"])
            for turns in per_backend
        ),
    )
    table.add(
        f"whole registration ({len(REGISTRATION)} turns)",
        *(str(sum(t["statements"] for t in turns)) for turns in per_backend),
    )
    totals: list[Counter[str]] = [Counter() for _ in per_backend]
    for total, turns in zip(totals, per_backend, strict=True):
        for turn in turns:
            total.update(turn["kinds"])
    for backend, total in zip(results, totals, strict=True):
        kinds = ", ".join(f"{kind} {n}" for kind, n in total.most_common())
        table.notes.append(f"{names[backend]}, the whole registration by kind: {kinds}.")
    table.notes.append(
        "Counted with SQLAlchemy's before_cursor_execute on the engine's sync_engine (SAVEPOINT "
        "and RELEASE included) plus its begin/commit/rollback events (BEGIN counted on both "
        "databases, though on SQLite it rides the first statement's trip). Each event carries an "
        "id, as Telegram's and LINE's do. The channel's durable inbox is not in it: on Telegram "
        "one more transaction per getUpdates batch (store the batch, delete the handled rows)."
    )
    for name, result in results.items():
        crowd = result["crowd_solo"]
        table.notes.append(
            f"{names[name]}: Engine.handle alone for the crowd's two turns, "
            f"p50 {crowd['p50']:.1f} ms, p99 {crowd['p99']:.1f} ms ({crowd['n']:.0f} turns)."
        )
    return table


def _table(results: dict[str, dict[str, Any]], users: int, pg_ok: bool, pg_info: str) -> Table:
    from bench.script import REGISTRATION

    base = results["sqlite"]
    pg = results.get("postgresql")
    table = Table(
        f"Engine alone: full registrations ({len(REGISTRATION)} turns each), {users} users at once",
        ["metric", "SQLite file (baseline)", "PostgreSQL", "ratio (PG ÷ SQLite)"],
    )

    def row(label: str, pick: Any, digits: int = 1) -> None:
        table.add_measured(label, pick, base, pg, digits)

    row(f"turns/s, {users} users at once", lambda r: r["turns_per_s"])
    row("turn latency p50 (ms), at once", lambda r: r["concurrent"]["p50"])
    row("turn latency p95 (ms), at once", lambda r: r["concurrent"]["p95"])
    row("turn latency p99 (ms), at once", lambda r: r["concurrent"]["p99"])
    row("turns/s, one user at a time", lambda r: r["solo_turns_per_s"])
    row("turn latency p50 (ms), one at a time", lambda r: r["solo"]["p50"])
    row("turn latency p95 (ms), one at a time", lambda r: r["solo"]["p95"])
    row(
        "engine-process CPU per turn (ms), at once",
        lambda r: r["cpu_s"] / r["turns"] * 1000 if r["turns"] else None,
        2,
    )
    row("peak RSS during the at-once phase (MiB)", lambda r: r["peak_rss_mib"])
    row("  of which grown during it (MiB)", lambda r: r["peak_delta_mib"])
    row("users whose registration failed", lambda r: r["failed_users"], 0)

    for name, result in results.items():
        if result["interviews"] != result["expected_interviews"]:
            table.notes.append(
                f"{name}: {result['interviews']} interviews saved, "
                f"{result['expected_interviews']} expected"
            )
        for failure in result["failures"]:
            table.notes.append(f"{name}: a registration stopped at {failure}")
    table.notes.append(
        "A turn = Engine.handle() for one typed text or tap: load user and dialogue, route, "
        "save, commit (one transaction). Warm-up users are not counted."
    )
    table.notes.append(
        "CPU is this process only (Python, SQLAlchemy, the driver); PostgreSQL's own server "
        "CPU is not in it."
    )
    table.notes.append(pg_info if pg_ok else f"PostgreSQL column skipped: {pg_info}")
    return table
