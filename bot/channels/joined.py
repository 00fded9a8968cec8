"""Adjacent replies as one message where that reads as well: fewer sends, fewer notifications.

An acknowledgement followed by the next question (thanks for the interview, then which
company was it) is one thought to the user, and on a phone two messages are two buzzes. A
plain reply (only text: no choices, no copy items, no file, no picture) is therefore joined to
the reply after it, a blank line between the two texts, whenever the channel says the joined
reply still fits (its message or caption limit). Whatever the later reply carries (buttons,
copy items, a file) stays with it, under the joined text. Pure, for any channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from domain.protocol import Reply


def is_plain(reply: Reply) -> bool:
    """Only text: nothing the user taps, copies or opens hangs on this message."""
    return (
        not reply.choices
        and not reply.copy_items
        and reply.document is None
        and reply.image is None
    )


def join_text(first: str, then: str) -> str:
    head, tail = first.strip("\n"), then.strip("\n")
    if not head.strip():
        return then
    if not tail.strip():
        return head
    return f"{head}\n\n{tail}"


def joined(replies: Sequence[Reply], fits: Callable[[Reply], bool]) -> list[Reply]:
    """The replies with each plain one joined to the next, where ``fits`` allows the result."""
    out: list[Reply] = []
    for reply in replies:
        if out and is_plain(out[-1]):
            candidate = replace(reply, text=join_text(out[-1].text, reply.text))
            if fits(candidate):
                out[-1] = candidate
                continue
        out.append(reply)
    return out
