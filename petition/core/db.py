"""Database helpers shared by every feature: UTC times, state errors, Core inserts, row ids."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

from petition.core.extensions import db


def utcnow():
    """Now, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Store UTC; always hand back aware datetimes, also from SQLite which drops the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use aware UTC times")
            value = value.astimezone(dt.UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class StateError(ValueError):
    """A state transition that the rules do not allow."""


def one_of(column, values):
    """SQL for a check constraint: `column` holds one of `values` (the tuple the code uses)."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


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
