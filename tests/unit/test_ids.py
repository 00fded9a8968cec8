"""Ids from button actions: strict parsing, and what a user sees when one is forged."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from domain.parsing import parse_id
from domain.parsing.ids import MAX_ID
from tests.support import Chat
from tests.unit.test_registration import onboard


@pytest.mark.parametrize(("text", "expected"), [("1", 1), ("42", 42), (str(MAX_ID), MAX_ID)])
def test_parse_id_accepts_ascii_digits_in_range(text: str, expected: int) -> None:
    assert parse_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0",
        "-1",
        "+1",
        " 1",
        "1 ",
        "²",
        "1²",
        "０",
        "１２",
        "٣",
        str(MAX_ID + 1),
        "9" * 20,
        "1.0",
    ],
)
def test_parse_id_rejects(text: str) -> None:
    assert parse_id(text) is None


@pytest.mark.parametrize("prefix", ["i", "f", "o"])
@pytest.mark.parametrize("forged", ["²", "9" * 20, "０"])
async def test_a_forged_id_in_a_button_is_a_stale_button_not_an_error(
    engine: Engine, prefix: str, forged: str
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.act(f"{prefix}:{forged}:res")
    stale = chat.engine.catalog.text("ja", "errors.stale_button")
    assert chat.last[0].text == stale
