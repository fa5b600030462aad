"""Hosts' and attendees' personal data under the privacy commands (privacy/cli.py).

erase_person: a data-subject request. Their RSVPs are cancelled (a freed place goes to the wait
list) and anonymised; events they host are anonymised, and cancelled if still to come, with
attendees told; photos of those events are deleted, files and all; their link tokens go.

anonymise_past_days: after a day of action is over (EVENT_ANONYMISE_AFTER_DAYS), every RSVP
and every host of it is anonymised, private addresses and client IPs cleared, tokens deleted.
Country, city, times, states and counts stay, so the day's page and its figures are unchanged.

None of these commit: the caller owns the transaction.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select

from petition.core.anonymous import ANON_NAME, is_placeholder, placeholder_email
from petition.core.db import utcnow
from petition.core.extensions import db
from petition.events import operations as events
from petition.events.models import DayOfAction, Event, EventPhoto, EventToken, Rsvp, TrustedHost


@dataclass
class EventsErasure:
    rsvps: int = 0
    hosted: int = 0
    cancelled: int = 0
    photos: int = 0
    tokens: int = 0


def anonymise_rsvp(rsvp, secret):
    anon = placeholder_email("rsvp", rsvp.id, secret)
    rsvp.name = ANON_NAME
    rsvp.email = anon
    rsvp.canonical_email = anon
    rsvp.share_with_host = False
    rsvp.ip = None


def anonymise_host(event, secret):
    anon = placeholder_email("host", event.id, secret)
    event.host_name = ANON_NAME
    event.host_email = anon
    event.host_canonical_email = anon
    event.ip = None
    # An address only attendees saw may be the host's home.
    if event.address_visibility == "attendees":
        event.address = ""


def erase_person(canonical, config, now=None):
    """Erase one person's RSVPs and hosted events; returns (EventsErasure, their addresses)."""
    now = now or utcnow()
    secret = config["SECRET_KEY"]
    report = EventsErasure()
    addresses = set()
    rsvps = (
        db.session.execute(select(Rsvp).where(Rsvp.canonical_email == canonical).order_by(Rsvp.id))
        .scalars()
        .all()
    )
    for rsvp in rsvps:
        addresses.add(rsvp.email.lower())
        events.lock_places(rsvp.event_id)
        freed = rsvp.state == "attending" and rsvp.held_reason is None
        if rsvp.state != "cancelled":
            rsvp.state = "cancelled"
            rsvp.cancelled_at = now
        anonymise_rsvp(rsvp, secret)
        report.tokens += db.session.execute(
            delete(EventToken).where(EventToken.rsvp_id == rsvp.id)
        ).rowcount
        db.session.flush()
        if freed:
            events.promote(rsvp.event, config)
        report.rsvps += 1

    hosted = (
        db.session.execute(
            select(Event).where(Event.host_canonical_email == canonical).order_by(Event.id)
        )
        .scalars()
        .all()
    )
    for event in hosted:
        addresses.add(event.host_email.lower())
        if event.state in ("unverified", "pending") or (
            event.state == "approved" and event.starts_at > now
        ):
            # Nobody is left to hold it: attendees are told it is off.
            events.cancel_event(event, config, by_host=False)
            report.cancelled += 1
        anonymise_host(event, secret)
        photos = db.session.execute(
            select(EventPhoto).where(EventPhoto.event_id == event.id)
        ).scalars()
        for photo in photos:
            events.delete_photo(photo, config)
            report.photos += 1
        report.tokens += db.session.execute(
            delete(EventToken).where(
                EventToken.event_id == event.id,
                EventToken.purpose.in_(("host_confirm", "manage")),
            )
        ).rowcount
        report.hosted += 1
    db.session.execute(delete(TrustedHost).where(TrustedHost.canonical_email == canonical))
    db.session.flush()
    return report, addresses


@dataclass
class DayAnonymised:
    slug: str
    rsvps: int = 0
    hosts: int = 0
    tokens: int = 0


def due_days(after_days, now=None):
    """Days of action whose last day ended more than after_days ago."""
    cutoff = (now or utcnow()).date() - dt.timedelta(days=after_days)
    return (
        db.session.execute(
            select(DayOfAction).where(DayOfAction.ends_on < cutoff).order_by(DayOfAction.id)
        )
        .scalars()
        .all()
    )


def anonymise_day(day, config):
    """Anonymise every attendee and host of a day that is over; a second run finds nothing."""
    secret = config["SECRET_KEY"]
    done = DayAnonymised(day.slug)
    event_ids = db.session.execute(select(Event.id).where(Event.day_id == day.id)).scalars().all()
    if not event_ids:
        return done
    for rsvp in db.session.execute(select(Rsvp).where(Rsvp.event_id.in_(event_ids))).scalars():
        if not is_placeholder(rsvp.canonical_email):
            anonymise_rsvp(rsvp, secret)
            done.rsvps += 1
    for event in db.session.execute(select(Event).where(Event.id.in_(event_ids))).scalars():
        if not is_placeholder(event.host_canonical_email):
            anonymise_host(event, secret)
            done.hosts += 1
    done.tokens = db.session.execute(
        delete(EventToken).where(EventToken.event_id.in_(event_ids))
    ).rowcount
    db.session.flush()
    return done
