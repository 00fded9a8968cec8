"""Onboarding as a new user meets it: name, then their own phone and email, each skippable."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.engine import Engine
from storage.models import DialogueState, User
from tests.support import Chat


async def _user(app: Renraku) -> User:
    async with app.uow() as uow:
        user = await uow.session.scalar(select(User))
    assert user is not None
    return user


async def _step(app: Renraku) -> str | None:
    async with app.uow() as uow:
        row = await uow.session.scalar(select(DialogueState))
        return row.step if row else None


async def test_name_phone_and_email_are_asked_in_turn_and_kept(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await chat.say("/start")
    await chat.say("応募者C")
    assert "応募者Cさんですね" in chat.text
    assert "電話番号を教えてください" in chat.text
    # Why it is asked, in one line.
    assert "フォローの署名と、会社からの折り返しのためだけに使います" in chat.text
    await chat.say("０９０ー１２３４ー５６７８")
    assert "メールアドレスを教えてください" in chat.text
    await chat.say("Applicant@Example.com")
    assert "面接を記録" in [c.label for c in chat.choices()]
    user = await _user(app)
    assert (user.display_name, user.phone, user.email) == (
        "応募者C",
        "090-1234-5678",
        "Applicant@example.com",
    )
    assert await _step(app) is None


async def test_each_question_can_be_skipped_by_button_or_word(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await chat.say("/start")
    await chat.press("スキップ")
    assert "電話番号を教えてください" in chat.text
    await chat.say("スキップ")
    assert "メールアドレスを教えてください" in chat.text
    await chat.press("スキップ")
    assert [c.label for c in chat.choices()] == ["面接を記録", "一覧", "設定", "ヘルプ"]
    user = await _user(app)
    assert (user.display_name, user.phone, user.email) == (None, None, None)


@pytest.mark.parametrize(
    ("step", "bad", "expected"),
    [
        ("phone", "applicant@example.com", "電話番号として読み取れませんでした"),
        ("phone", "12", "電話番号として読み取れませんでした"),
        ("phone", "call me", "電話番号として読み取れませんでした"),
        ("email", "090-1234-5678", "メールアドレスとして読み取れませんでした"),
        ("email", "applicant@", "メールアドレスとして読み取れませんでした"),
        ("email", "x" * 400, "メールアドレスとして読み取れませんでした"),
    ],
)
async def test_a_contact_that_is_not_one_gets_a_kind_reply_and_the_same_question(
    app: Renraku, engine: Engine, step: str, bad: str, expected: str
) -> None:
    chat = Chat(engine)
    await chat.say("/start")
    await chat.say("応募者")
    if step == "email":
        await chat.say("スキップ")
    question = chat.last[-1].text
    await chat.say(bad)
    assert expected in chat.text
    assert chat.last[-1].text == question
    assert await _step(app) == step
    user = await _user(app)
    assert (user.phone, user.email) == (None, None)


async def test_back_returns_to_the_previous_onboarding_question(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await chat.say("/start")
    await chat.say("応募者")
    await chat.press("戻る")
    assert "お名前を教えてください" in chat.text
    assert await _step(app) == "name"


async def test_settings_show_edit_and_clear_phone_and_email(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await chat.say("/start")
    for line in ("応募者", "スキップ", "スキップ"):
        await chat.say(line)
    await chat.say("/settings")
    assert "電話番号: 未登録" in chat.text and "メールアドレス: 未登録" in chat.text
    await chat.press("電話番号")
    await chat.say("not a number")
    assert "電話番号として読み取れませんでした" in chat.text
    await chat.say("03-1234-5678")
    assert "電話番号: 03-1234-5678" in chat.text
    await chat.press("メールアドレス")
    await chat.say("03-1234-5678")
    assert "メールアドレスとして読み取れませんでした" in chat.text
    await chat.say("me@example.jp")
    assert "メールアドレス: me@example.jp" in chat.text
    assert (await _user(app)).email == "me@example.jp"

    await chat.press("電話番号")
    await chat.press("登録を消す")
    assert "電話番号: 未登録" in chat.text
    user = await _user(app)
    assert (user.phone, user.email) == (None, "me@example.jp")
    # Typed, too.
    await chat.press("メールアドレス")
    await chat.say("削除")
    assert "メールアドレス: 未登録" in chat.text
    assert (await _user(app)).email is None
    # With nothing saved there is nothing to remove: no button, and the word is not an address.
    await chat.press("メールアドレス")
    assert "登録を消す" not in [c.label for c in chat.choices()]
    await chat.say("削除")
    assert "メールアドレスとして読み取れませんでした" in chat.text


async def test_export_carries_the_senders_phone_and_email(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.say("/start")
    for line in ("応募者", "090-1234-5678", "me@example.jp"):
        await chat.say(line)
    replies = await chat.say("/export")
    document = next(r.document for r in replies if r.document is not None)
    user = json.loads(document.content)["user"]
    assert (user["name"], user["phone"], user["email"]) == (
        "応募者",
        "090-1234-5678",
        "me@example.jp",
    )
