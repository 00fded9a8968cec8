"""`renraku run` runs on uvloop (bot/event_loop.py), not asyncio's default loop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The CLI's own main(), with only the app itself replaced by a probe of the running loop;
# in a process of its own, as the CLI sets up logging for the whole process.
PROBE = """
import asyncio, sys, uvloop
import bot.__main__ as cli

async def probe(settings, **kwargs):
    return 7 if isinstance(asyncio.get_running_loop(), uvloop.Loop) else 8

cli._run = probe
sys.exit(cli.main(["run"]))
"""


def test_renraku_run_runs_on_uvloop(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LINE_"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,  # no .env of the checkout's
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 7, result.stderr
