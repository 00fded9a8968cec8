"""The questions of an interview record, declared once.

The flow (handlers/interview.py), the summary card, the edit menu, what is saved on the
Interview row, the ``/export`` fields and the test walkers all read this table, so a new
question is one row here plus its catalog texts.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]


class AnswerKind(enum.Enum):
    """How a question is answered; the flow has one way to ask and take each kind."""

    TEXT = "text"  # free text, cleaned and limited
    CHOICE = "choice"  # one of a few buttons; typing a button's label counts as pressing it
    DATE = "date"  # today / yesterday / enter a date (the follow-up takes a typed date)
    PERIOD = "period"  # preset promises, a date (the follow-up), or a typed period
    CONTACT = "contact"  # an email address or a phone number
    YES_NO = "yes_no"  # yes (then the follow-up memo) / no (then a tip)
    MOMENT = "moment"  # a typed day and time of day (12/10 14:00), in the user's zone


class Codec(enum.Enum):
    """How an answer in the dialogue data becomes a column value and back."""

    PLAIN = "plain"
    ISO_DATE = "iso_date"  # an ISO string in the dialogue data, a date on the row
    ISO_DATETIME = "iso_datetime"  # an ISO string (UTC) in the dialogue data, aware on the row


@dataclass(frozen=True, slots=True)
class Column:
    """Where one answer is kept: a dialogue-data key and the Interview attribute.

    The attribute's name is also the answer's key in ``/export``.
    """

    data: str
    attribute: str
    codec: Codec = Codec.PLAIN


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A sub-step a button opens (日付を入力, はい → memo); its answer belongs to its parent."""

    key: str
    opened_by: str  # the parent's button value that opens it
    kind: AnswerKind
    optional: bool = False
    limit: int = 0

    @property
    def question_key(self) -> str:
        return f"interview.ask.{self.key}"


@dataclass(frozen=True, slots=True)
class Question:
    """One row: a question, how it is answered, and where its answer goes.

    Catalog keys follow the row's key: ``interview.ask.<key>`` (the question),
    ``interview.field.<key>`` (its label on the card and in the edit menu), and for choices
    ``<labels>.<value>`` (the buttons) and ``<echo>.<value>`` (what is said back).
    """

    key: str
    kind: AnswerKind
    optional: bool = False
    limit: int = 0
    need_word: bool = False
    choices: tuple[str, ...] = ()
    labels: str = ""
    # A catalog prefix of word pools (``<words>.<value>``, a value per button): what may be
    # typed instead of tapping, besides the label (二次 for 二次面接).
    words: str = ""
    echo: str | None = None
    said_after_no: str | None = None  # YES_NO: the catalog key answered to "no"
    counted_from: str = "date"  # PERIOD: the question whose date the promise runs from
    button_columns: int = 2
    follow_up: FollowUp | None = None
    # Asked (and shown, and editable) only when the answers so far say so.
    asked_if: Predicate | None = None
    # A value that arrived prefilled (the next round's company) is not asked again.
    skip_if_prefilled: bool = False
    editable: bool = True
    on_card: bool = True
    stored: tuple[Column, ...] = ()

    @property
    def question_key(self) -> str:
        return f"interview.ask.{self.key}"

    @property
    def label_key(self) -> str:
        return f"interview.field.{self.key}"

    def applies(self, data: Mapping[str, Any]) -> bool:
        return self.asked_if is None or self.asked_if(data)

    def buttons(self) -> tuple[tuple[str, str], ...]:
        """The answer buttons: (catalog key of the label, value), before skip/back/cancel."""
        opens = self.follow_up.opened_by if self.follow_up is not None else None
        if self.kind is AnswerKind.CHOICE:
            return tuple((f"{self.labels}.{v}", v) for v in self.choices)
        if self.kind is AnswerKind.DATE:
            typed = (("interview.choice.enter_date", opens),) if opens is not None else ()
            return (
                ("interview.choice.today", "today"),
                ("interview.choice.yesterday", "yesterday"),
                *typed,
            )
        if self.kind is AnswerKind.PERIOD:
            dated = (("interview.promise.date", opens),) if opens is not None else ()
            return (
                *((f"interview.promise.{k}", k) for k in PROMISE_PRESET_KEYS),
                *dated,
                ("interview.promise.none", "none"),
            )
        if self.kind is AnswerKind.YES_NO:
            return (("interview.choice.yes", "yes"), ("interview.choice.no", "no"))
        return ()

    def answer_keys(self) -> tuple[str, ...]:
        """Every dialogue-data key this question's answer (and its follow-up) fills."""
        keys = [self.key, *(c.data for c in self.stored)]
        if self.kind is AnswerKind.CONTACT:
            keys.append(contact_kind_key(self.key))
        if self.follow_up is not None:
            keys.append(self.follow_up.key)
        return tuple(dict.fromkeys(keys))


@dataclass(frozen=True, slots=True)
class Registration:
    """The questions in the order they are asked."""

    questions: tuple[Question, ...]

    def __post_init__(self) -> None:
        keys = [q.key for q in self.questions] + [
            q.follow_up.key for q in self.questions if q.follow_up is not None
        ]
        if len(keys) != len(set(keys)):
            raise ValueError("every question and follow-up needs a key of its own")

    def question(self, key: str) -> Question:
        """The row a step belongs to: its own, or its parent's for a follow-up."""
        for q in self.questions:
            if q.key == key or (q.follow_up is not None and q.follow_up.key == key):
                return q
        raise KeyError(key)

    def follow_up(self, key: str) -> FollowUp | None:
        q = self.question(key)
        return q.follow_up if q.follow_up is not None and q.follow_up.key == key else None

    def has_step(self, key: str) -> bool:
        try:
            self.question(key)
        except KeyError:
            return False
        return True

    def next_after(self, key: str | None, data: Mapping[str, Any]) -> Question | None:
        """The next question to ask after ``key`` (None: from the start); None at the end."""
        start = 0 if key is None else self.questions.index(self.question(key)) + 1
        prefilled = set(data.get("_prefilled", ()))
        # A quick entry (one free sentence) asks only what is required and was not said.
        said, required_only = set(data.get("_said", ())), bool(data.get("_required_only"))
        for q in self.questions[start:]:
            if not q.applies(data):
                continue
            if q.skip_if_prefilled and q.key in prefilled:
                continue
            if q.key in said or (required_only and q.optional):
                continue
            return q
        return None

    def editable(self, data: Mapping[str, Any]) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.editable and q.applies(data))

    def on_card(self, data: Mapping[str, Any]) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.on_card and q.applies(data))

    def columns(self) -> Iterator[Column]:
        for q in self.questions:
            yield from q.stored

    def steps(self) -> Iterator[tuple[str, str, bool]]:
        """Every step a user can be asked: (step key, question catalog key, optional)."""
        for q in self.questions:
            yield q.key, q.question_key, q.optional
            if q.follow_up is not None:
                yield q.follow_up.key, q.follow_up.question_key, q.follow_up.optional


def contact_kind_key(key: str) -> str:
    """Where a CONTACT answer keeps whether it is an email address or a phone number."""
    return f"{key}_kind"


PROMISE_PRESET_KEYS = ("w1", "w2", "m1")
STAGES = ("first", "second", "final", "casual", "other")
METHODS = ("phone", "email", "both", "unknown")
APPLIED_VIA = ("direct", "agent", "site")
COMPANY_MAX, PERSON_MAX, MEMO_MAX, REFLECTION_MAX, CONTACT_MAX = 100, 50, 300, 1000, 300
# The columns are String(100): a job title, a department, an agency's person.
POSITION_MAX = DEPARTMENT_MAX = AGENT_NAME_MAX = 100
# parse_contact refuses anything longer than an e-mail address can be.
AGENT_CONTACT_MAX = 254
# A room and a building, or an online meeting's link.
PLACE_MAX = 300
# What a round carries over to the next one: who the user talks to and how they applied.
CARRIED_OVER = (
    "company",
    "position",
    "applied_via",
    "agent_name",
    "agent_contact",
    "interviewer",
    "department",
    "contact",
)


def through_agent(data: Mapping[str, Any]) -> bool:
    """The agent is asked about only when the user applied through one."""
    return data.get("applied_via") == "agent"


# The dialogue-data key that says which kind of record this is; absent: an interview held.
ROUND = "_round"
# A round recorded before it happens (after a pass): its time and place, no result yet.
SCHEDULED_ROUND = "next"


def scheduled_round(data: Mapping[str, Any]) -> bool:
    return data.get(ROUND) == SCHEDULED_ROUND


def held_round(data: Mapping[str, Any]) -> bool:
    """What happened at the interview and what was promised: asked once it has taken place."""
    return not scheduled_round(data)


def has_round_time(data: Mapping[str, Any]) -> bool:
    """A round's time is asked when it is scheduled, and stays on the card once it was held."""
    return scheduled_round(data) or data.get("next_at") is not None


REGISTRATION = Registration(
    (
        Question(
            "company",
            AnswerKind.TEXT,
            limit=COMPANY_MAX,
            need_word=True,
            skip_if_prefilled=True,
            stored=(Column("company", "company"),),
        ),
        Question(
            "date",
            AnswerKind.DATE,
            button_columns=3,
            # A scheduled round's day is its time's; once held, that day comes prefilled.
            asked_if=held_round,
            skip_if_prefilled=True,
            follow_up=FollowUp("date_input", "input", AnswerKind.DATE),
            stored=(Column("date", "interview_date", Codec.ISO_DATE),),
        ),
        Question(
            "stage",
            AnswerKind.CHOICE,
            choices=STAGES,
            labels="interview.stage",
            words="interview.words.stage",
            button_columns=3,
            # The next round's stage is only a guess from the last one, so it is not marked
            # prefilled and is still asked; once the round is held it is known.
            skip_if_prefilled=True,
            stored=(Column("stage", "stage"),),
        ),
        Question(
            "next_at",
            AnswerKind.MOMENT,
            asked_if=has_round_time,
            skip_if_prefilled=True,
            stored=(Column("next_at", "scheduled_at", Codec.ISO_DATETIME),),
        ),
        Question(
            "place",
            AnswerKind.TEXT,
            optional=True,
            limit=PLACE_MAX,
            asked_if=has_round_time,
            skip_if_prefilled=True,
            stored=(Column("place", "place"),),
        ),
        Question(
            "position",
            AnswerKind.TEXT,
            optional=True,
            skip_if_prefilled=True,
            limit=POSITION_MAX,
            need_word=True,
            stored=(Column("position", "position"),),
        ),
        Question(
            "promised",
            AnswerKind.PERIOD,
            button_columns=3,
            asked_if=held_round,
            follow_up=FollowUp("promised_date", "date", AnswerKind.DATE),
            stored=(Column("promised", "promised"),),
        ),
        Question(
            "method",
            AnswerKind.CHOICE,
            choices=METHODS,
            labels="interview.method",
            words="interview.words.method",
            echo="interview.method_tip",
            asked_if=held_round,
            stored=(Column("method", "contact_method"),),
        ),
        Question(
            "applied_via",
            AnswerKind.CHOICE,
            optional=True,
            skip_if_prefilled=True,
            choices=APPLIED_VIA,
            labels="interview.applied_via",
            words="interview.words.applied_via",
            button_columns=1,
            stored=(Column("applied_via", "applied_via"),),
        ),
        # The agent's person, when there is one; the interviewer's questions stay the company's.
        Question(
            "agent_name",
            AnswerKind.TEXT,
            optional=True,
            skip_if_prefilled=True,
            limit=AGENT_NAME_MAX,
            need_word=True,
            asked_if=through_agent,
            stored=(Column("agent_name", "agent_name"),),
        ),
        Question(
            "agent_contact",
            AnswerKind.CONTACT,
            optional=True,
            skip_if_prefilled=True,
            limit=AGENT_CONTACT_MAX,
            asked_if=through_agent,
            stored=(Column("agent_contact", "agent_contact"),),
        ),
        Question(
            "interviewer",
            AnswerKind.TEXT,
            optional=True,
            skip_if_prefilled=True,
            limit=PERSON_MAX,
            need_word=True,
            stored=(Column("interviewer", "interviewer_name"),),
        ),
        Question(
            "department",
            AnswerKind.TEXT,
            optional=True,
            skip_if_prefilled=True,
            limit=DEPARTMENT_MAX,
            need_word=True,
            stored=(Column("department", "department"),),
        ),
        Question(
            "contact",
            AnswerKind.CONTACT,
            optional=True,
            skip_if_prefilled=True,
            limit=CONTACT_MAX,
            stored=(Column("contact", "interviewer_contact"),),
        ),
        Question(
            "asked",
            AnswerKind.YES_NO,
            optional=True,
            words="interview.words.yes_no",
            said_after_no="interview.asked_no_tip",
            asked_if=held_round,
            follow_up=FollowUp("asked_memo", "yes", AnswerKind.TEXT, optional=True, limit=MEMO_MAX),
            stored=(
                Column("asked", "asked_what_if_silent"),
                Column("asked_memo", "asked_memo"),
            ),
        ),
        Question(
            "good",
            AnswerKind.TEXT,
            optional=True,
            asked_if=held_round,
            limit=REFLECTION_MAX,
            stored=(Column("good", "reflection_good"),),
        ),
        Question(
            "improve",
            AnswerKind.TEXT,
            optional=True,
            asked_if=held_round,
            limit=REFLECTION_MAX,
            stored=(Column("improve", "reflection_improve"),),
        ),
    )
)
