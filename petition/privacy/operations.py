"""Privacy operations: erase IPs, anonymise delivered petitions, erase one person's data.

Plain functions; `flask privacy ...` (privacy/cli.py) calls them. Each commits once per batch or per
petition and is safe to run again: rows already done are skipped, not redone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import delete, func, select, update

from petition.core.anonymous import ANON_DOMAIN, ANON_NAME
from petition.core.db import utcnow
from petition.core.extensions import db
from petition.delivery.models import Delivery
from petition.endorsements import operations as endorsements
from petition.events import retention
from petition.mail.models import OutboxMessage
from petition.petitions import counting
from petition.petitions.models import Petition, Signature
from petition.signing.models import Token
from petition.staff.auth import audit

BATCH_SIZE = 5000


class PrivacyError(RuntimeError):
    """An operation the rules do not allow (an open petition, no delivery yet)."""


def id_batches(batch_size, *conditions):
    """Ids of matching signatures in ascending batches, walking the primary key.

    Each batch is read after the previous one committed, so rows the caller changed (and that
    no longer match) never come round again, and no batch holds a long transaction.
    """
    last_id = 0
    while True:
        ids = (
            db.session.execute(
                select(Signature.id)
                .where(Signature.id > last_id, *conditions)
                .order_by(Signature.id)
                .limit(batch_size)
            )
            .scalars()
            .all()
        )
        if not ids:
            return
        last_id = ids[-1]
        yield ids


def placeholder_email(petition_id, signature_id, secret=None):
    """A unique, non-reversible stand-in for an address: unique per signature row."""
    secret = secret if secret is not None else current_app.config["SECRET_KEY"]
    digest = hashlib.sha256(f"{petition_id}:{signature_id}:{secret}".encode()).hexdigest()
    return f"anon-{digest[:24]}@{ANON_DOMAIN}"


def email_digest(canonical):
    """What the audit log keeps instead of an address."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def not_anonymised():
    return ~Signature.canonical_email.endswith(f"@{ANON_DOMAIN}")


def anonymised_values(petition_id, signature_id, secret):
    anon = placeholder_email(petition_id, signature_id, secret)
    return {
        "id": signature_id,
        "name": ANON_NAME,
        "email": anon,
        "canonical_email": anon,
        "city": None,
        "postcode": None,
        "ip": None,
    }


# --- IP retention ---------------------------------------------------------------------------


def erase_ips(older_than_days, batch_size=BATCH_SIZE, now=None):
    """Clear Signature.ip on rows created more than older_than_days ago; return how many.

    Walks the primary key in batches (keyset), one UPDATE and one commit per batch, so it stays
    cheap on millions of rows and an interrupted run loses nothing.
    """
    cutoff = (now or utcnow()) - dt.timedelta(days=older_than_days)
    erased = 0
    for ids in id_batches(batch_size, Signature.ip.is_not(None), Signature.created_at < cutoff):
        result = db.session.execute(
            update(Signature)
            .where(Signature.id.in_(ids), Signature.ip.is_not(None))
            .values(ip=None)
            .execution_options(synchronize_session=False)
        )
        erased += result.rowcount
        db.session.commit()
    audit("privacy.erase_ips", staff=None, erased=erased, older_than_days=older_than_days)
    db.session.commit()
    return erased


# --- anonymising a delivered petition -------------------------------------------------------


def last_delivery_at(petition_id):
    return db.session.execute(
        select(func.max(Delivery.created_at)).where(Delivery.petition_id == petition_id)
    ).scalar()


def check_anonymisable(petition):
    if petition.state != "closed":
        raise PrivacyError(
            f"{petition.slug} is {petition.state}: only closed petitions can be anonymised"
        )
    if last_delivery_at(petition.id) is None:
        raise PrivacyError(f"{petition.slug} has no delivery yet: deliver it before anonymising")


def anonymise_petition(petition, batch_size=BATCH_SIZE):
    """Replace every signer's personal data on a closed, delivered petition; return how many.

    Keeps country, state and dates, so counts, per-country tables and delivered row counts stay
    as they were. Link tokens of the rows go too. One commit per batch; rows already anonymised
    are skipped, so a second run changes nothing and returns 0.
    """
    check_anonymisable(petition)
    petition_id = petition.id
    secret = current_app.config["SECRET_KEY"]
    done = 0
    for ids in id_batches(batch_size, Signature.petition_id == petition_id, not_anonymised()):
        db.session.execute(
            update(Signature), [anonymised_values(petition_id, i, secret) for i in ids]
        )
        db.session.execute(delete(Token).where(Token.signature_id.in_(ids)))
        done += len(ids)
        db.session.commit()
    if done:
        audit("privacy.anonymise", petition_id=petition_id, staff=None, signatures=done)
        db.session.commit()
    forget_endorsement_contacts(petition, petition_id=petition_id)
    return done


def forget_endorsement_contacts(target, **where):
    """The contacts of a target's endorsements go with its signers' or attendees' data."""
    erased, deleted, _addresses = endorsements.forget_contacts_of(target, current_app.config)
    if erased or deleted:
        audit(
            "privacy.anonymise_endorsements",
            staff=None,
            contact_erased=erased,
            unconfirmed_deleted=deleted,
            **where,
        )
    db.session.commit()


def due_petitions(after_days, now=None):
    """Closed petitions whose last delivery is more than after_days old."""
    cutoff = (now or utcnow()) - dt.timedelta(days=after_days)
    last = (
        select(Delivery.petition_id, func.max(Delivery.created_at).label("last"))
        .group_by(Delivery.petition_id)
        .subquery()
    )
    return (
        db.session.execute(
            select(Petition)
            .join(last, last.c.petition_id == Petition.id)
            .where(Petition.state == "closed", last.c.last < cutoff)
            .order_by(Petition.id)
        )
        .scalars()
        .all()
    )


def anonymise_due(after_days, now=None, batch_size=BATCH_SIZE):
    """Anonymise every due petition; return [(slug, rows anonymised)]."""
    return [
        (petition.slug, anonymise_petition(petition, batch_size=batch_size))
        for petition in due_petitions(after_days, now)
    ]


def anonymise_days_due(after_days, now=None):
    """Anonymise the attendees and hosts of every day of action over for after_days days."""
    results = []
    for day in retention.due_days(after_days, now):
        done = retention.anonymise_day(day, current_app.config)
        if done.rsvps or done.hosts:
            audit(
                "privacy.anonymise_day",
                staff=None,
                day=day.slug,
                rsvps=done.rsvps,
                hosts=done.hosts,
                tokens_deleted=done.tokens,
            )
        db.session.commit()
        forget_endorsement_contacts(day, day=day.slug)
        results.append(done)
    return results


LINK = re.compile(r"/(?:confirm|withdraw)/([A-Za-z0-9_-]+)")


def mail_tokens(body):
    """The SHA-256 of every confirm or withdraw token linked in a mail body."""
    return {hashlib.sha256(t.encode("utf-8")).hexdigest() for t in LINK.findall(body or "")}


# --- a data-subject request -----------------------------------------------------------------


@dataclass
class ErasureReport:
    signatures: int = 0
    withdrawn: int = 0
    uncounted: int = 0
    tokens: int = 0
    outbox: int = 0
    petitions: list[str] = field(default_factory=list)
    events: retention.EventsErasure | None = None
    endorsements: int = 0


def erase_person(email, petition=None):
    """Erase one person's data: their signatures anonymised and withdrawn, tokens and unsent mail.

    email: as the person gives it; found by canonical email (and the exact address). Pending and
    confirmed signatures become withdrawn and confirmed ones leave the counts. One commit per
    petition, then one for the outbox; a second run finds nothing left.
    Raises signing.InvalidEmail for an address that does not parse.
    """
    from petition.core.emails import check_email

    checked = check_email(email)
    canonical = checked.canonical
    addresses = {checked.normalized.lower(), email.strip().lower()}
    digest = email_digest(canonical)
    secret = current_app.config["SECRET_KEY"]
    report = ErasureReport()
    token_hashes = set()

    query = select(Signature.petition_id).where(
        (Signature.canonical_email == canonical) | (Signature.email == checked.normalized)
    )
    if petition is not None:
        query = query.where(Signature.petition_id == petition.id)
    petition_ids = sorted(set(db.session.execute(query).scalars()))

    for petition_id in petition_ids:
        slug = db.session.execute(
            select(Petition.slug).where(Petition.id == petition_id)
        ).scalar_one()
        rows = (
            db.session.execute(
                select(Signature)
                .where(
                    Signature.petition_id == petition_id,
                    (Signature.canonical_email == canonical)
                    | (Signature.email == checked.normalized),
                )
                .order_by(Signature.id)
                # Signature rows first, then the petition's count (add_confirmed), the order
                # confirm and withdraw lock in: a racing confirmation waits, never deadlocks.
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            .scalars()
            .all()
        )
        now = utcnow()
        withdrawn = uncounted = 0
        for signature in rows:
            addresses.add(signature.email.lower())
            if signature.state in ("pending", "confirmed"):
                if signature.state == "confirmed":
                    counting.add_confirmed(petition_id, signature.country, -1)
                    uncounted += 1
                signature.state = "withdrawn"
                signature.withdrawn_at = now
                withdrawn += 1
            for key, value in anonymised_values(petition_id, signature.id, secret).items():
                setattr(signature, key, value)
        ids = [s.id for s in rows]
        token_hashes.update(
            db.session.execute(select(Token.token_hash).where(Token.signature_id.in_(ids)))
            .scalars()
            .all()
        )
        tokens = db.session.execute(delete(Token).where(Token.signature_id.in_(ids))).rowcount
        audit(
            "privacy.erase_person",
            petition_id=petition_id,
            staff=None,
            email_sha256=digest,
            signatures=len(rows),
            withdrawn=withdrawn,
            uncounted=uncounted,
            tokens_deleted=tokens,
        )
        db.session.commit()
        report.signatures += len(rows)
        report.withdrawn += withdrawn
        report.uncounted += uncounted
        report.tokens += tokens
        report.petitions.append(slug)

    if petition is None:
        # Days of action too: their RSVPs, and the events they host.
        report.events, hosts_and_guests = retention.erase_person(canonical, current_app.config)
        addresses |= hosts_and_guests
        found = report.events
        if found.rsvps or found.hosted:
            audit(
                "privacy.erase_person_events",
                staff=None,
                email_sha256=digest,
                rsvps=found.rsvps,
                hosted=found.hosted,
                cancelled=found.cancelled,
                photos=found.photos,
                tokens_deleted=found.tokens,
            )
        db.session.commit()
        # Endorsements they sent as an organisation's contact.
        erased, deleted, contacts = endorsements.erase_contact(canonical, current_app.config)
        addresses |= contacts
        report.endorsements = erased + deleted
        if report.endorsements:
            audit(
                "privacy.erase_person_endorsements",
                staff=None,
                email_sha256=digest,
                contact_erased=erased,
                unconfirmed_deleted=deleted,
            )
        db.session.commit()

    # Unsent mail carries the address and the name: all of it goes, or with one petition given,
    # the mails whose links carry the tokens just deleted (the outbox does not name petitions).
    unsent = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.body).where(
            OutboxMessage.sent_at.is_(None), func.lower(OutboxMessage.to).in_(addresses)
        )
    ).all()
    doomed = [
        mail_id for mail_id, body in unsent if petition is None or mail_tokens(body) & token_hashes
    ]
    if doomed:
        report.outbox = db.session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.id.in_(doomed))
            .execution_options(synchronize_session=False)
        ).rowcount
    audit(
        "privacy.erase_person",
        petition_id=petition.id if petition is not None else None,
        staff=None,
        email_sha256=digest,
        summary=True,
        petitions=len(report.petitions),
        signatures=report.signatures,
        outbox_deleted=report.outbox,
    )
    db.session.commit()
    return report
