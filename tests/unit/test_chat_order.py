import asyncio
import gc
from collections.abc import Coroutine

import pytest

from bot.chat_order import ChatOrder


class Work:
    """Items that note when they start and end; an item may be held until released."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.started: dict[str, asyncio.Event] = {}
        self.release: dict[str, asyncio.Event] = {}

    def item(
        self, name: str, *, held: bool = False, fails: bool = False
    ) -> Coroutine[None, None, str]:
        self.started[name] = asyncio.Event()
        gate = self.release[name] = asyncio.Event()
        if not held:
            gate.set()

        async def run() -> str:
            self.log.append(f"{name} start")
            self.started[name].set()
            await gate.wait()
            self.log.append(f"{name} end")
            if fails:
                raise RuntimeError(name)
            return name

        return run()


async def test_one_chats_items_run_in_order_while_another_chat_goes_ahead() -> None:
    order: ChatOrder[str] = ChatOrder()
    work = Work()
    async with asyncio.timeout(5):
        a = [
            asyncio.create_task(order.run("a", work.item("a1", held=True))),
            asyncio.create_task(order.run("a", work.item("a2"))),
            asyncio.create_task(order.run("a", work.item("a3"))),
        ]
        await work.started["a1"].wait()
        # Chat b is not stuck behind chat a's held item: it runs to the end meanwhile.
        assert await order.run("b", work.item("b1")) == "b1"
        assert "a2 start" not in work.log
        work.release["a1"].set()
        assert await asyncio.gather(*a) == ["a1", "a2", "a3"]
    a_log = [entry for entry in work.log if entry.startswith("a")]
    assert a_log == ["a1 start", "a1 end", "a2 start", "a2 end", "a3 start", "a3 end"]
    assert work.log.index("b1 end") < work.log.index("a1 end")


async def test_two_chats_interleave() -> None:
    order: ChatOrder[int] = ChatOrder()
    work = Work()
    async with asyncio.timeout(5):
        first = asyncio.create_task(order.run(1, work.item("x", held=True)))
        second = asyncio.create_task(order.run(2, work.item("y", held=True)))
        # Both are inside their turn at once: neither chat waits for the other.
        await work.started["x"].wait()
        await work.started["y"].wait()
        work.release["y"].set()
        assert await second == "y"
        assert not first.done()
        work.release["x"].set()
        assert await first == "x"
    assert work.log == ["x start", "y start", "y end", "x end"]


async def test_a_failing_item_does_not_hold_up_the_next() -> None:
    order: ChatOrder[str] = ChatOrder()
    work = Work()
    async with asyncio.timeout(5):
        failing = asyncio.create_task(order.run("a", work.item("a1", fails=True)))
        following = asyncio.create_task(order.run("a", work.item("a2")))
        with pytest.raises(RuntimeError, match="a1"):
            await failing
        assert await following == "a2"


async def test_idle_chats_are_forgotten() -> None:
    order: ChatOrder[str] = ChatOrder()
    work = Work()
    async with asyncio.timeout(5):
        held = asyncio.create_task(order.run("a", work.item("a1", held=True)))
        await work.started["a1"].wait()
        assert len(order) == 1
        work.release["a1"].set()
        await held
        await asyncio.gather(*(order.run(f"chat{n}", work.item(f"c{n}")) for n in range(100)))
    gc.collect()
    assert len(order) == 0
