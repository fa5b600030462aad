"""The few facts of a petition the sign path needs, kept per process for a few seconds.

Signing at a peak would otherwise read the petition row on every request only to learn its id
and title. Nothing here decides whether a signature is taken: the insert itself checks that the
petition is open at that moment (petition/signing/insert.py), so a card seconds old never lets a
signature into a closed petition. What a stale card can do is put a title edited a moment ago on
another app server into a mail, for at most CARD_SECONDS; an edit on this process drops the card
at once (snapshots.forget).

Per app (app.extensions), not per module: tests run many apps, each on its own database.
"""

import datetime as dt
import time
from dataclasses import dataclass, replace

from flask import current_app
from sqlalchemy import select

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.petitions.models import Petition, PetitionTranslation, takes_signatures

CARD_SECONDS = 5.0


@dataclass(frozen=True)
class Card:
    id: int
    slug: str
    title: str
    state: str
    closes_at: dt.datetime | None
    language: str = "en"
    # ((language, title), ...) of the petition's other versions, for the signer's mail.
    titles: tuple = ()

    @property
    def is_open(self):
        return takes_signatures(self.state, self.closes_at, utcnow())

    def in_language(self, language):
        """The card as a signer of `language` is told about it: that version's title."""
        title = dict(self.titles).get(language)
        return replace(self, title=title) if title else self


def cards():
    return current_app.extensions.setdefault("petition_cards", {})


def get(slug):
    """The card of a public (open or closed) petition, or None for drafts and unknown slugs."""
    found = cards().get(slug)
    now = time.monotonic()
    if found is not None and found[0] > now:
        return found[1]
    row = db.session.execute(
        select(
            Petition.id,
            Petition.slug,
            Petition.title,
            Petition.state,
            Petition.closes_at,
            Petition.language,
        ).where(Petition.slug == slug, Petition.state != "draft")
    ).first()
    if row is None:
        # Not cached: a made-up slug must not grow the dictionary.
        return None
    titles = db.session.execute(
        select(PetitionTranslation.language, PetitionTranslation.title).where(
            PetitionTranslation.petition_id == row.id
        )
    ).all()
    card = Card(*row, titles=tuple(map(tuple, titles)))
    cards()[slug] = (now + CARD_SECONDS, card)
    return card


def forget(slug):
    cards().pop(slug, None)
