"""Folding and matching the short words typed for a choice (domain.parsing)."""

from __future__ import annotations

import pytest

from domain.parsing import fold_word, matching_values

STAGES = {
    "first": ["一次面接", "一次", "1次"],
    "second": ["二次面接", "二次", "2次"],
    "final": ["最終面接", "最終"],
}


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("メール", "めーる"),
        ("ﾒｰﾙ", "めーる"),
        ("デンワ", "でんわ"),
        ("２次", "2次"),
        ("E-Mail", "e-mail"),
        ("  Yes!  ", "yes"),
        ("二次です。", "二次"),
        ("電話で", "電話"),
        ("「最終」", "最終"),
        ("job   site", "job site"),
        # An ending alone is kept, not folded to nothing.
        ("で", "で"),
        ("です", "です"),
    ],
)
def test_fold_word(typed: str, folded: str) -> None:
    assert fold_word(typed) == folded


@pytest.mark.parametrize(
    ("typed", "values"),
    [
        ("二次", {"second"}),
        ("２次", {"second"}),
        ("最終です", {"final"}),
        ("二次面接", {"second"}),
        ("三次", set()),
        ("", set()),
        ("   ", set()),
        ("二" * 1000, set()),
    ],
)
def test_matching_values(typed: str, values: set[str]) -> None:
    assert matching_values(typed, STAGES) == values


def test_a_word_declared_for_two_values_matches_both() -> None:
    assert matching_values("二次", STAGES | {"other": ["二次"]}) == {"second", "other"}
