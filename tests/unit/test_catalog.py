"""Every text exists in every locale with the same placeholders, and handlers only use real keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from messages.catalog import LOCALES, Catalog, load_catalog, placeholders

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_every_key_exists_in_every_locale(catalog: Catalog) -> None:
    keys = {locale: set(catalog.entries[locale]) for locale in LOCALES}
    for locale in LOCALES:
        assert keys[locale] == keys["ja"], f"{locale} differs: {keys[locale] ^ keys['ja']}"


def test_placeholders_are_identical_across_locales(catalog: Catalog) -> None:
    for key, ja in catalog.entries["ja"].items():
        for locale in LOCALES:
            other = catalog.entries[locale][key]
            assert type(other) is type(ja), key
            if isinstance(ja, str):
                assert isinstance(other, str)
                assert placeholders(other) == placeholders(ja), f"{locale}:{key}"


def test_pools_have_at_least_eight_distinct_entries(catalog: Catalog) -> None:
    for locale in LOCALES:
        for name in ("waiting", "mental_care", "encouragement", "after_rejection"):
            pool = catalog.pool(locale, f"pools.{name}")
            assert len(set(pool)) == len(pool) >= 8, f"{locale}:{name}"


def _keys_named_in_python() -> set[str]:
    """Literal catalog keys passed to ctx.t / ctx.button / catalog.text in handlers and bot."""
    pattern = re.compile(
        r"""(?:\.t|\.button|\.text|\.pool|pick_tips)\(\s*(?:ctx,\s*)?(?:"[a-z]+",\s*)?"([a-z_]+\.[a-z0-9_.]+)\""""
    )
    found: set[str] = set()
    for folder in ("handlers", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            found.update(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def test_handlers_only_name_keys_that_exist(catalog: Catalog) -> None:
    named = _keys_named_in_python()
    assert len(named) > 50, "the key scan found too little; the pattern is broken"
    missing = {key for key in named if key not in catalog.entries["ja"]}
    assert not missing, sorted(missing)


def test_no_japanese_literals_in_python_code() -> None:
    """User-facing text lives in catalogs; Python may only hold parsing patterns."""
    kana = re.compile(r"[\u3040-\u30ff]")
    allowed = {"parsing.py"}
    offenders = []
    for folder in ("handlers", "bot", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name in allowed:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if kana.search(line) and not line.lstrip().startswith("#") and '"""' not in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert not offenders, offenders
