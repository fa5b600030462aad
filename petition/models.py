"""Tables, their constraints and state rules."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .extensions import db


def utcnow():
    """Now, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Store UTC; always hand back aware datetimes, also from SQLite which drops the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use aware UTC times")
            value = value.astimezone(dt.UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


def takes_signatures(state, closes_at, now):
    """Whether a petition in this state, closing then, takes signatures at `now`."""
    return state == "open" and (closes_at is None or closes_at > now)


class StateError(ValueError):
    """A state transition that the rules do not allow."""


PETITION_STATES = ("draft", "open", "closed")
SIGNATURE_STATES = ("pending", "confirmed", "fraudulent", "invalidated", "withdrawn")


class Petition(db.Model):
    __tablename__ = "petitions"
    __table_args__ = (
        CheckConstraint("state IN ('draft', 'open', 'closed')", name="state"),
        CheckConstraint("offline_count >= 0", name="offline_count"),
        CheckConstraint("confirmed_count >= 0", name="confirmed_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    hashtag: Mapped[str | None] = mapped_column(String(100))
    # The letter that opens the delivery bundle, Markdown; and endorsing organisations, one a line.
    cover_letter: Mapped[str] = mapped_column(Text, default="")
    endorsers: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="draft")
    closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    offline_count: Mapped[int] = mapped_column(Integer, default=0)
    # The confirmed signatures folded in from the count_deltas journal (petition/counting.py);
    # unfolded_count, loaded with the petition, holds the rest. Reading the total is one row and
    # a few journal entries, never a COUNT(*); `flask signatures recount` rebuilds it.
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="petition", order_by="Milestone.count", cascade="all, delete-orphan"
    )

    def __init__(self, **kwargs):
        # Column defaults apply only at INSERT; state rules need them on a new object too.
        kwargs.setdefault("state", "draft")
        kwargs.setdefault("offline_count", 0)
        kwargs.setdefault("confirmed_count", 0)
        kwargs.setdefault("cover_letter", "")
        kwargs.setdefault("endorsers", "")
        super().__init__(**kwargs)

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
        CheckConstraint(
            "state IN ('pending', 'confirmed', 'fraudulent', 'invalidated', 'withdrawn')",
            name="state",
        ),
        Index("ix_signatures_petition_state_country", "petition_id", "state", "country"),
        # The staff dashboard: confirmations per day, today's, the first one (index-only scans).
        Index("ix_signatures_petition_state_confirmed", "petition_id", "state", "confirmed_at"),
        # The staff list: newest first with keyset paging, and date ranges.
        Index("ix_signatures_petition_created", "petition_id", "created_at", "id"),
        # The per-address signing limits (petition/abuse.py): COUNTs bounded by a time window.
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
    # The per-address mail cap: mails this signature triggered since mail_window_start.
    mail_count: Mapped[int] = mapped_column(Integer, default=0)
    mail_window_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    petition: Mapped[Petition] = relationship()


class Token(db.Model):
    """A single-purpose link secret; only its SHA-256 is stored."""

    __tablename__ = "tokens"
    __table_args__ = (CheckConstraint("purpose IN ('confirm', 'withdraw')", name="purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    signature: Mapped[Signature] = relationship()


class OutboxMessage(db.Model):
    """A mail waiting to be sent, written in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claim: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


STAFF_ROLES = ("admin", "campaigner")


class Staff(db.Model):
    """A staff account. admin: everything, including accounts; campaigner: petitions."""

    __tablename__ = "staff"
    __table_args__ = (CheckConstraint("role IN ('admin', 'campaigner')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique index also catches case variants.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Part of every session's id (get_id): raising it logs out every session made before, so a
    # password change or a deactivation ends sessions that the cookie alone would keep alive.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Flask-Login's user interface.
    @property
    def is_authenticated(self):
        return True

    @property
    def is_active(self):
        return self.active

    @property
    def is_anonymous(self):
        return False

    def get_id(self):
        # Flask-Login's "alternative token": the session holds this, and load_staff accepts it
        # only while the version is still the account's.
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self):
        return self.role == "admin"


class AuditLog(db.Model):
    """Who did what, when: every staff action."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    # Kept beside the id so the log still reads after an account is deleted.
    staff_email: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(100))
    petition_id: Mapped[int | None] = mapped_column(
        ForeignKey("petitions.id", ondelete="SET NULL"), index=True
    )
    detail: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Delivery(db.Model):
    """A delivered bundle: what went to the target, and a hash to verify it by."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("petition_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Signatures with first_signature_id < id <= last_signature_id, confirmed at build time.
    first_signature_id: Mapped[int] = mapped_column(Integer, default=0)
    last_signature_id: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int | None] = mapped_column(Integer)
    file_path: Mapped[str | None] = mapped_column(String(500))


JOB_STATES = ("queued", "running", "done", "failed")


class Job(db.Model):
    """Background work with progress that staff watch: bundles, bulk moderation."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
        Index("ix_jobs_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    params: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str | None] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    petition_id: Mapped[int | None] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claim: Mapped[str | None] = mapped_column(String(32))


class ImportRun(db.Model):
    """One CSV import; its line counter commits with each batch, so a rerun resumes."""

    __tablename__ = "import_runs"
    __table_args__ = (Index("ix_import_runs_petition_file", "petition_id", "file_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(300))
    file_sha256: Mapped[str] = mapped_column(String(64))
    # The last data line (1-based, header is line 1) whose outcome is committed.
    line: Mapped[int] = mapped_column(Integer, default=1)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    # Rejected lines as "line: reason", one a line (capped; the counts are exact).
    report: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


BLOCKLIST_KINDS = ("block", "allow")


class BlockedDomain(db.Model):
    """An email domain staff blocked (subdomains too), or allowed despite the disposable list."""

    __tablename__ = "blocked_domains"
    __table_args__ = (CheckConstraint("kind IN ('block', 'allow')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # IDNA (ASCII), lower-case, as in Signature.canonical_email; unique across both kinds, so a
    # domain is either blocked or allowed.
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(5), default="block")
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlockedNetwork(db.Model):
    """A client address range (CIDR) staff blocked."""

    __tablename__ = "blocked_networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Normalised by ipaddress (host bits cleared, IPv6 compressed), so the unique index also
    # catches 10.1.2.3/16 after 10.1.0.0/16.
    network: Mapped[str] = mapped_column(String(50), unique=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


TREND_KINDS = ("address", "domain")


class TrendAlert(db.Model):
    """One offender that passed a trend threshold on a petition on a (UTC) day.

    The unique key is the claim: the worker that inserts the row sends the mail, so each
    offender is reported at most once per petition per day however many workers check.
    """

    __tablename__ = "trend_alerts"
    __table_args__ = (
        UniqueConstraint("petition_id", "kind", "value", "day"),
        CheckConstraint("kind IN ('address', 'domain')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(7))
    value: Mapped[str] = mapped_column(String(255))
    day: Mapped[dt.date] = mapped_column(Date)
    # Signatures in the trend window when the alert fired, and how many of them were held.
    count: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CountDelta(db.Model):
    """One change to a petition's confirmed count, waiting for the fold (petition/counting.py).

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
