"""Ending a service's background task: let it finish its work, cancel it only past a grace."""

from __future__ import annotations

import asyncio
import contextlib

STOP_GRACE = 10.0


async def finish(task: asyncio.Task[None], grace: float = STOP_GRACE) -> None:
    """Wait up to ``grace`` seconds for ``task`` to end by itself; then cancel and await it.

    Either way the task is over when this returns, so nothing it does can outlive the
    resources (a database, a client) that the caller closes next.
    """
    try:
        await asyncio.wait_for(asyncio.shield(task), grace)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
