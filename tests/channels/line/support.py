"""A LINE user as the tests see one: signed events go to the app, replies come from the fake."""

from __future__ import annotations

from typing import Any

from bot.bootstrap import Renraku
from bot.channels.line import LineChannel
from messages.catalog import load_catalog
from tests.fakes.line_api import FakeLineApi, LineWebhookClient, all_text, postback_buttons
from tests.walker import Typed, Walker

Messages = list[dict[str, Any]]


def line_channel(app: Renraku) -> LineChannel:
    channel = app.pushers["line"]
    assert isinstance(channel, LineChannel)
    return channel


class LineUser:
    """One LINE account talking to the running app through signed webhooks."""

    def __init__(self, fake: FakeLineApi, client: LineWebhookClient, user_id: str) -> None:
        self.fake = fake
        self.client = client
        self.user_id = user_id
        self.last: Messages = []

    async def send(self, event: dict[str, Any]) -> Messages:
        status = await self.client.post(event)
        assert status == 200
        reply = await self.fake.wait_reply(event["replyToken"])
        assert reply.user_id == self.user_id
        self.last = reply.messages
        return self.last

    async def follow(self) -> Messages:
        return await self.send(self.fake.follow(self.user_id))

    async def say(self, text: str) -> Messages:
        return await self.send(self.fake.text(self.user_id, text))

    async def tap(self, data: str) -> Messages:
        return await self.send(self.fake.postback(self.user_id, data))

    def buttons(self) -> list[dict[str, Any]]:
        return postback_buttons(self.last)

    def data_for(self, label: str) -> str:
        for button in self.buttons():
            if label in (button.get("displayText"), button.get("label")):
                return str(button["data"])
        shown = [b.get("displayText") or b.get("label") for b in self.buttons()]
        raise AssertionError(f"no button {label!r} in {shown}")

    async def press(self, label: str) -> Messages:
        return await self.tap(self.data_for(label))

    def quick_labels(self) -> list[str]:
        quick = self.last[-1].get("quickReply") if self.last else None
        return [item["action"]["displayText"] for item in (quick or {}).get("items", [])]

    @property
    def text(self) -> str:
        return all_text(self.last)

    def shown(self) -> tuple[str, list[str]]:
        """What the walker reads: the last answer's text and its buttons' labels."""
        labels = [b.get("displayText") or b.get("label") or "" for b in self.buttons()]
        return self.text, [*labels, *self.quick_labels()]


async def onboard(user: LineUser, name: str = "応募者") -> None:
    """The follow event and every onboarding question: the name given, the rest skipped."""
    await user.follow()
    for line in Walker(load_catalog()).onboarding_lines({"name": name}):
        await user.say(line)


# The answers a LINE user gives; the last one is typed, not tapped.
ANSWERS = {
    "date": "今日",
    "stage": "一次面接",
    "promised": "2週間以内",
    "method": "メール",
    "interviewer": "人事部 採用担当",
    "contact": "saiyo@example.co.jp",
    "asked": "いいえ",
    "good": "志望動機を具体的に話せた",
    "improve": Typed("スキップ"),
}


async def register_interview(user: LineUser, company: str = "株式会社サンプル") -> str:
    """Record one interview with taps and typing, as a LINE user would; returns the summary."""
    await user.press("面接を記録")
    walker = Walker(load_catalog())
    summary = await walker.walk(user, ANSWERS | {"company": company})
    await user.press(walker.save)
    return summary
