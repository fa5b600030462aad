"""Statements that differ by database dialect."""

from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db


def insert(model):
    """An INSERT with ON CONFLICT support for the session's database."""
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model)
