"""The signing defences on the host and RSVP forms: what, if anything, holds a submission.

As for signatures (abuse/defences.py), a tripped check holds rather than refuses: the event
or RSVP is stored and the sender sees and gets what anyone does, so a bot learns nothing; a
held event is never published without staff and a held RSVP takes no place.
"""

from petition.abuse.defences import submission_hold_reason


def hold_reason(form_meta, config, model, ip, now=None):
    """Why this host form or RSVP should be held, or None (`model` is Event or Rsvp)."""
    return submission_hold_reason(form_meta, config, model, ip, now)
