import logging

import pytest

from bot.logs import LoggerGuard

TOKEN = "4242424242:AAHfakefakefakefakefakefake_tok"


def test_guarded_library_loggers_never_hand_the_token_to_any_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A child made before the guard, and one made after it: both are covered.
    before = logging.getLogger("guardlib.http")
    guard = LoggerGuard(["guardlib"], ["s3cret-value"])
    guard.install()
    try:
        with caplog.at_level(logging.INFO):
            before.info("GET https://api.example/bot%s/getMe", TOKEN)
            logging.getLogger("guardlib").warning("sent s3cret-value along")
    finally:
        guard.remove()
    assert len(caplog.records) == 2
    assert TOKEN not in caplog.text
    assert "s3cret-value" not in caplog.text
    assert "[redacted]" in caplog.records[0].getMessage()


def test_a_removed_guard_leaves_the_loggers_as_they_were() -> None:
    logger = logging.getLogger("guardlib2.sub")
    guard = LoggerGuard(["guardlib2"], [])
    guard.install()
    assert logger.filters and logging.getLogger("guardlib2").filters
    guard.remove()
    assert logger.filters == [] and logging.getLogger("guardlib2").filters == []


def test_scrub_makes_an_error_line_safe() -> None:
    guard = LoggerGuard([], ["my-webhook-secret"])
    line = guard.scrub(f"InvalidToken: bot{TOKEN} with my-webhook-secret")
    assert TOKEN not in line and "my-webhook-secret" not in line
