"""Figures and exports of a day of action for staff: counted from the rows (not a hot path)."""

import datetime as dt

from sqlalchemy import case, func, select

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.core.spreadsheets import iso
from petition.events.models import Event, Rsvp
from petition.events.operations import local
from petition.petitions.reports import as_date, day_of

CHART_DAYS = 30


def state_counts(day):
    return dict(
        db.session.execute(
            select(Event.state, func.count()).where(Event.day_id == day.id).group_by(Event.state)
        ).all()
    )


def rsvp_counts(day):
    """{state: RSVPs} of the day's approved events; held RSVPs are left out, as in the counts."""
    return dict(
        db.session.execute(
            select(Rsvp.state, func.count())
            .join(Event, Event.id == Rsvp.event_id)
            .where(Event.day_id == day.id, Event.state == "approved", Rsvp.held_reason.is_(None))
            .group_by(Rsvp.state)
        ).all()
    )


def by_country(day):
    """[(country, approved events, pending events, people attending)], most events first."""
    attending = (
        select(Rsvp.event_id, func.count().label("n"))
        .where(Rsvp.state == "attending", Rsvp.held_reason.is_(None))
        .group_by(Rsvp.event_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Event.country,
            func.sum(case((Event.state == "approved", 1), else_=0)),
            func.sum(case((Event.state == "pending", 1), else_=0)),
            func.coalesce(func.sum(case((Event.state == "approved", attending.c.n), else_=0)), 0),
        )
        .outerjoin(attending, attending.c.event_id == Event.id)
        .where(Event.day_id == day.id, Event.state.in_(("approved", "pending")))
        .group_by(Event.country)
    ).all()
    return sorted(
        ((c, int(a or 0), int(p or 0), int(n or 0)) for c, a, p, n in rows),
        key=lambda row: (-row[1], -row[2], row[0]),
    )


def rsvps_per_day(day, last_day=None, days=CHART_DAYS):
    """[(UTC date, RSVPs made that day)] over the last `days` days, zeros included."""
    last_day = last_day or utcnow().date()
    first_day = last_day - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time(), dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), dt.UTC)
    when = day_of(Rsvp.created_at)
    rows = db.session.execute(
        select(when, func.count())
        .join(Event, Event.id == Rsvp.event_id)
        .where(
            Event.day_id == day.id,
            Rsvp.held_reason.is_(None),
            Rsvp.created_at >= start,
            Rsvp.created_at < end,
        )
        .group_by(when)
    ).all()
    found = {as_date(d): n for d, n in rows}
    return [
        (first_day + dt.timedelta(days=i), found.get(first_day + dt.timedelta(days=i), 0))
        for i in range(days)
    ]


EVENT_COLUMNS = (
    "id",
    "state",
    "title",
    "host_name",
    "host_email",
    "mode",
    "venue",
    "address",
    "address_visibility",
    "city",
    "country",
    "timezone",
    "starts_local",
    "ends_local",
    "online_url",
    "capacity",
    "attending",
    "waiting",
    "details_to_come",
    "created_at",
    "approved_at",
    "held_reason",
)


def event_rows(day):
    """Every event of the day, each time in its own zone with its offset (ISO 8601)."""
    counts = {}
    for event_id, state, n in db.session.execute(
        select(Rsvp.event_id, Rsvp.state, func.count())
        .join(Event, Event.id == Rsvp.event_id)
        .where(Event.day_id == day.id, Rsvp.held_reason.is_(None))
        .group_by(Rsvp.event_id, Rsvp.state)
    ):
        counts[(event_id, state)] = n
    query = select(Event).where(Event.day_id == day.id).order_by(Event.id)
    for e in db.session.execute(query.execution_options(yield_per=500)).scalars():
        yield (
            e.id,
            e.state,
            e.title,
            e.host_name,
            e.host_email,
            e.mode,
            e.venue,
            e.address,
            e.address_visibility,
            e.city,
            e.country,
            e.timezone,
            local(e.starts_at, e.timezone).isoformat(),
            local(e.ends_at, e.timezone).isoformat() if e.ends_at else "",
            e.online_url,
            e.capacity if e.capacity is not None else "",
            counts.get((e.id, "attending"), 0),
            counts.get((e.id, "waiting"), 0),
            "yes" if e.details_to_come else "no",
            iso(e.created_at),
            iso(e.approved_at),
            e.held_reason or "",
        )


RSVP_COLUMNS = (
    "event_id",
    "event_title",
    "name",
    "email",
    "state",
    "share_with_host",
    "language",
    "created_at",
    "held_reason",
)


def rsvp_rows(day):
    query = (
        select(Rsvp, Event.title)
        .join(Event, Event.id == Rsvp.event_id)
        .where(Event.day_id == day.id)
        .order_by(Rsvp.event_id, Rsvp.id)
        .execution_options(yield_per=1000)
    )
    for rsvp, title in db.session.execute(query):
        yield (
            rsvp.event_id,
            title,
            rsvp.name,
            rsvp.email,
            rsvp.state,
            "yes" if rsvp.share_with_host else "no",
            rsvp.language,
            iso(rsvp.created_at),
            rsvp.held_reason or "",
        )
