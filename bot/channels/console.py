"""The terminal as a channel: lines in, replies out; choices become numbered lines.

Works the same with a TTY and with piped stdin; end of input ends the chat cleanly.
"""

from __future__ import annotations

import asyncio
import sys
import unicodedata
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from domain.protocol import Address, Choice, Incoming, Reply, one_part_per_reply

CHANNEL = "console"
FRAME_WIDTH = 44


def _width(text: str) -> int:
    """Columns a text takes in a terminal (East Asian wide characters count twice)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def render(reply: Reply, first_number: int = 1) -> str:
    """One reply as terminal text: the message, framed copy blocks, numbered choices."""
    lines = [reply.text.strip("\n")]
    for item in reply.copy_items:
        head = f"┌─ {item.label} "
        lines.append("")
        lines.append(head + "─" * max(2, FRAME_WIDTH - _width(head)))
        lines.extend(f"│ {line}" for line in item.text.splitlines() or [""])
        lines.append("└" + "─" * (FRAME_WIDTH - 1))
    for attached in (reply.image, reply.document):
        if attached is not None:
            lines.append(f"[{attached.filename}, {len(attached.content)} bytes]")
    for offset, choice in enumerate(reply.choices):
        lines.append(f"  {first_number + offset}) {choice.label}")
    return "\n".join(lines)


class ConsoleChannel:
    """Runs a chat between the terminal and the engine, in-process."""

    def __init__(
        self,
        handle: Callable[[Incoming], Awaitable[list[Reply]]],
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        user_id: str = "local",
        banner: str = "",
        download_dir: Path = Path("data/exports"),
    ) -> None:
        self._handle = handle
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._address = Address(CHANNEL, user_id)
        self._banner = banner
        self._download_dir = download_dir
        self._choices: list[Choice] = []
        self._write_lock = asyncio.Lock()

    @property
    def address(self) -> Address:
        return self._address

    def _interactive(self) -> bool:
        return self._stdin.isatty()

    def to_incoming(self, line: str) -> Incoming:
        """A typed number or a button's label presses that button; anything else is text."""
        text = line.strip()
        if text.isdigit() and 1 <= int(text) <= len(self._choices):
            return Incoming.button(self._address, self._choices[int(text) - 1].action)
        folded = text.casefold()
        for choice in self._choices:
            if choice.label.casefold() == folded:
                return Incoming.button(self._address, choice.action)
        return Incoming.text_message(self._address, text)

    async def show(self, replies: list[Reply]) -> None:
        """Print replies; their choices become the numbers the next line can use."""
        async with self._write_lock:
            self._choices = []
            blocks = []
            for reply in replies:
                blocks.append(render(reply, len(self._choices) + 1))
                self._choices.extend(reply.choices)
                for attached in (reply.image, reply.document):
                    if attached is not None:
                        blocks.append(self._save(attached.filename, attached.content))
            if blocks:
                self._stdout.write("\n\n".join(blocks) + "\n\n")
                self._stdout.flush()

    def _save(self, filename: str, content: bytes) -> str:
        self._download_dir.mkdir(parents=True, exist_ok=True)
        target = self._download_dir / Path(filename).name
        target.write_bytes(content)
        return f"→ {target}"

    def parts(self, replies: list[Reply]) -> list[list[Reply]]:
        return one_part_per_reply(replies)

    async def push(self, external_id: str, replies: list[Reply], *, idempotency_key: str) -> None:
        """Reminders for the console user appear in the same terminal."""
        if external_id == self._address.external_id:
            await self.show(replies)

    async def run(self) -> None:
        """Read lines until end of input."""
        loop = asyncio.get_running_loop()
        if self._banner:
            self._stdout.write(self._banner.strip("\n") + "\n\n")
            self._stdout.flush()
        while True:
            if self._interactive():
                self._stdout.write("> ")
                self._stdout.flush()
            line = await loop.run_in_executor(None, self._stdin.readline)
            if line == "":
                return
            if not line.strip():
                continue
            await self.show(await self._handle(self.to_incoming(line)))
