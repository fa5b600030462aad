"""Engine behaviour per database: SQLite pragmas and write locking."""

import os

from flask import g, has_request_context, request
from sqlalchemy import event

from petition.core.files import make_private


def sqlite_engine_options(uri):
    """Options for a SQLite engine shared by threads and processes."""
    if not uri.startswith("sqlite"):
        # One more round trip (SELECT 1) per checkout; kept so a database restart leaves no dead
        # connection to fail a request. Its cost on the sign path was within the noise (2.7 ms
        # of app CPU per sign either way through the test client).
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

    path = engine.url.database
    on_disk = bool(path) and path != ":memory:" and not path.startswith("file:")

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Every signature is in this file: this user's alone, before the WAL and shared-memory
        # files appear (SQLite gives them the database file's permissions).
        if on_disk:
            for name in (path, f"{path}-wal", f"{path}-shm"):
                if os.path.exists(name) and os.stat(name).st_mode & 0o077:
                    make_private(name)
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
        from petition.core.sql import register_sqlite_functions

        register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        reading = has_request_context() and (
            request.method in ("GET", "HEAD", "OPTIONS") or g.get("sqlite_reading", False)
        )
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def read_before_writing():
    """This request reads first (deferred BEGIN on SQLite) and calls end_reads before writing.

    Every writer on SQLite waits for one lock; a POST that takes it at its first SELECT holds
    it through form validation and the rest of its Python as well.
    """
    g.sqlite_reading = True


def end_reads(session):
    """End read_before_writing's transaction, so the next one takes the write lock at BEGIN.

    A deferred transaction that has read cannot safely start writing (see configure_sqlite),
    hence a new one. PostgreSQL has no such lock: its transaction simply goes on. `session` is
    the scoped db.session; a request that read nothing has no transaction to end.
    """
    g.sqlite_reading = False
    if session.get_bind().dialect.name != "sqlite" or not session().in_transaction():
        return
    session.rollback()
