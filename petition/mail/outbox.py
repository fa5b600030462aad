"""The outbox and the senders that empty it (console, file, SMTP)."""

import datetime as dt
import logging
import os
import secrets
import smtplib
import sys
import threading
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import format_datetime, parseaddr

from flask import current_app, render_template
from sqlalchemy import or_, select, update

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.core.files import PRIVATE_FILE, private_dir
from petition.core.i18n import current_language
from petition.core.urls import with_language
from petition.mail import pending_push
from petition.mail.models import OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    """A text file sent with a mail, e.g. an event's calendar entry."""

    name: str
    content_type: str
    text: str


def enqueue(to, subject, template, attachment=None, **context):
    """Add a mail to the outbox in the caller's transaction; it leaves after the commit."""
    add(*compose(to, subject, template, **context), attachment=attachment)


def compose(to, subject, template, **context):
    """(to, subject, body) of a mail, ready for the outbox.

    Every `*_url` to our own site carries the mail's language (the one forced around the call),
    so a reader who follows a link lands on pages in the language the mail spoke.
    """
    language = current_language()
    public = current_app.config["PUBLIC_URL"]
    for key, value in context.items():
        if key.endswith("_url") and isinstance(value, str) and value.startswith(public):
            context[key] = with_language(value, language)
    body = render_template(template, **context)
    # A line break in a header would make the message unsendable, and retried forever; other
    # spaces stay (French puts a no-break space before a colon).
    lines = (line.strip() for line in str(subject).splitlines())
    return to, " ".join(line for line in lines if line), body


def add(to, subject, body, attachment=None):
    """Insert a composed mail into the outbox, in the caller's transaction."""
    now = utcnow()
    row = {"to": to, "subject": subject, "body": body, "created_at": now, "next_attempt_at": now}
    if attachment is not None:
        row.update(
            attachment_name=attachment.name,
            attachment_type=attachment.content_type,
            attachment=attachment.text,
        )
    # A plain insert: nothing reads the row back in the request, and the ORM's unit of work
    # cost more than the insert itself on the sign path.
    outbox_id = db.session.execute(OUTBOX_INSERT, row).inserted_primary_key[0]
    pending_push.note(db.session, "mail", outbox_id)


OUTBOX_INSERT = OutboxMessage.__table__.insert()


def build_message(row, sender):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.to
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at)
    # Derived from the row alone, so a resend after a crash carries the same Message-ID and the
    # receiving side can recognise it as the same mail.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = f"<outbox.{row.id}.{int(row.created_at.timestamp())}@{domain}>"
    msg.set_content(row.body)
    if row.attachment is not None:
        kind = Message()
        kind["Content-Type"] = row.attachment_type
        msg.add_attachment(
            row.attachment,
            subtype=kind.get_content_subtype(),
            filename=row.attachment_name,
            params=dict(kind.get_params()[1:]),
        )
    return msg


def text_part(msg):
    """The plain-text body of a mail, with or without attachments."""
    return msg.get_body(preferencelist=("plain",)).get_content()


class Sender:
    """Sends a batch of mails: open() once, send() each, close() at the end.

    Senders without a connection to keep need only send(); SMTPSender keeps one per batch.
    """

    is_open = True

    def open(self):
        pass

    def send(self, msg):
        raise NotImplementedError

    def close(self):
        pass


class ConsoleSender(Sender):
    """Writes each mail to the terminal: the embedded default, links ready to open."""

    def __init__(self, config, stream=None):
        self.stream = stream or sys.stderr
        self.lock = threading.Lock()

    def send(self, msg):
        rule = "-" * 72
        # Headers plus the decoded body: quoted-printable would break long links across lines.
        headers = "".join(f"{k}: {v}\n" for k, v in msg.items() if not k.startswith("Content"))
        attached = "".join(
            f"[attached: {part.get_filename()}]\n" for part in msg.iter_attachments()
        )
        with self.lock:
            self.stream.write(f"\n{rule}\n{headers}\n{text_part(msg)}{attached}{rule}\n")
            self.stream.flush()


class FileSender(Sender):
    """Writes each mail as an .eml file into MAIL_FILE_DIR."""

    def __init__(self, config):
        self.directory = config["MAIL_FILE_DIR"]

    def send(self, msg):
        private_dir(self.directory)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{secrets.token_hex(4)}.eml"
        tmp = os.path.join(self.directory, f".{name}.tmp")
        # A mail holds an address and a link: created private, not left to the umask.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as f:
            f.write(msg.as_bytes())
        # Readers never see a half-written file.
        os.replace(tmp, os.path.join(self.directory, name))


# Errors that are the server's answer to one mail: the conversation is still in step (smtplib
# sends RSET after them, and closes the socket itself on a 421), so the next mail can follow.
SERVER_ANSWERS = (
    smtplib.SMTPResponseException,
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPNotSupportedError,
)


class SMTPSender(Sender):
    """Hands mails to an SMTP server over one connection per batch.

    send() opens the connection if none is open; close() ends it with QUIT.
    """

    def __init__(self, config):
        self.config = config
        self.conn = None

    @property
    def is_open(self):
        # smtplib drops its socket when the server says 421 or hangs up.
        return self.conn is not None and self.conn.sock is not None

    def open(self):
        self.close()
        c = self.config
        conn = smtplib.SMTP(timeout=c["MAIL_TIMEOUT"])
        try:
            conn.connect(c["MAIL_SERVER"], int(c["MAIL_PORT"]))
            conn.ehlo_or_helo_if_needed()
            if c["MAIL_USE_TLS"]:
                conn.starttls()
                conn.ehlo()
            if c["MAIL_USERNAME"]:
                conn.login(c["MAIL_USERNAME"], c["MAIL_PASSWORD"] or "")
        except BaseException:
            conn.close()
            raise
        self.conn = conn

    def send(self, msg):
        if not self.is_open:
            self.open()
        try:
            self.conn.send_message(msg)
        except SERVER_ANSWERS:
            raise
        except BaseException:
            # Timed out or cut off mid-conversation: nothing more can go over this connection.
            self.conn.close()
            self.conn = None
            raise

    def close(self):
        conn, self.conn = self.conn, None
        if conn is None or conn.sock is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            # Every mail of the batch is already marked: a lost QUIT costs nothing.
            conn.close()


SENDERS = {"console": ConsoleSender, "file": FileSender, "smtp": SMTPSender}


def make_sender(config):
    try:
        return SENDERS[config["MAIL_BACKEND"]](config)
    except KeyError:
        raise ValueError(
            f"MAIL_BACKEND must be one of {', '.join(SENDERS)}, not {config['MAIL_BACKEND']!r}"
        ) from None


def due(now):
    """Conditions of an outbox row that a worker may claim now: unsent, due, unclaimed."""
    return (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def claim_batch(config, limit=20, ids=None):
    """Claim up to limit due mails (of `ids`, if given) for this worker and commit the claim.

    Returns (claimed rows, whether any were due). Each row is claimed by a conditional UPDATE,
    so two workers racing for one row cannot both win it; on PostgreSQL SKIP LOCKED also steers
    racing workers to different rows. A claim that outlives its worker expires and the mail is
    tried again.
    """
    now = utcnow()
    claim = secrets.token_hex(16)
    until = now + dt.timedelta(seconds=config["MAIL_CLAIM_SECONDS"])
    claimable = due(now)
    which = () if ids is None else (OutboxMessage.id.in_(list(ids)),)
    due_ids = (
        db.session.execute(
            select(OutboxMessage.id)
            .where(*claimable, *which)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for row_id in due_ids:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, *claimable)
            .values(claimed_until=until, claim=claim)
        )
    db.session.commit()
    if not due_ids:
        return [], False
    rows = (
        db.session.execute(
            select(OutboxMessage).where(OutboxMessage.claim == claim).order_by(OutboxMessage.id)
        )
        .scalars()
        .all()
    )
    return rows, True


def retry_delay(config, attempts):
    """Exponential backoff: base, 2*base, 4*base ... capped."""
    return min(config["MAIL_RETRY_BASE"] * 2 ** max(attempts - 1, 0), config["MAIL_RETRY_MAX"])


# Connections one batch may open: the first and one reconnect after a drop. Rows left when
# both are spent go back to the queue unclaimed, for the next batch on a fresh connection.
BATCH_CONNECTIONS = 2


@dataclass(frozen=True)
class Claimed:
    """What sending one claimed row needs, read before any commit expires the row objects."""

    id: int
    claim: str
    attempts: int
    message: EmailMessage


def send_pending(config, sender=None, limit=20, ids=None):
    """Send one batch of due mails (of `ids`, if given); return (sent, failed)."""
    sent, failed, _ = send_batch(config, sender or make_sender(config), limit, ids)
    return sent, failed


def send_batch(config, sender, limit=20, ids=None):
    """Claim and send one batch; return (sent, failed, whether any were due)."""
    rows, any_due = claim_batch(config, limit, ids)
    sent, failed = send_rows(config, sender, rows)
    return sent, failed, any_due


def send_rows(config, sender, rows):
    """Send rows claimed by claim_batch over one connection; return (sent, failed).

    Each outcome is committed as soon as the server has answered for that mail, so a crash
    can resend at most the mail in flight. Before each send the claim is renewed, and a row
    whose claim has gone (expired and taken by another worker, or the row deleted) is skipped:
    a slow server cannot make two workers send one mail.
    """
    items = [
        Claimed(row.id, row.claim, row.attempts, build_message(row, config["MAIL_DEFAULT_SENDER"]))
        for row in rows
    ]
    # No transaction stays open while the server talks: on SQLite it holds the write lock
    # (BEGIN IMMEDIATE), which would make every sign wait on SMTP.
    db.session.commit()
    sent = failed = connections = 0
    try:
        for position, item in enumerate(items):
            if not sender.is_open:
                if connections == BATCH_CONNECTIONS:
                    release(items[position:])
                    break
                connections += 1
                try:
                    sender.open()
                except Exception as exc:  # server unreachable: this row waits out a backoff
                    failed += mark_failed(config, item, exc)
                    continue
            if not renew_claim(config, item):
                continue
            try:
                sender.send(item.message)
            except Exception as exc:  # any failure of one mail must not stop the others
                failed += mark_failed(config, item, exc)
            else:
                mark_sent(item)
                sent += 1
    finally:
        sender.close()
    return sent, failed


def mine(item):
    return (OutboxMessage.id == item.id, OutboxMessage.claim == item.claim)


def write(statement):
    """Run one UPDATE in its own transaction; return how many rows it changed."""
    count = db.session.execute(statement.execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return count


def renew_claim(config, item):
    """Extend this worker's claim on the row; False if it is no longer this worker's to send."""
    until = utcnow() + dt.timedelta(seconds=config["MAIL_CLAIM_SECONDS"])
    return bool(
        write(
            update(OutboxMessage)
            .where(*mine(item), OutboxMessage.sent_at.is_(None))
            .values(claimed_until=until)
        )
    )


def mark_sent(item):
    # Not conditional on the claim: the mail has gone out whoever holds the row now, and a
    # worker that took over an expired claim then finds it sent when it renews, and skips it.
    write(
        update(OutboxMessage)
        .where(OutboxMessage.id == item.id, OutboxMessage.sent_at.is_(None))
        .values(sent_at=utcnow(), attempts=item.attempts + 1, claimed_until=None)
    )


def mark_failed(config, item, exc):
    attempts = item.attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:2000]
    log.warning("mail %s failed (attempt %s): %s", item.id, attempts, error)
    return write(
        update(OutboxMessage)
        .where(*mine(item))
        .values(
            attempts=attempts,
            last_error=error,
            next_attempt_at=utcnow() + dt.timedelta(seconds=retry_delay(config, attempts)),
            claimed_until=None,
            claim=None,
        )
    )


def release(items):
    """Hand untried rows back to the queue as they were, minus the claim."""
    for item in items:
        db.session.execute(
            update(OutboxMessage)
            .where(*mine(item), OutboxMessage.sent_at.is_(None))
            .values(claimed_until=None, claim=None)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def drain(config, sender=None, limit=20, max_passes=1000):
    """Send until nothing is due now; return (sent, failed)."""
    sender = sender or make_sender(config)
    total_sent = total_failed = 0
    # Bounded: mail queued faster than it is sent is left for the next call.
    for _ in range(max_passes):
        sent, failed, any_due = send_batch(config, sender, limit)
        if not any_due:
            break
        total_sent += sent
        total_failed += failed
    return total_sent, total_failed
