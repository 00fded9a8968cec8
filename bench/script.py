"""The conversations the benchmarks play.

``REGISTRATION``: a new user who records one interview, the same turns as ``onboard()`` +
``register_by_taps()`` in tests/unit/test_registration.py (answers ``tests.walker.TAPS``),
planned from the question table beforehand so each turn can be
timed on its own.

``CROWD``: what the issue "Fast under a crowd" measures: an onboarded user sends ``/new`` and
types a company name (two updates). ``ONBOARDING`` gets a user there and is not timed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

from domain.protocol import Incoming, Reply
from messages.catalog import load_catalog
from tests.support import Chat
from tests.walker import TAPS, Walker

NAME = "応募者"
COMPANY = "株式会社サンプル"


@dataclass(frozen=True)
class Step:
    kind: Literal["say", "press"]
    value: str  # what is typed, or the label of the button tapped


def _registration() -> tuple[Step, ...]:
    walker = Walker(load_catalog())
    planned = walker.plan(TAPS | {"company": COMPANY})
    return (
        Step("say", "/start"),
        *(Step("say", line) for line in walker.onboarding_lines({"name": NAME})),
        Step("say", "/new"),
        *(Step(turn.kind, turn.value) for _, turn in planned),
        Step("press", walker.save),
    )


REGISTRATION: tuple[Step, ...] = _registration()
# Where /new comes in the script: everything before it is onboarding (however many questions
# onboarding asks), and /new and the company name after it are the crowd's two turns.
NEW_AT = next(i for i, step in enumerate(REGISTRATION) if step.value == "/new")
ONBOARDING: tuple[Step, ...] = REGISTRATION[:NEW_AT]
CROWD: tuple[Step, ...] = (Step("say", "/new"), Step("say", COMPANY))


_event_ids = itertools.count(1)


class EventChat(Chat):
    """A Chat whose every event carries an id, as Telegram's and LINE's do (the engine then
    records it once), so its statements are those of a real channel's turn."""

    async def say(self, text: str) -> list[Reply]:
        incoming = Incoming.text_message(self.address, text, event_id=f"bench:{next(_event_ids)}")
        self.last = await self.engine.handle(incoming)
        return self.last

    async def act(self, action: str) -> list[Reply]:
        incoming = Incoming.button(self.address, action, event_id=f"bench:{next(_event_ids)}")
        self.last = await self.engine.handle(incoming)
        return self.last


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
