"""Petitions, their milestones, signatures and the count's tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from petition.core.db import StateError, UTCDateTime, one_of, utcnow
from petition.core.extensions import db


def takes_signatures(state, closes_at, now):
    """Whether a petition in this state, closing then, takes signatures at `now`."""
    return state == "open" and (closes_at is None or closes_at > now)


PETITION_STATES = ("draft", "open", "closed")
SIGNATURE_STATES = ("pending", "confirmed", "fraudulent", "invalidated", "withdrawn")


class Petition(db.Model):
    __tablename__ = "petitions"
    __table_args__ = (
        CheckConstraint(one_of("state", PETITION_STATES), name="state"),
        CheckConstraint("offline_count >= 0", name="offline_count"),
        CheckConstraint("confirmed_count >= 0", name="confirmed_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    hashtag: Mapped[str | None] = mapped_column(String(100))
    # The language title, text, cover letter and share text are written in; other languages'
    # versions are PetitionTranslation rows, all adding to the one count.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # What share links say beside the link (the title when empty).
    share_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The letter that opens the delivery bundle, Markdown. (Endorsing organisations are
    # endorsements: petition/endorsements/.)
    cover_letter: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="draft")
    closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    offline_count: Mapped[int] = mapped_column(Integer, default=0)
    # The confirmed signatures folded in from the count_deltas journal (petitions/counting.py);
    # unfolded_count, loaded with the petition, holds the rest. Reading the total is one row and
    # a few journal entries, never a COUNT(*); `flask signatures recount` rebuilds it.
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="petition", order_by="Milestone.count", cascade="all, delete-orphan"
    )
    translations: Mapped[list[PetitionTranslation]] = relationship(
        back_populates="petition",
        order_by="PetitionTranslation.language",
        cascade="all, delete-orphan",
    )

    def __init__(self, **kwargs):
        # Column defaults apply only at INSERT; state rules need them on a new object too.
        kwargs.setdefault("state", "draft")
        kwargs.setdefault("offline_count", 0)
        kwargs.setdefault("confirmed_count", 0)
        kwargs.setdefault("cover_letter", "")
        kwargs.setdefault("language", "en")
        kwargs.setdefault("share_text", "")
        super().__init__(**kwargs)

    @property
    def languages(self):
        """Every language the petition is published in, its own first."""
        return [self.language] + [
            t.language for t in self.translations if t.language != self.language
        ]

    def translation(self, language):
        """The version in `language` other than the petition's own, or None."""
        return next((t for t in self.translations if t.language == language), None)

    @property
    def confirmed_total(self):
        """Confirmed signatures: the folded column plus the journal, read in one statement."""
        return self.confirmed_count + (self.unfolded_count or 0)

    @property
    def count_changed_at(self):
        """When the count last changed, unfolded journal entries included.

        Public snapshots carry it so a poller can tell an older one from a newer one: with
        updated_at alone, two caches could hold different counts under one time (a
        confirmation before the fold), and a widget would take the count back.
        """
        if self.unfolded_at is not None and self.unfolded_at > self.updated_at:
            return self.unfolded_at
        return self.updated_at

    @property
    def signature_count(self):
        """The public total: confirmed signatures plus paper ones."""
        return self.confirmed_total + self.offline_count

    @property
    def is_open(self):
        return takes_signatures(self.state, self.closes_at, utcnow())

    @classmethod
    def open_at(cls, now):
        """SQL: the petition takes signatures at `now` (is_open in a WHERE clause)."""
        return and_(cls.state == "open", or_(cls.closes_at.is_(None), cls.closes_at > now))

    def open(self):
        if self.state != "draft":
            raise StateError(f"cannot open a petition that is {self.state}")
        self.state = "open"
        self.updated_at = utcnow()

    def close(self):
        if self.state != "open":
            raise StateError(f"cannot close a petition that is {self.state}")
        self.state = "closed"
        self.updated_at = utcnow()


class PetitionTranslation(db.Model):
    """The petition in one more language: its own title, text, cover letter and share text."""

    __tablename__ = "petition_translations"
    __table_args__ = (UniqueConstraint("petition_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    cover_letter: Mapped[str] = mapped_column(Text, default="")
    share_text: Mapped[str] = mapped_column(Text, default="")
    hashtag: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    petition: Mapped[Petition] = relationship(back_populates="translations")


class Milestone(db.Model):
    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("petition_id", "count"),
        CheckConstraint("count > 0", name="count_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"))
    count: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))
    reached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set once, when staff were told; unlike reached_at it is never cleared.
    announced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    petition: Mapped[Petition] = relationship(back_populates="milestones")


class CountryCount(db.Model):
    """Confirmed signatures per country, kept beside Petition.confirmed_count."""

    __tablename__ = "country_counts"
    __table_args__ = (CheckConstraint("count >= 0", name="count"),)

    petition_id: Mapped[int] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Signature(db.Model):
    __tablename__ = "signatures"
    __table_args__ = (
        # The real guard of one signature per person per petition; the form cannot race.
        UniqueConstraint("petition_id", "canonical_email"),
        CheckConstraint(one_of("state", SIGNATURE_STATES), name="state"),
        # Held is a kind of fraudulent: one an abuse check set, which staff may release.
        CheckConstraint("NOT held OR state = 'fraudulent'", name="held_fraudulent"),
        Index("ix_signatures_petition_state_country", "petition_id", "state", "country"),
        # The staff dashboard: confirmations per day, today's, the first one (index-only scans).
        Index("ix_signatures_petition_state_confirmed", "petition_id", "state", "confirmed_at"),
        # The staff list: newest first with keyset paging, and date ranges.
        Index("ix_signatures_petition_created", "petition_id", "created_at", "id"),
        # The per-address signing limits (abuse/defences.py): COUNTs bounded by a time window.
        Index("ix_signatures_petition_ip_created", "petition_id", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    canonical_email: Mapped[str] = mapped_column(String(320))
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(20))
    updates: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(45))
    state: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Why staff invalidated it (or marked it fraudulent), and who.
    moderated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    moderated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    moderation_reason: Mapped[str | None] = mapped_column(String(500))
    # Held by an abuse check (state fraudulent, not counted, the reason says which rule), as
    # opposed to marked fraudulent by staff; staff release held ones (abuse/moderation.py).
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The per-address mail cap: mails this signature triggered since mail_window_start.
    mail_count: Mapped[int] = mapped_column(Integer, default=0)
    mail_window_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    petition: Mapped[Petition] = relationship()


class CountDelta(db.Model):
    """One change to a petition's confirmed count, waiting for the fold (petitions/counting.py).

    Confirmations, withdrawals and moderation append here instead of updating the petition
    row, so they never wait for each other; the fold moves the rows into the counts.
    """

    __tablename__ = "count_deltas"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), index=True
    )
    country: Mapped[str] = mapped_column(String(2))
    delta: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# The journal entries not yet folded into confirmed_count, loaded in the same SELECT as the
# petition: one statement sees column and journal in one snapshot, so a fold committing
# meanwhile can neither hide an entry nor count it twice.
Petition.unfolded_count = column_property(
    select(func.coalesce(func.sum(CountDelta.delta), 0))
    .where(CountDelta.petition_id == Petition.id)
    .correlate_except(CountDelta)
    .scalar_subquery()
)
# When the newest of those entries was made: the count changed then, though the fold that sets
# updated_at has not run yet (see Petition.count_changed_at).
Petition.unfolded_at = column_property(
    select(func.max(CountDelta.created_at))
    .where(CountDelta.petition_id == Petition.id)
    .correlate_except(CountDelta)
    .scalar_subquery()
)
