"""Bulk moderation as a background job: kind "moderation_bulk".

Staff pick signatures with the search filters (petition/abuse/search.py) and invalidate or
restore all of them. The job walks the matching rows in id order, BATCH at a time, each batch
one transaction through moderation.invalidate/restore, so counts, country counts, milestones
and the audit log follow exactly as for one signature.

Which rows: those matching the filters with an id no higher than `upto_id`, the newest
signature when staff pressed the button. Signatures arriving later are never swept in, also
when the job is run again after a crash. The filters are checked batch by batch, so a row that
stopped matching meanwhile (say, someone restored it by hand) is left alone. Running the job
again changes nothing: rows already moved fail the state checks and count as skipped.
"""

import contextlib
import types

from flask import has_app_context
from sqlalchemy import func, select

from petition.abuse import moderation
from petition.abuse.search import Filters
from petition.core.extensions import db
from petition.petitions import snapshots
from petition.petitions.models import Petition, Signature
from petition.staff import auth
from petition.staff.models import Staff

KIND = "moderation_bulk"
ACTIONS = ("invalidate", "restore")
# Rows per transaction: long enough to be quick, short enough that signers and other staff
# never wait long on the row locks.
BATCH = 500


class BulkError(ValueError):
    """The job cannot run as asked; the message says why."""


def params_for(petition, action, filters, staff, reason=None, expected=None):
    """A job's params: everything it needs, fixed at the time staff pressed the button."""
    if action not in ACTIONS:
        raise BulkError(f"unknown action {action!r}")
    upto_id = db.session.execute(
        select(func.max(Signature.id)).where(Signature.petition_id == petition.id)
    ).scalar()
    return {
        "petition_id": petition.id,
        "action": action,
        "reason": reason,
        "filters": filters.as_params(),
        "expected": expected,
        "upto_id": upto_id or 0,
        "staff_id": getattr(staff, "id", None),
        "staff_email": getattr(staff, "email", None),
    }


def acting_staff(params):
    """The staff member who started the job, or a stand-in if the account is gone since."""
    staff = db.session.get(Staff, params["staff_id"]) if params.get("staff_id") else None
    return staff or types.SimpleNamespace(id=None, email=params.get("staff_email"))


def run_bulk(app, params, report, job_id=None):
    """Carry out a bulk moderation; returns the counts for the job's result.

    Commits once per batch and reports progress after each commit (the progress write uses a
    connection of its own, which on SQLite must not wait for this session's write lock).
    """
    action = params.get("action")
    if action not in ACTIONS:
        raise BulkError(f"unknown action {action!r}")
    petition = db.session.get(Petition, params["petition_id"])
    if petition is None:
        raise BulkError("the petition no longer exists")
    slug, petition_id = petition.slug, petition.id
    where = [
        Signature.petition_id == petition_id,
        Signature.id <= int(params.get("upto_id") or 0),
        *Filters.from_params(params.get("filters")).conditions(),
    ]
    staff = acting_staff(params)
    total = db.session.execute(select(func.count()).select_from(Signature).where(*where)).scalar()
    db.session.commit()
    verb = "Invalidating" if action == "invalidate" else "Restoring"
    report(0, total, f"{verb} {total} signatures…")

    done = changed = 0
    after = 0
    while True:
        ids = (
            db.session.execute(
                select(Signature.id)
                .where(*where, Signature.id > after)
                .order_by(Signature.id)
                .limit(BATCH)
            )
            .scalars()
            .all()
        )
        if not ids:
            break
        if action == "invalidate":
            moved = moderation.invalidate(ids, params.get("reason"), staff, petition_id=petition_id)
        else:
            moved = moderation.restore(ids, staff, app.config, petition_id=petition_id)
        db.session.commit()
        snapshots.count_changed(app, slug)
        after = ids[-1]
        done += len(ids)
        changed += len(moved)
        # Rows can start matching after the count (a state filter); the bar never overflows.
        total = max(total, done)
        report(done, total, f"{verb}: {done} of {total} done, {changed} changed.")
    result = {
        "action": action,
        "expected": params.get("expected"),
        "matched": done,
        "changed": changed,
        "skipped": done - changed,
    }
    auth.audit(
        f"signatures.bulk_{action}_done",
        petition_id=petition_id,
        staff=staff,
        job_id=job_id,
        **{k: v for k, v in result.items() if k != "action"},
    )
    db.session.commit()
    return result


def moderation_bulk(app, job_id, params, report):
    """Invalidate or restore every signature the filters matched; see run_bulk."""
    context = contextlib.nullcontext() if has_app_context() else app.app_context()
    with context:
        return run_bulk(app, params, report, job_id=job_id)
