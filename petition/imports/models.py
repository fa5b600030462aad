"""Import runs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from petition.core.db import UTCDateTime, utcnow
from petition.core.extensions import db


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
