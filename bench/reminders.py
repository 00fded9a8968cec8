"""Benchmark 3: ReminderDispatcher.run_due draining 1,000 due reminders, SQLite and PostgreSQL.

One interview is recorded through the real conversation; its follow-up row is the template
for 999 more users, each with one interview and one follow-up due at the same minute (the
promised day, 10:00 in Tokyo, a Wednesday), written through the repositories. A warm-up run
sends 20 more the day before. The pusher is tests/recording.py's RecordingPusher: it keeps
what it is given and returns at once, so what is timed is Renraku's own work per reminder:
claim (in batches), renew the claim and compose (one transaction), push, mark sent and the
follow-up bookkeeping (two more transactions).

The baseline is what actually bounds delivery: the platforms' documented sending limits.
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    START,
    Meter,
    Table,
    backends,
    database,
    latency_summary,
    num,
    postgres_status,
    ratio,
    run_once,
)

REMINDERS = 1000
WARM_UP = 20
TIMEOUT = 150.0
SEED_BATCH = 250

# Documented sending limits (see docs/BENCHMARKS.md for the sources and their wording).
TELEGRAM_BULK_PER_S = 30.0  # "not more than 30 messages per second or so", different users
TELEGRAM_PER_CHAT_PER_S = 1.0  # "avoid sending more than one message per second" in a chat
LINE_PUSH_REQUESTS_PER_S = 2000.0  # Messaging API, per channel ("other API endpoints")


# --- the measured process -------------------------------------------------------------------


async def _template(engine: Any, uow_factory: Any, unexpected: str) -> tuple[int, Any]:
    """Record one interview by conversation; keep only its follow-up. Return (id, due)."""
    from sqlalchemy import select

    from bench.script import REGISTRATION, play
    from storage.models import Interview, Reminder, ReminderKind, User
    from tests.support import Chat

    chat = Chat(engine, user="1", channel="telegram")
    for step in REGISTRATION:
        await play(chat, step, unexpected)
    async with uow_factory() as uow:
        interview = await uow.session.scalar(
            select(Interview).join(User).where(User.external_id == "1")
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


async def _clone(uow_factory: Any, template_id: int, first: int, count: int, due: Any) -> None:
    """Users ``first..first+count-1``, each with a copy of the template and one follow-up."""
    from storage.models import Interview, Reminder, ReminderKind, ReminderState

    async with uow_factory() as uow:
        template = await uow.session.get(Interview, template_id)
        assert template is not None
        copied = {
            column: getattr(template, column)
            for column in (
                "company",
                "interview_date",
                "stage",
                "promised",
                "contact_method",
                "interviewer_name",
                "interviewer_contact",
                "asked_what_if_silent",
                "asked_memo",
                "reflection_good",
                "reflection_improve",
                "status",
            )
        }
    for start in range(first, first + count, SEED_BATCH):
        async with uow_factory() as uow:
            for number in range(start, min(start + SEED_BATCH, first + count)):
                user = await uow.users.get_or_create(
                    "telegram", str(number), locale="ja", timezone="Asia/Tokyo"
                )
                user.display_name = f"応募者{number}"
                user.onboarded = True
                interview = Interview(user_id=user.id, followups_sent=0, muted=False, **copied)
                uow.interviews.add(interview)
                await uow.interviews.flush()
                uow.reminders.add(
                    Reminder(
                        interview_id=interview.id,
                        user_id=user.id,
                        kind=ReminderKind.FOLLOWUP.value,
                        due_at=due,
                        state=ReminderState.PENDING.value,
                        attempts=0,
                    )
                )
            await uow.commit()


async def measure(params: dict[str, Any]) -> None:
    from sqlalchemy import func, select

    from bench.child import say
    from bot.bootstrap import uow_factory
    from bot.channels.line_messages import to_line_messages
    from bot.channels.telegram_render import render
    from bot.engine import Engine
    from bot.reminders import ReminderDispatcher
    from bot.web import Metrics
    from messages.catalog import load_catalog
    from storage.db import create_engine, create_session_factory
    from storage.migrate import upgrade
    from storage.models import Reminder, ReminderState
    from tests.recording import RecordingPusher
    from tests.support import ManualClock

    backend, count = params["backend"], params["reminders"]
    meter = Meter()
    with tempfile.TemporaryDirectory(prefix="renraku-bench-") as folder:
        async with database(backend, Path(folder)) as url:
            await upgrade(url)
            db = create_engine(url)
            try:
                factory = uow_factory(create_session_factory(db))
                catalog = load_catalog()
                clock = ManualClock(START)
                engine = Engine(factory, catalog, clock=clock)
                unexpected = catalog.text("ja", "errors.unexpected")

                seeding = time.perf_counter()
                template_id, due = await _template(engine, factory, unexpected)
                await _clone(factory, template_id, 2, count - 1, due)
                await _clone(factory, template_id, 100_000, WARM_UP, due - timedelta(days=1))
                seeded_s = time.perf_counter() - seeding

                pusher = RecordingPusher()
                metrics = Metrics()
                dispatcher = ReminderDispatcher(
                    factory, catalog, {"telegram": pusher}, clock, metrics, worker_id="bench"
                )
                clock.set(due - timedelta(days=1))
                warmed = await dispatcher.run_due()
                pusher.pushes.clear()

                push_times: list[float] = []
                original_push = pusher.push

                async def timed_push(
                    external_id: str, replies: Any, *, idempotency_key: str
                ) -> None:
                    push_times.append(time.perf_counter())
                    await original_push(external_id, replies, idempotency_key=idempotency_key)

                pusher.push = timed_push  # type: ignore[method-assign]

                # A real push waits a network round trip; this stands in for it.
                pusher.latency = float(params.get("push_latency", 0.0))
                clock.set(due)
                meter.mark()
                started = time.perf_counter()
                sent = await dispatcher.run_due()
                elapsed = time.perf_counter() - started
                usage = meter.read()

                async with factory() as uow:
                    states = dict(
                        (
                            await uow.session.execute(
                                select(Reminder.state, func.count()).group_by(Reminder.state)
                            )
                        ).all()
                    )
            finally:
                await db.dispose()

    gaps = [b - a for a, b in zip([started, *push_times], push_times, strict=False)]
    telegram_messages = [sum(len(render(r)) for r in p.replies) for p in pusher.pushes]
    line_messages = [len(to_line_messages(p.replies, quick_reply=False)) for p in pusher.pushes]
    say(
        "RESULT",
        {
            "backend": backend,
            "due": count,
            "sent": sent,
            "pushed": len(pusher.pushes),
            "sent_rows": int(states.get(ReminderState.SENT.value, 0)),
            "states": {str(k): int(v) for k, v in states.items()},
            "warm_up_sent": warmed,
            "seeded_s": seeded_s,
            "elapsed_s": elapsed,
            "per_s": sent / elapsed if elapsed else 0.0,
            "per_reminder": latency_summary(gaps),
            "telegram_messages_per_reminder": (
                sum(telegram_messages) / len(telegram_messages) if telegram_messages else 0.0
            ),
            "line_messages_per_reminder": (
                sum(line_messages) / len(line_messages) if line_messages else 0.0
            ),
            **usage,
        },
    )


SIMULATED_ROUND_TRIP = 0.05


# --- the driver -----------------------------------------------------------------------------


async def run(scale: float = 1.0) -> list[Table]:
    count = max(10, round(REMINDERS * scale))
    pg_ok, pg_info = await postgres_status()
    results: dict[str, dict[str, Any]] = {}
    for backend in backends(pg_ok):
        results[backend] = await run_once(
            "reminders", {"backend": backend, "reminders": count}, TIMEOUT
        )
    slow_count = max(10, count // 2)
    slow = await run_once(
        "reminders",
        {"backend": "sqlite", "reminders": slow_count, "push_latency": SIMULATED_ROUND_TRIP},
        TIMEOUT,
    )
    tables = _table(results, count, pg_ok, pg_info)
    tg_bound = TELEGRAM_BULK_PER_S / (results["sqlite"]["telegram_messages_per_reminder"] or 1.0)
    tables[0].add(
        f"reminders/s, SQLite file, each push {SIMULATED_ROUND_TRIP * 1000:.0f} ms "
        f"({slow_count:,} due), vs Telegram bulk",
        num(slow["per_s"]),
        f"{tg_bound:.1f}",
        ratio(slow["per_s"], tg_bound),
    )
    tables[0].notes.append(
        f"The {SIMULATED_ROUND_TRIP * 1000:.0f} ms row gives every push a simulated network "
        "round trip; the dispatcher sends to up to 8 users side by side, so the round trip "
        "does not set the pace alone."
    )
    return tables


def _table(
    results: dict[str, dict[str, Any]], count: int, pg_ok: bool, pg_info: str
) -> list[Table]:
    lite = results["sqlite"]
    pg = results.get("postgresql")
    names = {"sqlite": "SQLite file", "postgresql": "PostgreSQL"}
    tg_messages = lite["telegram_messages_per_reminder"] or 1.0
    line_messages = lite["line_messages_per_reminder"]
    tg_bound = TELEGRAM_BULK_PER_S / tg_messages

    limits = Table(
        f"Reminder dispatch vs the platforms' sending limits ({count:,} due, one run_due())",
        ["metric", "Renraku", "baseline (documented limit)", "ratio (Renraku ÷ baseline)"],
    )
    for backend, result in results.items():
        limits.add(
            f"reminders/s, {names[backend]}, vs Telegram bulk",
            num(result["per_s"]),
            f"{tg_bound:.1f} (≈30 msg/s ÷ {tg_messages:.1f} msg)",
            ratio(result["per_s"], tg_bound),
        )
    for backend, result in results.items():
        limits.add(
            f"reminders/s, {names[backend]}, vs LINE push",
            num(result["per_s"]),
            f"{LINE_PUSH_REQUESTS_PER_S:,.0f} (2,000 req/s ÷ 1 req)",
            ratio(result["per_s"], LINE_PUSH_REQUESTS_PER_S),
        )
    limits.notes.append(
        f"A reminder here is {tg_messages:.1f} Telegram sendMessage calls, or 1 LINE push "
        f"request carrying {line_messages:.1f} messages (LINE allows 5 per request)."
    )
    limits.notes.append(
        "Ratio above 1: the platform's limit, not Renraku, bounds delivery. Below 1: one "
        "dispatcher is slower than the platform allows."
    )
    limits.notes.append(
        "Telegram also allows about 1 message per second within one chat, so one user's "
        f"{tg_messages:.0f}-message reminder takes about "
        f"{tg_messages / TELEGRAM_PER_CHAT_PER_S:.0f} s to go out "
        "without a 429."
    )

    details = Table(
        "Reminder dispatch, details",
        ["metric", "SQLite file (baseline)", "PostgreSQL", "ratio (PG ÷ SQLite)"],
    )

    def row(label: str, pick: Any, digits: int = 1) -> None:
        details.add_measured(label, pick, lite, pg, digits)

    row("reminders sent (of due)", lambda r: r["sent"], 0)
    row("reminders/s (claimed + composed + pushed + marked)", lambda r: r["per_s"])
    row("ms per reminder, p50", lambda r: r["per_reminder"]["p50"], 2)
    row("ms per reminder, p95", lambda r: r["per_reminder"]["p95"], 2)
    row("ms per reminder, max", lambda r: r["per_reminder"]["max"], 2)
    row("dispatcher CPU per reminder (ms)", lambda r: r["cpu_s"] / max(r["sent"], 1) * 1000, 2)
    row("peak RSS during the run (MiB)", lambda r: r["peak_rss_mib"])
    row("  of which grown during it (MiB)", lambda r: r["peak_delta_mib"])
    for name, result in results.items():
        if result["sent_rows"] != result["due"] + result["warm_up_sent"]:
            details.notes.append(f"{name}: rows by state after the run: {result['states']}")
    details.notes.append(
        "ms per reminder = time between consecutive pushes (the first from the start of "
        "run_due): the whole cycle of one row, with its share of the batch claim."
    )
    details.notes.append(
        "Seeding, not timed: "
        + ", ".join(f"{names[n]} {r['seeded_s']:.1f}s" for n, r in results.items())
        + f". A warm-up run of {WARM_UP} reminders the day before, not timed either."
    )
    details.notes.append(pg_info if pg_ok else f"PostgreSQL column skipped: {pg_info}")
    return [limits, details]
