"""How a Reply becomes Bot API messages: HTML, keyboards, copy buttons, Telegram's limits."""

from __future__ import annotations

import html
import re

import pytest

from bot.channels.telegram_render import (
    MAX_KEYBOARD_BUTTONS,
    MAX_MESSAGE_TEXT,
    Outgoing,
    fits_copy_button,
    render,
)
from domain.protocol import Choice, CopyItem, Reply
from tests.fakes.telegram_api import visible_text


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def copy_buttons(message: Outgoing) -> list[tuple[str, str]]:
    """(label, text) of the message's copy buttons, in order."""
    rows = message.keyboard.inline_keyboard if message.keyboard else ()
    return [(b.text, b.copy_text.text) for row in rows for b in row if b.copy_text is not None]


def test_text_is_escaped_for_html() -> None:
    [message] = render(Reply(text="<b>A&B</b> 5 < 6"))
    assert message.html == "&lt;b&gt;A&amp;B&lt;/b&gt; 5 &lt; 6"
    assert visible_text(message.html, "HTML") == "<b>A&B</b> 5 < 6"
    assert message.keyboard is None


def test_choices_are_laid_out_by_columns() -> None:
    choices = tuple(Choice(f"c{n}", f"a:x:{n}") for n in range(5))
    [message] = render(Reply(text="?", choices=choices, columns=2))
    assert message.keyboard is not None
    rows = [[b.callback_data for b in row] for row in message.keyboard.inline_keyboard]
    assert rows == [["a:x:0", "a:x:1"], ["a:x:2", "a:x:3"], ["a:x:4"]]


def test_a_choice_too_long_for_callback_data_is_left_out() -> None:
    long_action = "a:" + "x" * 63
    [message] = render(Reply(text="?", choices=(Choice("ok", "m:new"), Choice("no", long_action))))
    assert message.keyboard is not None
    assert [b.callback_data for row in message.keyboard.inline_keyboard for b in row] == ["m:new"]


@pytest.mark.parametrize(("length", "buttons"), [(1, 1), (256, 1), (257, 2), (600, 3)])
def test_copy_button_limits(length: int, buttons: int) -> None:
    text = "あ" * length
    assert fits_copy_button(text) is (buttons == 1)
    [message] = render(Reply(text="copy", copy_items=(CopyItem("本文", text),)))
    copies = copy_buttons(message)
    assert "".join(copy for _, copy in copies) == text
    assert len(copies) == buttons
    assert all(1 <= utf16(copy) <= 256 for _, copy in copies)
    # A block too long for one button is also a code block, which copies on a tap.
    assert (f"<pre>{text}</pre>" in message.html) is (buttons > 1)
    assert text in visible_text(message.html, "HTML")


def test_emoji_count_twice_towards_the_copy_limit() -> None:
    assert fits_copy_button("😀" * 128)
    assert not fits_copy_button("😀" * 129)


def test_copy_buttons_come_before_choices() -> None:
    [message] = render(
        Reply(
            text="t",
            copy_items=(CopyItem("件名", "subject"),),
            choices=(Choice("done", "f:1:done"),),
        )
    )
    assert message.keyboard is not None
    first, second = message.keyboard.inline_keyboard
    assert first[0].copy_text is not None and first[0].copy_text.text == "subject"
    assert second[0].callback_data == "f:1:done"


def test_a_long_reply_is_split_and_the_keyboard_goes_last() -> None:
    text = "\n".join(f"{n:04d} " + "長い行です。" * 20 for n in range(80))
    messages = render(Reply(text=text, choices=(Choice("ok", "m:list"),)))
    assert len(messages) > 1
    assert all(utf16(m.html) <= MAX_MESSAGE_TEXT for m in messages)
    assert [m.keyboard is not None for m in messages] == [False] * (len(messages) - 1) + [True]
    assert "\n".join(visible_text(m.html, "HTML") for m in messages).replace("\n\n", "\n") == text


def test_a_huge_copy_item_stays_a_code_block_in_every_part() -> None:
    body = "\n".join("本文の行 & <記号> " * 10 for _ in range(200))
    messages = render(Reply(text="head", copy_items=(CopyItem("本文", body),)))
    assert len(messages) > 1
    for message in messages:
        assert utf16(message.html) <= MAX_MESSAGE_TEXT
        visible_text(message.html, "HTML")  # parses: every <pre> is closed, entities whole
    pre = "".join(re.findall(r"<pre>(.*?)</pre>", "".join(m.html for m in messages), re.S))
    assert html.unescape(pre) == body


def test_a_single_line_longer_than_a_message_is_cut() -> None:
    text = "&" * 9000
    messages = render(Reply(text=text))
    assert all(utf16(m.html) <= MAX_MESSAGE_TEXT for m in messages)
    assert "".join(visible_text(m.html, "HTML") for m in messages) == text


def test_an_empty_reply_sends_nothing() -> None:
    assert render(Reply(text="  ")) == []


BODY = "\n\n".join(
    [
        "株式会社ミライ 人事部 採用ご担当者様",
        "お世話になっております。\n11月25日に一次面接を受けました応募者Aです。",
        "先日はお忙しいところ面接の機会をいただき、誠にありがとうございました。" * 3,
        "選考結果のご連絡時期について、差し支えなければお教えいただけますと幸いです。" * 2,
        "――――――――\n応募者A\nメール: a@example.com\n電話: 090-1234-5678",
    ]
)


def test_every_block_is_copyable_and_a_long_one_in_numbered_parts() -> None:
    subject, phone = "選考結果のご連絡について（応募者A）", "お世話になっております。" * 30
    [message] = render(
        Reply(
            text="フォローの時期です。",
            copy_items=(CopyItem("件名", subject), CopyItem("本文", BODY), CopyItem("電話", phone)),
            choices=(Choice("フォローした", "f:1:done"),),
        )
    )
    copies = copy_buttons(message)
    labels = [label for label, _ in copies]
    body_parts = [text for label, text in copies if label.startswith("本文")]
    phone_parts = [text for label, text in copies if label.startswith("電話")]
    assert copies[0] == ("件名", subject)
    assert len(body_parts) >= 2 and "".join(body_parts) == BODY
    assert len(phone_parts) >= 2 and "".join(phone_parts) == phone
    total = len(body_parts)
    assert [label for label in labels if label.startswith("本文")] == [
        f"本文 {n}/{total}" for n in range(1, total + 1)
    ]
    # Parts end where the body's paragraphs end, so each pastes as whole paragraphs.
    assert all(part.endswith("\n\n") for part in body_parts[:-1])
    assert all(utf16(text) <= 256 for _, text in copies)
    # The code blocks stay, and the choice comes after every copy button.
    assert f"<pre>{html.escape(BODY, quote=False)}</pre>" in message.html
    assert message.keyboard is not None
    assert message.keyboard.inline_keyboard[-1][0].callback_data == "f:1:done"


def test_copy_buttons_go_under_the_message_that_carries_their_block() -> None:
    intro = "\n".join("長いご案内の行です。" * 10 for _ in range(30))
    body = "\n".join("本文の行です。" * 10 for _ in range(60))
    messages = render(
        Reply(
            text=intro,
            copy_items=(CopyItem("件名", "件名です"), CopyItem("本文", body)),
            choices=(Choice("ok", "f:1:done"),),
        )
    )
    assert len(messages) > 2
    assert all(utf16(m.html) <= MAX_MESSAGE_TEXT for m in messages)
    where = {
        label.split(" ")[0]: index
        for index, message in enumerate(messages)
        for label, _ in copy_buttons(message)
    }
    subject_at = next(i for i, m in enumerate(messages) if "件名です" in m.html)
    body_ends_at = max(i for i, m in enumerate(messages) if "</pre>" in m.html)
    assert where == {"件名": subject_at, "本文": body_ends_at}
    body_parts = [text for m in messages for label, text in copy_buttons(m) if label != "件名"]
    assert "".join(body_parts) == body
    last = messages[-1].keyboard
    assert last is not None and last.inline_keyboard[-1][0].callback_data == "f:1:done"


def test_a_keyboard_never_passes_a_hundred_buttons() -> None:
    huge = "あ" * 256 * 60  # 60 parts
    messages = render(
        Reply(
            text="t",
            copy_items=(
                CopyItem("件名", "件名です"),
                CopyItem("本文", huge),
                CopyItem("電話", huge),
            ),
            choices=tuple(Choice(f"c{n}", f"a:{n}") for n in range(4)),
        )
    )
    for message in messages:
        rows = message.keyboard.inline_keyboard if message.keyboard else ()
        assert sum(len(row) for row in rows) <= MAX_KEYBOARD_BUTTONS
    copies = [label for m in messages for label, _ in copy_buttons(m)]
    # A block is copyable in full or not by buttons at all (its code block still is).
    assert copies.count("件名") == 1
    assert sum(label.startswith("本文") for label in copies) == 60
    assert not any(label.startswith("電話") for label in copies)
