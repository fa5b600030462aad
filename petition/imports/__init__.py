"""Bulk import of signatures from CSV: checked like the sign form, deduplicated, counted.

import_csv() streams the file in batches. Each batch is one transaction: the new rows
(INSERT .. ON CONFLICT DO NOTHING against the one-signature-per-mailbox index), one UPDATE of
the count and the per-country counts, the milestones it reaches, and the ImportRun row that
records the last line done. A crash loses at most the batch in flight, and running the same
file again (same petition, same SHA-256) resumes after the last committed line.

Imported signatures are confirmed at once and get no mail: the people signed elsewhere.
"""

import csv
import os
from collections import deque

from flask import current_app
from sqlalchemy import select, update

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.imports.files import open_source, records, scan
from petition.imports.models import ImportRun
from petition.imports.report import REPORT_CAP, ImportFileError, ImportReport, report_from
from petition.imports.rows import (
    COLUMNS,
    Rejected,
    check_row,
    email_forms,
    read_header,
    text_problem,
)
from petition.imports.writer import ANOTHER_RUN, WRITERS, Batch, BatchWriter
from petition.staff import auth

__all__ = [
    "COLUMNS",
    "REPORT_CAP",
    "ImportFileError",
    "ImportReport",
    "email_forms",
    "import_csv",
    "records",
    "scan",
    "text_problem",
]


def import_csv(
    petition,
    source,
    staff=None,
    batch_size=1000,
    progress=None,
    filename=None,
    config=None,
):
    """Import signatures from a CSV file (a path or a binary stream) into a petition.

    The header is `name,email,country,city,postcode,created_at` (city, postcode and created_at
    may be left out). Commits once per batch of `batch_size` lines and calls
    progress(line, lines) at the start and after each commit. Raises ImportFileError when the
    file cannot be used at all (nothing is written then); rejected rows are reported, not
    raised. Returns an ImportReport. Commits: call it with no transaction of your own pending.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    config = config if config is not None else current_app.config
    stream, owned = open_source(source)
    try:
        start = stream.tell()
        sha256, lines, size = scan(stream)
        stream.seek(start)
        if not size:
            raise ImportFileError("the file is empty")
        if filename is None:
            named = isinstance(source, (str, os.PathLike))
            filename = os.path.basename(os.fspath(source)) if named else "upload.csv"
        records_ = records(stream, ",".join(COLUMNS))
        try:
            return _import(
                records_,
                petition.id,
                filename[:300],
                sha256,
                lines,
                staff,
                batch_size,
                progress or (lambda line, lines: None),
                config,
            )
        finally:
            records_.close()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        if owned:
            stream.close()


def _import(records_, petition_id, filename, sha256, lines, staff, batch_size, progress, config):
    layout, header_line = None, 0
    for line, fields in records_:
        if isinstance(fields, csv.Error):
            raise ImportFileError(f"line {line}: the header is not readable as CSV ({fields})")
        if any(f.strip() for f in fields):
            layout, header_line = read_header(fields, line), line
            break
    if layout is None:
        raise ImportFileError("the file is empty: no header line")

    run = _find_run(petition_id, sha256)
    if run is not None and run.finished_at is not None:
        report = report_from(run, lines)
        report.already_imported = True
        db.session.rollback()
        return report
    if run is None:
        run = ImportRun(
            petition_id=petition_id,
            filename=filename,
            file_sha256=sha256,
            line=header_line,
            staff_id=getattr(staff, "id", None),
        )
        db.session.add(run)
        db.session.flush()
        report = report_from(run, lines)
    else:
        report = report_from(run, lines)
        report.resumed_after = run.line
    done_line, run_id = run.line, run.id
    # End this transaction before reading rows (on SQLite it holds the write lock), and touch
    # no expired ORM object until the end, which would begin another.
    db.session.commit()
    progress(done_line, lines)

    app = current_app._get_current_object()
    writers = WRITERS.get(db.session.get_bind().dialect.name, 1)
    writer = BatchWriter(app, run_id, petition_id, report, done_line, config, writers)
    writer.start()
    try:
        for batch in _batches(records_, layout, done_line, batch_size, config, writers):
            writer.put(batch)
            for line in writer.committed():
                progress(line, lines)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    for line in writer.committed():
        progress(line, lines)

    # The last step, here rather than in the writer so the audit entry has the request's address.
    now = utcnow()
    last_line = max(writer.done_line, lines)
    moved = db.session.execute(
        update(ImportRun)
        .where(ImportRun.id == run_id, ImportRun.line == writer.done_line)
        .values(line=last_line, finished_at=now)
    ).rowcount
    if not moved:
        raise ImportFileError(ANOTHER_RUN)
    auth.audit(
        "signatures.import",
        petition_id=petition_id,
        staff=staff,
        file=filename,
        sha256=sha256,
        inserted=report.inserted,
        duplicates=report.duplicates,
        rejected=report.rejected,
        resumed_after=report.resumed_after,
    )
    db.session.commit()
    report.finished_at = now
    if last_line > writer.done_line:
        progress(last_line, lines)
    return report


def _batches(records_, layout, done_line, batch_size, config, writers=1):
    """Checked rows, batch_size lines at a time, skipping the lines a run committed before."""
    check_deliverability = config.get("EMAIL_CHECK_DELIVERABILITY", False)
    rows, rejected, duplicates, count, last_line = [], [], 0, 0, done_line
    # Mailboxes of this batch and of the ones that may still be in flight beside it. A repeat
    # is dropped here, so batches written at once never insert the same mailbox: the later
    # would wait for the earlier's transaction, which waits for the later's turn to commit.
    # Older repeats meet ON CONFLICT DO NOTHING against committed rows.
    seen, previous = set(), deque(maxlen=writers - 1)
    now = utcnow()
    for line, fields in records_:
        if line <= done_line:
            continue
        if isinstance(fields, csv.Error):
            rejected.append((line, f"not readable as CSV: {fields}"))
        elif "".join(fields).strip():
            try:
                row = check_row(line, fields, layout, now, check_deliverability)
            except Rejected as exc:
                rejected.append((line, str(exc)))
            else:
                if row.canonical in seen or any(row.canonical in p for p in previous):
                    duplicates += 1
                else:
                    seen.add(row.canonical)
                    rows.append(row)
        last_line = line
        count += 1
        if count >= batch_size:
            yield Batch(rows, rejected, duplicates, last_line)
            rows, rejected, duplicates, count = [], [], 0, 0
            if writers > 1:
                previous.append(seen)
            seen = set()
            now = utcnow()
    if count:
        yield Batch(rows, rejected, duplicates, last_line)


def _find_run(petition_id, sha256):
    return db.session.execute(
        select(ImportRun)
        .where(ImportRun.petition_id == petition_id, ImportRun.file_sha256 == sha256)
        .order_by(ImportRun.id.desc())
        .limit(1)
    ).scalar_one_or_none()
