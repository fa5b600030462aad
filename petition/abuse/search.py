"""Which signatures staff mean: the filters shared by the list, the CSV export and bulk moderation.

`Filters` holds parsed, normalised values and turns them into WHERE clauses that run the same
on PostgreSQL and SQLite. The parse_* functions raise ValueError with a message for the form.
Two SQL functions need per-database help: an address inside a network (PostgreSQL's inet
operators; a Python function registered on each SQLite connection, see core/sql.py) and
lower-casing beyond ASCII (SQLite's lower() only folds A-Z).
"""

import datetime as dt
import ipaddress
import re
from dataclasses import asdict, dataclass

import idna
from sqlalchemy import func, select

from petition.core import countries
from petition.core.emails import GMAIL_DOMAINS, InvalidEmail, check_email
from petition.core.extensions import db
from petition.core.sql import MAPPED, ip_in_network, unicode_lower
from petition.petitions.models import SIGNATURE_STATES, Signature

# "held" is a state for staff: fraudulent, set by an abuse check rather than by a person.
STATES = (*SIGNATURE_STATES, "held")


def parse_network(text):
    """An address or a CIDR range as canonical network text ("203.0.113.0/24")."""
    text = (text or "").strip()
    if not text:
        return ""
    address, _, prefix = text.partition("/")
    address = address.split("%", 1)[0]
    mapped = MAPPED.match(address)
    if mapped:
        address = mapped.group(1)
        if prefix:
            # ::ffff:a.b.c.d/120 is a.b.c.d/24.
            if not prefix.isdigit() or not 96 <= int(prefix) <= 128:
                raise ValueError("Enter an IP address or a range such as 203.0.113.0/24.")
            prefix = str(int(prefix) - 96)
    try:
        network = ipaddress.ip_network(f"{address}/{prefix}" if prefix else address, strict=False)
    except ValueError:
        raise ValueError("Enter an IP address or a range such as 203.0.113.0/24.") from None
    return str(network)


# --- other fields ------------------------------------------------------------------------------

_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


def parse_domain(text):
    """An email domain as canonical emails spell it: lower case, IDNA, gmail for googlemail."""
    text = (text or "").strip().lower()
    text = text.rsplit("@", 1)[-1].removeprefix("*.").strip(".")
    if not text:
        return ""
    try:
        domain = idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise ValueError("Enter a domain such as example.org.") from None
    if not _DOMAIN.match(domain) or len(domain) > 253:
        raise ValueError("Enter a domain such as example.org.")
    return "gmail.com" if domain in GMAIL_DOMAINS else domain


def name_pattern(text):
    """A LIKE pattern (escape "/") for part of a name, `*` standing for anything."""
    parts = [p.replace("/", "//").replace("%", "/%").replace("_", "/_") for p in text.split("*")]
    return "%" + "%".join(parts).lower() + "%"


_MOMENT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$")
_MOMENT_ERROR = "Enter a date (2025-01-31) or a date and time in UTC (2025-01-31 14:30)."


def parse_moment(text, end=False):
    """A UTC time from "YYYY-MM-DD[ HH:MM[:SS]]"; with end=True, the first instant after it.

    So "until 2025-01-31" takes in the whole day and "until 14:30" the whole minute.
    """
    text = (text or "").strip()
    if not text:
        return None
    found = _MOMENT.match(text)
    if not found:
        raise ValueError(_MOMENT_ERROR)
    year, month, day, hour, minute, second = found.groups()
    try:
        moment = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=dt.UTC,
        )
        if end and hour is None:
            moment += dt.timedelta(days=1)
        elif end:
            moment += dt.timedelta(minutes=1) if second is None else dt.timedelta(seconds=1)
    except (ValueError, OverflowError):
        raise ValueError(_MOMENT_ERROR) from None
    return moment


# --- the filters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Parsed search filters; empty values filter nothing."""

    q: str = ""
    ip: str = ""  # canonical network text
    domain: str = ""  # ASCII domain
    name: str = ""  # as typed, `*` a wildcard
    country: str = ""
    source: str = ""
    state: str = ""  # one of STATES
    since: dt.datetime | None = None  # inclusive
    before: dt.datetime | None = None  # exclusive

    def __bool__(self):
        return any(v for v in asdict(self).values())

    def conditions(self):
        """WHERE clauses over Signature."""
        where = []
        if self.q:
            where.append(_q_condition(self.q))
        if self.ip:
            where.append(ip_in_network(Signature.ip, self.ip))
        if self.domain:
            where.append(
                Signature.canonical_email.endswith("@" + self.domain, autoescape=True)
                | Signature.canonical_email.endswith("." + self.domain, autoescape=True)
            )
        if self.name:
            where.append(unicode_lower(Signature.name).like(name_pattern(self.name), escape="/"))
        if self.country:
            where.append(Signature.country == self.country)
        if self.source:
            where.append(Signature.source == self.source)
        if self.state == "held":
            where.append(Signature.held)
        elif self.state:
            where.append(Signature.state == self.state)
        if self.since is not None:
            where.append(Signature.created_at >= self.since)
        if self.before is not None:
            where.append(Signature.created_at < self.before)
        return where

    def as_params(self):
        """JSON-ready, for a job's params; from_params reads it back."""
        params = asdict(self)
        for key in ("since", "before"):
            params[key] = params[key].isoformat() if params[key] else None
        return params

    @classmethod
    def from_params(cls, params):
        """Filters from as_params() output, each value checked again."""
        params = dict(params or {})
        state = params.get("state") or ""
        country = params.get("country") or ""
        return cls(
            q=params.get("q") or "",
            ip=parse_network(params.get("ip")),
            domain=parse_domain(params.get("domain")),
            name=params.get("name") or "",
            country=country if country in countries.CODES else "",
            source=params.get("source") or "",
            state=state if state in STATES else "",
            since=_iso(params.get("since")),
            before=_iso(params.get("before")),
        )


def _iso(value):
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC) if value else None


def _q_condition(q):
    try:
        email = check_email(q)
    except InvalidEmail:
        email = None
    if email is not None:
        # A whole address: the unique index finds that mailbox however it was spelled.
        return Signature.canonical_email == email.canonical
    return Signature.name.icontains(q, autoescape=True) | Signature.email.icontains(
        q, autoescape=True
    )


def count_by_state(petition_id, where):
    """{state: n} of the petition's signatures matching `where`."""
    rows = db.session.execute(
        select(Signature.state, func.count())
        .where(Signature.petition_id == petition_id, *where)
        .group_by(Signature.state)
    ).all()
    return dict(rows)
