"""Telling staff when a milestone is reached."""

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.core.urls import petition_url
from petition.mail import outbox as mail
from petition.petitions.models import Milestone, Petition


def announce(milestone_ids, config):
    """Queue one mail per staff address for each milestone not announced before.

    The conditional UPDATE lets exactly one transaction claim each milestone, however many
    count folds (one per process) or imports race across it; one that is reached again after
    moderation took the count back below it is not announced twice.
    """
    claimed = (
        db.session.execute(
            update(Milestone)
            .where(Milestone.id.in_(milestone_ids), Milestone.announced_at.is_(None))
            .values(announced_at=utcnow())
            .returning(Milestone.id)
        )
        .scalars()
        .all()
    )
    recipients = config["MILESTONE_MAIL_TO"]
    if not claimed or not recipients:
        return claimed
    rows = db.session.execute(
        select(Milestone, Petition)
        .join(Petition, Petition.id == Milestone.petition_id)
        .where(Milestone.id.in_(claimed))
        .order_by(Milestone.count)
    ).all()
    for milestone, petition in rows:
        # Staff read the petition's own language: they wrote it.
        with force_locale(petition.language):
            subject = _(
                "Milestone reached: %(label)s (%(title)s)",
                label=milestone.label,
                title=petition.title,
            )
            for to in recipients:
                mail.enqueue(
                    to,
                    subject,
                    "petitions/mail/milestone.txt",
                    petition=petition,
                    milestone=milestone,
                    petition_url=petition_url(config, petition),
                )
    return claimed
