"""Typed answers to a question with buttons: a label or a declared word counts as a tap.

The catalog declares the words per button (``interview.words.stage.second``: the short forms
of the second-round label, its digits and its kana), and every locale's words and labels count,
so an English user may type the Japanese word and a Japanese user the English one. The
matching itself is domain.parsing.matching_values; this module only gathers the words.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from domain.parsing import matching_values
from handlers.context import Context
from messages.catalog import LOCALES


@dataclass(frozen=True, slots=True)
class Option:
    """One button as typing may name it."""

    value: str
    label: str  # catalog key of the button's label
    words: str = ""  # catalog key of a pool of other words that mean it, if any


class Unmatched(enum.Enum):
    UNKNOWN = "unknown"  # none of the options
    AMBIGUOUS = "ambiguous"  # more than one


def typed_choice(ctx: Context, text: str, options: Iterable[Option]) -> str | Unmatched:
    """The value of the one option the text names, or why there is none."""
    forms: dict[str, list[str]] = {}
    for option in options:
        said = forms.setdefault(option.value, [])
        for locale in LOCALES:
            said.append(ctx.catalog.text(locale, option.label))
            if option.words and ctx.catalog.has(locale, option.words):
                said.extend(ctx.catalog.pool(locale, option.words))
    found = matching_values(text, forms)
    if len(found) == 1:
        return next(iter(found))
    return Unmatched.AMBIGUOUS if found else Unmatched.UNKNOWN
