"""CSV that is safe to open in a spreadsheet, for every export (signatures, events, RSVPs)."""

import csv
import io

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


def csv_chunks(header, rows, rows_per_chunk=500):
    """Yield CSV text a chunk at a time: a UTF-8 BOM (for Excel), the header, then the rows.

    Every cell of `rows` goes through neutralise(); pass iso() times and "yes"/"no" as text.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()
