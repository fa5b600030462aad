"""The link tokens of a signature."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.core.db import UTCDateTime, one_of, utcnow
from petition.core.extensions import db
from petition.petitions.models import Signature

TOKEN_PURPOSES = ("confirm", "withdraw")


class Token(db.Model):
    """A single-purpose link secret; only its SHA-256 is stored."""

    __tablename__ = "tokens"
    __table_args__ = (CheckConstraint(one_of("purpose", TOKEN_PURPOSES), name="purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    signature: Mapped[Signature] = relationship()
