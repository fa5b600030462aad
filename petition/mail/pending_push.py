"""Rows a transaction added that the RQ workers must hear of once it commits (petition/jobs/rq.py).

Rows added through the ORM are found by queue's flush listener; rows inserted by a plain
statement (the outbox on the sign path) are noted here by whoever inserts them. Only while RQ is
active: otherwise nobody would ever take the list from the session.
"""

from flask import current_app, has_app_context

KEY = "rq_pending"


def active():
    return has_app_context() and current_app.extensions.get("rq") is not None


def note(session, kind, row_id):
    """Push an RQ job for this row ("mail" or "jobs") after the session's commit."""
    if active():
        session.info.setdefault(KEY, []).append((kind, row_id))


def take(session):
    return session.info.pop(KEY, None)
