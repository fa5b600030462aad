"""Crash safety: SIGKILL a gunicorn worker and the mail worker while people sign.

A real gunicorn (two workers), a separate `flask worker` sending through SMTP to a recording
server on loopback, and client threads signing unique addresses while a confirmer follows the
links in the delivered mail. Mid-load one gunicorn worker and the mail worker die by SIGKILL
(gunicorn respawns its worker; the test starts a new mail worker). Afterwards:

* every address that got its 303 has its signature row;
* every signature row has had its confirmation mail delivered, and no mail was delivered twice
  except where the mail worker died between the SMTP server's "250 OK" and marking the row
  sent: at most one mail per mail-worker kill;
* the public count settles on the number of confirmed rows, and a recount changes nothing.
"""

import http.client
import logging
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from tests import services
from tests.live import BIN, ROOT, LiveServer, free_port, wait_until

log = logging.getLogger(__name__)
pytestmark = pytest.mark.live

SLUG = "crash-safety"
SIGNERS = 4  # client threads
LOAD_SECONDS = 6.0
KILL_WEB_AT = 2.0  # seconds into the load
KILL_MAIL_AT = 3.5
MAIL_KILLS = 1
SETTLE_SECONDS = 45.0
REQUEST_TIMEOUT = 15
NAMES = ["Ana Souza", "Алексей Смирнов", "أحمد حسن", "נועה כהן", "佐藤花子", "प्रिया शर्मा"]


class Recorder:
    """An SMTP handler that keeps every message it accepts."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def received(self):
        with self.lock:
            return list(self.messages)


class Browser:
    """One supporter's connection: keep-alive, a session cookie, no redirects followed."""

    def __init__(self, port):
        self.port = port
        self.conn = None
        self.cookie = None

    def request(self, method, path, form=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            page = response.read().decode("utf-8", errors="replace")
        except (OSError, http.client.HTTPException):
            # A worker died under this request: the next one opens a new connection.
            self.conn.close()
            self.conn = None
            raise
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, page

    def csrf_token(self, path):
        status, page = self.request("GET", path)
        assert status == 200, (path, status)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    def close(self):
        if self.conn is not None:
            self.conn.close()


class Load:
    """What the signers and the confirmer saw."""

    def __init__(self):
        self.lock = threading.Lock()
        self.signed = set()  # got the 303
        self.uncertain = set()  # the connection broke: committed or not, nobody knows
        self.statuses = Counter()  # anything but a 303
        self.confirmed = set()  # the confirm POST answered 200
        self.confirm_uncertain = set()  # the confirm POST's connection broke
        self.confirm_failures = Counter()
        self.stop = threading.Event()  # the signers are done
        self.mail_out = threading.Event()  # every mail has been delivered


def signer(port, index, load, deadline):
    browser = Browser(port)
    token = None
    n = 0
    try:
        while not load.stop.is_set() and time.monotonic() < deadline:
            n += 1
            email = f"s{index}-{n}@example.org"
            try:
                if token is None:
                    token = browser.csrf_token(f"/petitions/{SLUG}")
                form = {
                    "csrf_token": token,
                    "name": NAMES[n % len(NAMES)],
                    "email": email,
                    "country": "FR",
                }
                status, _ = browser.request("POST", f"/petitions/{SLUG}/sign", form)
            except (OSError, http.client.HTTPException):
                with load.lock:
                    load.uncertain.add(email)
                continue
            with load.lock:
                if status == 303:
                    load.signed.add(email)
                else:
                    load.statuses[status] += 1
    finally:
        browser.close()


def confirm_link(message):
    found = re.search(r"https?://[^/\s]+(/confirm/[A-Za-z0-9_-]+)", message.get_content())
    return found.group(1) if found else None


def confirmer(port, recorder, load, deadline):
    """Confirm every third signer through the link in the mail, as people do."""
    browser = Browser(port)
    done = set()
    try:
        while time.monotonic() < deadline:
            finished = load.mail_out.is_set()
            for message in recorder.received():
                to = str(message["To"])
                path = confirm_link(message)
                n = int(re.match(r"s\d+-(\d+)@", to).group(1))
                if path is None or n % 3 or to in done:
                    continue
                done.add(to)
                try:
                    token = browser.csrf_token(path)
                    status, _ = browser.request("POST", path, {"csrf_token": token})
                except (OSError, http.client.HTTPException, AssertionError):
                    # A dead worker or a page that did not come: try this one again later.
                    done.discard(to)
                    with load.lock:
                        load.confirm_uncertain.add(to)
                    continue
                with load.lock:
                    if status == 200:
                        load.confirmed.add(to)
                    else:
                        load.confirm_failures[status] += 1
            if finished:
                return
            time.sleep(0.05)
    finally:
        browser.close()


def gunicorn_workers(server):
    path = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    try:
        return [int(pid) for pid in path.read_text().split()]
    except OSError:
        return []


def start_mail_worker(server, folder, n):
    log_file = open(folder / f"worker-{n}.log", "wb")  # noqa: SIM115 closed by the caller
    process = subprocess.Popen(
        [str(BIN / "flask"), "worker"],
        cwd=ROOT,
        env=server.env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    return process, log_file


def stop_process(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=free_port(), ready_timeout=10, enable_SMTPUTF8=True
    )
    controller.start()
    yield recorder, controller.port
    controller.stop()


@pytest.fixture(params=["postgresql", "sqlite"])
def crash_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    name = f"petition_crash_{services.worker_id()}"
    url = services.postgres_database(name)
    yield url
    services.drop_postgres_database(name)


def test_sigkill_under_load_loses_nothing(crash_database, tmp_path, smtp):
    recorder, smtp_port = smtp
    env = {
        "ABUSE_CHECKS": "0",
        "FLASK_JOBS_IN_PROCESS": "false",
        "FLASK_JOBS_POLL_SECONDS": "0.1",
        "FLASK_MAIL_BACKEND": "smtp",
        "FLASK_MAIL_SERVER": "127.0.0.1",
        "FLASK_MAIL_PORT": str(smtp_port),
        "FLASK_MAIL_TIMEOUT": "2",
        # Mail claimed by the killed worker comes back to the next one after this long.
        "FLASK_MAIL_CLAIM_SECONDS": "3",
        "FLASK_MAIL_CAP_PER_ADDRESS": "10",
        "FLASK_CONFIRMATION_REQUIRED": "true",
    }
    # No Redis: the worker polls the outbox table, the path that must survive the kill.
    server = LiveServer(crash_database, tmp_path, workers=2, threads=4, env=env)
    server.env.pop("REDIS_URL", None)
    workers = []
    engine = create_engine(crash_database)
    try:
        server.start()  # migrates first
        server.flask(
            "petitions", "create", SLUG, "--title", "Crash", "--target", "Nobody", "--open"
        )
        workers.append(start_mail_worker(server, tmp_path, 1))
        load = Load()
        started = time.monotonic()
        deadline = started + LOAD_SECONDS
        threads = [
            threading.Thread(target=signer, args=(server.port, i, load, deadline), daemon=True)
            for i in range(SIGNERS)
        ]
        threads.append(
            threading.Thread(
                target=confirmer,
                args=(server.port, recorder, load, deadline + SETTLE_SECONDS),
                daemon=True,
            )
        )
        for thread in threads:
            thread.start()

        time.sleep(KILL_WEB_AT)
        web_workers = wait_until(lambda: gunicorn_workers(server), what="gunicorn workers")
        victim = web_workers[0]
        os.kill(victim, signal.SIGKILL)
        time.sleep(KILL_MAIL_AT - KILL_WEB_AT)
        # Kill it while it sends, not while it starts.
        wait_until(recorder.received, timeout=20, what="the mail worker to send")
        assert workers[-1][0].poll() is None, "the mail worker died on its own"
        workers[-1][0].kill()  # SIGKILL
        workers[-1][0].wait(timeout=10)
        workers.append(start_mail_worker(server, tmp_path, 2))

        for thread in threads[:-1]:
            thread.join(timeout=LOAD_SECONDS + 2 * REQUEST_TIMEOUT)
            assert not thread.is_alive(), "a signer hung"
        load.stop.set()
        # gunicorn replaced the dead worker.
        wait_until(
            lambda: len(gunicorn_workers(server)) == 2 and victim not in gunicorn_workers(server),
            timeout=20,
            what="gunicorn to respawn its worker",
        )

        assert load.signed, "no signature got through"
        assert not load.statuses, f"answers other than 303: {dict(load.statuses)}"

        def rows():
            with engine.connect() as conn:
                return dict(conn.execute(text("SELECT email, state FROM signatures")).all())

        # Every 303 has its row; any other row is one whose answer was lost with the worker.
        stored = rows()
        assert load.signed <= set(stored), f"lost: {sorted(load.signed - set(stored))[:10]}"
        assert set(stored) <= load.signed | load.uncertain

        def all_mail_out():
            with engine.connect() as conn:
                unsent = conn.execute(
                    text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                ).scalar_one()
            delivered = {str(m["To"]) for m in recorder.received()}
            return unsent == 0 and set(stored) <= delivered

        wait_until(all_mail_out, timeout=SETTLE_SECONDS, interval=0.2, what="every mail sent")
        load.mail_out.set()
        threads[-1].join(timeout=SETTLE_SECONDS)
        assert not threads[-1].is_alive(), "the confirmer hung"
        assert load.confirmed, "nothing was confirmed"
        assert not load.confirm_failures, dict(load.confirm_failures)
        stored = rows()
        confirmed = {email for email, state in stored.items() if state == "confirmed"}
        assert load.confirmed <= confirmed <= load.confirmed | load.confirm_uncertain
        # Whatever the confirmations queued has gone out too.
        wait_until(all_mail_out, timeout=SETTLE_SECONDS, interval=0.2, what="every mail sent")

        messages = recorder.received()
        ids = Counter(str(m["Message-ID"]) for m in messages)
        twice = {mid: n for mid, n in ids.items() if n > 1}
        log.info(
            "crash test: %s signed, %s uncertain, %s confirmed, %s mails, resent %s; %.1f s",
            len(load.signed),
            len(load.uncertain),
            len(load.confirmed),
            len(messages),
            twice,
            time.monotonic() - started,
        )
        # Only the mail in flight when its worker died can go out again, once.
        assert sum(n - 1 for n in twice.values()) <= MAIL_KILLS, f"sent twice: {twice}"
        with engine.connect() as conn:
            outbox = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
        assert len(ids) == outbox, "a delivered mail has no outbox row, or a row no mail"
        confirmations = {str(m["To"]) for m in messages if "/confirm/" in m.get_content()}
        assert confirmations == set(stored), "a signature without its confirmation mail"

        def public_count():
            browser = Browser(server.port)
            try:
                status, body = browser.request("GET", f"/api/petitions/{SLUG}/count")
            finally:
                browser.close()
            assert status == 200, body
            return int(re.search(r'"signature_count":\s*(\d+)', body).group(1))

        wait_until(
            lambda: public_count() == len(confirmed),
            timeout=20,
            interval=0.2,
            what=f"the public count to settle on {len(confirmed)}",
        )
        recount = server.flask("signatures", "recount", SLUG).stdout.strip()
        assert recount == f"{SLUG}: {len(confirmed)} (was {len(confirmed)})"
    finally:
        for process, log_file in workers:
            stop_process(process)
            log_file.close()
        server.stop()
        engine.dispose()
