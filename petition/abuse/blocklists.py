"""Blocked email domains and address ranges that staff edit, and the per-process copy signing reads.

Signing is the hot path, so it never queries these tables directly: each app process keeps a
snapshot of both lists and reloads it at most once per BLOCKLIST_CACHE_SECONDS, and at once in
the process where staff changed them. Other processes pick a change up within that time.
"""

import dataclasses
import ipaddress
import threading
import time

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, select

from petition.abuse.models import BLOCKLIST_KINDS, BlockedDomain, BlockedNetwork
from petition.core import db as dbutil
from petition.core.db import utcnow
from petition.core.emails import GMAIL_DOMAINS
from petition.core.extensions import db
from petition.staff.models import Staff

NOTE_MAX = 200
# Wider ranges than these would hold a large part of the internet: surely a typo.
MIN_PREFIX = {4: 8, 6: 16}


class BlocklistError(ValueError):
    """An entry that cannot be added as given; the message says why."""


# --- entries ------------------------------------------------------------------------------------


def normalise_domain(text):
    """The domain as it appears in canonical emails (IDNA, lower-case), or BlocklistError.

    Accepts a bare domain, "@domain" or a whole address. Validated by email-validator, the
    library that normalises the addresses signers give, so the two spellings always agree.
    """
    text = (text or "").strip().rstrip(".")
    if "@" in text:
        text = text.rpartition("@")[2]
    if not text:
        raise BlocklistError("Enter a domain, such as example.com.")
    if len(text) > 253:
        raise BlocklistError("That is too long for a domain name.")
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    else:
        raise BlocklistError("That is an address, not a domain: add it as a range below.")
    try:
        valid = validate_email(
            f"postmaster@{text}", check_deliverability=False, allow_smtputf8=True, strict=True
        )
    except EmailNotValidError as exc:
        raise BlocklistError(f"Not a valid email domain: {exc}") from None
    domain = valid.ascii_domain.lower()
    return "gmail.com" if domain in GMAIL_DOMAINS else domain


def normalise_network(text):
    """A CIDR range (or one address) in its normal form, e.g. '10.1.0.0/16', or BlocklistError."""
    text = (text or "").strip()
    if not text:
        raise BlocklistError("Enter an address range, such as 203.0.113.0/24 or 2001:db8::/48.")
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise BlocklistError(f"Not a valid address range: {exc}") from None
    if network.prefixlen < MIN_PREFIX[network.version]:
        raise BlocklistError(
            f"/{network.prefixlen} is too wide to block; use /{MIN_PREFIX[network.version]} "
            "or narrower."
        )
    return str(network)


def clean_note(note):
    return " ".join((note or "").split())[:NOTE_MAX]


def add_domain(text, kind="block", note="", staff_id=None):
    """Add a domain in the caller's transaction; the normalised domain, or BlocklistError."""
    if kind not in BLOCKLIST_KINDS:
        raise BlocklistError(f"kind must be one of {', '.join(BLOCKLIST_KINDS)}")
    domain = normalise_domain(text)
    # The unique index decides, so two staff adding the same domain at once cannot both win.
    added = db.session.execute(
        dbutil.insert(BlockedDomain)
        .values(domain=domain, kind=kind, note=clean_note(note))
        .values(created_by=staff_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["domain"])
        .returning(BlockedDomain.id)
    ).scalar()
    if added is None:
        raise BlocklistError(f"{domain} is already on the list.")
    return domain


def add_network(text, note="", staff_id=None):
    """Add an address range in the caller's transaction; the normalised CIDR, or BlocklistError."""
    network = normalise_network(text)
    added = db.session.execute(
        dbutil.insert(BlockedNetwork)
        .values(network=network, note=clean_note(note), created_by=staff_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["network"])
        .returning(BlockedNetwork.id)
    ).scalar()
    if added is None:
        raise BlocklistError(f"{network} is already on the list.")
    return network


def remove_domain(entry_id):
    """Delete a domain entry in the caller's transaction; what it was ({domain, kind}) or None."""
    row = db.session.execute(
        delete(BlockedDomain)
        .where(BlockedDomain.id == entry_id)
        .returning(BlockedDomain.domain, BlockedDomain.kind)
    ).first()
    return None if row is None else {"domain": row.domain, "kind": row.kind}


def remove_network(entry_id):
    """Delete a range in the caller's transaction; the CIDR it was, or None."""
    return db.session.execute(
        delete(BlockedNetwork)
        .where(BlockedNetwork.id == entry_id)
        .returning(BlockedNetwork.network)
    ).scalar()


def entries():
    """Both lists for the staff page: (domain rows, network rows), each with the adder's email."""
    domains = db.session.execute(
        select(BlockedDomain, Staff.email)
        .outerjoin(Staff, Staff.id == BlockedDomain.created_by)
        .order_by(BlockedDomain.kind, BlockedDomain.domain)
    ).all()
    networks = db.session.execute(
        select(BlockedNetwork, Staff.email)
        .outerjoin(Staff, Staff.id == BlockedNetwork.created_by)
        .order_by(BlockedNetwork.network)
    ).all()
    return domains, networks


# --- the snapshot signing reads ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The staff-edited lists at one moment; immutable, so threads share it without locks."""

    blocked_domains: frozenset = frozenset()
    allowed_domains: frozenset = frozenset()
    networks: tuple = ()


class SnapshotCache:
    """One per app: the last snapshot, when it was loaded, and a generation that edits bump.

    A reload that began before an edit in this process is not kept, so a staff member who has
    just added a domain never sees a signature from it pass because of a slow reader.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.snapshot = None
        self.loaded_at = 0.0
        self.generation = 0

    def get(self, max_age):
        snapshot = self.snapshot
        if snapshot is not None and time.monotonic() - self.loaded_at < max_age:
            return snapshot
        with self.lock:
            generation = self.generation
        fresh = load_snapshot()
        with self.lock:
            if self.generation == generation:
                self.snapshot, self.loaded_at = fresh, time.monotonic()
        return fresh

    def invalidate(self):
        with self.lock:
            self.generation += 1
            self.snapshot = None


def load_snapshot():
    """Read both lists: two small queries."""
    domains = db.session.execute(select(BlockedDomain.domain, BlockedDomain.kind)).all()
    networks = db.session.execute(select(BlockedNetwork.network)).scalars().all()
    parsed = []
    for network in networks:
        try:
            parsed.append(ipaddress.ip_network(network, strict=False))
        except ValueError:
            continue  # written by hand into the table; the page still lists it for removal
    return Snapshot(
        blocked_domains=frozenset(d for d, kind in domains if kind == "block"),
        allowed_domains=frozenset(d for d, kind in domains if kind == "allow"),
        networks=tuple(parsed),
    )


def _cache(app):
    cache = app.extensions.get("blocklists")
    if cache is None:
        cache = app.extensions.setdefault("blocklists", SnapshotCache())
    return cache


def current():
    """The lists as signing should apply them now (cached per process)."""
    app = current_app._get_current_object()
    return _cache(app).get(app.config["BLOCKLIST_CACHE_SECONDS"])


def changed():
    """Call after committing an edit: this process applies it from the next signature on."""
    _cache(current_app._get_current_object()).invalidate()
