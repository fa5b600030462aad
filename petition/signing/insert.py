"""The write of a new signature: the row, its link tokens and its mail, in as few trips as can be.

A new signature is most of what a peak is made of, so its write is built for it:

- The petition must be open when the row is inserted, checked by the INSERT itself
  (INSERT ... SELECT ... FROM petitions WHERE open), so the caller may know the petition from a
  cache (petitions/cards.py) and a close committed a moment ago still refuses the signature.
- ON CONFLICT DO NOTHING: a repeat inserts nothing and waits for nothing it does not have to; a
  racing duplicate waits for the first insert to commit, then inserts nothing, with no aborted
  transaction.
- The mail is rendered and the tokens drawn before the write, by the caller, so nothing slow
  happens inside the transaction (on SQLite, while the one write lock is held).
- PostgreSQL: one statement (data-modifying CTEs) inserts the signature, then, only if it was
  new, its tokens and its outbox row: one round trip instead of four. SQLite runs in-process,
  where a round trip costs nothing, so it takes three plain statements (the tokens and the
  outbox row as Core inserts of their tables, as elsewhere).

Returns (signature id, outbox id), or None when nothing was inserted: the address has signed
already, or the petition is not open (the caller tells which).
"""

import functools

from sqlalchemy import bindparam, text

from petition.core.db import UTCDateTime
from petition.mail.models import OutboxMessage
from petition.signing.models import Token

SIGNATURE_COLUMNS = (
    "petition_id",
    "name",
    "email",
    "canonical_email",
    "country",
    "city",
    "postcode",
    "updates",
    "source",
    "locale",
    "ip",
    "state",
    "moderation_reason",
    "held",
    "created_at",
    "confirmed_at",
    "mail_count",
    "mail_window_start",
)
TIMES = ("created_at", "confirmed_at", "mail_window_start")


def typed(statement):
    """Bind the times through the column type, which stores them as each database expects."""
    return statement.bindparams(*(bindparam(name, type_=UTCDateTime()) for name in TIMES))


def signature_select():
    columns = ", ".join(SIGNATURE_COLUMNS)
    # The petition's own id rather than the parameter: the row exists, and is open, right now
    # (the WHERE is Petition.open_at, written out for this text statement).
    values = ", ".join("p.id" if c == "petition_id" else f":{c}" for c in SIGNATURE_COLUMNS)
    # Built from the constant column names above only; every value is a bound parameter.
    return (
        f"INSERT INTO signatures ({columns}) SELECT {values} FROM petitions p "  # noqa: S608
        "WHERE p.id = :petition_id AND p.state = 'open' "
        "AND (p.closes_at IS NULL OR p.closes_at > :created_at) "
        "ON CONFLICT (petition_id, canonical_email) DO NOTHING RETURNING id"
    )


@functools.cache
def postgresql_statement(tokens):
    """The PostgreSQL statement for a signature with `tokens` link tokens."""
    rows = ", ".join(f"(:purpose_{i}, :token_hash_{i})" for i in range(tokens))
    return typed(
        text(
            f"WITH s AS ({signature_select()}), "  # noqa: S608 constant text, bound values
            "t AS (INSERT INTO tokens (signature_id, purpose, token_hash, created_at) "
            f"SELECT s.id, v.purpose, v.token_hash, :created_at FROM s, (VALUES {rows}) "
            "AS v (purpose, token_hash)), "
            'o AS (INSERT INTO outbox ("to", subject, body, created_at, next_attempt_at, attempts) '
            "SELECT :mail_to, :mail_subject, :mail_body, :created_at, :created_at, 0 FROM s "
            "RETURNING id) "
            "SELECT s.id, o.id FROM s, o"
        )
    )


@functools.cache
def sqlite_statement():
    return typed(text(signature_select()))


def write_new(session, values, token_hashes, mail):
    """Insert a new signature with its tokens and mail; (signature id, outbox id) or None.

    `values` has SIGNATURE_COLUMNS; `token_hashes` is [(purpose, sha256 hex)]; `mail` is
    (to, subject, body).
    """
    to, subject, body = mail
    mail_params = {"mail_to": to, "mail_subject": subject, "mail_body": body}
    if session.get_bind().dialect.name == "postgresql":
        params = dict(values, **mail_params)
        for i, (purpose, token_hash) in enumerate(token_hashes):
            params[f"purpose_{i}"] = purpose
            params[f"token_hash_{i}"] = token_hash
        row = session.execute(postgresql_statement(len(token_hashes)), params).first()
        return tuple(row) if row else None
    signature_id = session.execute(sqlite_statement(), values).scalar()
    if signature_id is None:
        return None
    now = values["created_at"]
    session.execute(
        Token.__table__.insert(),
        [
            {"signature_id": signature_id, "purpose": p, "token_hash": h, "created_at": now}
            for p, h in token_hashes
        ],
    )
    outbox = {"to": to, "subject": subject, "body": body, "created_at": now, "next_attempt_at": now}
    outbox_id = session.execute(OutboxMessage.__table__.insert(), outbox).inserted_primary_key[0]
    return signature_id, outbox_id
