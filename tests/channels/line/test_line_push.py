"""Reminders on LINE: one push request each, a retry key kept across retries, errors mapped."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku, bootstrap
from bot.channels.line import LineChannel, retry_key
from bot.web import Metrics, WebServer
from domain.protocol import (
    Choice,
    CopyItem,
    PermanentFailure,
    RecipientGone,
    Reply,
    RetryLater,
)
from storage.models import Reminder, ReminderKind, ReminderState, User
from tests.channels.copied import filled_templates, pasted
from tests.channels.line.support import LineUser, line_channel, onboard, register_interview
from tests.fakes.line_api import (
    DEFAULT_SECRET,
    DEFAULT_TOKEN,
    FakeLineApi,
    all_text,
    clipboard_actions,
    postback_buttons,
    utf16_len,
)
from tests.support import ManualClock, sqlite_settings

USER = "U1234567890abcdef1234567890abcdef"


def _reminder_replies() -> list[Reply]:
    return [
        Reply(
            "まず迷惑メールフォルダと着信履歴を確認しましょう。",
            (Choice("結果が来てた", "o:1:came"),),
        ),
        Reply(
            "株式会社サンプルへのフォローの文面です。",
            copy_items=(
                CopyItem("件名", "面接のお礼と選考状況のご確認（応募者）"),
                CopyItem(
                    "本文", "株式会社サンプル\n人事部 採用担当 様\n\nお世話になっております。" * 8
                ),
                CopyItem("電話", "お世話になっております。応募者と申します。" * 5),
            ),
        ),
        Reply("ここまでよく待ちました。深呼吸してから送りましょう。"),
        Reply(
            "送ったら教えてください。",
            (
                Choice("フォローした", "f:1:done"),
                Choice("結果が来た", "i:1:res"),
                Choice("3日後にもう一度", "f:1:later"),
                Choice("この面接の通知を止める", "f:1:mute"),
            ),
        ),
    ]


async def test_a_reminder_is_one_push_with_clipboard_actions(
    line_app: Renraku, line_api: FakeLineApi
) -> None:
    key = str(uuid.uuid4())
    await line_channel(line_app).push(USER, _reminder_replies(), idempotency_key=key)

    (push,) = line_api.push_attempts
    assert push.status == 200 and push.to == USER and push.retry_key == key
    assert 1 <= len(push.messages) <= 5
    clips = clipboard_actions(push.messages)
    assert [c["label"] for c in clips] == ["件名", "本文", "電話"]
    assert clips[0]["clipboardText"] == "面接のお礼と選考状況のご確認（応募者）"
    # A reminder's buttons stay in the chat (a quick reply would vanish at the next message).
    assert all("quickReply" not in m for m in push.messages)
    assert [b["data"] for b in postback_buttons(push.messages)] == [
        "o:1:came",
        "f:1:done",
        "i:1:res",
        "f:1:later",
        "f:1:mute",
    ]
    assert [m["type"] for m in push.messages] == ["flex", "flex", "text", "flex"]
    assert line_api.replies == []


async def test_a_retry_with_the_same_key_is_accepted_once(
    line_app: Renraku, line_api: FakeLineApi
) -> None:
    channel = line_channel(line_app)
    key = str(uuid.uuid4())
    await channel.push(USER, _reminder_replies(), idempotency_key=key)
    # The answer got lost on the way back, say: the dispatcher tries again with the same key.
    await channel.push(USER, _reminder_replies(), idempotency_key=key)

    assert [p.status for p in line_api.push_attempts] == [200, 409]
    assert {p.retry_key for p in line_api.push_attempts} == {key}
    assert len(line_api.accepted_pushes) == 1


@pytest.mark.parametrize(
    ("status", "headers", "raised", "retry_after"),
    [
        (429, {"Retry_After": "7"}, RetryLater, 7.0),
        (429, {}, RetryLater, None),
        (500, {}, RetryLater, None),
        (503, {}, RetryLater, None),
        # A revoked token, an account not allowed to push: the operator's to fix; it waits.
        (401, {}, RetryLater, None),
        (403, {}, RetryLater, None),
        (404, {}, RecipientGone, None),
        (400, {}, PermanentFailure, None),
    ],
)
async def test_push_errors_map_to_what_the_dispatcher_understands(
    line_app: Renraku,
    line_api: FakeLineApi,
    status: int,
    headers: dict[str, str],
    raised: type[Exception],
    retry_after: float | None,
) -> None:
    channel = line_channel(line_app)
    key = str(uuid.uuid4())
    line_api.fail_next_push(status, **headers)
    with pytest.raises(raised) as caught:
        await channel.push(USER, [Reply("テスト")], idempotency_key=key)
    if isinstance(caught.value, RetryLater):
        assert caught.value.retry_after == retry_after
        # The retry carries the same key, and LINE takes it the first time it succeeds.
        await channel.push(USER, [Reply("テスト")], idempotency_key=key)
        assert line_api.accepted_pushes[-1].retry_key == key


async def test_an_unreachable_api_means_retry_later(tmp_path: Path) -> None:
    settings = sqlite_settings(
        tmp_path,
        line_channel_secret=DEFAULT_SECRET,
        line_channel_access_token=DEFAULT_TOKEN,
        line_api_base_url="http://127.0.0.1:9",
    )
    metrics = Metrics()

    async def handle(_: object) -> list[Reply]:
        return []

    channel = LineChannel(handle, settings, web=WebServer("127.0.0.1", 0, metrics), metrics=metrics)
    await channel.start()
    try:
        with pytest.raises(RetryLater):
            await channel.push(USER, [Reply("テスト")], idempotency_key=str(uuid.uuid4()))
    finally:
        await channel.stop()


def test_a_key_that_is_not_a_uuid_still_maps_to_one_stable_uuid() -> None:
    assert retry_key("reminder-42") == retry_key("reminder-42") != retry_key("reminder-43")
    assert str(uuid.UUID(retry_key("reminder-42"))) == retry_key("reminder-42")
    key = str(uuid.uuid4())
    assert retry_key(key) == key


async def _reminders(app: Renraku) -> list[Reminder]:
    async with app.uow() as uow:
        return list((await uow.session.scalars(select(Reminder).order_by(Reminder.due_at))).all())


async def test_the_promised_day_brings_one_personalised_follow_up_push(
    line_app: Renraku, line_api: FakeLineApi, line_user: LineUser, clock: ManualClock
) -> None:
    await onboard(line_user, "応募者B")
    await register_interview(line_user, "株式会社サンプル")
    replies_before = len(line_api.replies)
    assert line_app.dispatcher is not None
    followup = next(r for r in await _reminders(line_app) if r.kind == ReminderKind.FOLLOWUP.value)
    # 2週間以内 from Wednesday 25 November: the promised Wednesday 9 December is the
    # company's; the follow-up comes on Thursday 10 December, 10:00 in Tokyo.
    assert followup.due_at == datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
    async with line_app.uow() as uow:
        user = (await uow.session.scalars(select(User))).one()
        user.phone, user.email = "090-1234-5678", "applicant@example.jp"
        await uow.commit()

    clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=UTC))  # 18:00 on the promised day
    assert await line_app.dispatcher.run_due() == 0
    assert not [p for p in line_api.accepted_pushes if clipboard_actions(p.messages)]

    clock.set(datetime(2026, 12, 10, 1, 5, tzinfo=UTC))
    await line_app.dispatcher.run_due()
    await line_app.dispatcher.run_due()  # nothing is due twice

    with_copies = [p for p in line_api.accepted_pushes if clipboard_actions(p.messages)]
    assert len(with_copies) == 1
    push = with_copies[0]
    assert push.to == line_user.user_id
    assert push.retry_key == followup.idempotency_key
    assert 1 <= len(push.messages) <= 5
    copied = "\n".join(c["clipboardText"] for c in clipboard_actions(push.messages))
    assert (
        "応募者B" in copied and "株式会社サンプル" in copied and "人事部\n採用ご担当者様" in copied
    )
    assert "電話: 090-1234-5678\nメール: applicant@example.jp" in copied  # the 署名
    assert "株式会社サンプル" in all_text(push.messages)
    assert all(p.status == 200 for p in line_api.push_attempts)
    assert line_api.rejections == []
    assert len(line_api.replies) == replies_before  # the reminder was pushed, not replied

    sent = {r.kind: r.state for r in await _reminders(line_app)}
    assert sent[ReminderKind.FOLLOWUP.value] == ReminderState.SENT.value

    # A button under the pushed reminder comes back as a postback and is answered by reply.
    line_user.last = push.messages
    labels = [b.get("displayText") for b in postback_buttons(push.messages)]
    assert labels, json.dumps(push.messages, ensure_ascii=False)[:500]
    await line_user.tap(postback_buttons(push.messages)[-1]["data"])
    assert len(line_api.replies) == replies_before + 1


async def test_every_block_of_the_follow_up_is_a_clipboard_action_that_copies_it_whole(
    line_app: Renraku, line_api: FakeLineApi, line_user: LineUser, clock: ManualClock
) -> None:
    await onboard(line_user, "応募者B")
    await register_interview(line_user, "株式会社サンプル")
    assert line_app.dispatcher is not None
    # 10:05 in Tokyo on Thursday 12/10, the business day after the promised day.
    clock.set(datetime(2026, 12, 10, 1, 5, tzinfo=UTC))
    await line_app.dispatcher.run_due()
    [push] = [p for p in line_api.accepted_pushes if clipboard_actions(p.messages)]

    templates = await filled_templates(line_app, "line", line_user.user_id, clock())
    actions = [(c["label"], c["clipboardText"]) for c in clipboard_actions(push.messages)]
    parts = pasted(actions)
    assert {label: "".join(texts) for label, texts in parts.items()} == templates
    assert all(1 <= utf16_len(text) <= 1000 for _, text in actions)
    for label, text in templates.items():
        # One action for a block that fits one, numbered ones (in order) for a longer block.
        assert (len(parts[label]) > 1) == (utf16_len(text) > 1000)
        assert text in all_text(push.messages)


async def test_a_long_block_becomes_numbered_clipboard_actions_that_paste_back_whole(
    line_app: Renraku, line_api: FakeLineApi
) -> None:
    body = "\n\n".join(f"第{n}段落です。" + "ご多忙のところ恐れ入ります。" * 12 for n in range(12))
    reply = Reply("フォローの文面です。", copy_items=(CopyItem("本文", body),))
    await line_channel(line_app).push(USER, [reply], idempotency_key=str(uuid.uuid4()))
    [push] = line_api.accepted_pushes
    actions = [(c["label"], c["clipboardText"]) for c in clipboard_actions(push.messages)]
    assert utf16_len(body) > 2000
    assert [label for label, _ in actions] == [
        f"本文 {n}/{len(actions)}" for n in range(1, len(actions) + 1)
    ]
    assert "".join(text for _, text in actions) == body
    assert all(utf16_len(text) <= 1000 for _, text in actions)
    # Cut between paragraphs: every part but the last ends with the blank line after it.
    assert all(text.endswith("\n\n") for _, text in actions[:-1])


@pytest.fixture
async def paced_line_app(
    tmp_path: Path, line_api: FakeLineApi, clock: ManualClock
) -> AsyncIterator[Renraku]:
    settings = sqlite_settings(
        tmp_path,
        line_channel_secret=DEFAULT_SECRET,
        line_channel_access_token=DEFAULT_TOKEN,
        line_api_base_url=line_api.base_url,
        line_push_rate=PUSH_RATE,
    )
    app = await bootstrap(settings, clock=clock)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


PUSH_RATE = 20.0


async def test_a_burst_of_pushes_keeps_the_push_rate(
    paced_line_app: Renraku, line_api: FakeLineApi
) -> None:
    channel = line_channel(paced_line_app)
    users = [f"U{n:032x}" for n in range(8)]
    await asyncio.gather(
        *(
            channel.push(user, [Reply(f"通知{n}")], idempotency_key=str(uuid.uuid4()))
            for n, user in enumerate(users)
        )
    )
    burst = line_api.accepted_pushes
    assert sorted(p.to for p in burst) == users
    span = burst[-1].at - burst[0].at
    # Seven gaps of 1/20 s are 0.35 s; the margin is for the way there, never a faster pace.
    assert (len(burst) - 1) / span <= PUSH_RATE * 1.25, span


async def test_no_push_after_unfollow(
    line_app: Renraku, line_api: FakeLineApi, line_user: LineUser, clock: ManualClock
) -> None:
    await onboard(line_user)
    await register_interview(line_user)
    assert await line_user.client.post(line_api.unfollow(line_user.user_id)) == 200
    await line_channel(line_app).wait_idle()

    clock.set(datetime(2027, 1, 15, 1, 0, tzinfo=UTC))
    assert line_app.dispatcher is not None
    assert await line_app.dispatcher.run_due() == 0
    assert line_api.push_attempts == []
