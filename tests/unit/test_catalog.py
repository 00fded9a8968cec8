"""Every text exists in every locale with the same placeholders, and handlers only use real keys."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.line_admin import MENU_KEYS
from domain.calendar import PeriodUnit
from domain.parsing import TextProblem
from handlers.followup_texts import CALLBACK, CALLBACK_PARTS, COPY_PARTS, TEMPLATES
from handlers.interview import SUMMARY_OPTIONS
from handlers.onboarding import STEPS as ONBOARDING_STEPS
from handlers.registration import METHODS, PROMISE_PRESET_KEYS, REGISTRATION, STAGES
from handlers.router import COMMANDS
from handlers.settings import CONTACT_STEPS, QUIET_PRESETS
from handlers.stats import OUTCOME_COLOURS
from messages.catalog import (
    LOCALES,
    Catalog,
    Plural,
    load_catalog,
    placeholders,
    plural_categories,
)
from storage.models import InterviewStatus

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
            if isinstance(ja, str | Plural):
                assert isinstance(other, str | Plural)
                assert placeholders(other) == placeholders(ja), f"{locale}:{key}"
            if isinstance(ja, Plural):
                assert isinstance(other, Plural)
                assert other.by == ja.by, f"{locale}:{key} picks its form by another parameter"


def test_plural_entries_have_exactly_the_forms_their_locale_needs(catalog: Catalog) -> None:
    assert plural_categories("ja") == {"other"}
    assert plural_categories("en") == {"one", "other"}
    plurals = 0
    for locale in LOCALES:
        for key, entry in catalog.entries[locale].items():
            if isinstance(entry, Plural):
                plurals += 1
                assert set(entry.forms) == plural_categories(locale), f"{locale}:{key}"
                assert entry.by in placeholders(entry), f"{locale}:{key} never shows {entry.by}"
    assert plurals >= 2 * 10, "the plural entries were not recognised"


@pytest.mark.parametrize(
    ("key", "count", "other_params", "one", "two"),
    [
        ("period.weeks", "n", {}, "within 1 week", "within 2 weeks"),
        ("period.days", "n", {}, "within 1 day", "within 2 days"),
        ("period.business_days", "n", {}, "within 1 business day", "within 2 business days"),
        ("template_period.months", "n", {}, "within 1 month", "within 2 months"),
        ("list.header", "count", {}, "You have 1 interview on record.", "2 interviews"),
        ("privacy.export_ready", "count", {}, "(1 interview)", "(2 interviews)"),
        ("list.progress", "total", {"bar": "", "waited": 0}, "0/1 day", "0/2 days"),
        ("reminders.button.snooze_days", "days", {}, "In 1 day", "In 2 days"),
    ],
)
def test_english_counts_of_one_read_right(
    catalog: Catalog, key: str, count: str, other_params: dict[str, object], one: str, two: str
) -> None:
    assert one in catalog.text("en", key, **other_params, **{count: 1})
    assert two in catalog.text("en", key, **other_params, **{count: 2})


def test_no_english_text_hedges_its_plural() -> None:
    for path in (ROOT / "messages" / "locales" / "en").glob("*.toml"):
        assert "(s)" not in path.read_text(encoding="utf-8"), path.name


def test_japanese_counts_read_the_same_for_every_number(catalog: Catalog) -> None:
    assert catalog.text("ja", "period.weeks", n=1) == "1週間以内"
    assert catalog.text("ja", "list.header", count=1) == "記録した面接は 1 件です。"
    assert catalog.text("ja", "list.header", count=3) == "記録した面接は 3 件です。"


def test_a_plural_entry_without_its_number_is_refused(catalog: Catalog) -> None:
    with pytest.raises(KeyError, match="'n'"):
        catalog.text("en", "period.weeks")
    with pytest.raises(KeyError, match="'count'"):
        catalog.text("en", "list.header", count="two")


@pytest.mark.parametrize(
    ("locale", "day", "expected"),
    [
        # Japanese dates read exactly as they did with the hand-written weekday list.
        ("ja", date(2026, 11, 25), "11月25日(水)"),
        ("ja", date(2027, 1, 3), "1月3日(日)"),
        ("en", date(2026, 11, 25), "Wed, Nov 25"),
        ("en", date(2026, 12, 1), "Tue, Dec 1"),
    ],
)
def test_dates_carry_the_weekday_in_each_locale(
    catalog: Catalog, locale: str, day: date, expected: str
) -> None:
    assert catalog.fmt_date(locale, day) == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("ja", "12月1日(火) 9:05"), ("en", "Tue, Dec 1 at 9:05")],
)
def test_datetimes_are_written_on_the_wall_clock_they_carry(
    catalog: Catalog, locale: str, expected: str
) -> None:
    tokyo = timezone(timedelta(hours=9))
    moment = datetime(2026, 12, 1, 0, 5, tzinfo=UTC).astimezone(tokyo)
    assert catalog.fmt_datetime(locale, moment) == expected


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


# --- keys built at run time -----------------------------------------------------------------

_TEMPLATE_FIELDS = {
    "company",
    "stage",
    "interview_date",
    "position",
    "sender",
    "to_written",
    "to_spoken",
    "callback",
    "signature",
    "promise_email",
    "promise_spoken",
    "promise_agent",
    "first_followup",
    "agent_to",
    "agent_spoken",
    "promised_at",
}
_PERIOD_KEYS = {
    unit: "date" if unit is PeriodUnit.DATE else unit.name.lower() for unit in PeriodUnit
}
_PERIOD_PARAMS = {unit: {"date"} if unit is PeriodUnit.DATE else {"n"} for unit in PeriodUnit}


def _family(
    pattern: str, values: Iterable[str], params: Iterable[str] = ()
) -> list[tuple[str, frozenset[str]]]:
    return [(pattern.format(value), frozenset(params)) for value in values]


# Every key a handler builds from a value, with the parameters the code passes to it. The
# patterns are the f-strings as the scan below sees them (each ``{...}`` written ``{}``).
BUILT_KEYS: dict[str, list[tuple[str, frozenset[str]]]] = {
    # A follow-up question (a typed date) is given an example date; a main question nothing.
    "interview.ask.{}": [
        *[(q.question_key, frozenset()) for q in REGISTRATION.questions],
        *[
            (q.follow_up.question_key, frozenset({"example"}))
            for q in REGISTRATION.questions
            if q.follow_up is not None
        ],
    ],
    "interview.field.{}": [(q.label_key, frozenset()) for q in REGISTRATION.questions],
    "interview.promise.{}": _family("interview.promise.{}", PROMISE_PRESET_KEYS),
    "interview.stage.{}": _family("interview.stage.{}", STAGES),
    # The registration table names its own keys (question, field label); the flow builds
    # "<labels>.<value>" and "<echo>.<value>" for each choice, and phrases periods.
    "{}.{}": [
        *[(q.label_key, frozenset()) for q in REGISTRATION.questions],
        *[
            (f"{q.labels}.{value}", frozenset())
            for q in REGISTRATION.questions
            for value in q.choices
        ],
        *[
            (f"{q.echo}.{value}", frozenset())
            for q in REGISTRATION.questions
            if q.echo is not None
            for value in q.choices
        ],
        *[
            (f"{table}.{_PERIOD_KEYS[unit]}", frozenset(_PERIOD_PARAMS[unit]))
            for table in ("period", "template_period")
            for unit in PeriodUnit
            if unit not in (PeriodUnit.DATE, PeriodUnit.AT)
        ],
    ],
    "{}.date": [
        ("period.date", frozenset({"date"})),
        ("template_period.date", frozenset({"date"})),
    ],
    "{}.at": [
        ("period.at", frozenset({"at"})),
        ("template_period.at", frozenset({"at"})),
    ],
    "status.{}": _family("status.{}", [s.value for s in InterviewStatus]),
    "template_stage.{}": _family("template_stage.{}", STAGES),
    "list.round.{}": _family(
        "list.round.{}", [s.value for s in InterviewStatus], {"stage", "when"}
    ),
    "list.stage_short.{}": _family("list.stage_short.{}", STAGES),
    "reminders.copy.{}": _family("reminders.copy.{}", COPY_PARTS),
    "templates.{}.{}": [
        *[
            (f"templates.{template}.{part}", frozenset(_TEMPLATE_FIELDS))
            for template in TEMPLATES
            for part in COPY_PARTS
        ],
        *[(f"templates.{CALLBACK}.{part}", frozenset(_TEMPLATE_FIELDS)) for part in CALLBACK_PARTS],
    ],
    "reminders.halfway.check.{}": _family("reminders.halfway.check.{}", METHODS),
    "reminders.halfway.{}": _family(
        "reminders.halfway.{}",
        ["promised", "guideline"],
        {"company", "waited", "due", "left", "check", "tips"},
    ),
    "reminders.checks.{}": _family("reminders.checks.{}", METHODS, {"company"}),
    "reminders.when.{}": _family(
        "reminders.when.{}",
        ["promise_passed", "guideline_passed", "since_interview"],
        {"company", "days", "due"},
    ),
    # The weekly digest names a promised day or, with nothing promised, the guideline.
    "reminders.digest.{}.left": _family(
        "reminders.digest.{}.left", ["promised", "guideline"], {"due", "left"}
    ),
    "reminders.digest.{}.today": _family(
        "reminders.digest.{}.today", ["promised", "guideline"], {"due"}
    ),
    "reminders.digest.{}.passed": _family(
        "reminders.digest.{}.passed", ["promised", "guideline"], {"due", "days"}
    ),
    "reminders.digest.week.{}": _family(
        "reminders.digest.week.{}", ["promised", "guideline"], {"date", "company"}
    ),
    "onboarding.ask.{}": _family("onboarding.ask.{}", ONBOARDING_STEPS),
    "settings.ask.{}": _family("settings.ask.{}", CONTACT_STEPS),
    "settings.problem.{}": _family("settings.problem.{}", CONTACT_STEPS),
    "settings.language_name.{}": _family("settings.language_name.{}", LOCALES),
    "settings.quiet_preset.{}": _family(
        "settings.quiet_preset.{}", [key.replace("-", "_") for key in QUIET_PRESETS]
    ),
    "problems.{}": _family("problems.{}", [p.value for p in TextProblem], {"limit"}),
    "commands.{}": _family("commands.{}", COMMANDS),
    "menu.{}": _family("menu.{}", MENU_KEYS),
    "downloads.{}": _family("downloads.{}", ("not_found", "used", "expired")),
    "stats.outcome.{}": _family("stats.outcome.{}", [str(o) for o in OUTCOME_COLOURS]),
    "stats.colour.{}": _family("stats.colour.{}", [str(o) for o in OUTCOME_COLOURS]),
}
# Pools named through ctx.words(...), which prefixes "words.", and the words that may be typed
# for a button: a table row's "<words>.<value>", the summary's and the settings' buttons.
BUILT_POOLS = {
    "words.{}": [f"words.{word}" for word in ("skip", "back", "cancel")],
    "words.commands.{}": [f"words.commands.{name}" for name in COMMANDS],
    "{}.{}": [
        f"{q.words}.{value}" for q in REGISTRATION.questions if q.words for _, value in q.buttons()
    ],
    "interview.words.summary.{}": [o.words for o in SUMMARY_OPTIONS],
    "settings.words.quiet.{}": [
        f"settings.words.quiet.{key.replace('-', '_')}" for key in QUIET_PRESETS
    ],
    "settings.words.language.{}": [f"settings.words.language.{code}" for code in LOCALES],
    "settings.words.clear": ["settings.words.clear"],
}


def _key_patterns_built_in_python() -> set[str]:
    """Every f-string in handlers and bot that looks like a catalog key, ``{...}`` as ``{}``."""
    fstring = re.compile(r'\bf"((?:[a-z_]+|\{[^{}"]+\})(?:\.(?:[a-z_]+|\{[^{}"]+\}))+)"')
    found: set[str] = set()
    for folder in ("handlers", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            for key in fstring.findall(path.read_text(encoding="utf-8")):
                if "{" in key:
                    found.add(re.sub(r"\{[^{}]+\}", "{}", key))
    found.discard("{}.apscheduler")  # a logger name, not a text
    return found


def test_every_key_pattern_built_at_run_time_is_known_here() -> None:
    found = _key_patterns_built_in_python()
    assert len(found) > 10, "the f-string scan found too little; the pattern is broken"
    unknown = found - BUILT_KEYS.keys() - BUILT_POOLS.keys()
    assert not unknown, f"add these to BUILT_KEYS with the values they take: {sorted(unknown)}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_key_built_at_run_time_exists_and_takes_what_the_code_passes(
    catalog: Catalog, locale: str
) -> None:
    table = catalog.entries[locale]
    for pattern, keys in BUILT_KEYS.items():
        for key, params in keys:
            assert key in table, f"{locale}:{key} (built from {pattern})"
            entry = table[key]
            assert isinstance(entry, str | Plural), f"{locale}:{key} is a pool"
            missing = placeholders(entry) - params
            assert not missing, f"{locale}:{key} wants {sorted(missing)}, the code passes no such"
            if isinstance(entry, Plural):
                assert entry.by in params, f"{locale}:{key} picks its form by {entry.by!r}"
                assert catalog.text(locale, key, **dict.fromkeys(params, 1))
    for keys in BUILT_POOLS.values():
        for key in keys:
            assert isinstance(table.get(key), tuple), f"{locale}:{key} must be a pool"


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
