"""A way to reach the company: an e-mail address or a phone number, validated and normalised."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from domain.parsing.normalise import normalise

__all__ = ["Contact", "parse_contact"]

# RFC 5321 caps an address at 254 characters; a phone number with spaces is far shorter.
_MAX_CONTACT_LEN = 254


@dataclass(frozen=True)
class Contact:
    """A way to reach the company: a normalised e-mail address or a formatted phone number."""

    kind: Literal["email", "phone"]
    value: str


# Phone keyboards produce many dashes; NFKC leaves these alone. Japanese users often type
# the long-vowel mark "ー" in phone numbers.
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−ー", "-"))
# Only what people put in a phone number: no letters (phonenumbers would read "0120-ABC"
# as a vanity number and pick digits out of "call 03-..."), no extensions.
_PHONE_CHARS = re.compile(r"\+?[0-9\s\-().]{6,30}")


def parse_contact(text: str) -> Contact | None:
    """An e-mail address or a valid phone number (Japanese numbers by default), or None."""
    s = normalise(text)
    if not s or len(s) > _MAX_CONTACT_LEN:
        return None
    if "@" in s:
        try:
            email = validate_email(s, check_deliverability=False)
        except EmailNotValidError:
            return None
        return Contact("email", email.normalized)
    s = s.translate(_DASHES)
    if not _PHONE_CHARS.fullmatch(s):
        return None
    try:
        number = phonenumbers.parse(s, "JP")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    # NATIONAL drops the country code, so it is only right for Japanese numbers.
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 81
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return Contact("phone", phonenumbers.format_number(number, style))
