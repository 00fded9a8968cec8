"""Load the TOML catalogs and look texts up by key; plurals and dates come from Babel (CLDR).

Each locale is a folder under ``locales/``; every ``*.toml`` file in it is merged, and nested
tables become dotted keys (``[interview.ask] company = "..."`` is ``interview.ask.company``).
A value is one of:

- a text with ``{placeholders}`` (``str.format``);
- a list of texts (a tip pool);
- a plural table: ``weeks = { plural_by = "n", one = "within {n} week", other = "within {n}
  weeks" }``. ``plural_by`` names the numeric parameter whose CLDR plural category (``zero``,
  ``one``, ``two``, ``few``, ``many``, ``other``) picks the form, by the locale's rules
  (English: one, other; Japanese: other only). Every locale gives the same ``plural_by``.

Dates are written by CLDR patterns kept in each locale's ``[format]`` table (``date_pattern``,
``datetime_pattern``), so weekday and month names come from CLDR, not from our own lists.

TOML rather than gettext or Fluent files: the catalogs hold pools and multi-line templates as well
as single strings, translators read them without a compile step, and several people edit them at
once; Babel adds only what TOML and ``str.format`` cannot do (plural rules, locale-aware dates).
"""

from __future__ import annotations

import functools
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime

DEFAULT_LOCALE = "ja"
LOCALES = ("ja", "en")

PLURAL_BY = "plural_by"
CLDR_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})
DATE_PATTERN_KEY = "format.date_pattern"
DATETIME_PATTERN_KEY = "format.datetime_pattern"


@dataclass(frozen=True)
class Plural:
    """One text in several CLDR plural forms, picked by the number in parameter ``by``."""

    by: str
    forms: Mapping[str, str]


Entry = str | tuple[str, ...] | Plural


def _plural(dotted: str, table: Mapping[str, Any]) -> Plural:
    by = table[PLURAL_BY]
    forms = {k: v for k, v in table.items() if k != PLURAL_BY}
    unknown = forms.keys() - CLDR_CATEGORIES
    if not isinstance(by, str) or not by or unknown or "other" not in forms:
        raise ValueError(
            f"plural entry {dotted!r} needs plural_by and CLDR forms incl. 'other'"
            f" (unknown: {sorted(unknown)})"
        )
    if not all(isinstance(v, str) for v in forms.values()):
        raise ValueError(f"plural entry {dotted!r}: every form must be a text")
    return Plural(by=by, forms=forms)


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, Entry]) -> None:
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and PLURAL_BY in value:
            out[dotted] = _plural(dotted, value)
        elif isinstance(value, Mapping):
            _flatten(dotted, value, out)
        elif isinstance(value, str):
            out[dotted] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[dotted] = tuple(value)
        else:
            raise ValueError(f"catalog entry {dotted!r} must be a text or a list of texts")


def placeholders(text: str | Plural) -> frozenset[str]:
    """Name every ``{placeholder}`` in a text, or in any form of a plural entry."""
    if isinstance(text, Plural):
        return frozenset().union(*(placeholders(form) for form in text.forms.values()))
    return _placeholders_of(text)


# A catalog's texts are few and fixed: each is parsed once.
@functools.lru_cache(maxsize=4096)
def _placeholders_of(text: str) -> frozenset[str]:
    return frozenset(
        name for _, name, _, _ in string.Formatter().parse(text) if name is not None and name
    )


@functools.cache
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(locale)


def plural_categories(locale: str) -> frozenset[str]:
    """The CLDR plural categories a locale's texts can need (always including ``other``)."""
    return frozenset(_babel_locale(locale).plural_form.tags) | {"other"}


@functools.lru_cache(maxsize=4096)
def _plural_category(locale: str, number: int | float) -> str:
    category: str = _babel_locale(locale).plural_form(number)
    return category


# A reminder writes the same few days over and over (the interview's, the promised one):
# each is formatted once per locale and pattern.
@functools.lru_cache(maxsize=4096)
def _format_date(day: date, pattern: str, locale: str) -> str:
    return format_date(day, pattern, locale=_babel_locale(locale))


@dataclass(frozen=True)
class Catalog:
    """All locales' entries, looked up by locale and dotted key."""

    entries: Mapping[str, Mapping[str, Entry]]

    def locale_of(self, wanted: str | None) -> str:
        return wanted if wanted is not None and wanted in self.entries else DEFAULT_LOCALE

    def text(self, locale: str, key: str, **params: object) -> str:
        """The text for key; a plural entry picks its form by the number in its ``plural_by``."""
        # The lookup of ``_entry`` and ``locale_of`` inlined: a reminder asks for some forty
        # texts.
        table = self.entries.get(locale)
        if table is None:
            locale, table = DEFAULT_LOCALE, self.entries[DEFAULT_LOCALE]
        entry = table.get(key)
        if entry is None:
            entry = self.entries[DEFAULT_LOCALE][key]
        if isinstance(entry, str):
            return entry.format(**params) if params or "{" in entry else entry
        if isinstance(entry, Plural):
            entry = self._form(locale, key, entry, params)
        else:
            raise KeyError(f"{key!r} is a pool, not a text")
        return entry.format(**params) if params or "{" in entry else entry

    def placeholders(self, locale: str, key: str) -> frozenset[str]:
        """The ``{placeholders}`` the text for key may use (any form of a plural entry)."""
        entry = self._entry(locale, key)
        if isinstance(entry, tuple):
            raise KeyError(f"{key!r} is a pool, not a text")
        return placeholders(entry)

    def pool(self, locale: str, key: str) -> tuple[str, ...]:
        entry = self._entry(locale, key)
        if not isinstance(entry, tuple):
            raise KeyError(f"{key!r} is a text, not a pool")
        return entry

    def has(self, locale: str, key: str) -> bool:
        return key in self.entries.get(self.locale_of(locale), {})

    def fmt_date(self, locale: str, day: date) -> str:
        """A calendar day with its weekday, as the locale writes it (11月25日(水), Wed, Nov 25)."""
        loc = self.locale_of(locale)
        return _format_date(day, self.text(loc, DATE_PATTERN_KEY), loc)

    def fmt_datetime(self, locale: str, moment: datetime) -> str:
        """A wall-clock moment, written in the zone it carries (convert to the user's first)."""
        loc = self.locale_of(locale)
        # Babel keeps an aware datetime's own zone when no tzinfo is passed.
        return format_datetime(
            moment, self.text(loc, DATETIME_PATTERN_KEY), locale=_babel_locale(loc)
        )

    def _form(self, locale: str, key: str, entry: Plural, params: Mapping[str, object]) -> str:
        number = params.get(entry.by)
        if not isinstance(number, int | float) or isinstance(number, bool):
            raise KeyError(f"{key!r} picks its plural form by the number in {entry.by!r}")
        category = _plural_category(locale, number)
        return entry.forms.get(category, entry.forms["other"])

    def _entry(self, locale: str, key: str) -> Entry:
        table = self.entries[self.locale_of(locale)]
        if key in table:
            return table[key]
        return self.entries[DEFAULT_LOCALE][key]


def load_catalog() -> Catalog:
    """Read every locale's TOML files shipped in this package."""
    root = resources.files("messages") / "locales"
    entries: dict[str, dict[str, Entry]] = {}
    for locale in LOCALES:
        merged: dict[str, Entry] = {}
        folder = root / locale
        for item in sorted(folder.iterdir(), key=lambda p: p.name):
            if not item.name.endswith(".toml"):
                continue
            flat: dict[str, Entry] = {}
            _flatten("", tomllib.loads(item.read_text(encoding="utf-8")), flat)
            clash = merged.keys() & flat.keys()
            if clash:
                raise ValueError(f"{locale}/{item.name} repeats keys: {sorted(clash)}")
            merged.update(flat)
        entries[locale] = merged
    return Catalog(entries)
