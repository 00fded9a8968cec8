"""One free sentence about an interview:
「今日、株式会社〇〇の二次面接を受けました。結果は1週間以内にメールで来るそうです。」
or "I had a second-round interview at Acme Inc. today; they will email me within a week."

What the sentence holds is picked out by patterns and read with the project's own parsers
(parse_date, parse_period); what it does not hold, or holds twice in two ways, is left for
the caller to ask. Rule-based and pure: nothing here raises on user input or leaves the
process. Only the tokens users type appear here, as patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from domain.calendar import PromisedPeriod
from domain.parsing.dates import parse_date
from domain.parsing.normalise import normalise
from domain.parsing.periods import parse_period

__all__ = ["MAX_SENTENCE_LEN", "SentenceReading", "read_sentence"]

# A sentence about an interview is a line or two; a longer text (a pasted e-mail) is not one,
# and the patterns below never run over more than this.
MAX_SENTENCE_LEN = 500
_COMPANY_MAX = 100

# --- what makes a sentence about an interview ----------------------------------------------

_INTERVIEW_WORD = re.compile(
    r"面接|面談|選考|インタビュー|\binterview(?:s|ed)?\b|\bround\b", re.IGNORECASE
)

# --- companies ------------------------------------------------------------------------------

# Characters of a name written before or after 株式会社: kanji, katakana, Latin letters,
# digits and the marks names use. Hiragana ends a name before it (今日は株式会社…), particles
# end a name after it (株式会社〇〇の…).
_NAME_CHAR = r"[\u3400-\u4dbf\u4e00-\u9fff々〆〇\u30a1-\u30fa\u30fc\u30fb・A-Za-z0-9&'.\-]"
_HIRAGANA_OK = r"[\u3041-\u3096]"
_LEGAL_FORM = r"株式会社|有限会社|合同会社|\(株\)|\(有\)|\(同\)"
_PARTICLE_END = r"(?=の|で|に|を|と|は|が|へ|から|さん|様|さま|御中|\s|[、。,.!?！？「」()]|$)"
# 株式会社〇〇 / (株)〇〇: the name after the form, up to the first particle.
_FORM_FIRST = re.compile(
    rf"(?P<form>{_LEGAL_FORM})\s*(?P<name>(?:{_NAME_CHAR}|{_HIRAGANA_OK}){{1,40}}?){_PARTICLE_END}"
)
# 〇〇株式会社 / 〇〇(株): the name before the form.
_FORM_LAST = re.compile(rf"(?P<name>{_NAME_CHAR}{{1,40}})\s*(?P<form>{_LEGAL_FORM})")
# 〇〇社: only when no legal form is written; words such as 御社, 他社, 入社 are not names.
_SHA = re.compile(rf"(?P<name>{_NAME_CHAR}{{2,40}})社(?!員|長|内|会|名|風|外)")
_NOT_A_SHA_NAME = re.compile(
    r"(?:会|本|弊|御|貴|入|出|他|各|同|当|自|前|現|商|神|結|退|来|支|新|大|小)$"
)
# Words that may run into a name written before its form (今日サンプル株式会社).
_LEADING_TIME = re.compile(r"^(?:今日|本日|昨日|一昨日|先日|先週|今週|昨年|今年|[0-9]+月[0-9]+日)+")
# English: Acme Inc. / Acme Co., Ltd. / Acme Corp / at Acme.
_EN_WORD = r"[A-Z][A-Za-z0-9&'\-]*\.?"
_EN_NAME = rf"{_EN_WORD}(?:\s+{_EN_WORD}){{0,4}}"
_EN_FORM = (
    r"(?:,?\s*(?:Inc\.?|Co\.,?\s*Ltd\.?|Co\.|Corp\.?|Corporation|LLC|Ltd\.?|K\.K\.|GmbH|plc))"
)
_EN_WITH_FORM = re.compile(rf"\b(?P<name>{_EN_NAME}{_EN_FORM})(?![A-Za-z])")
_EN_AT = re.compile(rf"\bat\s+(?P<name>{_EN_NAME})")
_EN_NOT_NAMES = re.compile(
    r"^(?:I|A|An|The|Today|Yesterday|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
    r"|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|January|February|March|April|June|July"
    r"|August|September|October|November|December|Last|Next|This|First|Second|Third|Final)\.?$"
)

# --- the interview's date -------------------------------------------------------------------

_WEEKDAYS_JA = "月火水木金土日"
_LAST_WEEK_JA = re.compile(rf"先週の?(?P<wd>[{_WEEKDAYS_JA}])曜日?")
_DATE_SPAN = re.compile(
    r"(?P<span>今日|本日|きょう|一昨日|おととい|昨日|きのう"
    r"|[0-9]{4}\s*[-/]\s*[0-9]{1,2}\s*[-/]\s*[0-9]{1,2}|[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日"
    r"|[0-9]{1,2}月[0-9]{1,2}日|(?<![0-9/])[0-9]{1,2}/[0-9]{1,2}(?![0-9/])"
    rf"|[{_WEEKDAYS_JA}]曜日?"
    r"|\b(?:today|yesterday|last\s+(?:mon|tues|wednes|thurs|fri|satur|sun)day"
    r"|(?:on\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)day"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+[0-9]{1,2}(?:st|nd|rd|th)?)\b)",
    re.IGNORECASE,
)
# A date followed by まで or after "by" is the promised deadline, not the interview's day.
_DEADLINE_AFTER = re.compile(r"^\s*(?:(?:\([^)]{0,6}\))?\s*(?:まで|迄|頃|ごろ|中|以内))")
_DEADLINE_BEFORE = re.compile(r"\b(?:by|until|till|before)\s+$", re.IGNORECASE)

# --- the stage ------------------------------------------------------------------------------

_STAGES = (
    ("casual", r"カジュアル(?:面談|面接)?|面談|\bcasual(?:\s+(?:interview|chat|meeting|talk))?\b"),
    ("first", r"(?:一|1)次(?:面接|面談|選考)?|\b(?:first|1st)[-\s]round\b|\bfirst\s+interview\b"),
    (
        "second",
        r"(?:二|2)次(?:面接|面談|選考)?|\b(?:second|2nd)[-\s]round\b|\bsecond\s+interview\b",
    ),
    ("other", r"(?:三|3|四|4)次(?:面接|面談|選考)?|\b(?:third|3rd|fourth|4th)[-\s]round\b"),
    (
        "final",
        r"(?:最終|役員)(?:面接|面談|選考)?|\bfinal(?:[-\s]round)?(?:\s+interview)?\b",
    ),
)
_STAGE = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _STAGES), re.IGNORECASE)

# --- the promised period --------------------------------------------------------------------

_JA_NUM = r"[0-9]{1,4}|[一二三四五六七八九十]{1,3}"
_JA_UNIT = r"(?:営業日|日間?|週間?|[ヶかカケヵ箇]月間?)"
_JA_PERIOD = re.compile(
    rf"(?:約|およそ|大体|だいたい)?(?:(?:{_JA_NUM})\s*(?:~|〜|-|から)\s*)?(?:{_JA_NUM})\s*{_JA_UNIT}"
    r"\s*(?:以内|後|程度|くらい|ぐらい|ほど|前後)"
    r"|(?:[0-9]{1,2}/[0-9]{1,2}|[0-9]{1,2}月[0-9]{1,2}日|[0-9]{1,2}日|[月火水木金土日]曜日?)"
    r"\s*(?:\([^)]{0,6}\))?\s*(?:まで|迄)"
)
_EN_NUM = r"[0-9]{1,4}|a|an|one|two|three|four|five|six|seven|eight|nine|ten"
_EN_PERIOD = re.compile(
    rf"\b(?:within|in|after)\s+(?:about\s+|around\s+)?(?:{_EN_NUM})(?:\s*(?:-|to)\s*(?:{_EN_NUM}))?"
    r"\s+(?:(?:business|working)\s+)?(?:days?|weeks?|months?)\b"
    r"|\b(?:by|until|before)\s+(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+[0-9]{1,2}"
    r"|[0-9]{1,2}/[0-9]{1,2})\b",
    re.IGNORECASE,
)

# --- how the result comes -------------------------------------------------------------------

# The interview itself by phone (電話面接, a phone screen) says nothing about the result.
_PHONE_INTERVIEW = re.compile(
    r"電話(?:での)?(?:面接|面談|選考)|\bphone\s+(?:interview|screen(?:ing)?)\b", re.IGNORECASE
)
_BOTH = re.compile(
    r"両方|電話(?:と|か|・|/|または|もしくは)メール|メール(?:と|か|・|/|または|もしくは)(?:お)?電話"
    r"|\b(?:e-?mail|phone)\s+(?:or|and)\s+(?:e-?mail|phone)\b",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"メール|\be-?mail(?:s|ed)?\b|\bmail\s+me\b", re.IGNORECASE)
_PHONE = re.compile(
    r"電話|\bcall(?:s|ed)?\s+(?:me|you|back)\b|\b(?:by|via|over\s+the)\s+(?:tele)?phone\b"
    r"|\bphone\s+call\b|\bring\s+me\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class SentenceReading:
    """What one sentence said. A field is None when the sentence did not say it or said it in
    two ways (``unsure`` names those, so the question can say why it is asked)."""

    companies: tuple[str, ...] = ()
    interview_date: date | None = None
    stage: str | None = None
    promised: PromisedPeriod | None = None
    method: str | None = None
    unsure: frozenset[str] = frozenset()


_ABBREVIATED_FORM = re.compile(r"\b(?:Inc|Ltd|Co|Corp|K\.K)\.$")


def _tidy_name(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip(" ・-'")
    return name if _ABBREVIATED_FORM.search(name) else name.rstrip(".")


def _japanese_companies(s: str) -> list[str]:
    found: list[tuple[int, str]] = []
    taken: list[range] = []
    for m in _FORM_LAST.finditer(s):
        name = _LEADING_TIME.sub("", m["name"])
        if name:
            found.append((m.start(), _tidy_name(name) + m["form"]))
            taken.append(range(m.start(), m.end()))
    for m in _FORM_FIRST.finditer(s):
        if any(m.start() in r for r in taken):
            continue
        name = _tidy_name(m["name"])
        if name:
            found.append((m.start(), m["form"] + name))
    if not found:
        for m in _SHA.finditer(s):
            name = _tidy_name(_LEADING_TIME.sub("", m["name"]))
            if len(name) >= 2 and not _NOT_A_SHA_NAME.search(name):
                found.append((m.start(), name + "社"))
    return [name for _, name in sorted(found)]


def _english_companies(s: str) -> list[str]:
    found: list[tuple[int, str]] = [(m.start(), m["name"]) for m in _EN_WITH_FORM.finditer(s)]
    for m in _EN_AT.finditer(s):
        words = m["name"].split()
        while words and _EN_NOT_NAMES.match(words[-1]):
            words.pop()
        if words and not _EN_NOT_NAMES.match(words[0]):
            found.append((m.start("name"), " ".join(words)))
    return [_tidy_name(name) for _, name in sorted(found)]


def _companies(s: str) -> tuple[str, ...]:
    names: list[str] = []
    for name in _japanese_companies(s) + _english_companies(s):
        if not name or len(name) > _COMPANY_MAX:
            continue
        # "Acme Inc." also reads as "at Acme": the longer one is the same company.
        if any(name in other or other in name for other in names):
            names = [name if o in name else o for o in names]
            continue
        names.append(name)
    return tuple(dict.fromkeys(names))


def _last_week(weekday: str, today: date) -> date:
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7 - _WEEKDAYS_JA.index(weekday))


def _dates(s: str, today: date) -> set[date]:
    found: set[date] = set()
    for m in _LAST_WEEK_JA.finditer(s):
        found.add(_last_week(m["wd"], today))
    s = _LAST_WEEK_JA.sub(" ", s)
    for m in _DATE_SPAN.finditer(s):
        if _DEADLINE_AFTER.match(s[m.end() :]) or _DEADLINE_BEFORE.search(s[: m.start()]):
            continue
        span = m["span"]
        if span.endswith("曜"):
            span += "日"
        parsed = parse_date(span, today, prefer="past")
        if parsed is not None:
            found.add(parsed)
    return found


def _stages(s: str) -> set[str]:
    return {m.lastgroup for m in _STAGE.finditer(s) if m.lastgroup is not None}


def _periods(s: str, today: date) -> set[PromisedPeriod]:
    found: set[PromisedPeriod] = set()
    for pattern in (_JA_PERIOD, _EN_PERIOD):
        for m in pattern.finditer(s):
            period = parse_period(m[0], today)
            if period is not None:
                found.add(period)
    return found


def _method(s: str) -> tuple[str | None, bool]:
    """The way the result comes, and whether the sentence named two ways apart."""
    s = _PHONE_INTERVIEW.sub(" ", s)
    if _BOTH.search(s):
        return "both", False
    email, phone = bool(_EMAIL.search(s)), bool(_PHONE.search(s))
    if email and phone:
        return None, True
    return ("email" if email else "phone" if phone else None), False


def read_sentence(text: str, today: date) -> SentenceReading | None:
    """What a free sentence says about an interview, or None when it is not about one (no
    word such as 面接 or interview and no company)."""
    s = normalise(text)
    if not s or len(s) > MAX_SENTENCE_LEN:
        return None
    companies = _companies(s)
    if not companies and not _INTERVIEW_WORD.search(s):
        return None
    unsure: set[str] = set()
    dates, stages, periods = _dates(s, today), _stages(s), _periods(s, today)
    method, methods_unsure = _method(s)
    for key, values in (("date", dates), ("stage", stages), ("promised", periods)):
        if len(values) > 1:
            unsure.add(key)
    if len(companies) > 1:
        unsure.add("company")
    if methods_unsure:
        unsure.add("method")
    return SentenceReading(
        companies=companies,
        interview_date=next(iter(dates)) if len(dates) == 1 else None,
        stage=next(iter(stages)) if len(stages) == 1 else None,
        promised=next(iter(periods)) if len(periods) == 1 else None,
        method=method,
        unsure=frozenset(unsure),
    )
