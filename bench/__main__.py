"""``python -m bench [telegram|engine|reminders ...]``: run the benchmarks (all by default)."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import sys
import time
from datetime import datetime

from bench.common import Table, emit, postgres_status

BENCHMARKS = ("telegram", "engine", "reminders", "storage")


async def _run(name: str, scale: float) -> list[Table]:
    if name == "telegram":
        from bench import telegram

        return await telegram.run(scale)
    if name == "engine":
        from bench import engine

        return await engine.run(scale)
    if name == "reminders":
        from bench import reminders

        return await reminders.run(scale)
    from bench import storage

    return await storage.run(scale)


async def _preamble() -> None:
    import sqlalchemy
    import telegram

    _, pg_info = await postgres_status()
    emit(f"# Renraku benchmarks, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    emit()
    emit(
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()} "
        f"{platform.release()}"
    )
    emit(
        f"- Python {platform.python_version()}, python-telegram-bot {telegram.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}, SQLite {sqlite3.sqlite_version}"
    )
    emit(f"- {pg_info}")
    emit()


async def _main(names: list[str], scale: float) -> int:
    started = time.monotonic()
    await _preamble()
    failed = 0
    for name in names:
        begun = time.monotonic()
        try:
            tables = await _run(name, scale)
        except Exception as exc:
            failed += 1
            emit(f"## {name}: FAILED\n\n{type(exc).__name__}: {exc}\n")
            continue
        emit(f"## {name} ({time.monotonic() - begun:.0f}s)")
        emit()
        for table in tables:
            emit(table.render())
            emit()
    emit(f"all done in {time.monotonic() - started:.0f}s")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "benchmarks",
        nargs="*",
        metavar="{telegram,engine,reminders,storage,all}",
        help="which to run (default: all)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the number of users and reminders (e.g. 0.2 for a quick look)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.benchmarks) - {*BENCHMARKS, "all"})
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    wanted = args.benchmarks or ["all"]
    names = list(BENCHMARKS) if "all" in wanted else list(dict.fromkeys(wanted))
    if not 0 < args.scale <= 4:
        parser.error("--scale must be in (0, 4]")
    return asyncio.run(_main(names, args.scale))


if __name__ == "__main__":
    sys.exit(main())
