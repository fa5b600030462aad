"""Blocklists and trend alerts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from petition.core.db import UTCDateTime, one_of, utcnow
from petition.core.extensions import db

BLOCKLIST_KINDS = ("block", "allow")


class BlockedDomain(db.Model):
    """An email domain staff blocked (subdomains too), or allowed despite the disposable list."""

    __tablename__ = "blocked_domains"
    __table_args__ = (CheckConstraint(one_of("kind", BLOCKLIST_KINDS), name="kind"),)

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
        CheckConstraint(one_of("kind", TREND_KINDS), name="kind"),
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
