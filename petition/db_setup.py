"""Engine behaviour per database: SQLite pragmas and write locking."""

from flask import has_request_context, request
from sqlalchemy import event


def sqlite_engine_options(uri):
    """Options for a SQLite engine shared by threads and processes."""
    if not uri.startswith("sqlite"):
        return {"pool_pre_ping": True}
    # A busy writer makes others wait up to this long instead of failing at once.
    return {"connect_args": {"timeout": 30, "check_same_thread": False}}


def configure_sqlite(engine):
    """WAL, foreign keys, and BEGIN IMMEDIATE for transactions that may write.

    A deferred transaction that reads and then writes fails with SQLITE_BUSY at once when
    another process wrote in between, whatever the busy timeout; taking the write lock at BEGIN
    makes it wait its turn instead. GET requests only read, so they keep a deferred BEGIN and,
    in WAL mode, never wait for a writer.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself instead of pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # The staff search's address ranges and lower-casing beyond ASCII (PostgreSQL has its
        # own); imported here because the search module needs the models.
        from .signature_search import register_sqlite_functions

        register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        reading = has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
