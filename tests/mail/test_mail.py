"""The outbox and its senders, with real parts: an SMTP server on loopback, files, a stream."""

import asyncio
import datetime as dt
import io
import re
import signal
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.mail import outbox as mail
from petition.mail.models import OutboxMessage
from petition.petitions.models import Signature
from tests.helpers import link

PUBLIC_URL = "http://petition.test"
SENDER = "Équipe Pétition <team@petition.test>"
TITLE = "Sauvons la forêt — Спасём лес — 森を守ろう"
NAME = "Zoë Łukasiewicz-Ødegård"
THREAD_TIMEOUT = 60


# --- a real SMTP server on loopback ---------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list
    message: EmailMessage
    peer: tuple = None  # the client's address and port: one per connection


class Recorder:
    """An aiosmtpd handler that keeps every accepted message and can refuse the first few."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []
        self.refuse = 0  # how many DATA commands to answer with a temporary failure
        self.refused = 0
        self.delay = 0.0  # seconds to think before answering DATA: widens race windows
        self.hold = None  # a threading.Event: DATA waits for it (bounded) before answering
        self.hold_only = None  # recipients whose DATA waits for hold; None: every DATA
        self.holding = threading.Event()
        self.delays = {}  # recipient: seconds its DATA takes
        self.drop = set()  # recipients whose first DATA the server answers by hanging up
        self.dropped = 0
        self.on_data = None  # called with each message before it is accepted
        self.connections = []  # the peer of each EHLO: one per connection without STARTTLS
        self.quits = 0
        self.port = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # what aiosmtpd does itself when there is no hook
        with self.lock:
            self.connections.append(session.peer)
        return responses

    async def handle_QUIT(self, server, session, envelope):
        with self.lock:
            self.quits += 1
        return "221 Bye"

    async def handle_DATA(self, server, session, envelope):
        [rcpt, *_] = envelope.rcpt_tos
        if self.delay or rcpt in self.delays:
            await asyncio.sleep(self.delays.get(rcpt, self.delay))
        if self.hold is not None and (self.hold_only is None or rcpt in self.hold_only):
            self.holding.set()
            deadline = time.monotonic() + THREAD_TIMEOUT
            while not self.hold.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        message = message_from_bytes(envelope.content, policy=policy.default)
        if self.on_data is not None:
            self.on_data(message)
        with self.lock:
            if rcpt in self.drop:
                # Gone before it could say 250: the message was never accepted.
                self.drop.discard(rcpt)
                self.dropped += 1
                server.transport.abort()
                return "421 4.3.0 gone"
            if self.refuse:
                self.refuse -= 1
                self.refused += 1
                return "451 4.3.0 try again later"
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), message, session.peer)
            )
        return "250 OK"

    def received(self):
        with self.lock:
            return list(self.messages)


@pytest.fixture
def smtp(request):
    recorder = Recorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        ready_timeout=10,
        enable_SMTPUTF8=True,
    )
    controller.start()
    request.addfinalizer(controller.stop)
    recorder.port = controller.port
    return recorder


@pytest.fixture
def closed_port():
    """A loopback port bound but not listening: connecting to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


@pytest.fixture
def app_config(request):
    """Tests that use the SMTP server get an app that sends through it."""
    config = {}
    if "smtp" in request.fixturenames:
        server = request.getfixturevalue("smtp")
        config.update(
            MAIL_BACKEND="smtp",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=server.port,
            MAIL_TIMEOUT=10,
            MAIL_DEFAULT_SENDER=SENDER,
        )
    return config


# --- helpers ----------------------------------------------------------------------------------


def drain(app, **kwargs):
    with app.app_context():
        return mail.drain(app.config, **kwargs)


def rows(app):
    with app.app_context():
        return db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()


def set_rows(app, **values):
    """Change every outbox row, as time passing (or an operator) would."""
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(**values))
        db.session.commit()


def make_due(app):
    set_rows(app, next_attempt_at=utcnow() - dt.timedelta(seconds=1))


def outbox_id(message):
    found = re.fullmatch(r"<outbox\.(\d+)\.\d+@[^<>@\s]+>", message["Message-ID"])
    assert found, message["Message-ID"]
    return int(found.group(1))


def run_threads(target, count):
    """Run target in count threads started together; return their results, re-raise errors."""
    results, errors = [None] * count, []
    barrier = threading.Barrier(count, timeout=THREAD_TIMEOUT)

    def run(i):
        try:
            barrier.wait()
            results[i] = target()
        except BaseException as exc:  # handed to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(THREAD_TIMEOUT)
    assert not any(t.is_alive() for t in threads), f"a worker still runs after {THREAD_TIMEOUT}s"
    if errors:
        raise errors[0]
    return results


# --- SMTP -------------------------------------------------------------------------------------


def test_smtp_delivers_the_confirmation_mail(app, smtp, client, make_petition, sign):
    make_petition(title=TITLE)
    assert sign(name=NAME, email="zoe@example.org").status_code == 303
    assert smtp.received() == [], "a sign must not wait on SMTP"

    assert drain(app) == (1, 0)

    [got] = smtp.received()
    assert got.mail_from == "team@petition.test"
    assert got.rcpt_tos == ["zoe@example.org"]
    msg = got.message
    assert msg["To"] == "zoe@example.org"
    assert msg["From"] == SENDER
    assert TITLE in msg["Subject"]
    assert re.fullmatch(r"<[^<>@\s]+@petition\.test>", msg["Message-ID"]), msg["Message-ID"]
    assert msg.get_content_charset() == "utf-8"
    body = msg.get_content()
    assert TITLE in body
    confirm, withdraw = link(body, "confirm"), link(body, "withdraw")
    assert f"{PUBLIC_URL}{confirm}" in body.splitlines()
    assert f"{PUBLIC_URL}{withdraw}" in body.splitlines()

    # The delivered links open the right pages; the name comes back as it was typed.
    page = client.get(confirm)
    assert page.status_code == 200
    assert NAME in page.get_data(as_text=True)
    assert TITLE in client.get(withdraw).get_data(as_text=True)

    [row] = rows(app)
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.last_error is None
    assert drain(app) == (0, 0)
    assert len(smtp.received()) == 1


def test_smtp_delivers_to_an_internationalised_address(app, smtp, make_petition, sign):
    make_petition(title=TITLE)
    assert sign(name=NAME, email="zoë@exämple.org").status_code == 303
    assert drain(app) == (1, 0)
    [got] = smtp.received()
    assert got.rcpt_tos == ["zoë@exämple.org"]
    assert got.message["To"] == "zoë@exämple.org"
    assert TITLE in got.message["Subject"]


def test_refused_mail_is_retried_with_backoff_and_sent_once(app, smtp, make_petition, sign):
    make_petition()
    sign()
    smtp.refuse = 2
    base = dt.timedelta(seconds=app.config["MAIL_RETRY_BASE"])

    before = utcnow()
    assert drain(app) == (0, 1)
    after = utcnow()
    assert smtp.received() == []
    [row] = rows(app)
    assert row.sent_at is None
    assert row.attempts == 1
    assert "451" in row.last_error and "try again later" in row.last_error
    assert before + base <= row.next_attempt_at <= after + base
    assert row.claim is None and row.claimed_until is None

    # Not due yet: a pass leaves it alone.
    assert drain(app) == (0, 0)
    assert smtp.refused == 1

    make_due(app)
    before = utcnow()
    assert drain(app) == (0, 1)
    after = utcnow()
    [row] = rows(app)
    assert row.attempts == 2
    assert before + 2 * base <= row.next_attempt_at <= after + 2 * base

    make_due(app)
    assert drain(app) == (1, 0)
    assert smtp.refused == 2
    [got] = smtp.received()
    assert got.rcpt_tos == ["ana@example.org"]
    [row] = rows(app)
    assert row.sent_at is not None
    assert row.attempts == 3

    make_due(app)
    assert drain(app) == (0, 0)
    assert len(smtp.received()) == 1


def test_mail_stays_queued_while_the_server_is_down(app, smtp, closed_port, make_petition, sign):
    make_petition()
    sign()
    app.config["MAIL_PORT"] = closed_port

    assert drain(app) == (0, 1)
    [row] = rows(app)
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.last_error.startswith("ConnectionRefusedError"), row.last_error
    assert row.next_attempt_at > utcnow()

    make_due(app)
    assert drain(app) == (0, 1)
    [row] = rows(app)
    assert row.sent_at is None
    assert row.attempts == 2

    # The server is back: the same mail goes out, once.
    app.config["MAIL_PORT"] = smtp.port
    make_due(app)
    assert drain(app) == (1, 0)
    [got] = smtp.received()
    assert got.rcpt_tos == ["ana@example.org"]
    [row] = rows(app)
    assert row.sent_at is not None


def test_a_sign_does_not_wait_while_a_worker_talks_to_a_slow_server(app, smtp, make_petition, sign):
    make_petition()
    sign(email="first@example.org")
    smtp.hold = threading.Event()
    slow = 2.0
    release = threading.Timer(slow, smtp.hold.set)

    def worker():
        with app.app_context():
            return mail.drain(app.config)

    results = []
    thread = threading.Thread(target=lambda: results.append(worker()), daemon=True)
    thread.start()
    try:
        assert smtp.holding.wait(THREAD_TIMEOUT), "the worker never reached DATA"
        release.start()
        started = time.monotonic()
        response = sign(email="second@example.org")
        elapsed = time.monotonic() - started
    finally:
        smtp.hold.set()
        release.cancel()
        thread.join(THREAD_TIMEOUT)
    assert not thread.is_alive()
    assert response.status_code == 303
    assert elapsed < slow / 2, f"signing waited {elapsed:.2f}s for the SMTP conversation"
    # The worker's pass goes on to the mail queued meanwhile; each goes out once.
    sent = results[0][0] + drain(app)[0]
    assert sent == 2
    assert sorted(r.rcpt_tos[0] for r in smtp.received()) == [
        "first@example.org",
        "second@example.org",
    ]


def test_a_claim_left_by_a_crashed_worker_expires(app, smtp, make_petition, sign):
    make_petition()
    sign()
    with app.app_context():
        # A worker claims the mail and dies before sending it.
        claimed, any_due = mail.claim_batch(app.config)
        assert len(claimed) == 1 and any_due
    assert drain(app) == (0, 0), "a live claim is left alone"
    assert smtp.received() == []

    set_rows(app, claimed_until=utcnow() - dt.timedelta(seconds=1))
    assert drain(app) == (1, 0)
    assert len(smtp.received()) == 1


def test_concurrent_workers_send_each_mail_once(app, smtp, make_petition, sign):
    make_petition()
    count = 30
    recipients = [f"signer{i}@example.org" for i in range(count)]
    for address in recipients:
        assert sign(email=address).status_code == 303
    assert len(rows(app)) == count
    smtp.delay = 0.005

    def worker():
        with app.app_context():
            # Small batches: more claims, more chances for two workers to race for one row.
            return mail.drain(app.config, limit=3)

    results = run_threads(worker, 4)

    received = smtp.received()
    # The Message-ID names the outbox row, so a row sent twice would show here.
    row_ids = Counter(outbox_id(r.message) for r in received)
    assert [row_id for row_id, n in row_ids.items() if n > 1] == []
    assert Counter(to for r in received for to in r.rcpt_tos) == Counter(recipients)
    assert len(received) == count
    assert sum(sent for sent, _ in results) == count
    assert sum(failed for _, failed in results) == 0
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows(app))


def signers(sign, count):
    addresses = [f"signer{i}@example.org" for i in range(count)]
    for address in addresses:
        assert sign(email=address).status_code == 303
    return addresses


def test_a_batch_uses_one_connection_and_marks_each_mail_as_it_goes(app, smtp, make_petition, sign):
    make_petition()
    count = 5
    signers(sign, count)
    seen = []

    def check(message):
        # Runs while the server holds this message's DATA: the worker waits for the answer.
        row_id = outbox_id(message)
        with app.app_context():
            table = {r.id: r for r in db.session.execute(select(OutboxMessage)).scalars()}
        seen.append(
            (
                row_id,
                [i for i, r in table.items() if i < row_id and r.sent_at is None],
                table[row_id].sent_at is None and table[row_id].claimed_until > utcnow(),
            )
        )

    smtp.on_data = check
    assert drain(app) == (count, 0)

    ids = [r.id for r in rows(app)]
    # Every earlier mail was already marked sent when the next one's DATA arrived.
    assert seen == [(row_id, [], True) for row_id in ids]
    received = smtp.received()
    assert sorted(outbox_id(r.message) for r in received) == ids
    assert len(smtp.connections) == 1
    assert {r.peer for r in received} == set(smtp.connections)
    assert smtp.quits == 1
    assert all(r.sent_at and r.attempts == 1 and r.claimed_until is None for r in rows(app))


def test_a_slow_server_does_not_let_two_workers_send_one_mail(app, smtp, make_petition, sign):
    claim = 2
    app.config["MAIL_CLAIM_SECONDS"] = claim
    make_petition()
    first, second, *_ = recipients = signers(sign, 4)
    # The first mail takes longer than the claim on the batch, then the second stalls: by
    # then the claims on the last two have run out and another worker may take them.
    smtp.delays = {first: claim + 0.5}
    smtp.hold = threading.Event()
    smtp.hold_only = {second}

    results = []

    def worker():
        with app.app_context():
            results.append(mail.drain(app.config))

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        assert smtp.holding.wait(THREAD_TIMEOUT), "the first worker never reached the second mail"
        # The second mail's claim was renewed just before its DATA, so it stays with the first
        # worker; the other two are free.
        other = drain(app)
    finally:
        smtp.hold.set()
        thread.join(THREAD_TIMEOUT)
    assert not thread.is_alive()

    assert other == (2, 0)
    assert results == [(2, 0)], "the first worker skips the mails it no longer holds"
    received = smtp.received()
    assert Counter(r.rcpt_tos[0] for r in received) == Counter(recipients)
    assert Counter(outbox_id(r.message) for r in received).most_common(1)[0][1] == 1
    assert all(r.sent_at is not None and r.attempts == 1 for r in rows(app))


def test_a_dropped_connection_is_reopened_once_for_the_rest(app, smtp, make_petition, sign):
    make_petition()
    recipients = signers(sign, 5)
    smtp.drop = {recipients[2]}

    before = utcnow()
    assert drain(app) == (4, 1)
    assert smtp.dropped == 1
    received = smtp.received()
    assert [r.rcpt_tos[0] for r in received] == recipients[:2] + recipients[3:]
    # Two mails on the first connection, the other two on the second.
    assert len(smtp.connections) == 2
    assert [r.peer for r in received] == [smtp.connections[0]] * 2 + [smtp.connections[1]] * 2
    assert smtp.quits == 1

    dropped = rows(app)[2]
    assert dropped.sent_at is None and dropped.attempts == 1
    assert dropped.last_error.startswith("SMTPServerDisconnected"), dropped.last_error
    assert dropped.next_attempt_at >= before + dt.timedelta(seconds=app.config["MAIL_RETRY_BASE"])
    assert dropped.claim is None and dropped.claimed_until is None

    make_due(app)
    assert drain(app) == (1, 0)
    received = smtp.received()
    assert Counter(r.rcpt_tos[0] for r in received) == Counter(recipients)
    assert all(r.sent_at is not None for r in rows(app))


def test_a_batch_that_loses_its_second_connection_leaves_the_rest_to_the_next(
    app, smtp, make_petition, sign
):
    make_petition()
    recipients = signers(sign, 6)
    smtp.drop = {recipients[1], recipients[3]}

    with app.app_context():
        assert mail.send_pending(app.config) == (2, 2)
    # The two untried mails are back in the queue as they were: unclaimed, never attempted.
    untried = rows(app)[4:]
    assert [(r.attempts, r.claim, r.claimed_until, r.sent_at) for r in untried] == [
        (0, None, None, None)
    ] * 2
    assert len(smtp.connections) == 2

    assert drain(app) == (2, 0)
    assert len(smtp.connections) == 3
    make_due(app)
    assert drain(app) == (2, 0)
    received = smtp.received()
    assert Counter(r.rcpt_tos[0] for r in received) == Counter(recipients)
    assert [r.attempts for r in rows(app)] == [1, 2, 1, 2, 1, 1]


def test_a_batch_for_an_unreachable_server_all_waits_out_a_backoff(
    app, closed_port, make_petition, sign
):
    make_petition()
    signers(sign, 3)
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port)
    assert drain(app) == (0, 3)
    assert all(
        r.sent_at is None and r.attempts == 1 and r.last_error.startswith("ConnectionRefused")
        for r in rows(app)
    )


# --- the worker command, files and the console ---------------------------------------------


def test_worker_once_sends_what_is_due_as_files(app, make_petition, sign):
    make_petition(title=TITLE)
    sign(name=NAME, email="due@example.org")
    sign(name=NAME, email="later@example.org")
    with app.app_context():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.to == "later@example.org")
            .values(next_attempt_at=utcnow() + dt.timedelta(hours=1))
        )
        db.session.commit()

    # The command installs SIGINT/SIGTERM handlers: put pytest's back afterwards.
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = app.test_cli_runner().invoke(args=["worker", "--once"])
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert result.exit_code == 0, result.output

    files = sorted(Path(app.config["MAIL_FILE_DIR"]).iterdir())
    assert [f.suffix for f in files] == [".eml"], "one finished file, no temporary left"
    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["To"] == "due@example.org"
    assert msg["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert TITLE in msg["Subject"]
    assert msg["Message-ID"] and msg["Date"]
    body = msg.get_content()
    assert f"{PUBLIC_URL}{link(body, 'confirm')}" in body.splitlines()
    assert f"{PUBLIC_URL}{link(body, 'withdraw')}" in body.splitlines()

    due, later = rows(app)
    assert due.sent_at is not None
    assert later.sent_at is None and later.attempts == 0


# A host long enough that each link line passes 78 characters, which forces a transfer encoding.
LONG_PUBLIC_URL = "http://sign.the.petition.to.save.the.forests.of.the.world.example.test"


@pytest.mark.parametrize("app_config", [{"PUBLIC_URL": LONG_PUBLIC_URL}], ids=["long-links"])
def test_console_sender_writes_links_unbroken(app, make_petition, sign):
    make_petition(title=TITLE)
    sign(name=NAME, email="ana@example.org")
    [row] = rows(app)
    confirm_url = LONG_PUBLIC_URL + link(row.body, "confirm")
    withdraw_url = LONG_PUBLIC_URL + link(row.body, "withdraw")
    # On the wire the body is encoded and the links do not survive as lines.
    wire = mail.build_message(row, app.config["MAIL_DEFAULT_SENDER"]).as_string()
    assert confirm_url not in wire

    stream = io.StringIO()
    sender = mail.ConsoleSender(app.config, stream=stream)
    assert drain(app, sender=sender) == (1, 0)

    lines = stream.getvalue().splitlines()
    assert confirm_url in lines
    assert withdraw_url in lines
    assert "To: ana@example.org" in lines
    assert any(TITLE in line for line in lines if line.startswith("Subject: "))
    assert not any(line.startswith("Content-Transfer-Encoding") for line in lines)
    assert rows(app)[0].sent_at is not None


def test_file_sender_writes_parseable_eml(tmp_path):
    directory = tmp_path / "eml"
    sender = mail.FileSender({"MAIL_FILE_DIR": str(directory)})
    msg = EmailMessage()
    msg["From"] = SENDER
    msg["To"] = "zoe@example.org"
    msg["Subject"] = TITLE
    msg.set_content(f"{NAME}\n{LONG_PUBLIC_URL}/confirm/{'x' * 43}\n")
    sender.send(msg)
    sender.send(msg)

    files = sorted(directory.iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" for f in files)
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["From"] == SENDER
    assert parsed["Subject"] == TITLE
    assert parsed.get_content() == f"{NAME}\n{LONG_PUBLIC_URL}/confirm/{'x' * 43}\n"


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="MAIL_BACKEND must be one of"):
        mail.make_sender({"MAIL_BACKEND": "pigeon"})


# --- backoff ----------------------------------------------------------------------------------


def test_retry_delay_doubles_then_caps():
    config = {"MAIL_RETRY_BASE": 30, "MAIL_RETRY_MAX": 3600}
    delays = [mail.retry_delay(config, attempts) for attempts in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert mail.retry_delay(config, 0) == 30
    assert mail.retry_delay(config, 1000) == 3600
    assert mail.retry_delay({"MAIL_RETRY_BASE": 0, "MAIL_RETRY_MAX": 3600}, 5) == 0


# --- the per-address mail cap -----------------------------------------------------------------

SPELLINGS = [
    "ana@example.org",
    "Ana@Example.org",
    "ANA@EXAMPLE.ORG",
    "ana+petition@example.org",
    " Ana+news@EXAMPLE.org ",
    "ana@example.org",
    "ana+x@example.org",
    "ANA+Y@example.org",
]
GMAIL_SPELLINGS = [
    "ana.souza@gmail.com",
    "AnaSouza@gmail.com",
    "a.n.a.s.o.u.z.a@googlemail.com",
    "anasouza+petition@gmail.com",
    "Ana.Souza+x@GoogleMail.com",
    "anasouza@gmail.com",
]


@pytest.mark.parametrize(
    "app_config",
    [{}, {"ABUSE_CHECKS": False, "MAIL_CAP_PER_ADDRESS": 2}],
    ids=["default-cap", "cap-2-abuse-checks-off"],
)
@pytest.mark.parametrize("spellings", [SPELLINGS, GMAIL_SPELLINGS], ids=["plain", "gmail"])
def test_one_address_triggers_at_most_the_cap(app, make_petition, sign, outbox, spellings):
    cap = app.config["MAIL_CAP_PER_ADDRESS"]
    make_petition()
    for address in spellings:
        response = sign(email=address)
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/petitions/speak-out/signed")

    queued = outbox()
    assert len(queued) == cap
    # Each mail goes to the address as typed that time: the same mailbox.
    assert [m["to"].lower() for m in queued] == [a.strip().lower() for a in spellings[:cap]]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Signature)).scalar() == 1

    # The cap is per window: once it has passed, the address can get one more mail.
    with app.app_context():
        window = dt.timedelta(seconds=app.config["MAIL_CAP_WINDOW"] + 1)
        db.session.execute(update(Signature).values(mail_window_start=utcnow() - window))
        db.session.commit()
    assert sign(email=spellings[0]).status_code == 303
    assert len(outbox()) == cap + 1


def test_a_resend_carries_the_same_message_id(app, make_petition, sign):
    make_petition()
    sign()
    with app.app_context():
        row = db.session.execute(select(OutboxMessage)).scalar_one()
        sender = '"Campaña Speak Out" <act@petition.test>'
        first, second = mail.build_message(row, sender), mail.build_message(row, sender)
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].endswith("@petition.test>")
    assert first["Message-ID"].count("<") == 1
