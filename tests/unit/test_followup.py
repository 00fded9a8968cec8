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
from handlers import followup, planning
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
    phone: str | None = "090-1234-5678",
    email: str | None = "applicant@example.jp",
    applied_via: str | None = None,
    agent_name: str | None = None,
    agent_contact: str | None = None,
    followed_count: int = 0,
    first_followup_on: date | None = None,
) -> int:
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "console", external_id, locale=locale, timezone="Asia/Tokyo"
        )
        user.display_name = name
        user.phone, user.email = phone, email
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
            applied_via=applied_via,
            agent_name=agent_name,
            agent_contact=agent_contact,
            followed_count=followed_count,
            first_followup_on=first_followup_on,
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
    """A pool's texts as shown, without their tags."""
    return tuple(planning.split_tip(entry)[1] for entry in app.catalog.pool(locale, key))


def _one_of(pool: tuple[str, ...], text: str) -> list[str]:
    return [tip for tip in pool if tip in text]


# 10:00 JST on Thu 12/10: the first business day after the promised day, Wed 12/9.
DUE = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
HALFWAY = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 10:00 JST halfway through the wait
PROMISE_WORDS = ("約束", "以内", "伺って")


def _everything(replies: list[Reply]) -> str:
    parts = [r.text for r in replies] + [i.text for r in replies for i in r.copy_items]
    parts += [c.label for r in replies for c in r.choices]
    return "\n".join(parts)


# --- the follow-up after the promised day ---------------------------------------------------


async def test_followup_has_check_first_copy_items_care_and_buttons(app: Renraku) -> None:
    iid = await _seed(app, memo="人事部に電話してよい", method="both")
    check, templates, closing = await _compose(app, DUE, iid)

    assert "約束の日（12月9日(水)）が過ぎました" in check.text
    assert "面接から15日" in check.text and "今日は" not in check.text
    assert COMPANY in check.text and "迷惑メールフォルダ" in check.text
    assert "着信履歴" in check.text and "ドメインで検索" in check.text
    assert "@example.co.jp" in check.text
    assert "人事部に電話してよい" in check.text
    # The check is plain text (so Telegram sends it with the copyable texts as one message); the
    # button it names is under the last message.
    assert check.choices == () and "下の「結果が来た」を押してください" in check.text
    assert ("結果が来た", f"i:{iid}:res") in [(c.label, c.action) for c in closing.choices]

    assert "送り先: saiyo@example.co.jp" in templates.text
    subject, body, phone = templates.copy_items
    assert [subject.label, body.label, phone.label] == [
        "✉️ メールの件名",
        "✉️ メールの本文",
        "📞 電話の台本",
    ]
    assert subject.text == "11月25日(水)の二次面接の選考結果について（応募者A）"
    assert body.text.startswith(f"{COMPANY}\n採用ご担当者様\n\nお世話になっております。")
    assert "11月25日(水)に二次面接を受けさせていただきました、応募者Aと申します。" in body.text
    assert "選考結果は2週間以内にご連絡をいただけると伺っておりました" in body.text
    assert "応募者A\n電話: 090-1234-5678\nメール: applicant@example.jp" in body.text
    assert "採用ご担当の方にお取り次ぎいただけますでしょうか" in phone.text
    assert "応募者Aと申します" in phone.text and "11月25日(水)" in phone.text
    assert "090-1234-5678までお電話" in phone.text
    assert "【ご担当の方が不在のとき】" in phone.text
    for item in templates.copy_items:
        assert "{" not in item.text and not item.text.startswith("\n")

    assert len(_one_of(_pool(app, "pools.encouragement"), closing.text)) == 1
    assert len(_one_of(_pool(app, "pools.mental_care"), closing.text)) == 1
    assert [(c.label, c.action) for c in closing.choices] == [
        ("フォローした", f"f:{iid}:done"),
        ("結果が来た", f"i:{iid}:res"),
        ("後で", f"f:{iid}:later"),
        ("この面接の通知を止める", f"f:{iid}:mute"),
    ]


async def test_a_late_followup_says_how_late_it_truly_is(app: Renraku) -> None:
    iid = await _seed(app)
    # Sent a week late (downtime, a snooze): it must not pretend today is the promised day.
    check, _, _ = await _compose(app, datetime(2026, 12, 16, 1, 0, tzinfo=UTC), iid)
    assert "約束の日（12月9日(水)）が過ぎました。面接から21日です。" in check.text


async def test_fallbacks_when_name_interviewer_and_contact_are_missing(app: Renraku) -> None:
    iid = await _seed(app, name=None, interviewer=None, contact=None, phone=None, email=None)
    check, templates, _ = await _compose(app, DUE, iid)
    subject, body, phone = templates.copy_items
    assert subject.text == "11月25日(水)の二次面接の選考結果について（〇〇）"
    assert body.text.startswith(f"{COMPANY}\n採用ご担当者様\n")
    assert "採用ご担当の方にお取り次ぎ" in phone.text
    assert "〇〇\n電話: 〇〇〇-〇〇〇〇-〇〇〇〇\nメール: 〇〇〇@〇〇〇" in body.text
    assert "（（" not in _everything([templates])
    assert "検索のヒント" not in check.text
    assert "送り先" not in templates.text and "電話番号:" not in templates.text


async def test_a_phone_result_gets_the_phone_script_first_and_a_number_is_not_an_address(
    app: Renraku,
) -> None:
    iid = await _seed(app, method="phone", contact="03-1234-5678")
    check, templates, _ = await _compose(app, DUE, iid)
    assert [i.label for i in templates.copy_items] == [
        "📞 電話の台本",
        "✉️ メールの件名",
        "✉️ メールの本文",
    ]
    assert "電話番号: 03-1234-5678" in templates.text and "送り先" not in templates.text
    assert "着信履歴" in check.text and "迷惑メール" not in check.text


@pytest.mark.parametrize(
    ("promised", "expected"),
    [
        ("weeks:2", "2週間以内"),
        ("bdays:5", "5営業日以内"),
        ("days:10", "10日以内"),
        ("months:1", "1ヶ月以内"),
        ("date:2026-12-08", "12月8日(火)まで"),
    ],
)
async def test_promised_period_reads_naturally_in_the_templates(
    app: Renraku, promised: str, expected: str
) -> None:
    iid = await _seed(app, promised=promised)
    _, templates, _ = await _compose(app, datetime(2027, 1, 5, 1, 0, tzinfo=UTC), iid)
    body = templates.copy_items[1].text
    assert f"選考結果は{expected}にご連絡をいただけると伺っておりました" in body


async def test_nothing_promised_means_no_promise_anywhere(app: Renraku) -> None:
    iid = await _seed(app, promised="none")
    replies = await _compose(app, DUE, iid)
    text = _everything(replies)
    assert not [w for w in PROMISE_WORDS if w in text], text
    assert "面接から15日が経ちました" in replies[0].text and "目安" in replies[0].text
    assert "面接から2週間以上が経ちましたので" in replies[1].copy_items[1].text
    [halfway] = await _compose(app, HALFWAY, iid, "halfway")
    assert "約束" not in halfway.text and "12月9日(水)を目安" in halfway.text


async def test_applied_through_an_agent_the_agent_is_asked(app: Renraku) -> None:
    iid = await _seed(
        app, applied_via="agent", agent_name="担当さん", agent_contact="agent@example.com"
    )
    check, templates, _ = await _compose(app, DUE, iid)
    assert "エージェントの担当者に確認をお願いしましょう" in templates.text
    assert "送り先: agent@example.com" in templates.text
    assert "saiyo@example.co.jp" not in templates.text and "検索のヒント" not in check.text
    subject, body, phone = templates.copy_items
    assert subject.text == f"{COMPANY}様の選考状況について（応募者A）"
    assert body.text.startswith("担当様\n\nいつもお世話になっております。")
    assert "【エージェントの担当様に】" in phone.text


async def test_english_templates_are_filled_too(app: Renraku) -> None:
    iid = await _seed(app, locale="en", name="Applicant A", interviewer="Recruiter-san")
    check, templates, closing = await _compose(app, DUE, iid)
    subject, body, phone = templates.copy_items
    assert subject.text == "Following up on my second interview on Wed, Nov 25 (Applicant A)"
    assert body.text.startswith("Dear Hiring Team,")
    assert "I had the second interview with you on Wed, Nov 25." in body.text
    assert "hear about the result within 2 weeks" in body.text
    assert "Phone: 090-1234-5678\nEmail: applicant@example.jp" in body.text
    assert "put me through to the person in charge of hiring, please?" in phone.text
    assert (
        "gave for the result, Wed, Dec 9, has passed" in check.text and "spam folder" in check.text
    )
    assert [c.label for c in closing.choices] == [
        "I followed up",
        "Result came",
        "Later",
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

RECHECK_AT = datetime(2026, 12, 15, 1, 0, tzinfo=UTC)  # 3 business days after Thu 12/10


async def test_recheck_names_the_first_followup_and_offers_to_wait(app: Renraku) -> None:
    iid = await _seed(app, followups_sent=1, followed_count=1, first_followup_on=date(2026, 12, 10))
    check, templates, advice = await _compose(app, RECHECK_AT, iid, "recheck")
    assert "問い合わせたのは12月10日(木)でした。それから5日が経ちます。" in check.text
    subject, body, phone = templates.copy_items
    assert subject.text == "【再度のお伺い】11月25日(水)の二次面接の選考結果について（応募者A）"
    assert "12月10日(木)に、選考の状況についてご連絡を差し上げましたが" in body.text
    assert body.text.startswith(f"{COMPANY}\n採用ご担当者様\n")
    assert "たびたび恐れ入りますが" in phone.text
    assert templates.text.count("電話で") == 1 and "メールで" in templates.text
    assert "エージェント" in advice.text and "応募先" in advice.text
    assert len(_one_of(_pool(app, "pools.mental_care"), advice.text)) == 1
    assert [(c.label, c.action) for c in advice.choices] == [
        ("フォローした", f"f:{iid}:done"),
        ("結果が来た", f"i:{iid}:res"),
        ("後で", f"f:{iid}:wait"),
        ("この面接の通知を止める", f"f:{iid}:mute"),
    ]


async def test_a_recheck_without_a_followup_does_not_claim_one(app: Renraku) -> None:
    iid = await _seed(app, followups_sent=1)
    check, templates, _ = await _compose(app, RECHECK_AT, iid, "recheck")
    assert "まだでしたら、今からでも遅くありません" in check.text
    body = templates.copy_items[1].text
    assert "ご連絡を差し上げましたが" not in body and "再度" not in templates.copy_items[0].text
    assert "選考結果は2週間以内にご連絡をいただけると伺っておりました" in body


@pytest.mark.parametrize(
    ("followed", "first", "expected"),
    [
        (0, None, "まだ問い合わせていなくても"),
        (1, date(2026, 12, 10), "12月10日(木)に問い合わせましたが"),
        (2, date(2026, 12, 10), "12月10日(木)から2回問い合わせましたが"),
    ],
)
async def test_after_two_nudges_no_response_is_offered_as_a_choice(
    app: Renraku, followed: int, first: date | None, expected: str
) -> None:
    iid = await _seed(app, followups_sent=2, followed_count=followed, first_followup_on=first)
    replies = await _compose(app, RECHECK_AT, iid, "recheck")
    text = "\n".join(r.text for r in replies)
    assert expected in text and "「連絡なし」として区切りますか" in text
    assert all(not r.copy_items for r in replies)
    assert [(c.label, c.action) for r in replies for c in r.choices] == [
        ("連絡なしにする", f"f:{iid}:none"),
        ("もう少し待つ", f"f:{iid}:more"),
        ("結果が来た", f"i:{iid}:res"),
    ]
    assert (await _interview(app, iid)).status == "waiting"


async def test_halfway_nudge_has_waiting_tips_and_the_check(app: Renraku) -> None:
    iid = await _seed(app, method="both")
    [reply] = await _compose(app, HALFWAY, iid, "halfway")
    assert "面接から7日" in reply.text and "あと7日" in reply.text
    assert "約束の日（12月9日(水)）" in reply.text
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
        ctx.now = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo: quiet hours
        assert followup.hold(ctx, interview, "followup", DUE) is followup.Hold.DEFER
        assert followup.resume_at(ctx, "followup") == datetime(2026, 12, 10, 23, 0, tzinfo=UTC)
        ctx.now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
        assert followup.hold(ctx, interview, "halfway", HALFWAY) is None
        ctx.user.halfway_nudge = False
        assert followup.hold(ctx, interview, "halfway", HALFWAY) is followup.Hold.CANCEL
        await ctx.uow.rollback()


@pytest.mark.parametrize("kind", ["halfway", "followup", "recheck", "followup_later"])
async def test_nothing_that_leads_to_contacting_the_company_goes_out_on_a_day_off(
    app: Renraku, kind: str
) -> None:
    iid = await _seed(app)
    saturday = datetime(2026, 12, 12, 1, 0, tzinfo=UTC)  # 10:00 on Sat 12/12 in Tokyo
    async with _context(app, saturday, iid) as (ctx, interview):
        interview.promised = "weeks:3"  # keep the halfway nudge useful on this day
        assert followup.hold(ctx, interview, kind, saturday) is followup.Hold.DEFER
        assert followup.resume_at(ctx, kind) == datetime(2026, 12, 14, 1, 0, tzinfo=UTC)
        await ctx.uow.rollback()


async def test_after_sent_counts_nudges_and_never_closes_by_itself(app: Renraku) -> None:
    iid = await _seed(app)
    async with _context(app, DUE, iid) as (ctx, interview):
        await followup.after_sent(ctx, interview, "halfway")
        assert interview.followups_sent == 0
        await followup.after_sent(ctx, interview, "followup")
        assert interview.followups_sent == 1
        # Nothing pressed after the follow-up: a re-check comes anyway.
        [recheck] = await ctx.uow.reminders.pending_for_interview(iid)
        assert (recheck.kind, recheck.due_at) == ("recheck", RECHECK_AT)
        recheck.state = "sent"
        ctx.now = RECHECK_AT
        await followup.after_sent(ctx, interview, "recheck")
        assert interview.followups_sent == 2
        # ... and after the last nudge, the closing offer.
        [closing] = await ctx.uow.reminders.pending_for_interview(iid)
        assert (closing.kind, closing.due_at) == (
            "recheck",
            datetime(2026, 12, 18, 1, 0, tzinfo=UTC),
        )
        closing.state = "sent"
        await followup.after_sent(ctx, interview, "recheck")
        assert interview.followups_sent == 2, "the closing offer is not a follow-up push"
        assert interview.status == "waiting", "no response is the user's choice"
        # A snoozed one is the same message again and does not use up a nudge.
        await followup.after_sent(ctx, interview, "recheck_later")
        assert interview.followups_sent == 2
    async with app.uow() as uow:
        assert [h.to_status for h in await uow.history.for_interview(iid)] == []


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
    assert "12月15日(火) 10:00" in chat.text
    assert await _pending(app, iid) == [("recheck", RECHECK_AT)]
    interview = await _interview(app, iid)
    assert interview.status == "followed_up"
    assert (interview.followed_count, interview.first_followup_on) == (1, date(2026, 12, 10))
    async with app.uow() as uow:
        changes = (await uow.session.scalars(select(StatusChange.to_status))).all()
    assert list(changes) == ["waiting", "followed_up"]
    # A second tap counts again but keeps the day of the first follow-up.
    clock.set(RECHECK_AT)
    await chat.act(f"f:{iid}:done")
    interview = await _interview(app, iid)
    assert (interview.followed_count, interview.first_followup_on) == (2, date(2026, 12, 10))


async def test_later_offers_tomorrow_three_days_and_next_week(
    app: Renraku, engine: Engine, clock: ManualClock
) -> None:
    chat, iid = await _registered(app, engine)
    clock.set(DUE)
    await chat.act(f"f:{iid}:later")
    assert "いつもう一度お知らせしましょうか" in chat.text
    assert [(c.label, c.action) for c in chat.choices()] == [
        ("明日", f"f:{iid}:later1"),
        ("3日後", f"f:{iid}:later3"),
        ("来週", f"f:{iid}:laterw"),
    ]
    # Only showing the choices changes nothing yet.
    assert "followup_later" not in [kind for kind, _ in await _pending(app, iid)]


@pytest.mark.parametrize(
    ("op", "shown", "due"),
    [
        # Thu 12/10: tomorrow is Friday; 3 days is Sunday 12/13, so Monday; next week Monday.
        ("later1", "12月11日(金) 10:00", datetime(2026, 12, 11, 1, 0, tzinfo=UTC)),
        ("later3", "12月14日(月) 10:00", datetime(2026, 12, 14, 1, 0, tzinfo=UTC)),
        ("laterw", "12月14日(月) 10:00", datetime(2026, 12, 14, 1, 0, tzinfo=UTC)),
    ],
)
async def test_each_snooze_choice_says_when_and_uses_up_no_nudge(
    app: Renraku, engine: Engine, clock: ManualClock, op: str, shown: str, due: datetime
) -> None:
    chat, iid = await _registered(app, engine)
    clock.set(DUE)
    await chat.act(f"f:{iid}:{op}")
    assert f"{shown} にもう一度お知らせします" in chat.text
    assert await _pending(app, iid) == [("followup_later", due)]
    assert (await _interview(app, iid)).followups_sent == 0


async def test_a_recheck_snooze_stays_a_recheck(
    app: Renraku, engine: Engine, clock: ManualClock
) -> None:
    chat, iid = await _registered(app, engine)
    clock.set(RECHECK_AT)  # Tue 12/15
    await chat.act(f"f:{iid}:wait")
    assert [c.action for c in chat.choices()] == [
        f"f:{iid}:wait1",
        f"f:{iid}:wait3",
        f"f:{iid}:waitw",
    ]
    await chat.act(f"f:{iid}:waitw")
    assert "12月21日(月) 10:00" in chat.text
    assert await _pending(app, iid) == [("recheck_later", datetime(2026, 12, 21, 1, 0, tzinfo=UTC))]


async def test_the_closing_choice_waits_or_records_no_response(
    app: Renraku, engine: Engine, clock: ManualClock
) -> None:
    chat, iid = await _registered(app, engine)
    clock.set(RECHECK_AT)
    await chat.act(f"f:{iid}:more")
    assert await _pending(app, iid) == [("recheck", datetime(2026, 12, 22, 1, 0, tzinfo=UTC))]
    assert (await _interview(app, iid)).status == "waiting"

    await chat.act(f"f:{iid}:none")
    assert "「連絡なし」として記録しました" in chat.text
    assert len(_one_of(_pool(app, "pools.no_response"), chat.text)) == 2
    assert [c.action for c in chat.choices()][:3] == [f"i:{iid}:res", "m:new", "m:list"]
    assert (await _interview(app, iid)).status == "no_response"
    assert await _pending(app, iid) == []
    async with app.uow() as uow:
        assert [h.to_status for h in await uow.history.for_interview(iid)][-1] == "no_response"

    # The card keeps 結果が来た: a late answer can still be recorded.
    await chat.say("/list")
    assert f"i:{iid}:res" in [c.action for c in chat.choices()]
    await chat.act(f"i:{iid}:res")
    await chat.act(f"o:{iid}:pass")
    assert (await _interview(app, iid)).status == "passed"


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
    for op in ("done", "later", "wait", "later1", "waitw", "more", "none", "mute", "came"):
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
