"""Staff accounts and the audit log."""

from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from petition.core.db import UTCDateTime, one_of, utcnow
from petition.core.extensions import db

STAFF_ROLES = ("admin", "campaigner")


class Staff(UserMixin, db.Model):
    """A staff account. admin: everything, including accounts; campaigner: petitions."""

    __tablename__ = "staff"
    __table_args__ = (CheckConstraint(one_of("role", STAFF_ROLES), name="role"),)

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

    # Flask-Login's user interface is UserMixin's, but for these two.
    @property
    def is_active(self):
        return self.active

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
