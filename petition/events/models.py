"""Days of action, their hosted events, RSVPs and the events' link tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.core.db import UTCDateTime, one_of, utcnow
from petition.core.extensions import db
from petition.petitions.models import Petition

DAY_STATES = ("draft", "open", "closed")
EVENT_STATES = ("unverified", "pending", "approved", "rejected", "cancelled")
EVENT_MODES = ("in_person", "online")
ADDRESS_VISIBILITY = ("public", "attendees")
RSVP_STATES = ("attending", "waiting", "cancelled")
EVENT_TOKEN_PURPOSES = ("host_confirm", "manage", "rsvp_cancel")
PHOTO_STATES = ("pending", "approved", "rejected")


class DayOfAction(db.Model):
    __tablename__ = "days_of_action"
    __table_args__ = (
        CheckConstraint(one_of("state", DAY_STATES), name="state"),
        CheckConstraint("ends_on >= starts_on", name="window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    petition_id: Mapped[int | None] = mapped_column(
        ForeignKey("petitions.id", ondelete="SET NULL"), index=True
    )
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    # Markdown for hosts; requirements and slogans one a line (a host ticks every requirement).
    toolkit: Mapped[str] = mapped_column(Text, default="")
    requirements: Mapped[str] = mapped_column(Text, default="")
    slogans: Mapped[str] = mapped_column(Text, default="")
    approval_required: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(10), default="draft")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    petition: Mapped[Petition | None] = relationship()

    @property
    def requirement_list(self):
        return [line.strip() for line in self.requirements.splitlines() if line.strip()]

    @property
    def slogan_list(self):
        return [line.strip() for line in self.slogans.splitlines() if line.strip()]


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(one_of("state", EVENT_STATES), name="state"),
        CheckConstraint(one_of("mode", EVENT_MODES), name="mode"),
        CheckConstraint(one_of("address_visibility", ADDRESS_VISIBILITY), name="visibility"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity"),
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="times"),
        Index("ix_events_day_state", "day_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day_id: Mapped[int] = mapped_column(ForeignKey("days_of_action.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    # The host's name and email are private: the public pages show the first name only.
    host_name: Mapped[str] = mapped_column(String(200))
    host_email: Mapped[str] = mapped_column(String(254))
    host_canonical_email: Mapped[str] = mapped_column(String(254), index=True)
    mode: Mapped[str] = mapped_column(String(10), default="in_person")
    venue: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    address_visibility: Mapped[str] = mapped_column(String(10), default="public")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    online_url: Mapped[str] = mapped_column(String(500), default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    accessibility: Mapped[str] = mapped_column(Text, default="")
    details_to_come: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(12), default="unverified")
    reject_reason: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(10), default="en")
    # Raised on every edit of time or place: calendar apps update the entry rather than add one.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every RSVP change: the first write of an RSVP, so that two RSVPs for the last
    # place queue on the event's row (PostgreSQL) or the write lock (SQLite) instead of both
    # counting the same free place.
    rsvp_changes: Mapped[int] = mapped_column(Integer, default=0)
    ip: Mapped[str | None] = mapped_column(String(45))
    # Why a signing defence held it (events/defences.py): a held event is never published
    # without staff, whatever the day's approval setting; its host is told nothing different.
    held_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The host's last edit after approval: staff see which public events changed since they
    # looked (a trusted host's edits and staff's own leave it unset).
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    day: Mapped[DayOfAction] = relationship()

    @property
    def host_first_name(self):
        parts = self.host_name.split()
        return parts[0] if parts else ""

    @property
    def public_address(self):
        """The address anyone may see: empty when it is for attendees only."""
        return self.address if self.address_visibility == "public" else ""


class Rsvp(db.Model):
    __tablename__ = "rsvps"
    __table_args__ = (
        CheckConstraint(one_of("state", RSVP_STATES), name="state"),
        # One RSVP per person per event, whatever spelling of the address they typed.
        UniqueConstraint("event_id", "canonical_email", name="uq_rsvps_event_email"),
        Index("ix_rsvps_event_state", "event_id", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    canonical_email: Mapped[str] = mapped_column(String(254), index=True)
    share_with_host: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(10), default="en")
    state: Mapped[str] = mapped_column(String(10), default="attending")
    # Where the wait list stands: a rejoining or promoted RSVP keeps its place by this time.
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    # A held RSVP (events/defences.py) is kept and answered as any other but takes no place.
    held_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    promoted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()


class EventToken(db.Model):
    """A single-purpose link secret of an event or an RSVP; only its SHA-256 is stored."""

    __tablename__ = "event_tokens"
    __table_args__ = (CheckConstraint(one_of("purpose", EVENT_TOKEN_PURPOSES), name="purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    rsvp_id: Mapped[int | None] = mapped_column(
        ForeignKey("rsvps.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    rsvp: Mapped[Rsvp | None] = relationship()


class EventMessage(db.Model):
    """A host's mail to their attendees: kept so the rate cap counts what was really sent."""

    __tablename__ = "event_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventPhoto(db.Model):
    """A report-back photo, re-encoded on upload (core/uploads.py); public once staff approve."""

    __tablename__ = "event_photos"
    __table_args__ = (
        CheckConstraint(one_of("state", PHOTO_STATES), name="state"),
        Index("ix_event_photos_event_state", "event_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    # Random file names under UPLOAD_DIR: the photo and its thumbnail, both re-encoded JPEGs.
    file_name: Mapped[str] = mapped_column(String(80), unique=True)
    thumb_name: Mapped[str] = mapped_column(String(80), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    caption: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()


class TrustedHost(db.Model):
    """A host whose events skip approval (Mobilize's "trusted host"), by canonical email."""

    __tablename__ = "trusted_hosts"

    id: Mapped[int] = mapped_column(primary_key=True)
    canonical_email: Mapped[str] = mapped_column(String(254), unique=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    added_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
