"""The signature count, milestones and the goal.

A count that survives a peak. Updating one petition row on every confirmation makes that row a
lock hot spot on PostgreSQL: each confirming transaction holds the row lock until it commits,
so at a peak they queue one behind the other. Instead, every change to a confirmed count (a
confirmation, a withdrawal, a sign without confirmation, moderation, an erasure) appends a row
to the count_deltas journal in the transaction that changes the signature: inserts never wait
for each other. (Their foreign key takes a KEY SHARE lock on the petition row, which conflicts
neither with other KEY SHARE locks nor with the NO KEY UPDATE lock of the fold below.)

fold() moves the journal into Petition.confirmed_count and country_counts, every
COUNT_FOLD_SECONDS in the in-process runner and in `flask worker`. It locks the petitions that
have entries (FOR NO KEY UPDATE SKIP LOCKED: two folders never fold one petition at once and
never wait for each other), claims their oldest entries with DELETE ... RETURNING (an entry is
deleted by the one transaction that applies it, so it counts exactly once), adds them to the
counts and stamps or clears milestones from the new totals, all in one transaction. One
petition's entries are folded in id order, and a withdrawal or invalidation can only start
after the confirmation it undoes committed, so its -1 has the higher id and never lands first:
the column never goes below zero.

Reads are exact at all times, not just after a fold: the total is the folded column plus the
petition's unfolded entries, read in ONE statement (Petition.unfolded_count is a scalar subquery
loaded with the petition; by_country and totals() below do the same), so PostgreSQL reads both
in one snapshot and a fold committing meanwhile can neither hide an entry nor count it twice.
The fold keeps the journal at about a second of confirmations, so the subquery reads a few
entries of the petition_id index.

Milestones are stamped by the fold, within about COUNT_FOLD_SECONDS of the confirmation that
reaches them, not in the confirming transaction; milestones.announce still mails each once.

Recount and the bulk import are rare and staff-driven, so they still lock the petition row:
recount with FOR UPDATE, which waits for the transactions that journalled an entry (their KEY
SHARE lock) and holds off new ones and the fold, then discards the petition's entries and sets
the counts from the rows; an import adds its batch straight to the column. Both take the
petition row before any journal row, the order the fold takes them in, so they cannot deadlock.
"""

from collections import Counter

from sqlalchemy import delete, func, select, union_all, update

from petition.core.db import insert, utcnow
from petition.core.extensions import db
from petition.jobs import runner as jobs
from petition.petitions import milestones
from petition.petitions.models import CountDelta, CountryCount, Milestone, Petition, Signature

LADDER = (1, 2, 5)
# Journal entries one fold transaction claims at most; a larger backlog takes several.
FOLD_BATCH = 5000
# Batches one periodic round folds before letting the runner's other work go first.
FOLD_ROUNDS = 20

# Usable in any select from petitions; each reads column and journal in one statement.
CONFIRMED = Petition.confirmed_count + Petition.unfolded_count
TOTAL = CONFIRMED + Petition.offline_count


def add_confirmed(petition_id, country, delta):
    """Journal a change of the confirmed count in the caller's transaction.

    Milestones follow when the fold applies it.
    """
    db.session.execute(
        insert(CountDelta).values(petition_id=petition_id, country=country, delta=delta)
    )


def totals(petition_id):
    """{"confirmed", "offline", "total"} of a petition, exact, read in one statement."""
    row = db.session.execute(
        select(CONFIRMED, Petition.offline_count).where(Petition.id == petition_id)
    ).one()
    confirmed, offline = row
    return {"confirmed": confirmed, "offline": offline, "total": confirmed + offline}


def fold_batch(limit=FOLD_BATCH):
    """Apply up to `limit` of the oldest journal entries; return (entries, milestones reached).

    The caller commits (or rolls back, which puts the entries back).
    """
    waiting = select(CountDelta.petition_id).distinct()
    petition_ids = (
        db.session.execute(
            select(Petition.id)
            .where(Petition.id.in_(waiting))
            .order_by(Petition.id)
            .with_for_update(key_share=True, skip_locked=True)
        )
        .scalars()
        .all()
    )
    if not petition_ids:
        return 0, []
    oldest = (
        select(CountDelta.id)
        .where(CountDelta.petition_id.in_(petition_ids))
        .order_by(CountDelta.id)
        .limit(limit)
    )
    claimed = db.session.execute(
        delete(CountDelta)
        .where(CountDelta.id.in_(oldest))
        .returning(
            CountDelta.petition_id, CountDelta.country, CountDelta.delta, CountDelta.created_at
        )
        .execution_options(synchronize_session=False)
    ).all()
    now = utcnow()
    per_petition, per_country, changed_at = Counter(), Counter(), {}
    for petition_id, country, delta, created_at in claimed:
        per_petition[petition_id] += delta
        per_country[petition_id, country] += delta
        changed_at[petition_id] = max(changed_at.get(petition_id, now), created_at or now)
    for petition_id in sorted(per_petition):
        db.session.execute(
            update(Petition)
            .where(Petition.id == petition_id)
            .values(
                confirmed_count=Petition.confirmed_count + per_petition[petition_id],
                # Never older than an entry it folds (an app server's clock may run ahead),
                # so the count's time never goes back (Petition.count_changed_at).
                updated_at=changed_at[petition_id],
            )
            .execution_options(synchronize_session=False)
        )
    rises = [
        {"petition_id": p, "country": c, "count": n}
        for (p, c), n in sorted(per_country.items())
        if n > 0
    ]
    if rises:
        stmt = insert(CountryCount).values(rises)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["petition_id", "country"],
                set_={"count": CountryCount.count + stmt.excluded["count"]},
            )
        )
    # A fall is an UPDATE: the row exists, since the rise it undoes was folded first (or in
    # this batch), and the CHECK (count >= 0) would refuse a negative row proposed for insert.
    for (petition_id, country), n in sorted(per_country.items()):
        if n < 0:
            db.session.execute(
                update(CountryCount)
                .where(CountryCount.petition_id == petition_id, CountryCount.country == country)
                .values(count=CountryCount.count + n)
                .execution_options(synchronize_session=False)
            )
    # The exact totals (entries journalled meanwhile included) decide the milestones, so a
    # fold never clears one that the count, as it stands, still reaches.
    reached = []
    exact = db.session.execute(
        select(Petition.id, TOTAL).where(Petition.id.in_(sorted(per_petition)))
    ).all()
    for petition_id, total in sorted(exact):
        reached += stamp_milestones(petition_id, total, now)
    return len(claimed), reached


def fold(config):
    """Fold the whole journal, a committed batch at a time; return how many entries it applied.

    Mails the milestones that the new totals reach for the first time.
    """
    done = 0
    for _ in range(FOLD_ROUNDS):
        claimed, reached = fold_batch()
        if reached:
            milestones.announce(reached, config)
        db.session.commit()
        done += claimed
        if claimed < FOLD_BATCH:
            break
    return done


def fold_periodically(app):
    if fold(app.config):
        # A milestone mail may be waiting in the outbox.
        jobs.wake(app)


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
    """Confirmed signatures per country code, largest first: folded plus journalled, exact."""
    parts = union_all(
        select(CountryCount.country, CountryCount.count.label("n")).where(
            CountryCount.petition_id == petition_id
        ),
        select(CountDelta.country, CountDelta.delta.label("n")).where(
            CountDelta.petition_id == petition_id
        ),
    ).subquery()
    n = func.sum(parts.c.n)
    rows = db.session.execute(
        select(parts.c.country, n)
        .group_by(parts.c.country)
        .having(n > 0)
        .order_by(n.desc(), parts.c.country)
    )
    return dict(rows.all())


def recount(petition):
    """Rebuild the count, per-country counts and milestones from the rows.

    Returns the total and the ids of milestones newly reached. The caller commits.
    """
    petition_id = petition.id
    # Waits for transactions that journalled an entry for this petition and holds off new
    # ones and the fold, so the rows counted and the entries discarded agree.
    db.session.execute(select(Petition.id).where(Petition.id == petition_id).with_for_update())
    db.session.execute(
        delete(CountDelta)
        .where(CountDelta.petition_id == petition_id)
        .execution_options(synchronize_session=False)
    )
    rows = db.session.execute(
        select(Signature.country, func.count())
        .where(Signature.petition_id == petition_id, Signature.state == "confirmed")
        .group_by(Signature.country)
    ).all()
    db.session.execute(delete(CountryCount).where(CountryCount.petition_id == petition_id))
    if rows:
        db.session.execute(
            insert(CountryCount).values(
                [{"petition_id": petition_id, "country": c, "count": n} for c, n in rows]
            )
        )
    db.session.execute(
        update(Petition)
        .where(Petition.id == petition_id)
        .values(confirmed_count=sum(n for _, n in rows), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    total = totals(petition_id)["total"]
    reached = stamp_milestones(petition_id, total)
    db.session.expire(
        petition,
        [
            "milestones",
            "confirmed_count",
            "unfolded_count",
            "unfolded_at",
            "offline_count",
            "updated_at",
        ],
    )
    return total, reached


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

    One UPDATE of the total and one upsert of the per-country rows, whatever the batch size:
    an import is rare, so it takes the petition row (the fold skips the petition meanwhile)
    rather than journalling thousands of entries.
    """
    delta = sum(by_country.values())
    if not delta:
        return []
    now = utcnow()
    db.session.execute(
        update(Petition)
        .where(Petition.id == petition_id)
        .values(confirmed_count=Petition.confirmed_count + delta, updated_at=now)
        .execution_options(synchronize_session=False)
    )
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
    return stamp_reached(petition_id, totals(petition_id)["total"], now)
