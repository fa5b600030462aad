"""Writing batches: one INSERT .. SELECT per batch, counted and committed in file order."""

import datetime as dt
import json
import queue
import threading
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import (
    DateTime,
    Text,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from petition.core.db import insert
from petition.core.extensions import db
from petition.imports.models import ImportRun
from petition.imports.report import REPORT_CAP, ImportFileError, format_rejections
from petition.petitions import counting, milestones
from petition.petitions.models import Signature

SOURCE = "import"
ANOTHER_RUN = "another import of this file is running; try again when it ends"


@dataclass
class Batch:
    """Checked rows of up to batch_size lines, for the writer; `last_line` ends it."""

    rows: list
    rejected: list
    duplicates: int
    last_line: int


def _sqlite_time(value):
    # SQLAlchemy's SQLite DateTime storage format: naive UTC with microseconds, so rows written
    # here sort and compare like those written through the ORM.
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


TARGET = (
    "petition_id",
    "name",
    "email",
    "canonical_email",
    "country",
    "city",
    "postcode",
    "created_at",
    "confirmed_at",
    "updates",
    "source",
    "state",
    "mail_count",
)
FIELDS = 7  # name, email, canonical, country, city, postcode, created_at


def _source_select(dialect, petition_id):
    """The batch as a SELECT over one JSON array of rows, unpacked by the database.

    One parameter per batch: the database parses JSON in C, where binding thousands of values
    (or arrays of them) costs Python time per value.
    """
    rows = bindparam("rows", type_=Text)
    if dialect == "postgresql":
        source = (
            func.jsonb_array_elements(cast(rows, JSONB))
            .table_valued("value", with_ordinality="n")
            .render_derived(name="batch")
        )
        value = source.c.value
        columns = [value.op("->>")(literal_column(str(i))) for i in range(FIELDS)]
        columns[-1] = cast(columns[-1], DateTime(timezone=True))
        order = source.c.n
    else:
        source = func.json_each(rows).table_valued("key", "value")
        columns = [func.json_extract(source.c.value, f"$[{i}]") for i in range(FIELDS)]
        order = source.c.key
    # SQLite needs a WHERE before ON CONFLICT in INSERT .. SELECT (else it parses a join).
    return (
        # The time twice, as created_at and as confirmed_at: labels keep the two columns.
        select(
            literal(petition_id),
            *columns[:-1],
            columns[-1].label("created_at"),
            columns[-1].label("confirmed_at"),
            literal(False),
            literal(SOURCE),
            literal("confirmed"),
            literal(0),
        )
        .select_from(source)
        .where(true())
        .order_by(order)
    )


def _batch_json(dialect, rows):
    at = _sqlite_time if dialect == "sqlite" else dt.datetime.isoformat
    data = [
        (r.name, r.email, r.canonical, r.country, r.city, r.postcode, at(r.created_at))
        for r in rows
    ]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def insert_rows(petition_id, rows):
    """INSERT the rows as confirmed signatures, skipping mailboxes already there.

    Returns the inserted rows' countries, counted.
    """
    if not rows:
        return Counter()
    dialect = db.session.get_bind().dialect.name
    # The Core table, not the ORM entity: an ORM insert would read the parameters as rows.
    table = Signature.__table__
    stmt = (
        insert(table)
        .from_select(TARGET, _source_select(dialect, petition_id))
        .on_conflict_do_nothing(index_elements=["petition_id", "canonical_email"])
        .returning(table.c.country)
    )
    params = {"rows": _batch_json(dialect, rows)}
    if dialect == "postgresql":
        # Counted by the server: a row per country comes back rather than one per signature.
        inserted = stmt.cte("inserted")
        counted = select(inserted.c.country, func.count()).group_by(inserted.c.country)
        return Counter(dict(db.session.execute(counted, params).all()))
    return Counter(db.session.execute(stmt, params).scalars())


# Connections writing batches at once. On PostgreSQL a second one lets the server insert the
# next batch while the last one commits; SQLite has one writer at a time anyway.
WRITERS = {"postgresql": 2}


class Stopped(Exception):
    """A writer gives up its batch because the import is stopping."""


class BatchWriter:
    """Writes and commits batches in threads of their own, each with its own session.

    Checking rows is Python work and writing them mostly the database's, so the next batches
    are checked while earlier ones are written. With two connections (PostgreSQL) two batches
    are inserted at once, but each takes its turn to count and commit: batches commit in file
    order, each moving the run's line on, so a crash leaves a clean line to resume after.
    No deadlock: a writer commits a batch before it takes the next, so the batches in flight
    are two neighbours; they share no mailbox (see _batches), so neither waits on the other's
    rows, and only the later one waits, for its turn.
    """

    def __init__(self, app, run_id, petition_id, report, done_line, config, writers=1):
        self.app = app
        self.run_id = run_id
        self.petition_id = petition_id
        self.report = report
        self.done_line = done_line
        self.config = config
        self.queues = [queue.Queue(maxsize=1) for _ in range(writers)]
        self.threads = [
            threading.Thread(target=self.work, args=(q,), name=f"import-writer-{n}", daemon=True)
            for n, q in enumerate(self.queues)
        ]
        self.sent = 0  # batches handed over
        self.turn = threading.Condition()
        self.next_to_commit = 0
        self.done = queue.SimpleQueue()
        self.error = None
        self.stopping = threading.Event()

    def start(self):
        for thread in self.threads:
            thread.start()

    def put(self, batch):
        """Hand over a batch; raises a writer's error if one failed."""
        self._put(self.queues[self.sent % len(self.queues)], (self.sent, batch))
        self.sent += 1

    def _put(self, target, item):
        while True:
            if self.error is not None:
                raise self.error
            try:
                target.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def committed(self):
        """Lines committed since the last call, oldest first."""
        while True:
            try:
                yield self.done.get_nowait()
            except queue.Empty:
                return

    def close(self):
        """Wait until every batch is committed; raises a writer's error if one failed."""
        for q in self.queues:
            self._put(q, None)
        for thread in self.threads:
            thread.join()
        if self.error is not None:
            raise self.error

    def abort(self):
        """Stop: a batch being committed commits whole, the others roll back."""
        with self.turn:
            self.stopping.set()
            self.turn.notify_all()
        for q in self.queues:
            while True:
                try:
                    q.get_nowait()
                except queue.Empty:
                    break
            q.put_nowait(None)  # just drained, and this thread is the only producer
        for thread in self.threads:
            thread.join()

    def fail(self, exc):
        with self.turn:
            if self.error is None:
                self.error = exc
            self.stopping.set()
            self.turn.notify_all()

    def work(self, batches):
        with self.app.app_context():
            try:
                while not self.stopping.is_set():
                    item = batches.get()
                    if item is None:
                        return
                    self.write(*item)
            except Stopped:
                db.session.rollback()
            except BaseException as exc:  # handed to the reading thread, which raises it
                db.session.rollback()
                self.fail(exc)
            finally:
                db.session.remove()

    def write(self, number, batch):
        if db.session.get_bind().dialect.name == "postgresql":
            # A server crash may lose the last commits, but each carries its batch's line on
            # the run, so the rerun redoes exactly those: the flush to disk can wait.
            db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        countries_ = insert_rows(self.petition_id, batch.rows)
        with self.turn:
            while self.next_to_commit != number and not self.stopping.is_set():
                self.turn.wait()
            if self.stopping.is_set():
                raise Stopped
        self.count_and_commit(batch, countries_)
        with self.turn:
            self.next_to_commit += 1
            self.turn.notify_all()

    def count_and_commit(self, batch, countries_):
        report = self.report
        inserted = sum(countries_.values())
        if inserted:
            reached = counting.add_confirmed_batch(self.petition_id, countries_)
            if reached:
                milestones.announce(reached, self.config)
        values = {
            "line": batch.last_line,
            "inserted": report.inserted + inserted,
            "duplicates": report.duplicates + batch.duplicates + len(batch.rows) - inserted,
            "rejected": report.rejected + len(batch.rejected),
        }
        rejections = report.rejections
        if batch.rejected and len(rejections) < REPORT_CAP:
            rejections = (rejections + batch.rejected)[:REPORT_CAP]
            values["report"] = format_rejections(rejections)
        # Guarded by the line this run last committed: a second process resuming the same file
        # at the same time finds the row moved on and stops instead of counting a batch twice.
        moved = db.session.execute(
            update(ImportRun)
            .where(ImportRun.id == self.run_id, ImportRun.line == self.done_line)
            .values(**values)
        ).rowcount
        if not moved:
            raise ImportFileError(ANOTHER_RUN)
        db.session.commit()
        report.inserted = values["inserted"]
        report.duplicates = values["duplicates"]
        report.rejected = values["rejected"]
        report.rejections = rejections
        self.done_line = batch.last_line
        self.done.put(self.done_line)
