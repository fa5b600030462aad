"""Signatures as CSV, streamed in constant memory and safe to open in a spreadsheet."""

from sqlalchemy import select

from petition.core import spreadsheets
from petition.core.extensions import db
from petition.core.spreadsheets import iso
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
    # A generator function, so the query runs when the response streams (inside its
    # stream_with_context), not when the view builds the response; and its server-side cursor
    # is closed however the streaming ends (a client that hangs up half-way included).
    result = db.session.execute(rows_query(petition_id, where))
    try:
        rows = (
            (
                *row[:5],
                "yes" if row.updates else "no",
                row.source,
                row.state,
                iso(row.created_at),
                iso(row.confirmed_at),
            )
            for row in result
        )
        yield from spreadsheets.csv_chunks(COLUMNS, rows, rows_per_chunk)
    finally:
        result.close()
