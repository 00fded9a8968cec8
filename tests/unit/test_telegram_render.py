"""How a Reply becomes Bot API messages: HTML, keyboards, copy buttons, Telegram's limits."""

from __future__ import annotations

import html
import re

import pytest

from bot.channels.telegram_render import MAX_MESSAGE_TEXT, fits_copy_button, render
from domain.protocol import Choice, CopyItem, Reply
from tests.fakes.telegram_api import visible_text


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


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


@pytest.mark.parametrize(("length", "button"), [(1, True), (256, True), (257, False)])
def test_copy_button_limits(length: int, button: bool) -> None:
    text = "あ" * length
    assert fits_copy_button(text) is button
    [message] = render(Reply(text="copy", copy_items=(CopyItem("本文", text),)))
    copies = [
        b.copy_text.text
        for row in (message.keyboard.inline_keyboard if message.keyboard else ())
        for b in row
        if b.copy_text is not None
    ]
    assert copies == ([text] if button else [])
    assert (f"<pre>{text}</pre>" in message.html) is not button
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
