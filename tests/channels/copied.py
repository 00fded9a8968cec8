"""What a follow-up's copy buttons should give back: the templates, filled by the handler."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from bot.bootstrap import Renraku
from handlers import followup_texts
from handlers.context import Context

_PART_NUMBER = re.compile(r" (\d+)/(\d+)$")


async def filled_templates(
    app: Renraku, channel: str, external_id: str, now: datetime, template: str = "followup"
) -> dict[str, str]:
    """Each copy item's label and full text, as the follow-up handler fills them for the user."""
    async with app.uow() as uow:
        user = await uow.users.find(channel, external_id)
        assert user is not None
        [interview] = await uow.interviews.for_user(user.id)
        ctx = Context(uow=uow, user=user, catalog=app.catalog, now=now, dialogue=None)
        return {
            item.label: item.text for item in followup_texts.copy_items(ctx, interview, template)
        }


def pasted(buttons: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Button texts by block label, in order; a numbered part must come in its place."""
    parts: dict[str, list[str]] = defaultdict(list)
    totals: dict[str, int] = {}
    for label, text in buttons:
        match = _PART_NUMBER.search(label)
        block = label[: match.start()] if match else label
        number, total = (int(match[1]), int(match[2])) if match else (1, 1)
        assert number == len(parts[block]) + 1, f"{label!r} out of order"
        assert totals.setdefault(block, total) == total, f"{label!r}: the total changed"
        parts[block].append(text)
    for block, total in totals.items():
        assert len(parts[block]) == total, f"{block!r}: {len(parts[block])} of {total} parts"
    return dict(parts)
