"""The signature count, milestones and the goal."""

from sqlalchemy import func, select, update

from .dbutil import insert
from .extensions import db
from .models import CountryCount, Milestone, Petition, Signature, utcnow

LADDER = (1, 2, 5)


def add_confirmed(petition_id, country, delta):
    """Move the confirmed count by delta in the caller's transaction; return milestones reached.

    The UPDATE is atomic in the database, so racing confirmations each add exactly once and the
    row lock orders them; the total read back is this transaction's own.
    """
    now = utcnow()
    total = db.session.execute(
        update(Petition)
        .where(Petition.id == petition_id)
        .values(confirmed_count=Petition.confirmed_count + delta, updated_at=now)
        .returning(Petition.confirmed_count + Petition.offline_count)
    ).scalar_one()
    if delta > 0:
        stmt = insert(CountryCount).values(petition_id=petition_id, country=country, count=delta)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["petition_id", "country"],
                set_={"count": CountryCount.count + delta},
            )
        )
    else:
        # A confirmed signature was counted here before, so the row exists.
        db.session.execute(
            update(CountryCount)
            .where(CountryCount.petition_id == petition_id, CountryCount.country == country)
            .values(count=CountryCount.count + delta)
        )
    return stamp_milestones(petition_id, total, now)


def stamp_reached(petition_id, total, now=None):
    """Stamp the milestones the total reaches for the first time; return their ids."""
    return (
        db.session.execute(
            update(Milestone)
            .where(
                Milestone.petition_id == petition_id,
                Milestone.count <= total,
                Milestone.reached_at.is_(None),
            )
            .values(reached_at=now or utcnow())
            .returning(Milestone.id)
        )
        .scalars()
        .all()
    )


def stamp_milestones(petition_id, total, now=None):
    """Stamp milestones the total reaches, clear those it fell below; return the new ones."""
    now = now or utcnow()
    reached = stamp_reached(petition_id, total, now)
    db.session.execute(
        update(Milestone)
        .where(
            Milestone.petition_id == petition_id,
            Milestone.count > total,
            Milestone.reached_at.is_not(None),
        )
        .values(reached_at=None)
    )
    return reached


def next_on_ladder(total):
    """The smallest 1-2-5 step above total (10, 20, 50, 100, ...)."""
    magnitude = 10
    while True:
        for step in LADDER:
            if step * magnitude > total:
                return step * magnitude
        magnitude *= 10


def goal(petition):
    """The lowest milestone not yet reached, else the next ladder step."""
    total = petition.signature_count
    for milestone in petition.milestones:
        if milestone.count > total:
            return milestone.count
    return next_on_ladder(total)


def next_milestone(petition):
    """The lowest milestone above the total, or None."""
    total = petition.signature_count
    return next((m for m in petition.milestones if m.count > total), None)


def by_country(petition_id):
    """Confirmed signatures per country code, largest first."""
    rows = db.session.execute(
        select(CountryCount.country, CountryCount.count)
        .where(CountryCount.petition_id == petition_id, CountryCount.count > 0)
        .order_by(CountryCount.count.desc(), CountryCount.country)
    )
    return dict(rows.all())


def recount(petition):
    """Rebuild the count, per-country counts and milestones from the rows.

    Returns the total and the ids of milestones newly reached.
    """
    rows = db.session.execute(
        select(Signature.country, func.count())
        .where(Signature.petition_id == petition.id, Signature.state == "confirmed")
        .group_by(Signature.country)
    ).all()
    db.session.execute(db.delete(CountryCount).where(CountryCount.petition_id == petition.id))
    for country, count in rows:
        db.session.add(CountryCount(petition_id=petition.id, country=country, count=count))
    petition.confirmed_count = sum(count for _, count in rows)
    petition.updated_at = utcnow()
    db.session.flush()
    reached = stamp_milestones(petition.id, petition.signature_count)
    db.session.expire(petition, ["milestones"])
    return petition.signature_count, reached


def by_source(petition_id, limit=20):
    """Confirmed signatures per source tag (partner site, utm_source), largest first.

    A staff report, not a hot path: it counts rows, served by the petition/state index.
    """
    source = func.coalesce(Signature.source, "")
    rows = db.session.execute(
        select(source, func.count())
        .where(Signature.petition_id == petition_id, Signature.state == "confirmed")
        .group_by(source)
        .order_by(func.count().desc(), source)
        .limit(limit)
    )
    return [(name or None, count) for name, count in rows]


def add_confirmed_batch(petition_id, by_country):
    """Add many confirmed signatures at once (an import batch); return milestones reached.

    One UPDATE of the total and one upsert of the per-country rows, whatever the batch size.
    """
    delta = sum(by_country.values())
    if not delta:
        return []
    now = utcnow()
    # The petition row first, as add_confirmed does: its lock orders concurrent writers.
    total = db.session.execute(
        update(Petition)
        .where(Petition.id == petition_id)
        .values(confirmed_count=Petition.confirmed_count + delta, updated_at=now)
        .returning(Petition.confirmed_count + Petition.offline_count)
    ).scalar_one()
    stmt = insert(CountryCount).values(
        [
            {"petition_id": petition_id, "country": country, "count": n}
            for country, n in sorted(by_country.items())
            if n
        ]
    )
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["petition_id", "country"],
            set_={"count": CountryCount.count + stmt.excluded["count"]},
        )
    )
    # The count only rose, so unlike stamp_milestones there is nothing to clear.
    return stamp_reached(petition_id, total, now)
