"""`renraku run` as a child process, with the checks every end-to-end run shares."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

RENRAKU = str(Path(sys.executable).with_name("renraku"))


@asynccontextmanager
async def renraku_process(
    db: Path,
    settings: dict[str, str],
    ready: Callable[[asyncio.subprocess.Process], Awaitable[None]],
    never_logged: list[str],
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``renraku run`` with these settings, at DEBUG; on leaving, stop it with SIGTERM.

    It must exit 0, log no traceback, and log none of ``never_logged`` (tokens, ids, text).
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
        for secret in never_logged:
            assert secret not in logs, "a secret or personal detail reached the logs"
