"""Background work: mail from the outbox, and jobs staff start (bundles, bulk moderation).

Both queues are tables, so work survives a crash and the web request that queued it commits it
in its own transaction. The embedded default runs them in threads of the web process; in
production `flask worker` processes run them. Handlers are plain functions registered by kind.
"""

import datetime as dt
import json
import logging
import secrets
import threading
import time

from sqlalchemy import or_, select, update

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.jobs.models import Job
from petition.jobs.registry import HANDLERS, PERIODIC
from petition.mail import outbox as mail

log = logging.getLogger(__name__)
# A running job renews its claim each time it reports progress; one silent longer than this
# is taken for dead and run again by another worker.
JOB_CLAIM_SECONDS = 300


def run_periodic(app, last_run):
    """Run each periodic function that is due; `last_run` maps name -> monotonic time."""
    now = time.monotonic()
    for name, (fn, seconds) in list(PERIODIC.items()):
        if isinstance(seconds, str):
            seconds = app.config[seconds]
        if now - last_run.get(name, float("-inf")) < seconds:
            continue
        last_run[name] = now
        try:
            fn(app)
        except Exception:
            db.session.rollback()
            log.exception("periodic %s failed; retrying next round", name)


def periodic_step():
    last_run = {}

    def step(app):
        run_periodic(app, last_run)

    return step


def enqueue(kind, params, staff_id=None, petition_id=None):
    """Queue a job in the caller's transaction; it starts after the commit."""
    job = Job(
        kind=kind,
        params=json.dumps(params),
        state="queued",
        staff_id=staff_id,
        petition_id=petition_id,
        progress=0,
        total=0,
        message="",
    )
    db.session.add(job)
    return job


def due(now):
    """The condition of a job a worker may claim now: queued, or running with a dead worker."""
    return or_(
        Job.state == "queued",
        (Job.state == "running") & (Job.claimed_until < now),
    )


def claim_job(job_id=None):
    """Take the oldest queued job (or one whose worker died), or that one; commit the claim."""
    now = utcnow()
    claim = secrets.token_hex(16)
    claimable = due(now)
    which = () if job_id is None else (Job.id == job_id,)
    candidates = (
        db.session.execute(
            select(Job.id)
            .where(claimable, *which)
            .order_by(Job.created_at, Job.id)
            .limit(5)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for job_id in candidates:
        taken = db.session.execute(
            update(Job)
            .where(Job.id == job_id, claimable)
            .values(
                state="running",
                claim=claim,
                claimed_until=now + dt.timedelta(seconds=JOB_CLAIM_SECONDS),
                started_at=now,
            )
        ).rowcount
        if taken:
            db.session.commit()
            return db.session.get(Job, job_id)
    db.session.commit()
    return None


def progress_reporter(job_id, claim):
    """report(done, total, message): commits progress on its own connection, renews the claim."""

    def report(done, total=None, message=None):
        values = {
            "progress": done,
            "claimed_until": utcnow() + dt.timedelta(seconds=JOB_CLAIM_SECONDS),
        }
        if total is not None:
            values["total"] = total
        if message is not None:
            values["message"] = message
        with db.engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == job_id, Job.claim == claim).values(**values))

    return report


def run_one(app, job_id=None):
    """Run one due job (any, or that one) to the end; return True if there was one."""
    job = claim_job(job_id)
    if job is None:
        return False
    job_id, claim, kind = job.id, job.claim, job.kind
    params = json.loads(job.params or "{}")
    db.session.commit()
    report = progress_reporter(job_id, claim)
    try:
        fn = HANDLERS[kind]
        result = fn(app, job_id, params, report)
    except Exception as exc:  # the job failed; the worker goes on with the next one
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, kind)
        finish(job_id, claim, "failed", message=f"{type(exc).__name__}: {exc}"[:2000])
    else:
        finish(job_id, claim, "done", result=result)
    return True


def finish(job_id, claim, state, message=None, result=None):
    values = {"state": state, "finished_at": utcnow(), "claimed_until": None}
    if message is not None:
        values["message"] = message
    if result is not None:
        values["result"] = json.dumps(result)
    with db.engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id, Job.claim == claim).values(**values))


class Loop:
    """A daemon thread that runs step() whenever woken, and every poll_seconds anyway."""

    def __init__(self, app, name, step, stop=None):
        self.app, self.name, self.step = app, name, step
        self.stop = stop or threading.Event()
        self.wakeup = threading.Event()
        self.lock = threading.Lock()
        self.thread = None

    def ensure_started(self):
        if self.thread is not None and self.thread.is_alive():
            return
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self.run, args=(self.stop,), name=self.name, daemon=True
                )
                self.thread.start()

    def wake(self):
        self.wakeup.set()

    def run(self, stop):
        poll = self.app.config["JOBS_POLL_SECONDS"]
        while not stop.is_set():
            with self.app.app_context():
                try:
                    self.step(self.app)
                except Exception:
                    # The database may be briefly away; the next round tries again.
                    log.exception("%s loop failed; retrying", self.name)
            self.wakeup.wait(poll)
            self.wakeup.clear()


def send_mail(app):
    mail.drain(app.config)


def run_jobs(app):
    while run_one(app):
        pass


class InProcessRunner:
    """Mail and jobs in threads of the web process, for the embedded default.

    Started lazily by the first request rather than in create_app, so gunicorn's forked workers
    each get live threads and commands like `flask db upgrade` start none.
    """

    def __init__(self, app):
        self.stopping = threading.Event()
        self.loops = [
            Loop(app, "outbox", send_mail, self.stopping),
            Loop(app, "jobs", run_jobs, self.stopping),
            Loop(app, "periodic", periodic_step(), self.stopping),
        ]

    def ensure_started(self):
        if self.stopping.is_set():
            return
        for loop in self.loops:
            loop.ensure_started()

    def wake(self):
        for loop in self.loops:
            loop.wake()

    def stop(self, timeout=10):
        """End the threads after their current round (tests; a clean shutdown)."""
        self.stopping.set()
        self.wake()
        for loop in self.loops:
            if loop.thread is not None:
                loop.thread.join(timeout)


def init_app(app):
    """The in-process runner, when JOBS_IN_PROCESS is on (started by the first request)."""
    if not app.config["JOBS_IN_PROCESS"]:
        app.extensions["jobs"] = None
        return
    runner = InProcessRunner(app)
    app.extensions["jobs"] = runner
    app.before_request(runner.ensure_started)


def wake(app):
    """Tell the in-process runner that work is waiting (a no-op under `flask worker`).

    Under RQ the push happens on its own after every commit (petition/jobs/rq.py).
    """
    runner = app.extensions.get("jobs")
    if runner is not None:
        runner.wake()


def run_worker(app, stop_event, once=False):
    """`flask worker`: mail and jobs in two threads until stop_event is set."""
    if once:
        with app.app_context():
            send_mail(app)
            run_jobs(app)
            run_periodic(app, {})
        return
    loops = [
        Loop(app, "outbox", send_mail),
        Loop(app, "jobs", run_jobs),
        Loop(app, "periodic", periodic_step()),
    ]
    threads = [
        threading.Thread(target=loop.run, args=(stop_event,), name=loop.name) for loop in loops
    ]
    for thread in threads:
        thread.start()
    stop_event.wait()
    for loop in loops:
        loop.wake()
    for thread in threads:
        thread.join()
