"""Understanding what users type: dates, promised waiting periods, contacts, free text, ids and
short words that pick a choice.

Job seekers answer the bot's questions on a phone keyboard, in Japanese or English, with
full-width digits, weekday suffixes like "(水)" and a dozen spellings of "one month".
Each parser turns one such answer into a value or None; none of them raises on user input
and none of them talks to the user (wording lives in the message catalogues). Only the
tokens users type (今日, 営業日, ...) appear here, as patterns. One module per kind of answer.
"""

from domain.parsing.contacts import Contact, parse_contact
from domain.parsing.dates import Prefer, parse_date
from domain.parsing.ids import parse_id
from domain.parsing.moments import parse_moment
from domain.parsing.periods import parse_period
from domain.parsing.text import TextProblem, clean_text
from domain.parsing.words import fold_word, matching_values

__all__ = [
    "Contact",
    "Prefer",
    "TextProblem",
    "clean_text",
    "fold_word",
    "matching_values",
    "parse_contact",
    "parse_date",
    "parse_id",
    "parse_moment",
    "parse_period",
]
