"""The outbox and the senders that empty it (console, file, SMTP)."""

import datetime as dt
import logging
import os
import secrets
import smtplib
import sys
import threading
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import render_template
from sqlalchemy import or_, select, update

from .extensions import db
from .models import OutboxMessage, utcnow

log = logging.getLogger(__name__)


def enqueue(to, subject, template, **context):
    """Add a mail to the outbox in the caller's transaction; it leaves after the commit."""
    body = render_template(template, **context)
    # A line break in a header would make the message unsendable, and retried forever.
    subject = " ".join(str(subject).split())
    db.session.add(OutboxMessage(to=to, subject=subject, body=body))


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
    return msg


class ConsoleSender:
    """Writes each mail to the terminal: the embedded default, links ready to open."""

    def __init__(self, config, stream=None):
        self.stream = stream or sys.stderr
        self.lock = threading.Lock()

    def send(self, msg):
        rule = "-" * 72
        # Headers plus the decoded body: quoted-printable would break long links across lines.
        headers = "".join(f"{k}: {v}\n" for k, v in msg.items() if not k.startswith("Content"))
        with self.lock:
            self.stream.write(f"\n{rule}\n{headers}\n{msg.get_content()}{rule}\n")
            self.stream.flush()


class FileSender:
    """Writes each mail as an .eml file into MAIL_FILE_DIR."""

    def __init__(self, config):
        self.directory = config["MAIL_FILE_DIR"]

    def send(self, msg):
        os.makedirs(self.directory, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{secrets.token_hex(4)}.eml"
        tmp = os.path.join(self.directory, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(msg.as_bytes())
        # Readers never see a half-written file.
        os.replace(tmp, os.path.join(self.directory, name))


class SMTPSender:
    """Hands each mail to an SMTP server."""

    def __init__(self, config):
        self.config = config

    def send(self, msg):
        c = self.config
        with smtplib.SMTP(c["MAIL_SERVER"], int(c["MAIL_PORT"]), timeout=c["MAIL_TIMEOUT"]) as s:
            if c["MAIL_USE_TLS"]:
                s.starttls()
            if c["MAIL_USERNAME"]:
                s.login(c["MAIL_USERNAME"], c["MAIL_PASSWORD"] or "")
            s.send_message(msg)


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


def send_pending(config, sender=None, limit=20):
    """Send one batch of due mails; return (sent, failed)."""
    rows, _ = claim_batch(config, limit)
    return send_rows(config, sender or make_sender(config), rows)


def send_rows(config, sender, rows):
    """Send claimed rows, committing each outcome; failures wait out a growing backoff."""
    sent = failed = 0
    for row in rows:
        msg = build_message(row, config["MAIL_DEFAULT_SENDER"])
        # No transaction stays open while the server talks: on SQLite it holds the write lock
        # (BEGIN IMMEDIATE), which would make every sign wait on SMTP.
        db.session.commit()
        try:
            sender.send(msg)
        except Exception as exc:  # any failure of one mail must not stop the others
            failed += 1
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.next_attempt_at = utcnow() + dt.timedelta(seconds=retry_delay(config, row.attempts))
            row.claimed_until = None
            row.claim = None
            log.warning("mail %s failed (attempt %s): %s", row.id, row.attempts, row.last_error)
        else:
            sent += 1
            row.attempts += 1
            row.sent_at = utcnow()
            row.claimed_until = None
        db.session.commit()
    return sent, failed


def drain(config, sender=None, limit=20, max_passes=1000):
    """Send until nothing is due now; return (sent, failed)."""
    sender = sender or make_sender(config)
    total_sent = total_failed = 0
    # Bounded: mail queued faster than it is sent is left for the next call.
    for _ in range(max_passes):
        rows, any_due = claim_batch(config, limit)
        if not any_due:
            break
        sent, failed = send_rows(config, sender, rows)
        total_sent += sent
        total_failed += failed
    return total_sent, total_failed
