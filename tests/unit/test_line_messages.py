"""Packing replies into LINE message objects: five at most, quick reply last, limits kept."""

from __future__ import annotations

import json
from typing import Any

from bot.channels import utf16
from bot.channels.line_messages import (
    shorten,
    split_text,
    to_line_messages,
)
from domain.protocol import Choice, CopyItem, Document, Reply
from tests.fakes.line_api import clipboard_actions, postback_buttons, validate_messages

MENU = (
    Choice("面接を記録", "m:new"),
    Choice("一覧", "m:list"),
    Choice("設定", "m:settings"),
    Choice("ヘルプ", "m:help"),
)


def _dicts(replies: list[Reply]) -> list[dict[str, Any]]:
    messages = [m.to_dict() for m in to_line_messages(replies)]
    validate_messages(messages)  # the fake's checks are LINE's limits
    return messages


def _card(number: int) -> Reply:
    choices = (
        Choice("結果が来た", f"i:{number}:res"),
        Choice("修正", f"i:{number}:edit"),
        Choice("削除", f"i:{number}:del"),
    )
    return Reply(f"株式会社{number}\n▓▓▓▓░░░░░░ 4/14日", choices)


def test_plain_texts_join_into_one_message_with_the_menu_as_quick_reply() -> None:
    messages = _dicts([Reply("一つ目"), Reply("二つ目"), Reply("三つ目", MENU)])
    assert len(messages) == 1
    assert messages[0]["text"] == "一つ目\n\n二つ目\n\n三つ目"
    items = messages[0]["quickReply"]["items"]
    assert [i["action"]["data"] for i in items] == ["m:new", "m:list", "m:settings", "m:help"]
    assert all(i["action"]["type"] == "postback" for i in items)
    assert items[0]["action"]["displayText"] == "面接を記録"


def test_a_question_followed_by_a_tip_keeps_its_buttons_as_the_quick_reply() -> None:
    question = Reply("どうしますか", (Choice("はい", "a:x:y:yes"), Choice("いいえ", "a:x:y:no")))
    messages = _dicts([question, Reply("ひとこと")])
    assert len(messages) == 1
    assert [b["data"] for b in postback_buttons(messages)] == ["a:x:y:yes", "a:x:y:no"]
    assert "quickReply" in messages[-1]


def test_a_long_list_becomes_a_carousel_of_cards_within_five_messages() -> None:
    replies = [
        Reply("一覧 (14件)"),
        *[_card(n) for n in range(10)],
        Reply("ほか4件"),
        Reply("以上", MENU),
    ]
    messages = _dicts(replies)
    assert len(messages) <= 5
    carousel = next(m for m in messages if m["type"] == "flex")
    assert carousel["contents"]["type"] == "carousel"
    assert len(carousel["contents"]["contents"]) == 10
    data = [b["data"] for b in postback_buttons([carousel])]
    assert "i:0:res" in data and "i:9:del" in data
    assert "quickReply" in messages[-1] and "quickReply" not in messages[0]


def test_a_few_cards_stay_separate_bubbles() -> None:
    messages = _dicts([Reply("一覧 (2件)"), _card(1), _card(2), Reply("以上", MENU)])
    assert [m["type"] for m in messages] == ["text", "flex", "flex", "text"]
    assert all(m["contents"]["type"] == "bubble" for m in messages if m["type"] == "flex")


def test_without_quick_reply_every_button_stays_on_a_bubble() -> None:
    messages = [m.to_dict() for m in to_line_messages([Reply("お知らせ", MENU)], quick_reply=False)]
    validate_messages(messages)
    assert "quickReply" not in messages[0]
    assert [b["data"] for b in postback_buttons(messages)] == [c.action for c in MENU]


def test_more_than_five_separate_messages_fold_into_the_last_one() -> None:
    long = "あ" * 4990
    copy = Reply("コピー", copy_items=(CopyItem("件名", "お礼"),))
    replies = [
        Reply(long),
        copy,
        Reply(long),
        copy,
        Reply(long),
        copy,
        Reply(long),
        Reply("end", MENU),
    ]
    messages = _dicts(replies)
    assert len(messages) == 5
    assert len(clipboard_actions(messages)) == 3
    assert "quickReply" in messages[-1]


def test_copy_items_become_clipboard_buttons_with_the_text_visible() -> None:
    body = "お世話になっております。\n" * 120  # longer than one clipboard action holds
    reply = Reply(
        "フォローの文面です",
        choices=(Choice("フォローした", "f:1:done"),),
        copy_items=(CopyItem("件名", "面接のお礼"), CopyItem("本文", body)),
    )
    messages = _dicts([reply, Reply("がんばりましょう", MENU)])
    clips = clipboard_actions(messages)
    assert clips[0] == {"type": "clipboard", "label": "件名", "clipboardText": "面接のお礼"}
    assert "".join(c["clipboardText"] for c in clips[1:]) == body
    assert all(utf16.length(c["clipboardText"]) <= 1000 for c in clips)
    assert [c["label"] for c in clips[1:]] == [
        f"本文 {n}/{len(clips) - 1}" for n in range(1, len(clips))
    ]
    text = json.dumps(messages, ensure_ascii=False)
    assert "面接のお礼" in text and "フォローの文面です" in text
    # The follow-up's own button stays on its bubble; the last reply's menu is the quick reply.
    assert "f:1:done" in [b["data"] for b in postback_buttons([messages[0]])]


def test_labels_are_cut_to_the_limits_with_an_ellipsis() -> None:
    label = "とても長いボタンのラベルで二十文字を超えてしまうもの"
    messages = _dicts([Reply("選んでください", (Choice(label, "a:x:y:z"),))])
    action = messages[0]["quickReply"]["items"][0]["action"]
    assert action["label"] == label[:19] + "…"
    assert action["displayText"] == label


def test_more_than_thirteen_choices_become_bubble_buttons() -> None:
    many = tuple(Choice(f"項目{n}", f"a:x:y:{n}") for n in range(15))
    messages = _dicts([Reply("どれですか", many)])
    assert "quickReply" not in messages[-1]
    assert len(postback_buttons(messages)) == 15


def test_a_document_is_sent_as_text_chunks() -> None:
    short = json.dumps({"interviews": []}).encode()
    messages = _dicts(
        [Reply("エクスポートです", document=Document("e.json", short)), Reply("以上", MENU)]
    )
    assert len(messages) == 1 and short.decode() in messages[0]["text"]

    long = json.dumps({"interviews": ["x" * 100] * 120}, indent=2).encode()
    messages = _dicts(
        [Reply("エクスポートです", document=Document("e.json", long)), Reply("以上", MENU)]
    )
    texts = [m["text"] for m in messages]
    assert len(messages) <= 5
    assert all(any(chunk in t for t in texts) for chunk in split_text(long.decode()))


def test_text_helpers_count_like_line() -> None:
    assert utf16.length("🍎") == 2
    assert shorten("🍎" * 30, 20) == "🍎" * 9 + "…"
    chunks = split_text("行\n" * 3000, 5000)
    assert "".join(chunks) == "行\n" * 3000
    assert all(utf16.length(c) <= 5000 and c.endswith("\n") for c in chunks)


def test_nothing_to_say_sends_nothing() -> None:
    assert to_line_messages([]) == []
