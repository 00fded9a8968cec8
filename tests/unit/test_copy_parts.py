"""A long copy block as numbered copy buttons: pasted in order, the parts give back the block."""

from __future__ import annotations

import random

import pytest
import regex

from bot.channels.copy_parts import numbered, split_for_copy


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def graphemes(text: str) -> list[str]:
    return regex.findall(r"\X", text)


def assert_parts(text: str, parts: list[str], limit: int) -> None:
    assert "".join(parts) == text
    assert all(1 <= utf16(part) <= limit for part in parts), [utf16(p) for p in parts]
    assert all(len(part) <= limit for part in parts)
    # Every cut falls between two grapheme clusters: the clusters of the parts are the text's.
    assert [g for part in parts for g in graphemes(part)] == graphemes(text)


PARAGRAPHS = [
    "株式会社ミライ 人事部 採用ご担当者様",
    "お世話になっております。\n11月25日に一次面接を受けました応募者Aです。",
    "先日は面接の機会をいただき、ありがとうございました。\n選考結果のご連絡時期について確認させてください。",
    "――――――――\n応募者A\nメール: a@example.com\n電話: 090-1234-5678",
]
BODY = "\n\n".join(PARAGRAPHS)


def test_a_block_that_fits_is_one_part_and_an_empty_one_none() -> None:
    assert split_for_copy("件名", 256) == ["件名"]
    assert split_for_copy("あ" * 256, 256) == ["あ" * 256]
    assert split_for_copy("", 256) == []


def test_paragraph_boundaries_come_first_and_keep_their_blank_line() -> None:
    limit = max(utf16(p) for p in PARAGRAPHS) + 2
    parts = split_for_copy(BODY, limit)
    assert_parts(BODY, parts, limit)
    assert len(parts) > 1
    # Each part but the last ends where a paragraph ended, blank line included.
    assert all(part.endswith("\n\n") for part in parts[:-1])
    assert all(part.rstrip("\n") in BODY.split("\n\n") or "\n\n" in part for part in parts)


def test_a_paragraph_too_long_is_cut_between_its_lines() -> None:
    paragraph = "\n".join(f"{n}行目の文章です。" * 3 for n in range(10))
    text = paragraph + "\n\n最後の段落。"
    limit = 60
    parts = split_for_copy(text, limit)
    assert_parts(text, parts, limit)
    assert all(part.endswith("\n") for part in parts[:-1])


def test_a_line_too_long_is_cut_after_a_sentence() -> None:
    line = "ご多忙のところ恐れ入ります。" * 30
    parts = split_for_copy(line, 100)
    assert_parts(line, parts, 100)
    assert all(part.endswith("。") for part in parts)


def test_a_line_with_no_break_at_all_is_cut_at_the_limit() -> None:
    line = "あ" * 600
    parts = split_for_copy(line, 256)
    assert_parts(line, parts, 256)
    assert [len(p) for p in parts] == [256, 256, 88]


@pytest.mark.parametrize(
    "emoji",
    ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇯🇵", "☎️", "1️⃣"],
)
def test_emoji_are_never_cut(emoji: str) -> None:
    text = ("連絡" + emoji) * 200
    for limit in (16, 64, 255, 256, 999, 1000):
        assert_parts(text, split_for_copy(text, limit), limit)


def test_the_line_break_stays_on_the_piece_before_the_next_line() -> None:
    text = "い" * 256 + "\n" + "ろ" * 10
    parts = split_for_copy(text, 256)
    assert_parts(text, parts, 256)
    # No part is only the line break.
    assert all(part.strip() for part in parts)


def test_limits_for_telegram_and_line() -> None:
    body = BODY * 12
    telegram = split_for_copy(body, 256)
    line = split_for_copy(body, 1000)
    assert_parts(body, telegram, 256)
    assert_parts(body, line, 1000)
    assert len(line) < len(telegram)


def test_random_texts_always_come_back_whole() -> None:
    pieces = ["あ", "a", " ", "。", "、", "\n", "\n\n", "😀", "👨‍👩‍👧", "🇯🇵", "é", "\u3000"]
    generator = random.Random(20261125)
    for _ in range(300):
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(1, 400)))
        if not text.strip():
            continue
        limit = generator.choice([8, 16, 50, 256])
        assert_parts(text, split_for_copy(text, limit), limit)


def test_numbered_labels() -> None:
    assert numbered("本文", 1, 1) == "本文"
    assert [numbered("本文", n, 3) for n in (1, 2, 3)] == ["本文 1/3", "本文 2/3", "本文 3/3"]
