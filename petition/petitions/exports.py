"""Signatures as CSV, streamed in constant memory and safe to open in a spreadsheet."""

import csv
import io

from sqlalchemy import select

from petition.core.extensions import db
from petition.petitions.models import Signature

COLUMNS = (
    "name",
    "email",
    "country",
    "city",
    "postcode",
    "updates",
    "source",
    "state",
    "created_at",
    "confirmed_at",
)
# Rows fetched from the database at a time: a server-side cursor on PostgreSQL, fetchmany on
# SQLite, so memory stays flat however many signatures there are.
YIELD_PER = 2000
# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV Injection");
# the full-width forms too, which some spreadsheets fold to ASCII.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value):
    """A cell a spreadsheet shows as text: a leading apostrophe before anything formula-like."""
    if value is None:
        return ""
    value = str(value)
    if value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS):
        return "'" + value
    return value


def iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else ""


def rows_query(petition_id, where=()):
    """The export's SELECT: the petition's signatures in id order, fetched in chunks."""
    return (
        select(
            Signature.name,
            Signature.email,
            Signature.country,
            Signature.city,
            Signature.postcode,
            Signature.updates,
            Signature.source,
            Signature.state,
            Signature.created_at,
            Signature.confirmed_at,
        )
        .where(Signature.petition_id == petition_id, *where)
        .order_by(Signature.id)
        .execution_options(yield_per=YIELD_PER)
    )


def csv_chunks(petition_id, where=(), rows_per_chunk=500):
    """Yield the CSV text a chunk at a time: a UTF-8 BOM (for Excel), the header, the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in db.session.execute(rows_query(petition_id, where)):
        name, email, country, city, postcode, updates, source, state, created, confirmed = row
        writer.writerow(
            (
                neutralise(name),
                neutralise(email),
                country,
                neutralise(city),
                neutralise(postcode),
                "yes" if updates else "no",
                neutralise(source),
                state,
                iso(created),
                iso(confirmed),
            )
        )
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()
