"""The longest text clean_text accepts is also what the database columns can hold."""

from __future__ import annotations

import unicodedata
from datetime import date

from bot.bootstrap import bootstrap
from bot.config import Settings
from domain.parsing import clean_text
from handlers.onboarding import NAME_MAX
from handlers.registration import COMPANY_MAX, PERSON_MAX
from storage.models import Interview
from tests.support import ManualClock

# Each one a single character on screen but several code points, which VARCHAR counts.
DECOMPOSED_GA = unicodedata.normalize("NFD", "が")
FAMILY = "👨\u200d👩\u200d👧\u200d👦"


def _longest(unit: str, limit: int) -> str:
    """The longest run of unit that clean_text still accepts at this limit."""
    best = ""
    for count in range(1, limit + 1):
        cleaned = clean_text(unit * count, limit)
        if isinstance(cleaned, str):
            best = cleaned
    assert best, "nothing accepted"
    return best


async def test_longest_accepted_names_save(db_settings: Settings, clock: ManualClock) -> None:
    app = await bootstrap(db_settings, clock=clock, with_channels=False)
    try:
        for unit in (DECOMPOSED_GA, FAMILY):
            async with app.uow() as uow:
                user = await uow.users.get_or_create(
                    "line", f"U-{len(unit)}", locale="ja", timezone="Asia/Tokyo"
                )
                user.display_name = _longest(unit, NAME_MAX)
                uow.session.add(
                    Interview(
                        user_id=user.id,
                        company=_longest(unit, COMPANY_MAX),
                        interview_date=date(2026, 11, 25),
                        stage="first",
                        promised="weeks:2",
                        contact_method="email",
                        interviewer_name=_longest(unit, PERSON_MAX),
                    )
                )
                await uow.commit()
    finally:
        await app.stop()
