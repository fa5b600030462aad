"""Delivered bundles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from petition.core.db import UTCDateTime, utcnow
from petition.core.extensions import db


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
