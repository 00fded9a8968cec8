"""Answer the registration by what is asked, not by where it comes in the line.

Tests say which answer goes to which question (a dict keyed by the table's step keys: the
text to type, or a button's label); the walker reads the bot's last question, finds its step
in handlers/registration.py by the question's catalog text, and answers it. An optional step
missing from the dict is skipped with the skip control; a required one fails the test. So a
new question is one row in the table, not an edit to every test that registers an interview.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from handlers import onboarding
from handlers.registration import REGISTRATION, Registration
from messages.catalog import Catalog
from tests.support import Chat

SUMMARY = "summary"
# A registration has a dozen questions; a walk far longer than that is going round in circles.
MAX_TURNS = 40


# Every question answered, by taps where there are buttons: the unit tests' registration and
# the benchmarks' script.
TAPS = {
    "company": "株式会社サンプル",
    "date": "今日",
    "stage": "一次面接",
    "promised": "2週間以内",
    "position": "営業職",
    "method": "メール",
    "applied_via": "直接応募",
    "interviewer": "人事部 採用担当",
    "department": "人事部",
    "contact": "saiyo@example.co.jp",
    "asked": "はい",
    "asked_memo": "人事部に電話してよいとのこと",
    "good": "志望動機を具体的に話せた",
    "improve": "逆質問をもっと用意する",
}


class Typed(str):
    """An answer to type even where a button carries the same label."""


@dataclass(frozen=True, slots=True)
class Turn:
    kind: Literal["say", "press"]
    value: str


class Talker(Protocol):
    """A chat on one channel: send, tap by label, and show what the bot said last."""

    async def say(self, text: str) -> Any: ...

    async def press(self, label: str) -> Any: ...

    def shown(self) -> tuple[str, list[str]]:
        """The text of the bot's last answer, and the labels of the buttons it carries."""
        ...


def _fragment(template: str) -> str:
    """The fixed start of a catalog text, before its first placeholder."""
    return template.split("{", 1)[0].strip()


@dataclass(frozen=True)
class Walker:
    """The registration as one locale's catalog words it."""

    catalog: Catalog
    table: Registration = REGISTRATION
    locale: str = "ja"
    _questions: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        entries = self.catalog.entries[self.locale]
        for step, key, _ in self.table.steps():
            self._questions[step] = _fragment(str(entries[key]))
        self._questions[SUMMARY] = _fragment(str(entries["interview.summary.card"]))

    def t(self, key: str) -> str:
        return self.catalog.text(self.locale, key)

    @property
    def skip(self) -> str:
        return self.t("controls.skip")

    @property
    def save(self) -> str:
        return self.t("interview.summary.save")

    def onboarding_lines(self, answers: Mapping[str, str]) -> list[str]:
        """What a user types after /start: each onboarding question (handlers/onboarding.py
        STEPS) answered from ``answers`` by its step key, or skipped."""
        return [answers.get(step, self.skip) for step in onboarding.STEPS]

    def question_text(self, step: str) -> str:
        return self._questions[step]

    def recognise(self, text: str) -> str | None:
        """The step whose question comes last in the text (the summary card counts as one)."""
        found = [(text.rfind(q), step) for step, q in self._questions.items() if q and q in text]
        return max(found)[1] if found else None

    def turn_for(self, step: str, answers: Mapping[str, str], labels: list[str]) -> Turn:
        """What to send for this step: the answer typed or tapped, or skip when allowed."""
        optional = {key: opt for key, _, opt in self.table.steps()}
        if step not in answers:
            if not optional[step]:
                raise AssertionError(f"the registration asks {step!r}, which has no answer")
            return Turn("press", self.skip) if self.skip in labels else Turn("say", self.skip)
        value = answers[step]
        if isinstance(value, Typed) or value not in labels:
            return Turn("say", str(value))
        return Turn("press", value)

    async def walk(
        self,
        chat: Talker,
        answers: Mapping[str, str],
        *,
        typed: bool = False,
        until: str = SUMMARY,
    ) -> str:
        """Answer from the question now open up to the summary card; the card's text.

        ``typed``: type every answer, buttons by their label and skip as a word.
        ``until``: stop when this step is asked instead (its question's text).
        """
        previous: str | None = None
        for _ in range(MAX_TURNS):
            text, labels = chat.shown()
            step = self.recognise(text)
            if step == until:
                return text
            if step == SUMMARY:
                raise AssertionError(f"the registration never asked {until!r}")
            if step is None:
                raise AssertionError(f"no registration question in the bot's answer: {text!r}")
            if step == previous:
                raise AssertionError(f"the answer to {step!r} was not taken: {text!r}")
            turn = self.turn_for(step, answers, labels)
            if turn.kind == "press" and not typed:
                await chat.press(turn.value)
            else:
                await chat.say(turn.value)
            previous = step
        raise AssertionError(f"the registration never reached its card in {MAX_TURNS} turns")

    def plan(self, answers: Mapping[str, str]) -> list[tuple[str, Turn]]:
        """The turns of a whole registration worked out beforehand, for scripts that cannot
        look at the answers (a piped console, a timed benchmark): (step, turn) pairs."""
        data: dict[str, Any] = {}
        turns: list[tuple[str, Turn]] = []
        question = self.table.next_after(None, data)
        while question is not None:
            buttons = {self.t(key): value for key, value in question.buttons()}
            turn = self.turn_for(question.key, answers, [*buttons, self.skip])
            turns.append((question.key, turn))
            chosen = buttons.get(turn.value) if turn.kind == "press" else None
            if turn.value != self.skip:
                data[question.key] = chosen if chosen is not None else turn.value
            follow_up = question.follow_up
            if follow_up is not None and chosen == follow_up.opened_by:
                turns.append((follow_up.key, self.turn_for(follow_up.key, answers, [self.skip])))
            question = self.table.next_after(question.key, data)
        return turns


def typed_lines(turns: list[tuple[str, Turn]]) -> list[str]:
    """The same turns as a console user types them: a button by its label."""
    return [turn.value for _, turn in turns]


class EngineChat:
    """tests.support.Chat as a Talker: the engine's replies in-process."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat

    async def say(self, text: str) -> Any:
        return await self.chat.say(text)

    async def press(self, label: str) -> Any:
        return await self.chat.press(label)

    def shown(self) -> tuple[str, list[str]]:
        return self.chat.text, [c.label for c in self.chat.choices()]


async def onboard_engine(chat: Chat, name: str = "応募者", **answers: str) -> None:
    """/start and the onboarding questions in the engine: the name given, the rest skipped."""
    await chat.say("/start")
    for line in Walker(chat.engine.catalog).onboarding_lines({"name": name, **answers}):
        await chat.say(line)


async def register(
    chat: Chat, answers: Mapping[str, str], walker: Walker, *, start: str = "/new"
) -> str:
    """Start a registration in the engine and walk it to the card; the card's text."""
    await chat.say(start)
    return await walker.walk(EngineChat(chat), answers)
