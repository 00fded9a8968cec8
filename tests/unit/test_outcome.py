"""The result came: an offer after the final interview, the next round, or care after a no."""

from __future__ import annotations

from sqlalchemy import update

from bot.bootstrap import Renraku
from bot.engine import Engine
from storage.models import Interview
from tests.support import Chat
from tests.unit.test_followup import COMPANY, _seed


async def test_a_pass_at_the_final_interview_is_an_offer_with_a_reply_to_copy(
    app: Renraku, engine: Engine
) -> None:
    iid = await _seed(app, stage="final")
    chat = Chat(engine)
    await chat.act(f"o:{iid}:pass")
    assert "内定、おめでとうございます" in chat.text and COMPANY in chat.text
    for step in ("回答の期限", "承諾", "考えるお時間をいただけますか", "辞退するなら"):
        assert step in chat.text, step
    assert f"o:{iid}:next" not in [c.action for c in chat.choices()]
    [subject, body, phone] = [i for r in chat.last for i in r.copy_items]
    assert subject.text == "内定のご連絡への御礼（応募者A）"
    assert body.text.startswith(
        f"{COMPANY}\n採用ご担当者様\n\nお世話になっております。応募者Aです。"
    )
    assert "〇月〇日までにお伝えしたい" in body.text and "幸いです" in body.text
    assert "電話: 090-1234-5678\nメール: applicant@example.jp" in body.text
    assert "内定のご連絡をいただき" in phone.text


async def test_a_pass_before_the_final_offers_the_next_round(app: Renraku, engine: Engine) -> None:
    iid = await _seed(app, stage="second")
    chat = Chat(engine)
    await chat.act(f"o:{iid}:pass")
    assert "選考通過" in chat.text and "内定" not in chat.text
    assert f"o:{iid}:next" in [c.action for c in chat.choices()]
    assert not [i for r in chat.last for i in r.copy_items]


async def test_after_a_rejection_the_users_own_note_comes_back(
    app: Renraku, engine: Engine
) -> None:
    iid = await _seed(app)
    async with app.uow() as uow:
        await uow.session.execute(
            update(Interview)
            .where(Interview.id == iid)
            .values(reflection_improve="逆質問をもっと用意する\n[12月1日(火)] 緊張した")
        )
        await uow.commit()
    chat = Chat(engine)
    await chat.act(f"o:{iid}:rej")
    assert "「逆質問をもっと用意する」と書いていましたね" in chat.text
    questions = app.catalog.pool("ja", "pools.reflection_questions")
    assert sum(q in chat.text for q in questions) == 1


async def test_after_a_rejection_without_a_note_two_questions_stand_on_their_own(
    app: Renraku, engine: Engine
) -> None:
    iid = await _seed(app)
    chat = Chat(engine)
    await chat.act(f"o:{iid}:rej")
    questions = app.catalog.pool("ja", "pools.reflection_questions")
    assert sum(q in chat.text for q in questions) == 2
    assert "書いていましたね" not in chat.text
