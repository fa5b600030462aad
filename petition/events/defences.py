"""The signing defences on the host and RSVP forms: what, if anything, holds a submission.

As for signatures (abuse/defences.py), a tripped check holds rather than refuses: the event
or RSVP is stored and the sender sees and gets what anyone does, so a bot learns nothing; a
held event is never published without staff and a held RSVP takes no place.
"""

import datetime as dt

from sqlalchemy import func, select

from petition.abuse.defences import HELD, form_trap_reason
from petition.core.db import utcnow
from petition.core.extensions import db


def hold_reason(form_meta, config, model, ip, now=None):
    """Why this host form or RSVP should be held, or None.

    `form_meta` holds the bot traps ("honeypot", "t"); `model` is Event or Rsvp, whose rows
    from the same address in the sign limits' windows are counted.
    """
    if not config["ABUSE_CHECKS"]:
        return None
    reason = form_trap_reason(form_meta, config)
    if reason:
        return reason
    if not ip:
        return None
    now = now or utcnow()
    for kind in ("BURST", "SUSTAINED"):
        limit, seconds = config[f"SIGN_{kind}_COUNT"], config[f"SIGN_{kind}_SECONDS"]
        if limit <= 0 or seconds <= 0:
            continue
        seen = db.session.execute(
            select(func.count())
            .select_from(model)
            .where(model.ip == ip, model.created_at >= now - dt.timedelta(seconds=seconds))
        ).scalar_one()
        if seen >= limit:
            return f"{HELD}{seen + 1} from this address in {seconds} s"
    return None
