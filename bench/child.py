"""The measured side: ``python -m bench.child NAME PARAMS`` runs one workload in its own process.

It answers on stdout in lines ``TAG {json}`` (READY, MARKED, RESULT, ERROR) and reads commands
(MARK, STOP) from stdin; end of input counts as STOP, so it never outlives the driver.
Logs go to stderr, warnings and worse only.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

# A child that hangs is stopped from inside too.
HARD_LIMIT_SECONDS = 240.0
# Set to a folder, each measured child writes a pyinstrument profile of its whole run there.
PROFILE_ENV = "RENRAKU_BENCH_PROFILE"


def say(tag: str, payload: dict[str, Any] | None = None) -> None:
    sys.stdout.write(f"{tag} {json.dumps(payload or {})}\n")
    sys.stdout.flush()


async def command() -> str:
    """Wait for the driver's next command; end of input means STOP."""
    line = await asyncio.to_thread(sys.stdin.readline)
    return line.strip().upper() or "STOP"


def _quiet() -> None:
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # PTB reads RetryAfter.retry_after the deprecated way itself; nothing to act on here.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", module="telegram")


# Imported on demand, so a child loads only what its own workload needs.
WORKLOADS = {
    "telegram_app": "bench.telegram_app:serve",
    "engine": "bench.engine:measure",
    "reminders": "bench.reminders:measure",
    "storage": "bench.storage:measure",
}


def _workload(name: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
    module, _, function = WORKLOADS[name].partition(":")
    found: Callable[[dict[str, Any]], Awaitable[None]] = getattr(
        importlib.import_module(module), function
    )
    return found


async def _main(name: str, params: dict[str, Any]) -> None:
    workload = _workload(name)
    folder = os.environ.get(PROFILE_ENV)
    if not folder:
        async with asyncio.timeout(HARD_LIMIT_SECONDS):
            await workload(params)
        return
    # pyinstrument samples the whole child, the awaits of its event loop included; the
    # report names the workload and its role, so the profiles of one run can be told apart.
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    try:
        async with asyncio.timeout(HARD_LIMIT_SECONDS):
            await workload(params)
    finally:
        profiler.stop()
        role = params.get("role") or params.get("impl") or "main"
        path = Path(folder) / f"{name}-{role}-{os.getpid()}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(profiler.output_text(unicode=True, show_all=False), encoding="utf-8")


def _runner(name: str, params: dict[str, Any]) -> Callable[[Any], Any]:
    """Renraku's Telegram bot runs on the event loop ``renraku run`` runs on (uvloop, see
    bot/event_loop.py); every other workload, the echo bot included, on asyncio's own."""
    if name == "telegram_app" and params.get("impl") == "renraku":
        from bot import event_loop

        return event_loop.run
    return asyncio.run


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.child NAME PARAMS_JSON", file=sys.stderr)
        return 2
    _quiet()
    try:
        params = json.loads(argv[1])
        _runner(argv[0], params)(_main(argv[0], params))
    except BaseException as exc:
        traceback.print_exc()
        say("ERROR", {"error": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
