"""The console chat as a newcomer runs it: `renraku console` in a subprocess, stdin piped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from messages.catalog import load_catalog
from tests.walker import Typed, Walker, typed_lines

RENRAKU = str(Path(sys.executable).with_name("renraku"))

ROOT = Path(__file__).resolve().parents[2]
WALKER = Walker(load_catalog())
# A console user types everything, buttons by their label or their number.
ANSWERS = {
    "company": "株式会社サンプル",
    "date": "今日",  # a button, typed by its label
    "stage": Typed("1"),  # 一次面接, by its number
    "promised": "2週間以内",
    "method": "メール",
    "contact": "saiyo@example.co.jp",
    "asked": "いいえ",
    "good": "よく話せた",
}
TURNS = WALKER.plan(ANSWERS)
START = ["/start", *WALKER.onboarding_lines({"name": "応募者"}), "/new"]
REGISTRATION = [*START, *typed_lines(TURNS), WALKER.save, "/list"]
# Where a user killed after the stage question picks up again: the promise question.
PROMISE_AT = len(START) + [step for step, _ in TURNS].index("promised")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LINE_"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    return env


def _run(tmp_path: Path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RENRAKU, "console"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_piped_registration_then_list(tmp_path: Path) -> None:
    result = _run(tmp_path, REGISTRATION)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "応募者さんですね" in out
    assert "面接日: " in out and "で記録します" in out
    assert "会社名: 株式会社サンプル" in out
    assert "担当者の連絡先: saiyo@example.co.jp" in out
    assert "保存しました" in out
    list_part = out.rsplit("記録した面接は", 1)[1]
    assert "1 件です" in list_part
    assert "株式会社サンプル（一次面接）" in list_part
    assert "状態: 連絡待ち" in list_part
    assert "Traceback" not in out + result.stderr


def test_end_of_input_exits_cleanly_with_nothing_typed(tmp_path: Path) -> None:
    result = subprocess.run(
        [RENRAKU, "console"],
        input="",
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "/start" in result.stdout


def test_killed_mid_registration_resumes_at_the_same_question(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [RENRAKU, "console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n".join(REGISTRATION[:PROMISE_AT]) + "\n")
    proc.stdin.flush()
    seen = ""
    deadline = time.monotonic() + 30
    while WALKER.question_text("promised") not in seen:
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the stage question never came: {seen[-500:]}")
        seen += proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    # A new process, the same database: the promise question is still the open one.
    result = _run(tmp_path, REGISTRATION[PROMISE_AT:])
    assert result.returncode == 0, result.stderr
    assert "「2週間以内」ですね" in result.stdout
    assert "会社名: 株式会社サンプル" in result.stdout
    assert "段階: 一次面接" in result.stdout
    assert "1 件です" in result.stdout


def test_bad_configuration_is_one_clear_line(tmp_path: Path) -> None:
    env = _env(tmp_path) | {"DEFAULT_TIMEZONE": "Mars/Base"}
    result = subprocess.run(
        [RENRAKU, "console"],
        input="",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "renraku: configuration error: "
        "DEFAULT_TIMEZONE: is not an IANA time zone such as Asia/Tokyo"
    ]


def _readme_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [piped] = re.findall(r"^printf '(.*)' \| make run$", readme, flags=re.MULTILINE)
    return piped.removesuffix("\\n").split("\\n")


def test_readme_example_is_the_registration_the_table_asks_for() -> None:
    # The README skips every optional question; the rest are answered by tap labels.
    answers = {
        "company": "株式会社サンプル",
        "date": "今日",
        "stage": "一次面接",
        "promised": "2週間以内",
        "method": "メール",
        "asked": "いいえ",
    }
    derived = [*START, *typed_lines(WALKER.plan(answers)), WALKER.save, "/list"]
    assert _readme_lines() == derived


def test_readme_example_registers_an_interview(tmp_path: Path) -> None:
    result = _run(tmp_path, _readme_lines())
    assert result.returncode == 0, result.stderr
    assert "保存しました" in result.stdout
    assert "1 件です" in result.stdout.rsplit("記録した面接は", 1)[1]
    assert "Traceback" not in result.stdout + result.stderr
