"""Group commit: records that come in together share one transaction; each caller gets its own."""

from __future__ import annotations

import asyncio

import pytest

from bot.reminders.group_commit import GroupCommit


async def test_items_that_come_in_together_are_applied_in_one_call() -> None:
    calls: list[list[int]] = []

    async def apply(items: list[int]) -> list[int]:
        calls.append(items)
        await asyncio.sleep(0)  # the transaction's round trips
        return [item * 10 for item in items]

    commit: GroupCommit[int, int] = GroupCommit(apply)
    first = await asyncio.gather(*(commit(n) for n in range(5)))
    assert first == [0, 10, 20, 30, 40]
    assert calls == [[0, 1, 2, 3, 4]]
    # A caller that comes later gets a call of its own.
    assert await commit(7) == 70
    assert calls[-1] == [7]


async def test_items_that_come_in_meanwhile_go_together_in_the_next_call() -> None:
    calls: list[list[str]] = []
    release = asyncio.Event()

    async def apply(items: list[str]) -> list[str]:
        calls.append(items)
        if len(calls) == 1:
            await release.wait()
        return [item.upper() for item in items]

    commit: GroupCommit[str, str] = GroupCommit(apply)
    early = asyncio.create_task(commit("a"))
    await asyncio.sleep(0.01)
    assert calls == [["a"]]
    # While the first call is under way, two more come in; both wait for it, then go along.
    late = asyncio.gather(commit("b"), commit("c"))
    await asyncio.sleep(0.01)
    assert not early.done()
    release.set()
    assert await early == "A"
    assert await late == ["B", "C"]
    assert calls == [["a"], ["b", "c"]]


async def test_a_failed_call_fails_every_caller_in_it_and_no_one_after() -> None:
    attempts = 0

    async def apply(items: list[int]) -> list[int]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("database away")
        return items

    commit: GroupCommit[int, int] = GroupCommit(apply)
    results = await asyncio.gather(commit(1), commit(2), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    assert await commit(3) == 3


async def test_a_call_that_returns_too_few_results_fails_its_callers_instead_of_hanging() -> None:
    async def apply(items: list[int]) -> list[int]:
        return items[:1]

    commit: GroupCommit[int, int] = GroupCommit(apply)
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(asyncio.gather(commit(1), commit(2)), 1)
