"""Tips that fit: never one that contradicts the result method or the moment, never twice soon."""

from __future__ import annotations

import pytest

from handlers import planning
from handlers.context import Context
from messages.catalog import LOCALES
from tests.unit.test_followup_texts import CATALOG, _context

SPAM = ("迷惑メール", "spam folder")
CALLS = ("着信", "missed calls", "voicemail", "phone number in your contacts")
STILL_WAITING = ("不合格を意味しません", "does not mean a rejection", "確かめたく", "checking for")


def _ctx(locale: str = "ja") -> Context:
    ctx, _ = _context(locale=locale)
    return ctx


def _draw(ctx: Context, pool: str, times: int, **kw: object) -> list[str]:
    shown: list[str] = []
    for _ in range(times):
        shown += planning.pick_tips(ctx, pool, 2, **kw)  # type: ignore[arg-type]
    return shown


@pytest.mark.parametrize("locale", LOCALES)
def test_a_phone_only_result_gets_no_spam_folder_tip(locale: str) -> None:
    shown = _draw(_ctx(locale), "pools.waiting", 40, allow=planning.waiting_tags("phone"))
    assert not [t for t in shown if any(w in t for w in SPAM)]
    assert [t for t in shown if any(w in t for w in CALLS)], "the phone tips never came"


@pytest.mark.parametrize("locale", LOCALES)
def test_an_email_only_result_gets_no_missed_calls_tip(locale: str) -> None:
    shown = _draw(_ctx(locale), "pools.waiting", 40, allow=planning.waiting_tags("email"))
    assert not [t for t in shown if any(w in t for w in CALLS)]
    assert [t for t in shown if any(w in t for w in SPAM)], "the email tip never came"


@pytest.mark.parametrize("locale", LOCALES)
def test_after_the_wait_no_tip_says_keep_watching(locale: str) -> None:
    shown = _draw(_ctx(locale), "pools.mental_care", 40)
    assert not [t for t in shown if any(w in t for w in STILL_WAITING)]
    assert not [t for t in shown if t.startswith("[")], "a tag was shown"


def test_no_tip_comes_back_within_five_and_none_twice_in_one_message() -> None:
    ctx = _ctx()
    shown = [planning.pick_tips(ctx, "pools.mental_care", 1)[0] for _ in range(6)]
    assert len(set(shown)) == 6
    [first] = planning.pick_tips(ctx, "pools.encouragement", 1)
    [second] = planning.pick_tips(ctx, "pools.encouragement", 1, avoid=[first])
    assert first != second


def test_a_tip_shown_from_one_pool_is_not_repeated_from_another() -> None:
    ctx = _ctx()
    [shown] = planning.pick_tips(ctx, "pools.waiting", 1)
    ctx.catalog.entries["ja"]["pools.twin"] = (shown, *CATALOG.pool("ja", "pools.waiting"))  # type: ignore[index]
    try:
        for _ in range(10):
            assert shown not in planning.pick_tips(ctx, "pools.twin", 1)
    finally:
        del ctx.catalog.entries["ja"]["pools.twin"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_reflection_question_stands_on_its_own(locale: str) -> None:
    for question in CATALOG.pool(locale, "pools.reflection_questions"):
        assert not question.startswith(("その", "それ", "How would you answer that")), question


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("method", [None, "email", "phone", "both"])
def test_every_pool_keeps_eight_that_fit(locale: str, method: str | None) -> None:
    allow = planning.waiting_tags(method) if method else frozenset()
    for pool in ("waiting", "mental_care", "encouragement", "after_rejection", "no_response"):
        fits = [
            text
            for tags, text in map(planning.split_tip, CATALOG.pool(locale, f"pools.{pool}"))
            if tags <= allow
        ]
        assert len(fits) >= 8, (pool, method)
