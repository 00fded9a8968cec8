"""What a handler gets: the user, their dialogue, the unit of work, the catalog and the clock."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain import calendar
from domain.protocol import Choice, CopyItem, Reply
from messages.catalog import Catalog
from storage.models import User
from storage.repositories import Dialogue
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply to the current question: typed text, or the value of a pressed button.

    Neither (``Answer()``) means: ask the current question again.
    """

    text: str | None = None
    value: str | None = None


# Values a button or a typed control word can carry in any step.
SKIP, BACK, CANCEL = "_skip", "_back", "_cancel"
FLOW_ACTION_PREFIX = "a"


def flow_action(flow: str, step: str, value: str) -> str:
    """The action of an answer button; it is honoured only while that step is open."""
    return f"{FLOW_ACTION_PREFIX}:{flow}:{step}:{value}"


@dataclass
class Context:
    uow: UnitOfWork
    user: User
    catalog: Catalog
    now: datetime
    dialogue: Dialogue | None
    _notes: list[str] = field(default_factory=list)

    @property
    def locale(self) -> str:
        return self.catalog.locale_of(self.user.locale)

    @property
    def today(self) -> date:
        return calendar.local_today(self.now, self.user.timezone)

    def t(self, key: str, **params: Any) -> str:
        """The text for key; a plural entry picks its form by the number in its ``plural_by``."""
        return self.catalog.text(self.locale, key, **params)

    def pool(self, key: str) -> tuple[str, ...]:
        return self.catalog.pool(self.locale, key)

    def words(self, key: str) -> tuple[str, ...]:
        """Typed words that mean one thing (``words.skip`` → スキップ, skip, ...)."""
        return self.catalog.pool(self.locale, f"words.{key}") + (
            self.catalog.pool("en", f"words.{key}") if self.locale != "en" else ()
        )

    def button(self, key: str, action: str, **params: Any) -> Choice:
        return Choice(label=self.t(key, **params), action=action)

    def reply(
        self,
        text: str,
        choices: tuple[Choice, ...] | list[Choice] = (),
        *,
        copy_items: tuple[CopyItem, ...] = (),
        columns: int = 2,
    ) -> Reply:
        return Reply(text=text, choices=tuple(choices), copy_items=copy_items, columns=columns)

    # --- dialogue state -------------------------------------------------------------------

    @property
    def flow(self) -> str | None:
        return self.dialogue.flow if self.dialogue is not None else None

    @property
    def step(self) -> str | None:
        return self.dialogue.step if self.dialogue is not None else None

    @property
    def data(self) -> dict[str, Any]:
        # A deep copy: the dialogue as read stays as stored, so go() can tell a change.
        return copy.deepcopy(self.dialogue.data) if self.dialogue is not None else {}

    async def go(self, flow: str, step: str, data: dict[str, Any]) -> None:
        # save() returns the dialogue as stored, so it is not read back; unchanged, it sends
        # nothing.
        self.dialogue = await self.uow.dialogues.save(
            self.user.id, flow, step, data, current=self.dialogue
        )

    async def end_flow(self) -> None:
        if self.dialogue is not None:
            await self.uow.dialogues.clear(self.user.id)
            self.dialogue = None

    # --- formatting -------------------------------------------------------------------------

    def bullets(self, items: list[str]) -> str:
        return "\n".join(self.t("format.bullet", text=item) for item in items)

    def fmt_date(self, d: date) -> str:
        return self.catalog.fmt_date(self.locale, d)

    def fmt_datetime(self, moment: datetime) -> str:
        return self.catalog.fmt_datetime(self.locale, calendar.to_local(moment, self.user.timezone))


Handler = Callable[[Context], Awaitable[list[Reply]]]
ActionHandler = Callable[[Context, list[str]], Awaitable[list[Reply]]]
FlowHandler = Callable[[Context, Answer], Awaitable[list[Reply]]]
