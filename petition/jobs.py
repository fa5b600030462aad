"""Background work: the in-process runner of the embedded default, and `flask worker`."""

import logging
import threading

from . import mail

log = logging.getLogger(__name__)


class InProcessRunner:
    """A daemon thread in the web process that sends the outbox.

    Started lazily by the first request rather than in create_app, so gunicorn's forked workers
    each get a live thread and commands like `flask db upgrade` start none. Woken right after a
    commit that queued mail, and polls as a safety net for mail left by a crash or a retry.
    """

    def __init__(self, app):
        self.app = app
        self.wakeup = threading.Event()
        self.lock = threading.Lock()
        self.thread = None

    def ensure_started(self):
        if self.thread is not None and self.thread.is_alive():
            return
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.run, name="outbox", daemon=True)
                self.thread.start()

    def wake(self):
        self.wakeup.set()

    def run(self):
        config = self.app.config
        with self.app.app_context():
            sender = mail.make_sender(config)
        while True:
            self.wakeup.wait(config["JOBS_POLL_SECONDS"])
            self.wakeup.clear()
            with self.app.app_context():
                try:
                    mail.drain(config, sender)
                except Exception:
                    # The database may be briefly away; the next poll tries again.
                    log.exception("outbox runner failed; retrying")


def init_app(app):
    if not app.config["JOBS_IN_PROCESS"]:
        app.extensions["jobs"] = None
        return
    runner = InProcessRunner(app)
    app.extensions["jobs"] = runner
    app.before_request(runner.ensure_started)


def wake(app):
    """Tell the in-process runner that mail is waiting (a no-op under `flask worker`)."""
    runner = app.extensions.get("jobs")
    if runner is not None:
        runner.wake()


def run_worker(app, poll_seconds, stop_event, once=False):
    """The loop of `flask worker`: send due mail until stop_event is set."""
    config = app.config
    sender = mail.make_sender(config)
    while not stop_event.is_set():
        with app.app_context():
            try:
                sent, failed = mail.drain(config, sender)
            except Exception:
                log.exception("worker pass failed; retrying")
                sent = failed = 0
            if sent or failed:
                log.info("sent %d mail(s), %d failed", sent, failed)
        if once:
            return
        stop_event.wait(poll_seconds)
