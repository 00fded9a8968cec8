"""Commands that do not talk to LINE start without line-bot-sdk and Pillow (over a second)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOT_LOADED = "assert 'linebot' not in sys.modules and 'PIL' not in sys.modules, 'LINE loaded'"


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LINE_"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # no .env of the checkout's
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_importing_the_cli_loads_no_line_sdk(tmp_path: Path) -> None:
    result = _python(f"import bot.__main__, sys; {NOT_LOADED}", tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command", ["console", "run"])
def test_a_chat_without_line_settings_loads_no_line_sdk(tmp_path: Path, command: str) -> None:
    # Empty stdin: the console chat starts, reads end of input and ends cleanly.
    code = (
        f"import sys, bot.__main__ as cli; code = cli.main([{command!r}]); {NOT_LOADED}; "
        "sys.exit(code)"
    )
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
