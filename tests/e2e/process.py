"""`renraku run` as a child process, with the checks every end-to-end run shares."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.support import wait_until

RENRAKU = str(Path(sys.executable).with_name("renraku"))


@asynccontextmanager
async def renraku_process(
    db: Path,
    settings: dict[str, str],
    ready: Callable[[asyncio.subprocess.Process], Awaitable[None]],
    never_logged: list[str],
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``renraku run`` with these settings, at DEBUG; on leaving, stop it with SIGTERM.

    It must exit 0, log no traceback and no PTBUserWarning, and log none of ``never_logged``
    (tokens, ids, text).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LINE_"))}
    env |= {"DATABASE_URL": f"sqlite+aiosqlite:///{db}", "LOG_LEVEL": "DEBUG", **settings}
    process = await asyncio.create_subprocess_exec(
        RENRAKU,
        "run",
        env=env,
        cwd=db.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await ready(process)
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, err.decode()[-2000:]
        logs = (out + err).decode()
        assert "Traceback" not in logs
        # Nothing PTB warns about the way the app calls it reaches the operator's log.
        assert "PTBUserWarning" not in logs
        for secret in never_logged:
            assert secret not in logs, "a secret or personal detail reached the logs"


async def metric(port: int, name: str, **labels: str) -> float:
    """One sample of the running process's /metrics (0 when it is not there yet)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        body = await response.text()
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def wait_for_reminder_pass(port: int) -> None:
    """Wait until this process's reminder dispatcher has finished a whole pass.

    A process counts from zero, and it runs a pass as it starts: once one is counted, every
    row that was due at start has been looked at.
    """

    async def counted() -> bool:
        return await metric(port, "renraku_reminder_passes_total") > 0

    await wait_until(counted, "a completed reminder pass")
