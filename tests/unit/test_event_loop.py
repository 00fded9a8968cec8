"""`renraku run` runs on uvloop (bot/event_loop.py), not asyncio's default loop."""

from __future__ import annotations

from pathlib import Path

from tests.support import python_without_tokens

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
    result = python_without_tokens(PROBE, tmp_path)
    assert result.returncode == 7, result.stderr
