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
from bot.channels.copy_parts import numbered, split_for_copy
from bot.channels.joined import joined
from domain.protocol import Choice, CopyItem, Reply

log = logging.getLogger(__name__)

# Bot API limits (https://core.telegram.org/bots/api).
MAX_CALLBACK_DATA_BYTES = 64
MAX_COPY_TEXT = 256
MAX_MESSAGE_TEXT = 4096
MAX_CAPTION = 1024
MAX_KEYBOARD_BUTTONS = 100

Rows = list[list[InlineKeyboardButton]]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One sendMessage: HTML text and the keyboard under it, if any."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None


def fits_copy_button(text: str) -> bool:
    return 1 <= utf16.length(text) <= MAX_COPY_TEXT


def fits_callback_data(action: str) -> bool:
    return 1 <= len(action.encode()) <= MAX_CALLBACK_DATA_BYTES


def _choice_rows(choices: Sequence[Choice], columns: int) -> Rows:
    usable = [c for c in choices if fits_callback_data(c.action)]
    if len(usable) != len(choices):
        # The engine promises compact actions; a longer one would make Telegram refuse the
        # whole message, so the button is left out instead.
        log.warning("buttons dropped: callback data over %d bytes", MAX_CALLBACK_DATA_BYTES)
    width = max(1, columns)
    buttons = [InlineKeyboardButton(c.label, callback_data=c.action) for c in usable]
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def copy_rows(item: CopyItem) -> Rows:
    """One copy button per row for the item; a long one as numbered parts that paste back whole."""
    parts = split_for_copy(item.text, MAX_COPY_TEXT)
    return [
        [InlineKeyboardButton(numbered(item.label, n, len(parts)), copy_text=CopyTextButton(part))]
        for n, part in enumerate(parts, start=1)
    ]


def _within_budget(copies: list[Rows], room: int) -> list[Rows]:
    """Each item's buttons while the keyboard has room; an item is given all its parts or none."""
    kept: list[Rows] = []
    for rows in copies:
        if len(rows) <= room:
            kept.append(rows)
            room -= len(rows)
        else:
            # Half a block to copy is worse than none: the code block in the text still copies.
            kept.append([])
            log.warning("copy buttons dropped: over %d buttons", MAX_KEYBOARD_BUTTONS)
    return kept


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
    """A reply as one or more messages.

    Copy items each become ``CopyTextButton`` s (1-256 UTF-16 units each; a longer item as
    numbered parts whose texts, pasted in order, give it back whole) and are always shown in
    the text as well, long ones as a tap-to-copy code block. An item's buttons go under the
    message where its block ends; the choices under the last message.
    """
    blocks = [html.escape(reply.text.strip("\n"), quote=False)] if reply.text.strip() else []
    first_copy = len(blocks)
    blocks += [_copy_block(item) for item in reply.copy_items]
    texts: list[str] = []
    block_ends: list[int] = []
    for block in blocks:
        pieces = [block] if utf16.length(block) <= limit else list(_split_block(block, limit))
        for piece in pieces:
            if texts and utf16.length(texts[-1] + "\n\n" + piece) <= limit:
                texts[-1] += "\n\n" + piece
            else:
                texts.append(piece)
        block_ends.append(len(texts) - 1)
    if not texts:
        return []
    choices = _choice_rows(reply.choices, reply.columns)
    room = MAX_KEYBOARD_BUTTONS - sum(len(row) for row in choices)
    copies = _within_budget([copy_rows(item) for item in reply.copy_items], room)
    keyboards: list[Rows] = [[] for _ in texts]
    for index, rows in enumerate(copies):
        keyboards[block_ends[first_copy + index]] += rows
    keyboards[-1] += choices
    return [
        Outgoing(text, InlineKeyboardMarkup(rows) if rows else None)
        for text, rows in zip(texts, keyboards, strict=True)
    ]


def _fits_one_message(reply: Reply) -> bool:
    """The text alone fits one message, or one caption when a file or photo carries it."""
    limit = MAX_CAPTION if reply.image is not None or reply.document is not None else None
    text = html.escape(reply.text.strip("\n"), quote=False)
    return utf16.length(text) <= (MAX_MESSAGE_TEXT if limit is None else limit)


def joined_replies(replies: Sequence[Reply]) -> list[Reply]:
    """Replies as Telegram sends them: a plain one joined to the next where the text fits."""
    if len(replies) < 2:
        return list(replies)
    return joined(replies, _fits_one_message)


def without_callback_buttons(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup | None:
    """The keyboard of an answered message: its copy buttons stay, its choices are spent."""
    rows = [[b for b in row if b.callback_data is None] for row in markup.inline_keyboard]
    kept = [row for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None
