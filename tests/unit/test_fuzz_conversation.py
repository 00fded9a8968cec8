"""Random input, typed and tapped, never breaks the engine or reaches another user's data."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.engine import Engine
from storage.models import Interview
from tests.support import Chat
from tests.unit.test_registration import onboard, register_by_taps

WORDS = [
    "/start",
    "/new",
    "/list",
    "/help",
    "/cancel",
    "/settings",
    "/export",
    "/deleteme",
    "面接を記録",
    "一覧",
    "設定",
    "ヘルプ",
    "キャンセル",
    "スキップ",
    "戻る",
    "保存",
    "修正",
    "今日",
    "昨日",
    "11/25",
    "2026-02-30",
    "10日以内",
    "5営業日",
    "1ヶ月",
    "言われていない",
    "はい",
    "いいえ",
    "1",
    "2",
    "99",
    "",
    " ",
    "🍣",
    "👍🏽🇯🇵",
    "\x00",
    "a" * 5000,
    "saiyo@example.co.jp",
    "03-1234-5678",
    "<b>html</b>",
    "{placeholder}",
    "%s%s%n",
    "x'); DROP TABLE users;--",
    "ｆｕｌｌｗｉｄｔｈ",
    "\u202eevil",
    "明日",
]


def _random_action(rng: random.Random, foreign_id: int) -> str:
    prefix = rng.choice(["i", "o", "f", "s", "p", "m", "a", "zz", ""])
    parts = [prefix]
    for _ in range(rng.randint(0, 4)):
        parts.append(
            rng.choice(
                [
                    str(foreign_id),
                    str(rng.randint(-5, 10**6)),
                    "del",
                    "delok",
                    "res",
                    "rej",
                    "pass",
                    "done",
                    "mute",
                    "new",
                    "_skip",
                    "x" * 70,
                ]
            )
        )
    return ":".join(parts)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_input_is_always_answered_kindly_and_stays_in_its_own_account(
    app: Renraku, engine: Engine, seed: int
) -> None:
    rng = random.Random(seed)
    owner, other = Chat(engine, "owner"), Chat(engine, "fuzzer")
    await onboard(owner)
    await register_by_taps(owner)
    async with app.uow() as uow:
        [theirs] = (await uow.session.scalars(select(Interview))).all()
    unexpected = app.catalog.text("ja", "errors.unexpected")

    for _ in range(300):
        roll = rng.random()
        if roll < 0.45:
            replies = await other.say(rng.choice(WORDS))
        elif roll < 0.75 and other.choices():
            replies = await other.act(rng.choice(other.choices()).action)
        else:
            replies = await other.act(_random_action(rng, theirs.id))
        assert all(unexpected not in r.text for r in replies), replies

    async with app.uow() as uow:
        still = await uow.session.get(Interview, theirs.id)
        assert still is not None
        assert (still.company, still.status, still.user_id) == (
            theirs.company,
            theirs.status,
            theirs.user_id,
        )
    await owner.say("/list")
    assert "株式会社サンプル" in owner.text
