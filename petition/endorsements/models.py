"""Organisations endorsing a petition or a day of action, and their confirmation links."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.core.db import UTCDateTime, one_of, utcnow
from petition.core.extensions import db
from petition.petitions.models import Petition

# As for events: the contact confirms the address (unverified -> pending), staff decide.
ENDORSEMENT_STATES = ("unverified", "pending", "approved", "rejected")


class Endorsement(db.Model):
    __tablename__ = "endorsements"
    __table_args__ = (
        CheckConstraint(one_of("state", ENDORSEMENT_STATES), name="state"),
        # One target: a petition or a day of action, never both or neither.
        CheckConstraint("(petition_id IS NULL) <> (day_id IS NULL)", name="one_target"),
        Index("ix_endorsements_petition_state", "petition_id", "state"),
        Index("ix_endorsements_day_state", "day_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"))
    # Named by table, not imported: events shows endorsers on its pages, so it imports this
    # package and this package must not import events (DESIGN, Layout: no cycle).
    day_id: Mapped[int | None] = mapped_column(ForeignKey("days_of_action.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    website: Mapped[str] = mapped_column(String(300), default="")
    # The website's host without "www.", lower case: how a repeat from the same organisation is
    # recognised (with the contact's canonical address).
    domain: Mapped[str] = mapped_column(String(253), default="", index=True)
    country: Mapped[str] = mapped_column(String(2), default="")
    statement: Mapped[str] = mapped_column(Text, default="")
    # A re-encoded PNG under UPLOAD_DIR with a random name (core/uploads.py); never as sent.
    logo_name: Mapped[str | None] = mapped_column(String(80), unique=True)
    logo_width: Mapped[int | None] = mapped_column(Integer)
    logo_height: Mapped[int | None] = mapped_column(Integer)
    # Private: staff see them, nothing public does. Staff-added endorsers may have none.
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_canonical_email: Mapped[str] = mapped_column(String(254), default="", index=True)
    language: Mapped[str] = mapped_column(String(10), default="en")
    state: Mapped[str] = mapped_column(String(12), default="unverified")
    reject_reason: Mapped[str | None] = mapped_column(Text)
    # A repeat of an organisation already on the list: approving it merges it into that row.
    repeat_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("endorsements.id", ondelete="CASCADE"), index=True
    )
    # Only the SHA-256 of the confirmation link's secret.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    held_reason: Mapped[str | None] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    petition: Mapped[Petition | None] = relationship()
    day = relationship("DayOfAction")
    repeat_of: Mapped[Endorsement | None] = relationship(remote_side=[id])

    @property
    def target(self):
        return self.petition if self.petition_id is not None else self.day


def day_model():
    """The DayOfAction class, reached through the mapping rather than an import (see day_id)."""
    return Endorsement.day.property.mapper.class_
