"""Statements that differ by database dialect."""

from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.routing import IntegerConverter

from .extensions import db


def insert(model):
    """An INSERT with ON CONFLICT support for the session's database."""
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model)


# The largest row id: ids are 32-bit integers on PostgreSQL. A larger number in a URL or query
# string matches no row, but the database refuses it ("integer out of range"; SQLite's driver
# raises OverflowError past 64 bits) rather than finding nothing.
MAX_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """<int:...> in URLs: a number the database can hold, else the URL does not match (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def row_id(value):
    """A row id from a query string, or None when missing, not a whole number or out of range."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= MAX_ID else None
