"""One CSV record to a signature row, by the rules of the sign form."""

import datetime as dt
import functools
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import pycountry
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from petition.core import countries
from petition.core.emails import InvalidEmail, canonical_email, check_email
from petition.core.forms import BIDI_CONTROLS, clean_text
from petition.imports.report import ImportFileError

COLUMNS = ("name", "email", "country", "city", "postcode", "created_at")
REQUIRED = ("name", "email", "country")
# A header with more columns than this is refused at once (it has at most len(COLUMNS)).
MAX_COLUMNS = 4 * len(COLUMNS)
# Times up to this far ahead of the clock pass as skew; later ones are refused.
FUTURE_SKEW = dt.timedelta(minutes=5)
NAME_MAX, CITY_MAX, POSTCODE_MAX, EMAIL_MAX = 200, 100, 20, 254

ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "russia": "RU",
    "turkey": "TR",
    "palestine": "PS",
    "macedonia": "MK",
    "swaziland": "SZ",
    "cape verde": "CV",
    "ivory coast": "CI",
    "holland": "NL",
    "brunei": "BN",
    "micronesia": "FM",
    "vatican": "VA",
}


@dataclass(slots=True)
class Row:
    line: int
    name: str
    email: str
    canonical: str
    country: str
    city: str | None
    postcode: str | None
    created_at: dt.datetime


class Rejected(ValueError):
    """One row is refused; the message is the reason shown in the report."""


def text_problem(value):
    """forms.plain_text's rule as a reason, or None: no controls, bidi overrides or markup."""
    if "\ufffd" in value:
        return "contains bytes that are not valid text (U+FFFD)"
    # isprintable() is False for every Cc, Cs, Co and Cn character and for the bidi controls
    # (Cf), so nearly every name passes in one C call; the few it flags (those, but also a
    # no-break space or a joiner) get the form's own per-character test.
    if not value.isprintable():
        for ch in value:
            if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch in BIDI_CONTROLS:
                return "contains control or invisible characters"
    if "<" in value or ">" in value:
        return "contains < or >"
    return None


def clean_field(label, value, limit, required=False):
    """clean_text, then the length and plain-text rules; None for an empty optional field."""
    value = clean_text(value) if value else value
    if not value:
        if required:
            raise Rejected(f"{label} is missing")
        return None
    if len(value) > limit:
        raise Rejected(f"{label} is longer than {limit} characters")
    problem = text_problem(value)
    if problem:
        raise Rejected(f"{label} {problem}")
    return value


# An ASCII dot-atom local part and a hostname: what almost every real address looks like.
_SIMPLE_ADDRESS = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([A-Za-z0-9.-]+)\Z"
)
_CASE_INSENSITIVE = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


@functools.lru_cache(maxsize=8192)
def _domain(domain, check_deliverability):
    """email-validator's verdict on a domain, once per domain: (normalized, ascii) or None."""
    try:
        valid = validate_email(
            "x@" + domain,
            check_deliverability=check_deliverability,
            allow_smtputf8=True,
            strict=True,
        )
    except EmailNotValidError:
        return None
    return valid.domain, valid.ascii_domain


def email_forms(address, check_deliverability=False):
    """check_email's (normalized, canonical), with a fast path for plain ASCII addresses.

    Validating an address takes email-validator ~30 us, most of it on the domain; a million
    rows share a few thousand domains. For an address made of a dot-atom local part within the
    length limits, the verdict is the domain's, so the domain is checked once and cached;
    anything else (Unicode, quotes, long, role names, a bad domain) takes the full check.
    """
    found = _SIMPLE_ADDRESS.match(address)
    if found and len(address) <= EMAIL_MAX:
        local, domain = found.groups()
        checked = _domain(domain, check_deliverability)
        if checked and len(local) <= 64 and local.lower() not in _CASE_INSENSITIVE:
            normalized_domain, ascii_domain = checked
            if normalized_domain == ascii_domain == domain:
                return address, canonical_email(local, ascii_domain)
            normalized = f"{local}@{normalized_domain}"
            if (
                len(normalized.encode("utf-8")) <= EMAIL_MAX
                and len(local) + 1 + len(ascii_domain) <= EMAIL_MAX
            ):
                return normalized, canonical_email(local, ascii_domain)
    checked = check_email(address, check_deliverability)
    return checked.normalized, checked.canonical


@functools.cache
def _country_names():
    names = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name", "alpha_3"):
            value = getattr(country, attr, None)
            if value:
                names[countries.sort_key(value)] = country.alpha_2
    folder = os.path.join(os.path.dirname(os.path.dirname(__file__)), "translations")
    languages = os.listdir(folder) if os.path.isdir(folder) else []
    for language in ["en", *languages]:
        for code, name in countries.choices(language):
            names.setdefault(countries.sort_key(name), code)
    for alias, code in ALIASES.items():
        names.setdefault(alias, code)
    return names


@functools.lru_cache(maxsize=4096)
def _country_by_name(value):
    return _country_names().get(countries.sort_key(value))


def country_code(value):
    """An ISO 3166-1 alpha-2 code from a code or a country name (any case, accents optional)."""
    if len(value) == 2 and (code := value.upper()) in countries.CODES:
        return code
    value = " ".join(value.split()).replace("\u2019", "'")
    if not value:
        raise Rejected("country is missing")
    if len(value) == 2 and value.upper() in countries.CODES:
        return value.upper()
    code = _country_by_name(value)
    if code is None:
        raise Rejected(f"country {value[:60]!r} is not a known country (use the two-letter code)")
    return code


def parse_time(value, now):
    """An ISO 8601 date or time; naive ones are UTC; None when empty."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Rejected(f"created_at {value[:40]!r} is not an ISO 8601 date or time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    parsed = parsed.astimezone(dt.UTC)
    if parsed > now + FUTURE_SKEW:
        raise Rejected(f"created_at {value[:40]!r} is in the future")
    return parsed


def check_row(line, fields, layout, now, check_deliverability):
    """One CSV record to a Row, or Rejected with the reason; layout comes from read_header."""
    width, at_name, at_email, at_country, at_city, at_postcode, at_time = layout
    if len(fields) != width:
        raise Rejected(f"expected {width} fields, found {len(fields)}")
    name = clean_field("name", fields[at_name], NAME_MAX, required=True)
    email = fields[at_email].strip()
    if not email:
        raise Rejected("email is missing")
    if len(email) > EMAIL_MAX:
        raise Rejected(f"email is longer than {EMAIL_MAX} characters")
    try:
        normalized, canonical = email_forms(email, check_deliverability)
    except InvalidEmail as exc:
        raise Rejected(f"email is not valid: {exc}") from None
    country = country_code(fields[at_country])
    city = clean_field("city", fields[at_city], CITY_MAX) if at_city is not None else None
    postcode = None
    if at_postcode is not None:
        postcode = clean_field("postcode", fields[at_postcode], POSTCODE_MAX)
    created_at = None
    if at_time is not None and fields[at_time]:
        created_at = parse_time(fields[at_time], now)
    return Row(line, name, normalized, canonical, country, city, postcode, created_at or now)


def read_header(fields, line):
    """The column layout check_row reads by, from the header; ImportFileError if it is wrong."""
    expected = ",".join(COLUMNS)
    # Beyond a few columns more than it may have, the header is wrong whatever they are called:
    # say so before looking at each one (a header of millions of columns is one upload away).
    if len(fields) > MAX_COLUMNS:
        raise ImportFileError(
            f"line {line}: the header has {len(fields):,} columns; it must be {expected}"
        )
    columns = [unicodedata.normalize("NFC", f).strip().lower() for f in fields]
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ImportFileError(
            f"line {line}: unknown column {unknown[0][:40]!r}; the header must be {expected}"
        )
    repeated = sorted(c for c, n in Counter(columns).items() if n > 1)
    if repeated:
        raise ImportFileError(f"line {line}: column {repeated[0]!r} appears twice")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ImportFileError(
            f"line {line}: the header has no {missing[0]!r} column; it must be {expected}"
        )
    at = {name: i for i, name in enumerate(columns)}
    return (len(columns), *(at.get(name) for name in COLUMNS))
