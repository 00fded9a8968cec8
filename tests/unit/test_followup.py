"""Reminder contents and their buttons: personalised templates, fallbacks, tips, actions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.engine import Engine
from domain.protocol import Reply
from handlers import followup
from handlers.context import Context
from storage.models import Interview, StatusChange
from tests.support import Chat, ManualClock
from tests.unit.test_registration import onboard, register_by_taps

COMPANY = "株式会社サンプル"


async def _seed(
    app: Renraku,
    *,
    external_id: str = "u1",
    name: str | None = "応募者A",
    interviewer: str | None = "採用担当",
    contact: str | None = "saiyo@example.co.jp",
    promised: str = "weeks:2",
    stage: str = "second",
    method: str = "email",
    memo: str | None = None,
    locale: str = "ja",
    followups_sent: int = 0,
) -> int:
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "console", external_id, locale=locale, timezone="Asia/Tokyo"
        )
        user.display_name = name
        user.onboarded = True
        interview = Interview(
            user_id=user.id,
            company=COMPANY,
            interview_date=date(2026, 11, 25),
            stage=stage,
            promised=promised,
            contact_method=method,
            interviewer_name=interviewer,
            interviewer_contact=contact,
            asked_memo=memo,
            status="waiting",
            followups_sent=followups_sent,
            muted=False,
        )
        uow.interviews.add(interview)
        await uow.interviews.flush()
        await uow.commit()
        return interview.id


@asynccontextmanager
async def _context(
    app: Renraku, now: datetime, iid: int
) -> AsyncIterator[tuple[Context, Interview]]:
    async with app.uow() as uow:
        interview = await uow.session.get(Interview, iid)
        assert interview is not None
        user = await uow.users.get(interview.user_id)
        assert user is not None
        yield Context(uow=uow, user=user, catalog=app.catalog, now=now, dialogue=None), interview
        await uow.commit()


async def _compose(app: Renraku, now: datetime, iid: int, kind: str = "followup") -> list[Reply]:
    async with _context(app, now, iid) as (ctx, interview):
        return await followup.compose(ctx, interview, kind)


def _pool(app: Renraku, key: str, locale: str = "ja") -> tuple[str, ...]:
    return app.catalog.pool(locale, key)


def _one_of(pool: tuple[str, ...], text: str) -> list[str]:
    return [tip for tip in pool if tip in text]


DUE = datetime(2026, 12, 9, 1, 0, tzinfo=UTC)  # 10:00 JST on the promised day
HALFWAY = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 10:00 JST halfway through the wait


# --- the promised-day follow-up -------------------------------------------------------------


async def test_followup_has_check_first_copy_items_care_and_buttons(app: Renraku) -> None:
    iid = await _seed(app, memo="人事部に電話してよい")
    check, templates, closing = await _compose(app, DUE, iid)

    assert COMPANY in check.text and "迷惑メールフォルダ" in check.text
    assert "着信履歴" in check.text and "ドメインで検索" in check.text
    assert "@example.co.jp" in check.text
    assert "人事部に電話してよい" in check.text
    assert [(c.label, c.action) for c in check.choices] == [("結果が来てた", f"f:{iid}:came")]

    assert "送り先: saiyo@example.co.jp" in templates.text
    subject, body, phone = templates.copy_items
    assert [subject.label, body.label, phone.label] == [
        "✉️ メールの件名",
        "✉️ メールの本文",
        "📞 電話の台本",
    ]
    assert subject.text == "二次面接の選考結果についてのお伺い（応募者A）"
    assert body.text.startswith(f"{COMPANY}\n採用担当様\n")
    assert "11月25日(水)に面接をしていただきました、応募者Aです。" in body.text
    assert "選考結果は2週間以内にご連絡いただけると伺って" in body.text
    assert body.text.endswith("応募者A")
    assert "採用担当様におつなぎいただけますでしょうか" in phone.text
    assert "応募者Aと申します" in phone.text and "11月25日(水)" in phone.text
    assert "【担当者が不在のとき】" in phone.text
    for item in templates.copy_items:
        assert "{" not in item.text and not item.text.startswith("\n")

    assert len(_one_of(_pool(app, "pools.encouragement"), closing.text)) == 1
    assert len(_one_of(_pool(app, "pools.mental_care"), closing.text)) == 1
    assert [(c.label, c.action) for c in closing.choices] == [
        ("フォローした", f"f:{iid}:done"),
        ("結果が来た", f"i:{iid}:res"),
        ("3日後にもう一度", f"f:{iid}:later"),
        ("この面接の通知を止める", f"f:{iid}:mute"),
    ]


async def test_fallbacks_when_name_interviewer_and_contact_are_missing(app: Renraku) -> None:
    iid = await _seed(app, name=None, interviewer=None, contact=None)
    check, templates, _ = await _compose(app, DUE, iid)
    subject, body, phone = templates.copy_items
    assert subject.text == "二次面接の選考結果についてのお伺い（（お名前））"
    assert body.text.startswith(f"{COMPANY}\n採用ご担当者様\n")
    assert "採用ご担当者様におつなぎ" in phone.text
    assert "検索のヒント" not in check.text
    assert "送り先" not in templates.text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("採用担当", "採用担当様"),
        ("採用担当さん", "採用担当様"),
        ("採用担当 様", "採用担当様"),
        ("人事部 採用担当", "人事部 採用担当様"),
        ("  ", "採用ご担当者様"),
        ("様", "様様"),
        (None, "採用ご担当者様"),
    ],
)
async def test_addressee_gets_one_honorific(app: Renraku, typed: str | None, expected: str) -> None:
    iid = await _seed(app)
    async with _context(app, DUE, iid) as (ctx, _):
        assert followup.addressee(ctx, typed) == expected


@pytest.mark.parametrize(
    ("promised", "expected"),
    [
        ("weeks:2", "2週間以内"),
        ("bdays:5", "5営業日以内"),
        ("days:10", "10日以内"),
        ("months:1", "1ヶ月以内"),
        ("date:2026-12-10", "12月10日(木)まで"),
        ("none", "近日中"),
    ],
)
async def test_promised_period_reads_naturally_in_the_templates(
    app: Renraku, promised: str, expected: str
) -> None:
    iid = await _seed(app, promised=promised)
    _, templates, _ = await _compose(app, DUE, iid)
    body = templates.copy_items[1].text
    assert f"選考結果は{expected}にご連絡いただける" in body


async def test_english_templates_are_filled_too(app: Renraku) -> None:
    iid = await _seed(app, locale="en", name="Applicant A", interviewer="Recruiter-san")
    check, templates, closing = await _compose(app, DUE, iid)
    subject, body, phone = templates.copy_items
    assert subject.text == "Status of my second interview (Applicant A)"
    assert body.text.startswith("Dear Recruiter,")
    assert "I had an interview with 株式会社サンプル on Wed, Nov 25." in body.text
    assert "hear about the result within 2 weeks" in body.text
    assert "put me through to Recruiter?" in phone.text
    assert "spam folder" in check.text
    assert [c.label for c in closing.choices] == [
        "I followed up",
        "Result came",
        "Remind me in 3 days",
        "Stop reminders for this one",
    ]
    assert len(_one_of(_pool(app, "pools.mental_care", "en"), closing.text)) == 1


async def test_care_tips_rotate_and_are_remembered(app: Renraku) -> None:
    iid = await _seed(app)
    pool = _pool(app, "pools.mental_care")
    shown = []
    for _ in range(5):
        closing = (await _compose(app, DUE, iid))[-1]
        [tip] = _one_of(pool, closing.text)
        shown.append(tip)
    assert len(set(shown)) == 5, "a care tip came back within five reminders"
    async with app.uow() as uow:
        interview = await uow.session.get(Interview, iid)
        assert interview is not None
        user = await uow.users.get(interview.user_id)
        assert user is not None
        assert len(user.recent_tips["pools.mental_care"]) == 5
        assert [pool[i] for i in user.recent_tips["pools.mental_care"]] == shown


# --- the other reminders --------------------------------------------------------------------


async def test_recheck_is_the_shorter_template_with_advice(app: Renraku) -> None:
    iid = await _seed(app, followups_sent=1)
    check, templates, advice = await _compose(app, DUE, iid, "recheck")
    assert "3営業日" in check.text
    subject, body, phone = templates.copy_items
    assert subject.text == "【再度のお伺い】二次面接の結果について（応募者A）"
    assert "先日も選考結果についてご連絡を差し上げましたが" in body.text
    assert body.text.startswith(f"{COMPANY}\n採用担当様\n")
    assert "たびたび恐れ入ります" in phone.text
    assert "エージェント" in advice.text and "応募先" in advice.text
    assert len(_one_of(_pool(app, "pools.mental_care"), advice.text)) == 1
    assert f"f:{iid}:done" in [c.action for c in advice.choices]


async def test_after_two_nudges_the_message_is_no_response(app: Renraku) -> None:
    iid = await _seed(app, followups_sent=2)
    replies = await _compose(app, DUE, iid, "recheck")
    text = "\n".join(r.text for r in replies)
    assert "連絡なし" in text
    assert len(_one_of(_pool(app, "pools.no_response"), text)) == 2
    assert len(_one_of(_pool(app, "pools.mental_care"), text)) == 1
    assert all(not r.copy_items for r in replies)
    actions = [c.action for r in replies for c in r.choices]
    assert actions[:2] == [f"i:{iid}:res", "m:new"]


async def test_halfway_nudge_has_waiting_tips_and_the_check(app: Renraku) -> None:
    iid = await _seed(app, method="both")
    [reply] = await _compose(app, datetime(2026, 12, 2, 1, 0, tzinfo=UTC), iid, "halfway")
    assert "面接から7日" in reply.text and "あと7日" in reply.text
    assert "12月9日(水)" in reply.text
    assert "迷惑メールフォルダと電話の着信履歴" in reply.text
    assert len(_one_of(_pool(app, "pools.waiting"), reply.text)) == 2
    assert not reply.copy_items
    assert [c.action for c in reply.choices] == [f"i:{iid}:res", f"f:{iid}:mute"]


# --- whether a due reminder goes out --------------------------------------------------------


async def test_hold_reasons(app: Renraku) -> None:
    iid = await _seed(app)
    async with _context(app, DUE, iid) as (ctx, interview):
        assert followup.hold(ctx, interview, "followup", DUE) is None
        # The halfway nudge is stale once the promised day has come.
        assert followup.hold(ctx, interview, "halfway", HALFWAY) is followup.Hold.CANCEL
        assert followup.hold(ctx, None, "followup", DUE) is followup.Hold.CANCEL
        interview.muted = True
        assert followup.hold(ctx, interview, "followup", DUE) is followup.Hold.CANCEL
        interview.muted, interview.status = False, "passed"
        assert followup.hold(ctx, interview, "followup", DUE) is followup.Hold.CANCEL
        interview.status = "followed_up"
        ctx.user.active = False
        assert followup.hold(ctx, interview, "recheck", DUE) is followup.Hold.PAUSE
        ctx.user.active = True
        ctx.now = datetime(2026, 12, 9, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo: quiet hours
        assert followup.hold(ctx, interview, "followup", DUE) is followup.Hold.DEFER
        assert followup.resume_at(ctx, "followup") == datetime(2026, 12, 9, 23, 0, tzinfo=UTC)
        ctx.now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
        assert followup.hold(ctx, interview, "halfway", HALFWAY) is None
        ctx.user.halfway_nudge = False
        assert followup.hold(ctx, interview, "halfway", HALFWAY) is followup.Hold.CANCEL
        await ctx.uow.rollback()


async def test_after_sent_counts_nudges_then_closes_as_no_response(app: Renraku) -> None:
    iid = await _seed(app)
    async with _context(app, DUE, iid) as (ctx, interview):
        await followup.after_sent(ctx, interview, "halfway")
        assert interview.followups_sent == 0
        await followup.after_sent(ctx, interview, "followup")
        assert interview.followups_sent == 1
        assert await ctx.uow.reminders.pending_for_interview(iid) == []
        await followup.after_sent(ctx, interview, "recheck")
        assert interview.followups_sent == 2
        # Nothing pressed after the last nudge: a closing check is planned anyway.
        [closing] = await ctx.uow.reminders.pending_for_interview(iid)
        assert (closing.kind, closing.due_at) == (
            "recheck",
            datetime(2026, 12, 14, 1, 0, tzinfo=UTC),
        )
        await followup.after_sent(ctx, interview, "recheck")
        assert interview.status == "no_response"
    async with app.uow() as uow:
        history = (await uow.history.for_interview(iid))[-1]
        assert (history.from_status, history.to_status) == ("waiting", "no_response")
        assert await uow.reminders.pending_for_interview(iid) == []


# --- the buttons, through the real engine ---------------------------------------------------


async def _registered(app: Renraku, engine: Engine) -> tuple[Chat, int]:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    async with app.uow() as uow:
        iid = await uow.session.scalar(select(Interview.id))
    assert iid is not None
    return chat, iid


async def _pending(app: Renraku, iid: int) -> list[tuple[str, datetime]]:
    async with app.uow() as uow:
        return [(r.kind, r.due_at) for r in await uow.reminders.pending_for_interview(iid)]


async def _interview(app: Renraku, iid: int) -> Interview:
    async with app.uow() as uow:
        found = await uow.session.get(Interview, iid)
        assert found is not None
        return found


async def test_followed_schedules_a_recheck_three_business_days_later(
    app: Renraku, engine: Engine, clock: ManualClock
) -> None:
    chat, iid = await _registered(app, engine)
    clock.set(DUE)
    await chat.act(f"f:{iid}:done")
    assert "12月14日(月) 10:00" in chat.text
    assert await _pending(app, iid) == [("recheck", datetime(2026, 12, 14, 1, 0, tzinfo=UTC))]
    assert (await _interview(app, iid)).status == "followed_up"
    async with app.uow() as uow:
        changes = (await uow.session.scalars(select(StatusChange.to_status))).all()
    assert list(changes) == ["waiting", "followed_up"]


async def test_later_asks_again_in_three_days_on_a_business_day(
    app: Renraku, engine: Engine, clock: ManualClock
) -> None:
    chat, iid = await _registered(app, engine)
    clock.set(DUE)
    await chat.act(f"f:{iid}:later")
    # 12/12 is a Saturday: the reminder moves to Monday.
    assert "12月14日(月) 10:00" in chat.text
    assert await _pending(app, iid) == [("followup", datetime(2026, 12, 14, 1, 0, tzinfo=UTC))]


async def test_mute_stops_this_interviews_reminders(
    app: Renraku, engine: Engine, clock: ManualClock
) -> None:
    chat, iid = await _registered(app, engine)
    await chat.act(f"f:{iid}:mute")
    assert "お知らせを止めました" in chat.text
    assert await _pending(app, iid) == []
    assert (await _interview(app, iid)).muted is True


async def test_came_asks_for_the_result(app: Renraku, engine: Engine) -> None:
    chat, iid = await _registered(app, engine)
    await chat.act(f"f:{iid}:came")
    assert f"{COMPANY}の結果はいかがでしたか" in chat.text
    assert [c.action for c in chat.choices()] == [f"o:{iid}:pass", f"o:{iid}:rej", f"o:{iid}:decl"]


async def test_nobody_can_press_someone_elses_reminder_buttons(
    app: Renraku, engine: Engine
) -> None:
    _, iid = await _registered(app, engine)
    before = await _pending(app, iid)
    stranger = Chat(engine, user="u2")
    for op in ("done", "later", "mute", "came"):
        await stranger.act(f"f:{iid}:{op}")
        assert "見つかりませんでした" in stranger.text, op
    assert await _pending(app, iid) == before
    interview = await _interview(app, iid)
    assert (interview.status, interview.muted) == ("waiting", False)


async def test_buttons_on_a_closed_interview_answer_kindly(app: Renraku, engine: Engine) -> None:
    chat, iid = await _registered(app, engine)
    await chat.act(f"o:{iid}:pass")
    await chat.act(f"f:{iid}:done")
    assert "「合格」として記録済み" in chat.text
    assert await _pending(app, iid) == []


@pytest.mark.parametrize("action", ["f:", "f:x:done", "f:1", "f:1:done:extra"])
async def test_malformed_followup_buttons_are_stale(engine: Engine, action: str) -> None:
    chat = Chat(engine)
    await chat.act(action)
    assert "そのボタンは今は使えません" in chat.text


async def test_unknown_op_on_an_own_interview_is_stale(app: Renraku, engine: Engine) -> None:
    chat, iid = await _registered(app, engine)
    await chat.act(f"f:{iid}:explode")
    assert "そのボタンは今は使えません" in chat.text
