"""What an import did, and the errors that stop one."""

import datetime as dt
from dataclasses import dataclass, field

# Rejected lines kept for the report (on the ImportRun and in memory); the counts stay exact.
REPORT_CAP = 1000


class ImportFileError(ValueError):
    """The file cannot be imported at all (encoding, header, empty); the message says why."""


@dataclass
class ImportReport:
    """What an import did; `rejections` holds (line, reason), the first REPORT_CAP of them."""

    run_id: int
    filename: str
    sha256: str
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list = field(default_factory=list)
    lines: int = 0
    resumed_after: int | None = None
    already_imported: bool = False
    finished_at: dt.datetime | None = None

    @property
    def rows(self):
        return self.inserted + self.duplicates + self.rejected


def report_from(run, lines):
    """The report of an ImportRun row so far."""
    return ImportReport(
        run_id=run.id,
        filename=run.filename,
        sha256=run.file_sha256,
        inserted=run.inserted,
        duplicates=run.duplicates,
        rejected=run.rejected,
        rejections=parse_rejections(run.report),
        lines=lines,
        finished_at=run.finished_at,
    )


def parse_rejections(text):
    """ImportRun.report ("line: reason", one a line) back to (line, reason) pairs."""
    found = []
    for entry in (text or "").splitlines():
        line, _, reason = entry.partition(": ")
        if line.isdigit():
            found.append((int(line), reason))
    return found


def format_rejections(rejections):
    return "".join(f"{line}: {reason}\n" for line, reason in rejections[:REPORT_CAP])
