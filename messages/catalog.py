"""Load the TOML catalogs and look texts up by key.

Each locale is a folder under ``locales/``; every ``*.toml`` file in it is merged, and nested
tables become dotted keys (``[interview.ask] company = "..."`` is ``interview.ask.company``).
A value is either a text with ``{placeholders}`` or a list of texts (a tip pool).
Hand-written rather than gettext: the catalogs hold pools and multi-line templates as well as
single strings, and TOML keeps both readable for translators without a compile step.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

DEFAULT_LOCALE = "ja"
LOCALES = ("ja", "en")

Entry = str | tuple[str, ...]


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, Entry]) -> None:
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            _flatten(dotted, value, out)
        elif isinstance(value, str):
            out[dotted] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[dotted] = tuple(value)
        else:
            raise ValueError(f"catalog entry {dotted!r} must be a text or a list of texts")


def placeholders(text: str) -> frozenset[str]:
    """Name every ``{placeholder}`` in a text."""
    return frozenset(
        name for _, name, _, _ in string.Formatter().parse(text) if name is not None and name
    )


@dataclass(frozen=True)
class Catalog:
    """All locales' entries, looked up by locale and dotted key."""

    entries: Mapping[str, Mapping[str, Entry]]

    def locale_of(self, wanted: str | None) -> str:
        return wanted if wanted is not None and wanted in self.entries else DEFAULT_LOCALE

    def text(self, locale: str, key: str, **params: object) -> str:
        entry = self._entry(locale, key)
        if not isinstance(entry, str):
            raise KeyError(f"{key!r} is a pool, not a text")
        return entry.format(**params) if params or "{" in entry else entry

    def pool(self, locale: str, key: str) -> tuple[str, ...]:
        entry = self._entry(locale, key)
        if isinstance(entry, str):
            raise KeyError(f"{key!r} is a text, not a pool")
        return entry

    def has(self, locale: str, key: str) -> bool:
        return key in self.entries.get(self.locale_of(locale), {})

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
