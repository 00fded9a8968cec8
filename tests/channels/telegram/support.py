"""Running the whole app with Telegram enabled against the fake Bot API, and talking to it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.bootstrap import Renraku, bootstrap
from bot.config import Settings
from storage.models import Interview, User
from tests.fakes.telegram_api import FakeTelegramAPI, FakeUser, Sent
from tests.support import ManualClock, sqlite_settings, start_settled
from tests.walker import Walker


def telegram_settings(tmp_path: Path, fake: FakeTelegramAPI, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "telegram_bot_token": fake.token,
        "telegram_base_url": fake.base_url,
        **overrides,
    }
    return sqlite_settings(tmp_path, **values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def running(settings: Settings, clock: ManualClock) -> AsyncIterator[Renraku]:
    app = await bootstrap(settings, clock=clock)
    await start_settled(app)
    try:
        yield app
    finally:
        await app.stop()


class Telegram:
    """The fake's users and the app: inject an update, wait until the app has dealt with it.

    The app counts every update it finishes (after its replies are sent) in
    ``renraku_updates_total``; that count is what "dealt with" means here.
    """

    def __init__(self, fake: FakeTelegramAPI, app: Renraku) -> None:
        self.fake, self.app = fake, app
        self.expected = 0

    def handled(self) -> float:
        value = self.app.metrics.registry.get_sample_value(
            "renraku_updates_total", {"channel": "telegram"}
        )
        return value or 0.0

    async def settle(self, timeout: float = 5.0) -> None:
        await self.fake.wait_for(lambda: self.handled() >= self.expected, timeout)

    def chat(self, user_id: int = 1001, language_code: str | None = "ja") -> TelegramChat:
        return TelegramChat(self, FakeUser(user_id, language_code=language_code))


class TelegramChat:
    """One Telegram user; each call returns the messages the bot sent in answer."""

    def __init__(self, telegram: Telegram, user: FakeUser) -> None:
        self.telegram, self.user = telegram, user
        self.fake = telegram.fake
        self.presses = 0  # buttons tapped, each of which the bot must answer

    @property
    def id(self) -> int:
        return self.user.id

    async def say(self, text: str) -> list[Sent]:
        before = len(self.fake.messages(self.id))
        self.telegram.expected += 1
        self.fake.say(self.user, text)
        await self.telegram.settle()
        return self.fake.messages(self.id)[before:]

    async def press(self, label: str) -> list[Sent]:
        before = len(self.fake.messages(self.id))
        self.telegram.expected += 1
        self.presses += 1
        self.fake.press_label(self.user, label)
        await self.telegram.settle()
        return self.fake.messages(self.id)[before:]

    async def press_data(
        self, data: str, *, message: Sent | None = None, chat_id: int | None = None
    ) -> list[Sent]:
        before = len(self.fake.messages(self.id))
        self.telegram.expected += 1
        self.presses += 1
        self.fake.press(self.user, data, message=message, chat_id=chat_id)
        await self.telegram.settle()
        return self.fake.messages(self.id)[before:]

    def text(self, sent: list[Sent]) -> str:
        return "\n".join(m.text for m in sent)


async def onboard(app: Renraku, chat: TelegramChat, name: str | None = None) -> list[Sent]:
    """/start and every onboarding question: the name given (or skipped), the rest skipped;
    every message the bot sent."""
    sent = await chat.say("/start")
    walker = Walker(app.catalog)
    for line in walker.onboarding_lines({} if name is None else {"name": name}):
        sent += await chat.say(line)
    return sent


def label(app: Renraku, key: str, locale: str = "ja") -> str:
    return app.catalog.text(locale, key)


class Talking:
    """A TelegramChat as the walker sees it: the last answer's text and buttons."""

    def __init__(self, chat: TelegramChat, seen: list[Sent]) -> None:
        self.chat, self.seen = chat, seen
        self.last: list[Sent] = []

    async def say(self, text: str) -> list[Sent]:
        return self._took(await self.chat.say(text))

    async def press(self, label: str) -> list[Sent]:
        return self._took(await self.chat.press(label))

    def _took(self, sent: list[Sent]) -> list[Sent]:
        self.last = sent
        self.seen += sent
        return sent

    def shown(self) -> tuple[str, list[str]]:
        labels = [str(b["text"]) for m in self.last for b in m.callback_buttons()]
        return self.chat.text(self.last), labels


ANSWERS = {
    "date": "interview.choice.yesterday",
    "stage": "interview.stage.first",
    "promised": "interview.promise.w2",
    "method": "interview.method.email",
    "asked": "interview.choice.no",
}


async def register_interview(app: Renraku, chat: TelegramChat, company: str) -> list[Sent]:
    """The whole registration, by taps and typed text; returns every message it produced."""
    seen: list[Sent] = []
    talking = Talking(chat, seen)
    await talking.press(label(app, "menu.new"))
    answers = {step: label(app, key) for step, key in ANSWERS.items()} | {
        "company": company,
        "interviewer": "採用担当",
        "contact": "sato@example.co.jp",
        "improve": "志望動機は具体的に話せた。逆質問をもっと準備したい。",
    }
    walker = Walker(app.catalog)
    await walker.walk(talking, answers)
    await talking.press(walker.save)
    return seen


async def user_row(app: Renraku, external_id: int) -> User | None:
    async with app.uow() as uow:
        return await uow.users.find("telegram", str(external_id))


async def interviews_of(app: Renraku, external_id: int) -> list[Interview]:
    async with app.uow() as uow:
        user = await uow.users.find("telegram", str(external_id))
        if user is None:
            return []
        return list(await uow.interviews.for_user(user.id))
