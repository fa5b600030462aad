"""Reminders the day before an event, at a sensible hour of the event's own clock."""

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.core.urls import public_url
from petition.events import operations as events
from petition.events.models import Event, Rsvp
from petition.jobs import runner as jobs
from petition.mail import outbox as mail

log = logging.getLogger(__name__)
# Events starting within this much of now are looked at; anything later is not due yet.
HORIZON = dt.timedelta(days=2)
BATCH = 500


def reminder_time(event, hour):
    """When the reminder is due: `hour` o'clock local time the day before the event starts.

    On the night the clocks change the hour may not exist or may repeat: the first moment at or
    after it is taken, so a reminder is never lost or sent twice.
    """
    tz = ZoneInfo(event.timezone)
    day_before = event.starts_at.astimezone(tz).date() - dt.timedelta(days=1)
    local = dt.datetime.combine(day_before, dt.time(hour % 24))
    try:
        return events.to_utc(local, event.timezone)
    except events.LocalTimeError:
        return events.to_utc(local + dt.timedelta(hours=1), event.timezone)


def due_reminders(config, now=None):
    """Queue the reminders now due (each RSVP claimed, so no process mails it twice); commits."""
    now = now or utcnow()
    hour = config["EVENT_REMINDER_HOUR"]
    upcoming = db.session.execute(
        select(Event).where(
            Event.state == "approved",
            Event.details_to_come.is_(False),
            Event.starts_at > now,
            Event.starts_at <= now + HORIZON,
        )
    ).scalars()
    sent = 0
    for event in upcoming:
        if reminder_time(event, hour) > now:
            continue
        rsvps = db.session.execute(
            select(Rsvp)
            .where(
                Rsvp.event_id == event.id,
                Rsvp.state == "attending",
                Rsvp.held_reason.is_(None),
                Rsvp.reminded_at.is_(None),
            )
            .order_by(Rsvp.id)
            .limit(BATCH - sent)
        ).scalars()
        for rsvp in rsvps:
            claimed = db.session.execute(
                update(Rsvp)
                .where(Rsvp.id == rsvp.id, Rsvp.reminded_at.is_(None))
                .values(reminded_at=now)
            ).rowcount
            if not claimed:
                continue
            cancel = events.new_token(event.id, "rsvp_cancel", rsvp_id=rsvp.id)
            with force_locale(rsvp.language):
                mail.enqueue(
                    rsvp.email,
                    _("Tomorrow: %(title)s", title=event.title),
                    "events/mail/reminder.txt",
                    event=event,
                    rsvp=rsvp,
                    event_url=events.event_url(config, event),
                    cancel_url=public_url(config, "rsvp", "cancel", cancel),
                )
            sent += 1
        if sent >= BATCH:
            break
    db.session.commit()
    return sent


def periodic(app):
    if due_reminders(app.config):
        jobs.wake(app)
