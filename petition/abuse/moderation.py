"""Staff moderation of signatures: invalidate and restore, with the count following.

Plain functions: they take the signatures, the reason and the staff member, change the rows,
journal the count change and write the audit log in the caller's transaction, and do not
commit. The count fold (petition/petitions/counting.py) then stamps or clears milestones.
"""

from collections import Counter

from sqlalchemy import select

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.petitions import counting
from petition.petitions.models import Signature
from petition.staff import auth

# Only live signatures can be invalidated; a withdrawn one already left the count.
INVALIDATABLE = ("pending", "confirmed")
REASON_MAX = 500


class ModerationError(ValueError):
    """The request cannot be carried out as asked; the message says why."""


def _ids(signatures):
    if isinstance(signatures, (Signature, int)):
        signatures = [signatures]
    ids = {s.id if isinstance(s, Signature) else int(s) for s in signatures}
    return sorted(ids)


def _locked(petition_id, ids):
    """The rows, locked in id order (so two moderators never deadlock) and read fresh."""
    query = (
        select(Signature)
        .where(Signature.id.in_(ids))
        .order_by(Signature.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if petition_id is not None:
        query = query.where(Signature.petition_id == petition_id)
    return db.session.execute(query).scalars().all()


def _move_counts(by_petition_country, sign):
    """Journal the change of each petition's count; the fold stamps or clears milestones."""
    for (petition_id, country), n in sorted(by_petition_country.items()):
        counting.add_confirmed(petition_id, country, sign * n)


def invalidate(signatures, reason, staff, petition_id=None):
    """Mark signatures invalidated with a reason; confirmed ones leave the count.

    `signatures` is a Signature, an id, or a list of either; with `petition_id` only that
    petition's rows are touched. Returns the signatures that changed; others (already
    invalidated, withdrawn) are left as they are.
    """
    reason = " ".join((reason or "").split())
    if not reason:
        raise ModerationError("a reason is required")
    if len(reason) > REASON_MAX:
        raise ModerationError(f"keep the reason under {REASON_MAX} characters")
    ids = _ids(signatures)
    if not ids:
        return []
    # The row lock (FOR UPDATE on PostgreSQL; SQLite's write lock is taken at BEGIN) means a
    # confirmation or withdrawal racing this one waits, then finds the new state.
    rows = _locked(petition_id, ids)
    now = utcnow()
    changed, uncounted = [], Counter()
    for signature in rows:
        if signature.state not in INVALIDATABLE:
            continue
        if signature.state == "confirmed":
            uncounted[(signature.petition_id, signature.country)] += 1
        signature.held = False
        signature.state = "invalidated"
        signature.moderated_at = now
        signature.moderated_by = getattr(staff, "id", None)
        signature.moderation_reason = reason
        changed.append(signature)
    db.session.flush()
    _move_counts(uncounted, -1)
    for pid, group in _by_petition(changed).items():
        auth.audit(
            "signatures.invalidate",
            petition_id=pid,
            staff=staff,
            signature_ids=[s.id for s in group],
            uncounted=sum(n for (p, _), n in uncounted.items() if p == pid),
            reason=reason,
        )
    return changed


# What restore brings back: staff invalidations, and signatures held or marked fraudulent.
RESTORABLE = ("invalidated", "fraudulent")


def restore(signatures, staff, config, petition_id=None):
    """Undo an invalidation or a hold: back to confirmed (and counted) if it had been
    confirmed (a held signature's owner may have confirmed it), else pending.

    Returns the signatures that changed. Milestones the count reaches again are stamped by the
    next fold; staff are not told twice about one they heard of before.
    """
    ids = _ids(signatures)
    if not ids:
        return []
    rows = _locked(petition_id, ids)
    now = utcnow()
    changed, counted = [], Counter()
    for signature in rows:
        if signature.state not in RESTORABLE:
            continue
        signature.held = False
        # confirmed_at is set only by a confirmation, so it tells where the signature was.
        if signature.confirmed_at is not None:
            signature.state = "confirmed"
            counted[(signature.petition_id, signature.country)] += 1
        else:
            signature.state = "pending"
        signature.moderated_at = now
        signature.moderated_by = getattr(staff, "id", None)
        signature.moderation_reason = None
        changed.append(signature)
    db.session.flush()
    _move_counts(counted, +1)
    for pid, group in _by_petition(changed).items():
        auth.audit(
            "signatures.restore",
            petition_id=pid,
            staff=staff,
            signature_ids=[s.id for s in group],
            counted=sum(n for (p, _), n in counted.items() if p == pid),
        )
    return changed


def _by_petition(signatures):
    groups = {}
    for signature in signatures:
        groups.setdefault(signature.petition_id, []).append(signature)
    return groups
