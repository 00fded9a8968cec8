"""Replies → LINE message objects, packed to fit one reply or push request.

One request carries at most five message objects and LINE shows quick replies only on the
last one, while the engine may answer with a dozen replies (a list of cards). So:
plain texts are joined; replies whose buttons cannot be the quick reply become Flex bubbles
(a carousel when there are too many to send one by one); copy items become clipboard
buttons; whatever still does not fit is folded into the last message. Labels are cut to
LINE's limits here because that is layout; no text is made up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from linebot.v3.messaging import (
    ClipboardAction,
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexCarousel,
    FlexImage,
    FlexMessage,
    FlexSeparator,
    FlexText,
    ImageMessage,
    Message,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
)

from bot.channels import utf16
from bot.channels.copy_parts import part_suffix, split_for_copy
from domain.protocol import Choice, CopyItem, HostedImage, Reply

log = logging.getLogger(__name__)

# Limits from the Messaging API reference; lengths count UTF-16 code units, as LINE does.
MAX_MESSAGES = 5
MAX_TEXT = 5000
MAX_ALT_TEXT = 400
MAX_QUICK_REPLY_ITEMS = 13
MAX_QUICK_REPLY_LABEL = 20
MAX_BUTTON_LABEL = 40
MAX_CLIPBOARD_LABEL = 20
MAX_CLIPBOARD_TEXT = 1000
MAX_DISPLAY_TEXT = 300
MAX_POSTBACK_DATA = 300
MAX_CAROUSEL_BUBBLES = 12
ELLIPSIS = "…"
PARAGRAPH = "\n\n"


def _cut_utf16(text: str, limit: int) -> tuple[str, str]:
    """Split ``text`` so the head is at most ``limit`` UTF-16 units, never inside a character."""
    cut = utf16.fitting_prefix(text, limit)
    return text[:cut], text[cut:]


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` units, ending in … when something was cut."""
    text = " ".join(text.split())
    if utf16.length(text) <= limit:
        return text
    head, _ = _cut_utf16(text, limit - 1)
    return head + ELLIPSIS


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most ``limit`` units, preferring to break at a line end."""
    chunks: list[str] = []
    rest = text
    while rest:
        head, tail = _cut_utf16(rest, limit)
        if tail:
            newline = head.rfind("\n")
            if newline > len(head) // 2:
                head, tail = head[: newline + 1], head[newline + 1 :] + tail
        chunks.append(head)
        rest = tail
    return chunks


# --- building blocks ------------------------------------------------------------------------


@dataclass
class _Text:
    text: str


@dataclass
class _Bubbles:
    bubbles: list[FlexBubble]
    alt_texts: list[str] = field(default_factory=list)


@dataclass
class _Image:
    hosted: HostedImage


_Block = _Text | _Bubbles | _Image


def _postback(choice: Choice, label_limit: int) -> PostbackAction:
    # displayText makes the tap show in the chat as the user's own words.
    return PostbackAction(
        label=shorten(choice.label, label_limit),
        data=choice.action,
        displayText=shorten(choice.label, MAX_DISPLAY_TEXT),
    )


def _usable(choices: Sequence[Choice]) -> list[Choice]:
    usable = [c for c in choices if c.action and utf16.length(c.action) <= MAX_POSTBACK_DATA]
    if len(usable) != len(choices):
        log.warning("line: dropped %d buttons with unusable data", len(choices) - len(usable))
    return usable


def _clipboard_buttons(item: CopyItem) -> list[FlexButton]:
    """One clipboard button per part; a long block's parts, pasted in order, give it back whole."""
    parts = split_for_copy(item.text, MAX_CLIPBOARD_TEXT)
    buttons = []
    for number, part in enumerate(parts, start=1):
        suffix = part_suffix(number, len(parts))
        label = shorten(item.label, MAX_CLIPBOARD_LABEL - utf16.length(suffix)) + suffix
        buttons.append(
            FlexButton(
                action=ClipboardAction(label=label, clipboardText=part),
                style="primary",
                height="sm",
            )
        )
    return buttons


def _bubble(reply: Reply, choices: Sequence[Choice]) -> FlexBubble:
    body: list[FlexText | FlexSeparator] = []
    if reply.text.strip():
        body.append(FlexText(text=reply.text, wrap=True))
    for item in reply.copy_items:
        body.append(FlexSeparator(margin="lg"))
        body.append(FlexText(text=item.label, weight="bold", size="sm", margin="md", wrap=True))
        if item.text:
            body.append(FlexText(text=item.text, size="sm", wrap=True, color="#333333"))
    buttons: list[FlexButton] = []
    for item in reply.copy_items:
        buttons += _clipboard_buttons(item)
    for choice in _usable(choices):
        buttons.append(
            FlexButton(action=_postback(choice, MAX_BUTTON_LABEL), style="secondary", height="sm")
        )
    footer = FlexBox(layout="vertical", spacing="sm", contents=buttons) if buttons else None
    box = FlexBox(layout="vertical", spacing="sm", contents=body) if body else None
    return FlexBubble(body=box, footer=footer)


def _alt_text(reply: Reply) -> str:
    source = reply.text.strip() or " / ".join(i.label for i in reply.copy_items) or ELLIPSIS
    return shorten(source, MAX_ALT_TEXT)


def _document_chunks(reply: Reply) -> list[str]:
    # LINE cannot carry a file; with no download link made for it, it is shown as text.
    if reply.document is None:
        return []
    return split_text(reply.document.content.decode("utf-8", errors="replace"))


def _quick_reply_source(replies: Sequence[Reply]) -> int | None:
    """The reply whose buttons become the quick reply: the last one with buttons, if they fit."""
    for index in range(len(replies) - 1, -1, -1):
        if replies[index].choices:
            fits = len(_usable(replies[index].choices)) <= MAX_QUICK_REPLY_ITEMS
            return index if fits else None
    return None


def _blocks(
    replies: Sequence[Reply], quick: int | None, images: Mapping[int, HostedImage]
) -> list[_Block]:
    blocks: list[_Block] = []
    for index, reply in enumerate(replies):
        inline_choices = reply.choices if index != quick else ()
        if reply.copy_items or inline_choices:
            blocks.append(_Bubbles([_bubble(reply, inline_choices)], [_alt_text(reply)]))
        elif reply.text.strip():
            blocks.append(_Text(reply.text))
        if index in images:
            blocks.append(_Image(images[index]))
        blocks.extend(_Text(chunk) for chunk in _document_chunks(reply))
    return blocks


def _joined(blocks: list[_Block], *, carousels: bool) -> list[_Block]:
    """Neighbouring texts become one message; with ``carousels``, neighbouring bubbles too."""
    out: list[_Block] = []
    for block in blocks:
        last = out[-1] if out else None
        if (
            isinstance(block, _Text)
            and isinstance(last, _Text)
            and utf16.length(last.text) + utf16.length(PARAGRAPH) + utf16.length(block.text)
            <= MAX_TEXT
        ):
            last.text = last.text + PARAGRAPH + block.text
        elif (
            carousels
            and isinstance(block, _Bubbles)
            and isinstance(last, _Bubbles)
            and len(last.bubbles) + len(block.bubbles) <= MAX_CAROUSEL_BUBBLES
        ):
            last.bubbles += block.bubbles
            last.alt_texts += block.alt_texts
        else:
            out.append(block)
    return out


def _text_bubble(text: str) -> FlexBubble:
    return FlexBubble(
        body=FlexBox(layout="vertical", contents=[FlexText(text=text, wrap=True)]),
    )


def _fold_overflow(blocks: list[_Block]) -> list[_Block]:
    """More than five messages: the tail becomes one carousel (or one text, if it is all text)."""
    if len(blocks) <= MAX_MESSAGES:
        return blocks
    head, tail = blocks[: MAX_MESSAGES - 1], blocks[MAX_MESSAGES - 1 :]
    if all(isinstance(b, _Text) for b in tail):
        text = PARAGRAPH.join(b.text for b in tail if isinstance(b, _Text))
        kept, lost = _cut_utf16(text, MAX_TEXT)
        if lost:
            log.warning("line: reply too long, %d characters not sent", utf16.length(lost))
        return [*head, _Text(kept)]
    folded = _Bubbles([])
    for block in tail:
        if isinstance(block, _Text):
            folded.bubbles.append(_text_bubble(_cut_utf16(block.text, MAX_TEXT)[0]))
            folded.alt_texts.append(shorten(block.text, MAX_ALT_TEXT))
        elif isinstance(block, _Image):
            folded.bubbles.append(_image_bubble(block.hosted))
            folded.alt_texts.append(ELLIPSIS)
        else:
            folded.bubbles += block.bubbles
            folded.alt_texts += block.alt_texts
    if len(folded.bubbles) > MAX_CAROUSEL_BUBBLES:
        log.warning(
            "line: reply too long, %d cards not sent", len(folded.bubbles) - MAX_CAROUSEL_BUBBLES
        )
        del folded.bubbles[MAX_CAROUSEL_BUBBLES:]
    return [*head, folded]


def _image_bubble(hosted: HostedImage) -> FlexBubble:
    return FlexBubble(
        hero=FlexImage(url=hosted.original_url, size="full", aspectMode="fit"),
    )


def _message(block: _Block) -> Message:
    if isinstance(block, _Text):
        return TextMessage(text=block.text)
    if isinstance(block, _Image):
        return ImageMessage(
            originalContentUrl=block.hosted.original_url,
            previewImageUrl=block.hosted.preview_url,
        )
    alt = shorten(" / ".join(block.alt_texts), MAX_ALT_TEXT)
    if len(block.bubbles) == 1:
        return FlexMessage(altText=alt, contents=block.bubbles[0])
    return FlexMessage(altText=alt, contents=FlexCarousel(contents=block.bubbles))


def to_line_messages(
    replies: Sequence[Reply],
    *,
    quick_reply: bool = True,
    images: Mapping[int, HostedImage] | None = None,
) -> list[Message]:
    """At most five message objects for one request.

    ``images`` maps a reply's index to where its image is hosted; it follows that reply.

    With ``quick_reply`` the last reply's buttons ride on the last message as a quick reply,
    which vanishes once the user answers: right for a question. Without it every button stays
    on its bubble in the chat, which suits a reminder the user may act on hours later.
    """
    quick = _quick_reply_source(replies) if quick_reply else None
    blocks = _joined(_blocks(replies, quick, images or {}), carousels=False)
    if len(blocks) > MAX_MESSAGES:
        # Side-by-side cards share the tallest one's height, so only when room runs out.
        blocks = _joined(blocks, carousels=True)
    messages = [_message(b) for b in _fold_overflow(blocks)]
    if quick is not None and messages:
        items = [
            QuickReplyItem(action=_postback(c, MAX_QUICK_REPLY_LABEL))
            for c in _usable(replies[quick].choices)
        ]
        messages[-1].quick_reply = QuickReply(items=items)
    return messages
