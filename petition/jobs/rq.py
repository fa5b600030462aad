"""RQ on Redis: how mail and jobs reach `flask worker` processes when REDIS_URL is set.

The outbox and jobs tables stay the source of truth. After a commit that added rows to them, one
small RQ job per row is pushed ("send outbox message N", "run job N"); a worker runs the same
claim-then-send code as the built-in runner for that row, so however many pushes name a row, it
is sent or run once. A push that never happens (Redis away, a crash between commit and push)
costs only latency: the worker's sweep pushes every due row that no RQ job names, so Redis may
be flushed at any time.

RQ job ids name the row and its state (attempts, claim expiry): Redis refuses a second job for
the same row in the same state, while a row whose send failed or whose worker died gets a new id
and is pushed again.
"""

import logging
import signal
import threading
import time

import redis
from flask import current_app, has_app_context
from rq import Queue, SimpleWorker
from rq.exceptions import DuplicateJobError
from rq.job import Job as RQJob
from sqlalchemy import event, select

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.jobs import runner as jobs
from petition.jobs.models import Job
from petition.mail import outbox as mail
from petition.mail import pending_push
from petition.mail.models import OutboxMessage

log = logging.getLogger(__name__)

# The two queues: mail is quick and urgent, jobs (bundles) can take minutes. A worker serving
# both takes mail first; `flask worker --queues mail` keeps some workers for mail alone.
KINDS = ("mail", "jobs")
# The web process gives up on Redis quickly and, after a failure, leaves it alone this long: a
# sign must never wait on Redis; the sweep sends what the web could not push.
CONNECT_TIMEOUT = 1.0
BACKOFF_SECONDS = 5.0
# An RQ job no worker took within a day is dropped from Redis; the sweep pushes its row again.
QUEUED_TTL = 24 * 3600
# A failed RQ job (the task itself crashed) is kept this long for `rq info`, which also holds
# back a second push of the row in that state.
FAILURE_TTL = 300
# Rows the sweep looks at per round and kind, oldest first.
SWEEP_LIMIT = 1000
# What a worker runs for each kind, by dotted path: the entry points live beside the worker
# command (petition/worker.py), which may build an app; nothing here imports it.
TASKS = {"mail": "petition.worker.send_message", "jobs": "petition.worker.run_job"}


def init_app(app):
    """Push after commit when REDIS_URL is set and no in-process runner does the work."""
    if app.config["REDIS_URL"] and not app.config["JOBS_IN_PROCESS"]:
        app.extensions["rq"] = Pusher(app.config)
    else:
        app.extensions["rq"] = None
    listen_once()


def rq_job_id(prefix, kind, row_id, attempts=0, claimed_until=None):
    stamp = int(claimed_until.timestamp()) if claimed_until else 0
    return f"{prefix}-{kind}-{row_id}-{attempts}-{stamp}"


class Pusher:
    """Pushes RQ jobs for rows: (kind, row id, attempts, claimed_until) items."""

    def __init__(self, config, connection=None):
        self.prefix = config["RQ_QUEUE"]
        self.url = config["REDIS_URL"]
        self.timeouts = {
            "mail": int(config["MAIL_CLAIM_SECONDS"]),
            "jobs": int(config["RQ_JOB_TIMEOUT"]),
        }
        self.connection = connection or redis.Redis.from_url(
            self.url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=2 * CONNECT_TIMEOUT
        )
        self.queues = {}
        self.down_until = 0.0

    def queue(self, kind):
        if kind not in self.queues:
            self.queues[kind] = Queue(f"{self.prefix}-{kind}", connection=self.connection)
        return self.queues[kind]

    def push(self, items, skip_existing=False):
        """Push one RQ job per item not already queued; return how many were pushed.

        Never raises for Redis: a failure is logged, and pushes pause for BACKOFF_SECONDS.
        """
        if not items:
            return 0
        if time.monotonic() < self.down_until and not skip_existing:
            return 0
        planned = [
            (kind, row_id, rq_job_id(self.prefix, kind, row_id, *rest))
            for kind, row_id, *rest in items
        ]
        try:
            if skip_existing:
                # One round trip tells which rows already have a job; the sweep finds many.
                pipe = self.connection.pipeline(transaction=False)
                for _, _, job_id in planned:
                    pipe.exists(RQJob.key_for(job_id))
                planned = [p for p, found in zip(planned, pipe.execute(), strict=True) if not found]
            pushed = 0
            for kind, row_id, job_id in planned:
                try:
                    self.queue(kind).enqueue(
                        TASKS[kind],
                        row_id,
                        job_id=job_id,
                        unique=True,
                        job_timeout=self.timeouts[kind],
                        result_ttl=0,
                        ttl=QUEUED_TTL,
                        failure_ttl=FAILURE_TTL,
                        description=f"{kind} {row_id}",
                    )
                    pushed += 1
                except DuplicateJobError:
                    pass
        except redis.RedisError as exc:
            self.down_until = time.monotonic() + BACKOFF_SECONDS
            log.warning("could not push to Redis (%s); the worker's sweep will send it", exc)
            return 0
        self.down_until = 0.0
        return pushed


# --- after commit: push what the transaction added --------------------------------------------

_listening = False
_listen_lock = threading.Lock()


def listen_once():
    """Session events, once for the process: they serve every app through current_app."""
    global _listening
    with _listen_lock:
        if _listening:
            return
        event.listen(db.session, "after_flush", collect)
        event.listen(db.session, "after_commit", push_collected)
        event.listen(db.session, "after_rollback", forget_collected)
        _listening = True


def active_pusher():
    if not has_app_context():
        return None
    return current_app.extensions.get("rq")


def collect(session, _flush_context):
    # session.new still lists the rows this flush inserted; they have their ids now.
    if active_pusher() is None:
        return
    found = [
        ("mail" if isinstance(obj, OutboxMessage) else "jobs", obj.id)
        for obj in session.new
        if isinstance(obj, OutboxMessage | Job)
    ]
    if found:
        session.info.setdefault(pending_push.KEY, []).extend(found)


def push_collected(session):
    pending = pending_push.take(session)
    pusher = active_pusher()
    if pending and pusher is not None:
        pusher.push(pending)


def forget_collected(session):
    pending_push.take(session)


# --- the sweep ----------------------------------------------------------------------------------


def sweep(app, pusher=None):
    """Push an RQ job for each due outbox row and job that none names; return how many."""
    pusher = pusher or Pusher(app.config)
    now = utcnow()
    mails = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.claimed_until)
        .where(*mail.due(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(SWEEP_LIMIT)
    ).all()
    due_jobs = db.session.execute(
        select(Job.id, Job.claimed_until)
        .where(jobs.due(now))
        .order_by(Job.created_at, Job.id)
        .limit(SWEEP_LIMIT)
    ).all()
    # Nothing held open while Redis answers.
    db.session.commit()
    items = [("mail", row.id, row.attempts, row.claimed_until) for row in mails]
    items += [("jobs", row.id, 0, row.claimed_until) for row in due_jobs]
    return pusher.push(items, skip_existing=True)


# --- `flask worker` under RQ ------------------------------------------------------------------


def sweep_step(app):
    """The worker's background round: the sweep every RQ_SWEEP_SECONDS, the periodic functions."""
    last_run = {}
    pusher = Pusher(app.config)

    def step(app):
        now = time.monotonic()
        if now - last_run.get("rq-sweep", float("-inf")) >= float(app.config["RQ_SWEEP_SECONDS"]):
            last_run["rq-sweep"] = now
            sweep(app, pusher)
        jobs.run_periodic(app, last_run)

    return step


def run_worker(app, kinds=KINDS, burst=False):
    """Serve the RQ queues of `kinds` until SIGINT/SIGTERM, or until they are empty (burst)."""
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    prefix = app.config["RQ_QUEUE"]
    queues = [Queue(f"{prefix}-{kind}", connection=connection) for kind in kinds]
    # No fork per job: a mail takes milliseconds, and a fork would also have to drop the
    # database pool it inherits.
    worker = SimpleWorker(queues, connection=connection)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    loop = None
    try:
        if burst:
            with app.app_context():
                sweep(app, Pusher(app.config))
                jobs.run_periodic(app, {})
        else:
            loop = jobs.Loop(app, "sweep", sweep_step(app))
            loop.ensure_started()
        worker.work(burst=burst, logging_level="WARNING")
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if loop is not None:
            loop.stop.set()
            loop.wake()
            loop.thread.join(timeout=30)
