"""Replies as Bot API messages: HTML text, inline keyboards, copy buttons, long blocks split.

Pure translation with no connection: the channel sends what ``render`` returns, and a
benchmark or test can call it without a bot.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels import utf16
from domain.protocol import Choice, CopyItem, Reply

log = logging.getLogger(__name__)

# Bot API limits (https://core.telegram.org/bots/api).
MAX_CALLBACK_DATA_BYTES = 64
MAX_COPY_TEXT = 256
MAX_MESSAGE_TEXT = 4096
MAX_CAPTION = 1024


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One sendMessage: HTML text and the keyboard under it, if any."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None


def fits_copy_button(text: str) -> bool:
    return 1 <= utf16.length(text) <= MAX_COPY_TEXT


def fits_callback_data(action: str) -> bool:
    return 1 <= len(action.encode()) <= MAX_CALLBACK_DATA_BYTES


def _choice_rows(choices: Sequence[Choice], columns: int) -> list[list[InlineKeyboardButton]]:
    usable = [c for c in choices if fits_callback_data(c.action)]
    if len(usable) != len(choices):
        # The engine promises compact actions; a longer one would make Telegram refuse the
        # whole message, so the button is left out instead.
        log.warning("buttons dropped: callback data over %d bytes", MAX_CALLBACK_DATA_BYTES)
    width = max(1, columns)
    buttons = [InlineKeyboardButton(c.label, callback_data=c.action) for c in usable]
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def _copy_block(item: CopyItem) -> str:
    """A copy item shown in the message; a long one as a <pre> block, which copies on a tap."""
    label = f"<b>{html.escape(item.label, quote=False)}</b>"
    if fits_copy_button(item.text):
        return f"{label}\n{html.escape(item.text, quote=False)}"
    return f"{label}\n<pre>{html.escape(item.text, quote=False)}</pre>"


def _split_block(block: str, limit: int) -> Iterator[str]:
    """Cut an over-long block at line ends, keeping a <pre> block a <pre> block in every part."""
    pre = block.endswith("</pre>") and "<pre>" in block
    head, body = block.split("<pre>", 1) if pre else ("", block)
    body = body.removesuffix("</pre>") if pre else body
    wrap = (lambda part: f"<pre>{part}</pre>") if pre else (lambda part: part)
    room = limit - utf16.length(wrap(""))
    if head:
        yield head.rstrip("\n")
    part = ""
    for line in body.splitlines(keepends=True):
        while utf16.length(line) > room:
            # One line longer than a message: cut it, taking care not to split an entity.
            cut = utf16.fitting_prefix(line, room)
            amp = line.rfind("&", 0, cut)
            if amp > 0 and ";" not in line[amp:cut]:
                cut = amp
            if part:
                yield wrap(part)
                part = ""
            yield wrap(line[:cut])
            line = line[cut:]
        if utf16.length(part + line) > room:
            yield wrap(part)
            part = ""
        part += line
    if part:
        yield wrap(part)


def render(reply: Reply, limit: int = MAX_MESSAGE_TEXT) -> list[Outgoing]:
    """A reply as one or more messages; the keyboard goes under the last one.

    Copy items each become a ``CopyTextButton`` when they fit one (1-256 characters), and are
    always shown in the text as well, long ones as a tap-to-copy code block.
    """
    blocks = [html.escape(reply.text.strip("\n"), quote=False)] if reply.text.strip() else []
    blocks += [_copy_block(item) for item in reply.copy_items]
    rows = [
        [InlineKeyboardButton(item.label, copy_text=CopyTextButton(item.text))]
        for item in reply.copy_items
        if fits_copy_button(item.text)
    ]
    rows += _choice_rows(reply.choices, reply.columns)
    texts: list[str] = []
    for block in blocks:
        pieces = [block] if utf16.length(block) <= limit else list(_split_block(block, limit))
        for piece in pieces:
            if texts and utf16.length(texts[-1] + "\n\n" + piece) <= limit:
                texts[-1] += "\n\n" + piece
            else:
                texts.append(piece)
    if not texts:
        return []
    keyboard = InlineKeyboardMarkup(rows) if rows else None
    return [Outgoing(t) for t in texts[:-1]] + [Outgoing(texts[-1], keyboard)]


def without_callback_buttons(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup | None:
    """The keyboard of an answered message: its copy buttons stay, its choices are spent."""
    rows = [[b for b in row if b.callback_data is None] for row in markup.inline_keyboard]
    kept = [row for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None
