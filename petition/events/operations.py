"""Days of action, hosting, moderation and RSVPs: plain functions.

None of these commit: the caller (a view, a command) owns the transaction, so an event, its
tokens and its mail land together or not at all.
"""

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update

from petition.core import uploads
from petition.core.db import StateError, utcnow
from petition.core.emails import Email
from petition.core.extensions import db
from petition.core.spreadsheets import iso
from petition.core.urls import public_url
from petition.events import calendars
from petition.events.models import (
    DayOfAction,
    Event,
    EventMessage,
    EventPhoto,
    EventToken,
    Rsvp,
    TrustedHost,
)
from petition.mail import outbox as mail

PHOTO_STATES_ALL = ("pending", "approved", "rejected")


class DayClosed(Exception):
    """The day of action takes no new events now."""


def create_day(
    slug,
    title,
    starts_on,
    ends_on=None,
    petition=None,
    toolkit="",
    requirements=(),
    slogans=(),
    approval_required=True,
    state="draft",
):
    ends_on = ends_on or starts_on
    if ends_on < starts_on:
        raise StateError("the day of action ends before it starts")
    day = DayOfAction(
        slug=slug,
        title=title,
        starts_on=starts_on,
        ends_on=ends_on,
        petition=petition,
        toolkit=toolkit,
        requirements="\n".join(r.strip() for r in requirements if r.strip()),
        slogans="\n".join(s.strip() for s in slogans if s.strip()),
        approval_required=approval_required,
        state=state,
    )
    db.session.add(day)
    db.session.flush()
    return day


SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
DAY_FIELDS = (
    "title",
    "starts_on",
    "ends_on",
    "petition_id",
    "toolkit",
    "requirements",
    "slogans",
    "approval_required",
    "state",
)
# Where a day may go: a draft opens, an open day closes or reopens; nothing returns to draft
# once hosts may have seen it.
DAY_MOVES = {"draft": {"draft", "open"}, "open": {"open", "closed"}, "closed": {"closed", "open"}}


def slug_taken(slug):
    return db.session.execute(select(DayOfAction.id).where(DayOfAction.slug == slug)).first()


def update_day(day, values):
    """Staff's edit of a day of action; returns the changed field names."""
    if values.get("state", day.state) not in DAY_MOVES[day.state]:
        raise StateError(f"a day that is {day.state} cannot become {values['state']}")
    starts = values.get("starts_on", day.starts_on)
    ends = values.get("ends_on", day.ends_on) or starts
    if ends < starts:
        raise StateError("the day of action ends before it starts")
    values = {**values, "ends_on": ends}
    for key in ("requirements", "slogans"):
        if key in values:
            values[key] = "\n".join(x.strip() for x in values[key].splitlines() if x.strip())
    changed = [k for k in DAY_FIELDS if k in values and getattr(day, k) != values[k]]
    for key in changed:
        setattr(day, key, values[key])
    if changed:
        day.updated_at = utcnow()
    return changed


def day_by_slug(slug, public=True):
    query = select(DayOfAction).where(DayOfAction.slug == slug)
    if public:
        query = query.where(DayOfAction.state != "draft")
    return db.session.execute(query).scalar_one_or_none()


def day_for_petition(petition_id):
    """The public day of action a petition belongs to, if any."""
    return db.session.execute(
        select(DayOfAction)
        .where(DayOfAction.petition_id == petition_id, DayOfAction.state != "draft")
        .order_by(DayOfAction.starts_on.desc())
        .limit(1)
    ).scalar_one_or_none()


# -- times -------------------------------------------------------------------------------------


class LocalTimeError(ValueError):
    """A wall-clock time that does not exist in the zone (the clocks jumped over it)."""


def to_utc(local, zone):
    """A naive local wall time in `zone` as an aware UTC time.

    A time in the hour the clocks skip is refused rather than silently moved; in the hour that
    repeats, the first (summer time) reading is taken, as people mean the earlier one.
    """
    tz = ZoneInfo(zone)
    aware = local.replace(tzinfo=tz, fold=0)
    utc = aware.astimezone(dt.UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local:
        raise LocalTimeError(local)
    return utc


def local(moment, zone):
    """An aware time shown in the event's own zone."""
    return moment.astimezone(ZoneInfo(zone))


# -- tokens ------------------------------------------------------------------------------------


def digest(plain):
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def new_token(event_id, purpose, rsvp_id=None):
    plain = secrets.token_urlsafe(32)
    db.session.add(
        EventToken(event_id=event_id, rsvp_id=rsvp_id, purpose=purpose, token_hash=digest(plain))
    )
    return plain


def find_token(plain, purpose):
    """The token row for a link, or None; a token only ever works for its own purpose."""
    if not plain or len(plain) > 100:
        return None
    return db.session.execute(
        select(EventToken).where(
            EventToken.token_hash == digest(plain), EventToken.purpose == purpose
        )
    ).scalar_one_or_none()


# -- hosting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventData:
    title: str
    host_name: str
    host_email: Email
    mode: str
    country: str
    timezone: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None
    venue: str = ""
    address: str = ""
    address_visibility: str = "public"
    city: str = ""
    lat: float | None = None
    lon: float | None = None
    online_url: str = ""
    capacity: int | None = None
    description: str = ""
    accessibility: str = ""
    details_to_come: bool = False
    language: str = "en"
    ip: str | None = None


def host_event(day, data, config, held_reason=None):
    """Record a hosted event as unverified and mail its host the confirm and manage links."""
    if day.state != "open":
        raise DayClosed(day.slug)
    now = utcnow()
    event = Event(
        day_id=day.id,
        title=data.title,
        host_name=data.host_name,
        host_email=data.host_email.normalized,
        host_canonical_email=data.host_email.canonical,
        mode=data.mode,
        venue=data.venue,
        address=data.address,
        address_visibility=data.address_visibility,
        city=data.city,
        country=data.country,
        lat=data.lat,
        lon=data.lon,
        timezone=data.timezone,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        online_url=data.online_url,
        capacity=data.capacity,
        description=data.description,
        accessibility=data.accessibility,
        details_to_come=data.details_to_come,
        language=data.language,
        ip=data.ip,
        held_reason=held_reason,
        state="unverified",
        created_at=now,
        updated_at=now,
    )
    db.session.add(event)
    db.session.flush()
    confirm = new_token(event.id, "host_confirm")
    manage = new_token(event.id, "manage")
    with force_locale(event.language):
        mail.enqueue(
            event.host_email,
            _("Confirm your event: %(title)s", title=event.title),
            "events/mail/host_confirm.txt",
            event=event,
            day=day,
            confirm_url=public_url(config, "events", "confirm", confirm),
            manage_url=public_url(config, "events", "manage", manage),
        )
    return event


def confirm_host(plain, config):
    """The host confirms their address: pending for staff, or approved where the day says so.

    Returns (outcome, event); safe to repeat.
    """
    token = find_token(plain, "host_confirm")
    if token is None:
        return "invalid", None
    event = token.event
    if event.state != "unverified":
        return "already", event
    now = utcnow()
    changed = db.session.execute(
        update(Event)
        .where(Event.id == event.id, Event.state == "unverified")
        .values(state="pending", confirmed_at=now, updated_at=now)
    ).rowcount
    db.session.refresh(event)
    if not changed:
        return "already", event
    token.used_at = now
    if not event.held_reason and (
        not event.day.approval_required or is_trusted(event.host_canonical_email)
    ):
        approve(event, config)
        return "approved", event
    return "pending", event


def trust_host(canonical_email, note="", added_by=""):
    """Events of this host skip approval from now on; returns False if already trusted."""
    if is_trusted(canonical_email):
        return False
    db.session.add(TrustedHost(canonical_email=canonical_email, note=note, added_by=added_by))
    db.session.flush()
    return True


def untrust_host(canonical_email):
    return bool(
        db.session.execute(
            delete(TrustedHost).where(TrustedHost.canonical_email == canonical_email)
        ).rowcount
    )


def trusted_hosts():
    return (
        db.session.execute(select(TrustedHost).order_by(TrustedHost.created_at.desc()))
        .scalars()
        .all()
    )


def is_trusted(canonical_email):
    return (
        db.session.execute(
            select(TrustedHost.id).where(TrustedHost.canonical_email == canonical_email)
        ).first()
        is not None
    )


def approve(event, config):
    if event.state not in ("pending", "rejected"):
        raise StateError(f"event {event.id} is {event.state}; only pending events are approved")
    now = utcnow()
    event.state = "approved"
    event.approved_at = now
    event.updated_at = now
    event.reject_reason = None
    with force_locale(event.language):
        mail.enqueue(
            event.host_email,
            _("Your event is on the map: %(title)s", title=event.title),
            "events/mail/approved.txt",
            event=event,
            event_url=event_url(config, event),
        )


def reject(event, reason, config):
    if event.state not in ("pending", "approved"):
        raise StateError(f"event {event.id} is {event.state}; only pending events are rejected")
    reason = (reason or "").strip()
    if not reason:
        raise StateError("a rejection needs a reason for the host")
    now = utcnow()
    event.state = "rejected"
    event.reject_reason = reason
    event.updated_at = now
    with force_locale(event.language):
        mail.enqueue(
            event.host_email,
            _("Your event was not approved: %(title)s", title=event.title),
            "events/mail/rejected.txt",
            event=event,
            reason=reason,
        )


def cancel_event(event, config, by_host=True):
    """Cancel an event and tell everyone who RSVPed; safe to repeat."""
    if event.state == "cancelled":
        return False
    was_public = event.state == "approved"
    now = utcnow()
    event.state = "cancelled"
    event.cancelled_at = now
    event.updated_at = now
    event.sequence += 1
    if was_public:
        for rsvp in attendees(event, states=("attending", "waiting")):
            with force_locale(rsvp.language):
                mail.enqueue(
                    rsvp.email,
                    _("Cancelled: %(title)s", title=event.title),
                    "events/mail/cancelled.txt",
                    event=event,
                    rsvp=rsvp,
                    day_url=day_url(config, event.day),
                )
    return True


# Changes attendees are mailed about, and that raise the calendar entry's SEQUENCE.
TIME_AND_PLACE = (
    "mode",
    "venue",
    "address",
    "city",
    "country",
    "timezone",
    "starts_at",
    "ends_at",
    "online_url",
    "details_to_come",
)
EDITABLE = (
    *TIME_AND_PLACE,
    "title",
    "host_name",
    "address_visibility",
    "lat",
    "lon",
    "capacity",
    "description",
    "accessibility",
)


class NotEditable(StateError):
    """A cancelled event is not edited (its attendees were told it is off)."""


def edit_event(event, data, config, by_staff=False):
    """Apply a host's (or staff's) changes to an event; returns the names of changed fields.

    When time or place change on a public event, its calendar SEQUENCE rises and everyone who
    RSVPed (waiting too) is mailed the new details with the updated calendar entry. A host's
    edit of a public event marks it for staff to look at again (edited_at), unless the host is
    trusted; an edit of a rejected event sends it back to staff.
    """
    if event.state == "cancelled":
        raise NotEditable(f"event {event.id} is cancelled")
    changed = [name for name in EDITABLE if getattr(event, name) != getattr(data, name)]
    if not changed:
        return []
    for name in changed:
        setattr(event, name, getattr(data, name))
    now = utcnow()
    event.updated_at = now
    moved = [name for name in changed if name in TIME_AND_PLACE]
    if event.state == "approved":
        if not by_staff and not is_trusted(event.host_canonical_email):
            event.edited_at = now
        if moved:
            event.sequence += 1
            for rsvp in attendees(event, states=("attending", "waiting")):
                mail_change(event, rsvp, config)
        if "capacity" in changed:
            lock_places(event.id)
            db.session.flush()
            promote(event, config)
    elif event.state == "rejected" and not by_staff:
        event.state = "pending"
        event.reject_reason = None
    db.session.flush()
    return changed


def mail_change(event, rsvp, config):
    with force_locale(rsvp.language):
        mail.enqueue(
            rsvp.email,
            _("Changed: %(title)s", title=event.title),
            "events/mail/changed.txt",
            attachment=attendee_calendar(event, rsvp, config),
            event=event,
            rsvp=rsvp,
            local_start=local(event.starts_at, event.timezone),
            event_url=event_url(config, event),
            cancel_url=public_url(
                config, "rsvp", "cancel", new_token(event.id, "rsvp_cancel", rsvp_id=rsvp.id)
            ),
        )


def calendar_entry(event, config, with_address=False):
    """The calendar entry of an event: its address only where it is public (or for attendees)."""
    address = event.address if with_address else event.public_address
    location = ", ".join(p for p in (event.venue, address, event.city) if p)
    if event.mode == "online" and with_address and not location:
        location = event.online_url
    return calendars.CalendarEvent(
        uid=calendars.uid_for(event.id, config["PUBLIC_URL"].split("//")[-1].split("/")[0]),
        sequence=event.sequence,
        title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        location=location,
        url=event_url(config, event),
        description=event.description,
        cancelled=event.state == "cancelled",
        updated_at=event.updated_at,
    )


def attendee_calendar(event, rsvp, config):
    """The calendar file for a person with a place, full address and all; none while waiting."""
    if rsvp.state != "attending" or event.details_to_come:
        return None
    body = calendars.calendar_bytes(
        [calendar_entry(event, config, with_address=True)], name=event.title
    )
    return mail.Attachment("event.ics", "text/calendar; method=PUBLISH", body.decode("utf-8"))


# -- the host's tools ------------------------------------------------------------------------


class MessageLimit(Exception):
    """The host has written to attendees as often as the cap allows for now."""


def messages_left(event, config, now=None):
    now = now or utcnow()
    since = now - dt.timedelta(seconds=config["EVENT_MESSAGE_WINDOW_SECONDS"])
    sent = db.session.execute(
        select(func.count())
        .select_from(EventMessage)
        .where(EventMessage.event_id == event.id, EventMessage.created_at >= since)
    ).scalar_one()
    return max(config["EVENT_MESSAGE_LIMIT"] - sent, 0)


def message_attendees(event, subject, body, config, include_waiting=False):
    """Mail the host's words to everyone attending (and waiting), each in their language.

    Capped at EVENT_MESSAGE_LIMIT per EVENT_MESSAGE_WINDOW_SECONDS: a manage link that leaks
    must not become a way to mail hundreds of people at will. Returns the number of mails.
    """
    if event.state != "approved":
        raise StateError(f"event {event.id} is {event.state}")
    # Two posts at once must not both pass the cap: queue on the event's row first.
    lock_places(event.id)
    if messages_left(event, config) <= 0:
        raise MessageLimit(event.id)
    states = ("attending", "waiting") if include_waiting else ("attending",)
    people = attendees(event, states=states)
    for rsvp in people:
        with force_locale(rsvp.language):
            mail.enqueue(
                rsvp.email,
                subject,
                "events/mail/host_message.txt",
                event=event,
                rsvp=rsvp,
                body=body,
                event_url=event_url(config, event),
                cancel_url=public_url(
                    config, "rsvp", "cancel", new_token(event.id, "rsvp_cancel", rsvp_id=rsvp.id)
                ),
            )
    db.session.add(
        EventMessage(event_id=event.id, subject=subject, body=body, recipients=len(people))
    )
    db.session.flush()
    return len(people)


ATTENDEE_COLUMNS = ("name", "email", "state", "rsvp_at")


def attendee_rows(event):
    """The host's CSV: every name, an email only where the person agreed to share it."""
    for rsvp in attendees(event, states=("attending", "waiting")):
        yield (
            rsvp.name,
            rsvp.email if rsvp.share_with_host else "",
            rsvp.state,
            iso(rsvp.created_at),
        )


# -- report-back photos ---------------------------------------------------------------------


class PhotoRefused(Exception):
    """The event takes no photo now; .message says why (translated at render)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def photos_open(event, now=None):
    """Photos are a report back: from the event's start, on a public event."""
    return event.state == "approved" and event.starts_at <= (now or utcnow())


def photos_of(event, states=PHOTO_STATES_ALL):
    return (
        db.session.execute(
            select(EventPhoto)
            .where(EventPhoto.event_id == event.id, EventPhoto.state.in_(states))
            .order_by(EventPhoto.id)
        )
        .scalars()
        .all()
    )


def photo_by_name(name):
    """The photo one of whose files (full size or thumbnail) has this name, or None."""
    return db.session.execute(
        select(EventPhoto).where(or_(EventPhoto.file_name == name, EventPhoto.thumb_name == name))
    ).scalar_one_or_none()


def add_photo(event, data, caption, config):
    """Re-encode an upload and keep it, pending staff review. Raises UploadError, PhotoRefused.

    The files are written before the row is committed: the caller removes them
    (discard_files) if its commit fails, so no row points at a missing file.
    """
    if not photos_open(event):
        raise PhotoRefused(_l("Photos can be added once the event has started."))
    # Two uploads at once must not both take the last place: queue on the event's row.
    lock_places(event.id)
    kept = len(photos_of(event, ("pending", "approved")))
    if kept >= config["PHOTOS_PER_EVENT"]:
        raise PhotoRefused(
            _l("An event can have at most %(num)s photos.", num=config["PHOTOS_PER_EVENT"])
        )
    clean = uploads.reencode(
        data,
        max_bytes=config["PHOTO_MAX_BYTES"],
        max_pixels=config["PHOTO_MAX_PIXELS"],
        max_side=config["PHOTO_MAX_SIDE"],
    )
    folder = config["UPLOAD_DIR"]
    photo = EventPhoto(
        event_id=event.id,
        file_name=uploads.store(folder, clean.image),
        thumb_name=uploads.store(folder, clean.thumbnail),
        width=clean.width,
        height=clean.height,
        caption=caption or "",
        state="pending",
    )
    db.session.add(photo)
    db.session.flush()
    return photo


def discard_files(photos, config):
    for photo in photos:
        uploads.remove(config["UPLOAD_DIR"], photo.file_name, photo.thumb_name)


def review_photo(photo, approved, config):
    """Staff approve a photo (public in the gallery) or reject it (its files are deleted)."""
    # A rejected photo's files are gone: it cannot come back, only be uploaded again.
    if photo.state == "rejected" or (approved and photo.state == "approved"):
        return False
    photo.state = "approved" if approved else "rejected"
    photo.reviewed_at = utcnow()
    if not approved:
        discard_files([photo], config)
    return True


def delete_photo(photo, config):
    """The host takes a photo down: row and files."""
    discard_files([photo], config)
    db.session.delete(photo)


def gallery(day, limit=60):
    """The day's approved photos, newest first, with their events."""
    return db.session.execute(
        select(EventPhoto, Event)
        .join(Event, Event.id == EventPhoto.event_id)
        .where(Event.day_id == day.id, Event.state == "approved", EventPhoto.state == "approved")
        .order_by(EventPhoto.reviewed_at.desc(), EventPhoto.id.desc())
        .limit(limit)
    ).all()


def pending_photos(day):
    return db.session.execute(
        select(EventPhoto, Event)
        .join(Event, Event.id == EventPhoto.event_id)
        .where(Event.day_id == day.id, EventPhoto.state == "pending")
        .order_by(EventPhoto.id)
    ).all()


def event_url(config, event):
    return public_url(config, "events", str(event.id))


def day_url(config, day):
    return public_url(config, "days", day.slug)


# -- RSVPs -------------------------------------------------------------------------------------


def attending_count(event_id):
    return db.session.execute(
        select(func.count())
        .select_from(Rsvp)
        .where(Rsvp.event_id == event_id, Rsvp.state == "attending", Rsvp.held_reason.is_(None))
    ).scalar_one()


def attending_counts(event_ids):
    """{event id: people attending} for many events in one query."""
    if not event_ids:
        return {}
    rows = db.session.execute(
        select(Rsvp.event_id, func.count())
        .where(Rsvp.event_id.in_(event_ids), Rsvp.state == "attending", Rsvp.held_reason.is_(None))
        .group_by(Rsvp.event_id)
    ).all()
    return dict(rows)


def attendees(event, states=("attending",)):
    return (
        db.session.execute(
            select(Rsvp)
            .where(Rsvp.event_id == event.id, Rsvp.state.in_(states), Rsvp.held_reason.is_(None))
            .order_by(Rsvp.queued_at, Rsvp.id)
        )
        .scalars()
        .all()
    )


def lock_places(event_id):
    """Queue this transaction behind any other RSVP change of the event (see Event.rsvp_changes)."""
    db.session.execute(
        update(Event).where(Event.id == event_id).values(rsvp_changes=Event.rsvp_changes + 1)
    )


def has_place(event):
    return event.capacity is None or attending_count(event.id) < event.capacity


@dataclass(frozen=True)
class RsvpData:
    name: str
    email: Email
    share_with_host: bool = False
    language: str = "en"
    ip: str | None = None


def rsvp(event, data, config, held_reason=None):
    """Add a person to an event, or to its wait list when it is full; a repeat reveals nothing.

    Whatever happened, the page the person sees is the same; the mail tells them where they
    stand (with the address, the calendar file and a cancel link). Returns the Rsvp.
    """
    if event.state != "approved":
        raise StateError(f"event {event.id} is {event.state}")
    lock_places(event.id)
    existing = db.session.execute(
        select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.canonical_email == data.email.canonical)
    ).scalar_one_or_none()
    now = utcnow()
    if existing is not None and existing.state != "cancelled":
        send_rsvp_mail(event, existing, config, repeat=True)
        return existing
    state = "attending" if has_place(event) else "waiting"
    if existing is None:
        existing = Rsvp(
            event_id=event.id,
            name=data.name,
            email=data.email.normalized,
            canonical_email=data.email.canonical,
            created_at=now,
        )
        db.session.add(existing)
    existing.name = data.name
    existing.email = data.email.normalized
    existing.share_with_host = data.share_with_host
    existing.language = data.language
    existing.ip = data.ip
    existing.held_reason = held_reason
    existing.state = state
    existing.queued_at = now
    existing.cancelled_at = None
    db.session.flush()
    send_rsvp_mail(event, existing, config)
    return existing


def send_rsvp_mail(event, rsvp, config, repeat=False, promoted=False):
    cancel = new_token(event.id, "rsvp_cancel", rsvp_id=rsvp.id)
    if promoted:
        subject = _("A place is free for you: %(title)s", title=event.title)
    elif rsvp.state == "waiting":
        subject = _("You are on the wait list: %(title)s", title=event.title)
    else:
        subject = _("You are going: %(title)s", title=event.title)
    with force_locale(rsvp.language):
        mail.enqueue(
            rsvp.email,
            str(subject),
            "events/mail/rsvp.txt",
            attachment=attendee_calendar(event, rsvp, config),
            event=event,
            rsvp=rsvp,
            repeat=repeat,
            promoted=promoted,
            local_start=local(event.starts_at, event.timezone),
            event_url=event_url(config, event),
            ics_url=event_url(config, event) + ".ics",
            cancel_url=public_url(config, "rsvp", "cancel", cancel),
        )


def cancel_rsvp(plain, config):
    """Cancel the RSVP behind a link and give its place to the first waiting; safe to repeat.

    Returns (outcome, rsvp).
    """
    token = find_token(plain, "rsvp_cancel")
    if token is None or token.rsvp is None:
        return "invalid", None
    lock_places(token.event_id)
    rsvp = db.session.execute(
        select(Rsvp).where(Rsvp.id == token.rsvp_id).execution_options(populate_existing=True)
    ).scalar_one()
    if rsvp.state == "cancelled":
        return "already", rsvp
    freed = rsvp.state == "attending" and rsvp.held_reason is None
    now = utcnow()
    rsvp.state = "cancelled"
    rsvp.cancelled_at = now
    token.used_at = now
    db.session.flush()
    if freed:
        promote(rsvp.event, config)
    return "cancelled", rsvp


def promote(event, config):
    """Fill free places from the wait list, first come first served, and tell those promoted."""
    if event.state != "approved":
        return []
    promoted = []
    while has_place(event):
        first = db.session.execute(
            select(Rsvp)
            .where(Rsvp.event_id == event.id, Rsvp.state == "waiting", Rsvp.held_reason.is_(None))
            .order_by(Rsvp.queued_at, Rsvp.id)
            .limit(1)
        ).scalar_one_or_none()
        if first is None:
            break
        first.state = "attending"
        first.promoted_at = utcnow()
        db.session.flush()
        send_rsvp_mail(event, first, config, promoted=True)
        promoted.append(first)
    return promoted


# -- the public picture ------------------------------------------------------------------------


def approved_events(day, country=None, mode=None, date=None):
    query = select(Event).where(Event.day_id == day.id, Event.state == "approved")
    if country:
        query = query.where(Event.country == country)
    if mode:
        query = query.where(Event.mode == mode)
    events = db.session.execute(query.order_by(Event.starts_at, Event.id)).scalars().all()
    if date:
        events = [e for e in events if local(e.starts_at, e.timezone).date() == date]
    return events


def headline(events):
    """(events, cities, countries) of the approved events; online events count no city."""
    cities = {(e.country, e.city.casefold()) for e in events if e.mode == "in_person" and e.city}
    countries = {e.country for e in events if e.mode == "in_person"}
    return len(events), len(cities), len(countries)
