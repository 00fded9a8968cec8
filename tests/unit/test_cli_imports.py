"""Commands that do not talk to LINE start without line-bot-sdk and Pillow (over a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import python_without_tokens

NOT_LOADED = "assert 'linebot' not in sys.modules and 'PIL' not in sys.modules, 'LINE loaded'"


def test_importing_the_cli_loads_no_line_sdk(tmp_path: Path) -> None:
    result = python_without_tokens(f"import bot.__main__, sys; {NOT_LOADED}", tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command", ["console", "run"])
def test_a_chat_without_line_settings_loads_no_line_sdk(tmp_path: Path, command: str) -> None:
    # Empty stdin: the console chat starts, reads end of input and ends cleanly.
    code = (
        f"import sys, bot.__main__ as cli; code = cli.main([{command!r}]); {NOT_LOADED}; "
        "sys.exit(code)"
    )
    result = python_without_tokens(code, tmp_path)
    assert result.returncode == 0, result.stderr
