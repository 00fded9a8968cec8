"""The conversation every benchmark plays: a new user who records one interview.

The same 15 turns as ``onboard()`` + ``register_by_taps()`` in tests/unit/test_registration.py
(9 typed, 6 taps), written out here so each turn can be timed on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from domain.protocol import Reply
from tests.support import Chat

NAME = "応募者"
COMPANY = "株式会社サンプル"


@dataclass(frozen=True)
class Step:
    kind: Literal["say", "press"]
    value: str  # what is typed, or the label of the button tapped


REGISTRATION: tuple[Step, ...] = (
    Step("say", "/start"),
    Step("say", NAME),
    Step("say", "/new"),
    Step("say", COMPANY),
    Step("press", "今日"),
    Step("press", "一次面接"),
    Step("press", "2週間以内"),
    Step("press", "メール"),
    Step("say", "人事部 採用担当"),
    Step("say", "saiyo@example.co.jp"),
    Step("press", "はい"),
    Step("say", "人事部に電話してよいとのこと"),
    Step("say", "志望動機を具体的に話せた"),
    Step("say", "逆質問をもっと用意する"),
    Step("press", "保存"),
)


class TurnFailed(RuntimeError):
    """The engine answered with its "something went wrong" reply, or a button was missing."""


async def play(chat: Chat, step: Step, unexpected: str) -> list[Reply]:
    """One turn through the engine; raises TurnFailed when the conversation went off script."""
    try:
        replies = await (chat.say(step.value) if step.kind == "say" else chat.press(step.value))
    except AssertionError as exc:  # Chat.press: no button with that label
        raise TurnFailed(str(exc)) from None
    if any(reply.text == unexpected for reply in replies):
        raise TurnFailed("the engine answered errors.unexpected")
    return replies
