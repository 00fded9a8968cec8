"""The words inside a follow-up: who it is to, who it is from, what was promised, how long ago.

Every template in ``templates.toml`` is filled from ``fields``; the pieces are built here, so
each template stays a plain text a translator can read. Two rules shape them: nothing claims a
promise the company never made (with nothing promised, the text says how long it has been),
and a missing detail becomes a visible 〇〇 placeholder rather than a broken phrase.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from domain.calendar import PeriodUnit, PromisedPeriod
from domain.protocol import CopyItem
from handlers import interview as interview_flow
from handlers.context import Context
from storage.models import Interview

COPY_PARTS = ("email_subject", "email_body", "phone_script")
# Phone first when the result was to come by phone: the user is most likely to call.
PHONE_FIRST = ("phone_script", "email_subject", "email_body")
TEMPLATES = ("followup", "recheck", "agent", "offer")
# A promise of a moment: one phone script, to call when the moment has passed.
CALLBACK = "callback"
CALLBACK_PARTS = ("phone_script",)
APPLIED_VIA_AGENT = "agent"

# A follow-up asks about the stored promise several times; it is parsed once per text (the
# value is frozen, and a text that fails to parse is not kept, so it fails every time).
_promised = functools.lru_cache(maxsize=1024)(PromisedPeriod.from_storage)


def bare_name(ctx: Context, typed: str | None) -> str:
    """A typed name without the honorifics people type with it (田中さん → 田中)."""
    return _bare_name(ctx.pool("templates.lines.honorifics"), typed)


# A follow-up asks for the same typed names several times (the mail's address, the phone
# script's): each is worked out once per locale's honorifics.
@functools.lru_cache(maxsize=4096)
def _bare_name(honorifics: tuple[str, ...], typed: str | None) -> str:
    name = " ".join((typed or "").split())
    stripped = True
    while name and stripped:
        stripped = False
        for suffix in honorifics:
            if _ends_with_honorific(name, suffix):
                name = name[: -len(suffix)].rstrip(" -")
                stripped = True
    return name


def _ends_with_honorific(name: str, suffix: str) -> bool:
    if not name.casefold().endswith(suffix.casefold()):
        return False
    if not suffix.isascii():
        return True
    # A latin "san" is an honorific only after a space or dash: "Hassan" keeps its name.
    rest = name[: -len(suffix)]
    return rest == "" or rest[-1] in " -"


def _person(ctx: Context, typed: str | None) -> str | None:
    name = bare_name(ctx, typed)
    return ctx.t("templates.lines.to_named", name=name) if name else None


def _interviewer(ctx: Context, interview: Interview) -> tuple[str, str | None]:
    """The department and the person to address (None: nobody by name, so the generic form).

    People type the department into the name too (人事部 採用担当 with 人事部 as the
    department), or a role instead of a name: neither is said twice, nor is a role 様'd.
    """
    department, name = _department_and_name(
        ctx.pool("templates.lines.honorifics"),
        ctx.pool("templates.lines.role_words"),
        interview.department,
        interview.interviewer_name,
    )
    return department, (ctx.t("templates.lines.to_named", name=name) if name else None)


# Asked twice a follow-up (the mail's address block, whom to ask for on the phone).
@functools.lru_cache(maxsize=4096)
def _department_and_name(
    honorifics: tuple[str, ...],
    role_words: tuple[str, ...],
    typed_department: str | None,
    typed_name: str | None,
) -> tuple[str, str]:
    department = (typed_department or "").strip()
    name = _bare_name(honorifics, typed_name)
    if department and name.startswith(department):
        name = name[len(department) :].strip()
    roles = {role.casefold() for role in role_words}
    head, _, last = name.rpartition(" ")
    if head and last.casefold() in roles:
        department = department or head
        name = ""
    elif name.casefold() in roles:
        name = ""
    return department, name


def is_agent(interview: Interview) -> bool:
    return interview.applied_via == APPLIED_VIA_AGENT


def to_written(ctx: Context, interview: Interview) -> str:
    """The address block of a mail to the company: company, department, person."""
    department, person = _interviewer(ctx, interview)
    parts = {
        "company": interview.company,
        "department": department,
        "person": person or ctx.t("templates.lines.to_generic_written"),
    }
    return "\n".join(parts[p] for p in ctx.pool("templates.lines.address_parts") if parts[p])


def to_spoken(ctx: Context, interview: Interview) -> str:
    """Whom to ask for at reception: 田中様, 人事部の採用ご担当の方, 採用ご担当の方."""
    department, named = _interviewer(ctx, interview)
    person = named or ctx.t("templates.lines.to_generic_spoken")
    if department:
        return ctx.t("templates.lines.to_department_spoken", department=department, person=person)
    return person


def agent_to(ctx: Context, interview: Interview) -> str:
    return _person(ctx, interview.agent_name) or ctx.t("templates.lines.agent_generic_written")


def agent_spoken(ctx: Context, interview: Interview) -> str:
    return _person(ctx, interview.agent_name) or ctx.t("templates.lines.agent_generic_spoken")


def position(ctx: Context, interview: Interview) -> str:
    typed = (interview.position or "").strip()
    return ctx.t("templates.lines.position", position=typed) if typed else ""


def was_promised(interview: Interview) -> bool:
    return _promised(interview.promised).unit is not PeriodUnit.UNSPECIFIED


def is_timed(interview: Interview) -> bool:
    """The company promised a moment (明日15時まで), not a day."""
    return _promised(interview.promised).unit is PeriodUnit.AT


def promised_at(ctx: Context, interview: Interview) -> str:
    """The promised moment as the user's clock shows it (12月10日(木) 15:00), else ''."""
    moment = _promised(interview.promised).at
    return ctx.fmt_datetime(moment) if moment is not None else ""


def elapsed(ctx: Context, days: int) -> str:
    """How long since the interview, as a mail says it: 10日, 2週間, 2週間以上."""
    weeks, rest = divmod(max(days, 1), 7)
    if weeks < 2:
        return ctx.t("templates.lines.elapsed_days", n=max(days, 1))
    if rest == 0:
        return ctx.t("templates.lines.elapsed_weeks", n=weeks)
    return ctx.t("templates.lines.elapsed_over_weeks", n=weeks)


def days_since_interview(ctx: Context, interview: Interview) -> int:
    return max(0, (ctx.today - interview.interview_date).days)


def promise_line(ctx: Context, interview: Interview, form: str) -> str:
    """What was promised, in ``form`` (email, spoken, agent), or how long it has been."""
    if was_promised(interview):
        promised = interview_flow.describe_period(
            ctx, _promised(interview.promised), catalog_table="template_period"
        )
        if form == "email":
            return ctx.t("templates.lines.promise_email", promised=promised)
        if form == "spoken":
            return ctx.t("templates.lines.promise_spoken", promised=promised)
        return ctx.t("templates.lines.promise_agent", promised=promised)
    since = elapsed(ctx, days_since_interview(ctx, interview))
    if form == "email":
        return ctx.t("templates.lines.elapsed_email", elapsed=since)
    if form == "spoken":
        return ctx.t("templates.lines.elapsed_spoken", elapsed=since)
    return ctx.t("templates.lines.elapsed_agent", elapsed=since)


def sender(ctx: Context) -> str:
    return (ctx.user.display_name or "").strip() or ctx.t("templates.lines.unknown_name")


def callback(ctx: Context) -> str:
    return (ctx.user.phone or "").strip() or ctx.t("templates.lines.unknown_phone")


def signature(ctx: Context) -> str:
    return ctx.t(
        "templates.lines.signature",
        name=sender(ctx),
        phone=callback(ctx),
        email=(ctx.user.email or "").strip() or ctx.t("templates.lines.unknown_email"),
    ).strip("\n")


def first_followup(ctx: Context, interview: Interview) -> str:
    if interview.first_followup_on is None:
        return ctx.t("templates.lines.first_followup_unknown")
    return ctx.t(
        "templates.lines.first_followup_known", date=ctx.fmt_date(interview.first_followup_on)
    )


# Every placeholder a template may use, and how it is filled for an interview and its user.
_FIELDS: dict[str, Callable[[Context, Interview], str]] = {
    "company": lambda ctx, interview: interview.company,
    "stage": lambda ctx, interview: ctx.t(f"template_stage.{interview.stage}"),
    "interview_date": lambda ctx, interview: ctx.fmt_date(interview.interview_date),
    "position": position,
    "sender": lambda ctx, interview: sender(ctx),
    "to_written": to_written,
    "to_spoken": to_spoken,
    "callback": lambda ctx, interview: callback(ctx),
    "signature": lambda ctx, interview: signature(ctx),
    "promise_email": lambda ctx, interview: promise_line(ctx, interview, "email"),
    "promise_spoken": lambda ctx, interview: promise_line(ctx, interview, "spoken"),
    "promise_agent": lambda ctx, interview: promise_line(ctx, interview, "agent"),
    "first_followup": first_followup,
    "promised_at": promised_at,
    "agent_to": agent_to,
    "agent_spoken": agent_spoken,
}


def fields(
    ctx: Context, interview: Interview, names: Iterable[str] | None = None
) -> dict[str, str]:
    """Every placeholder a template may use (or only ``names``), filled for this interview."""
    wanted = _FIELDS if names is None else names
    return {name: _FIELDS[name](ctx, interview) for name in wanted if name in _FIELDS}


def parts_order(interview: Interview) -> tuple[str, ...]:
    return PHONE_FIRST if interview.contact_method == "phone" else COPY_PARTS


def copy_items(
    ctx: Context, interview: Interview, template: str, order: tuple[str, ...] = COPY_PARTS
) -> tuple[CopyItem, ...]:
    """Fill one template's email subject, email body and phone script, each ready to copy."""
    # Only the fields these texts use: a follow-up fills about ten of the sixteen.
    names: set[str] = set()
    for part in order:
        names |= ctx.catalog.placeholders(ctx.locale, f"templates.{template}.{part}")
    filled = fields(ctx, interview, names)
    return tuple(
        CopyItem(
            label=ctx.t(f"reminders.copy.{part}"),
            text=ctx.t(f"templates.{template}.{part}", **filled).strip("\n"),
        )
        for part in order
    )


def contact_line(ctx: Context, contact: str | None) -> str | None:
    """Where to send or call, labelled by what the contact is: an address or a number."""
    value = (contact or "").strip()
    if not value:
        return None
    key = "reminders.contact.email" if "@" in value else "reminders.contact.phone"
    return ctx.t(key, contact=value)
