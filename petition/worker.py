"""`flask worker`, and the entry points RQ calls in a worker process.

They live here, beside the composition root, because an RQ task runs in a process that may have
no app yet (a plain `rq worker`): this module may build one with create_app, which no feature
does. Pushers name the tasks by their dotted path (petition.jobs.rq.TASKS).
"""

import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from petition.core.extensions import db
from petition.jobs import rq as queue
from petition.jobs import runner as jobs
from petition.mail import outbox as mail

log = logging.getLogger(__name__)

# The app of this worker process, set by the worker command; RQ calls the tasks without one.
_worker_app = None


# --- the tasks RQ runs ----------------------------------------------------------------------------


def worker_app():
    """The app of this worker process (or a new one under a plain `rq worker`)."""
    global _worker_app
    if _worker_app is None:
        from petition import create_app

        _worker_app = create_app()
    return _worker_app


def send_message(message_id):
    """Send outbox message N if it is still due; the row's claim makes this once only."""
    app = worker_app()
    with app.app_context():
        try:
            mail.send_pending(app.config, ids=[message_id])
        except Exception:
            # The row is untouched or its claim expires; the sweep pushes it again. Failing
            # the RQ job would only hold that back for FAILURE_TTL.
            db.session.rollback()
            log.exception("outbox message %s: send failed; the sweep retries it", message_id)


def run_job(job_id):
    """Run job N if it is still due; progress goes to its row, as under the built-in runner."""
    app = worker_app()
    with app.app_context():
        try:
            jobs.run_one(app, job_id=job_id)
        except Exception:
            db.session.rollback()
            log.exception("job %s: could not be claimed; the sweep retries it", job_id)


@click.command()
@with_appcontext
@click.option(
    "--once",
    "--burst",
    "once",
    is_flag=True,
    help="Send and run what is due now, then exit (under RQ: sweep, then empty the queues).",
)
@click.option(
    "--queues",
    default="mail,jobs",
    show_default=True,
    help="Under RQ: which queues this worker serves, in priority order (mail, jobs).",
)
def worker(once, queues):
    """Send queued mail and run background jobs until stopped (SIGINT or SIGTERM).

    With REDIS_URL set this is an RQ worker; without it, threads polling the tables.
    """
    app = current_app._get_current_object()
    if app.config["REDIS_URL"]:
        kinds = [k.strip() for k in queues.split(",") if k.strip()]
        unknown = sorted(set(kinds) - set(queue.KINDS))
        if unknown or not kinds:
            raise click.BadParameter(
                f"expected a comma-separated list of {', '.join(queue.KINDS)}",
                param_hint="--queues",
            )
        click.echo(
            f"worker: RQ queues {', '.join(kinds)} on Redis; mail via {app.config['MAIL_BACKEND']}",
            err=True,
        )
        run_rq_worker(app, kinds, burst=once)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"worker: mail via {app.config['MAIL_BACKEND']}", err=True)
    jobs.run_worker(app, stop, once=once)


def run_rq_worker(app, kinds=queue.KINDS, burst=False):
    """Serve the RQ queues of `kinds` with this app: a plain loop of Redis BLPOP, not threads
    (the signal handlers are RQ's)."""
    global _worker_app
    _worker_app = app
    queue.run_worker(app, kinds, burst=burst)
