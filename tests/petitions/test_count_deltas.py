"""The count journal: confirmations never queue on the petition row, reads are always exact,
the fold applies each entry once and settles the counts on the rows."""

import threading
import time

import pytest
from sqlalchemy import func, select, text

from petition.abuse import moderation
from petition.core.db import utcnow
from petition.core.extensions import db
from petition.petitions import counting
from petition.petitions.models import CountDelta, CountryCount, Milestone, Petition, Signature
from petition.signing import operations as signing
from tests import services


def pending_with_tokens(app, make_signature, pid, n, country="FR", prefix="p"):
    """n pending signatures of one petition and a plain confirm token for each."""
    ids = [
        make_signature(pid, email=f"{prefix}{i}@example.org", state="pending", country=country)
        for i in range(n)
    ]
    with app.app_context():
        tokens = [signing.links(app.config, sid, ("confirm",))["confirm"] for sid in ids]
        db.session.commit()
    return tokens


def confirm_all(app, tokens):
    for token in tokens:
        with app.app_context():
            assert signing.confirm(token, app.config)[0] == "confirmed"
            db.session.commit()


def journal_confirmed(app, pid, countries):
    """Confirmed signatures counted through the journal, as signing does: {country: n}."""
    with app.app_context():
        now = utcnow()
        for country, n in countries.items():
            for i in range(n):
                email = f"{country.lower()}{i}.{pid}@example.org"
                db.session.add(
                    Signature(
                        petition_id=pid,
                        name="Someone",
                        email=email,
                        canonical_email=email,
                        country=country,
                        state="confirmed",
                        created_at=now,
                        confirmed_at=now,
                        mail_count=1,
                        mail_window_start=now,
                    )
                )
                counting.add_confirmed(pid, country, +1)
        db.session.commit()


def journal_size(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(CountDelta)).scalar_one()


def assert_settled(app, pid):
    """The folded columns alone (no journal left) equal a count of the rows."""
    with app.app_context():
        petition = db.session.get(Petition, pid)
        rows = dict(
            db.session.execute(
                select(Signature.country, func.count())
                .where(Signature.petition_id == pid, Signature.state == "confirmed")
                .group_by(Signature.country)
            ).all()
        )
        folded = dict(
            db.session.execute(
                select(CountryCount.country, CountryCount.count).where(
                    CountryCount.petition_id == pid, CountryCount.count != 0
                )
            ).all()
        )
        pending = db.session.execute(
            select(func.count()).where(CountDelta.petition_id == pid)
        ).scalar_one()
        assert pending == 0
        assert petition.confirmed_count == sum(rows.values())
        assert folded == rows
        assert counting.by_country(pid) == rows


def api_count(client, slug="speak-out"):
    return client.get(f"/api/petitions/{slug}/count").get_json()["signature_count"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_confirmation_never_waits_for_another_one_in_flight(app, make_petition, make_signature):
    """Transaction A confirms and stays open; B confirms and withdraws on the same petition.

    With a counter row updated by every confirmation, B queues behind A's row lock and hits
    its lock_timeout (checked against the old design); with the journal, both only insert.
    """
    services.require_postgres()
    pid = make_petition(milestones=((1, "One"),))
    first, second = pending_with_tokens(app, make_signature, pid, 2)
    make_signature(pid, email="leaving@example.org")
    with app.app_context():
        leaving = signing.links(
            app.config,
            db.session.execute(
                select(Signature.id).where(Signature.email == "leaving@example.org")
            ).scalar_one(),
            ("withdraw",),
        )["withdraw"]
        db.session.commit()
    # Two app contexts are two sessions: two connections, two transactions.
    with app.app_context():
        assert signing.confirm(first, app.config)[0] == "confirmed"
        with app.app_context():
            db.session.execute(text("SET LOCAL lock_timeout = '500ms'"))
            assert signing.confirm(second, app.config)[0] == "confirmed"
            assert signing.withdraw(leaving)[0] == "withdrawn"
            db.session.commit()
        db.session.commit()
    with app.app_context():
        assert counting.totals(pid)["confirmed"] == 2


def test_the_public_count_is_exact_before_and_during_a_fold(
    app, client, make_petition, make_signature
):
    pid = make_petition(milestones=())
    tokens = pending_with_tokens(app, make_signature, pid, 12, country="BR")
    confirm_all(app, tokens[:1])
    # Before any fold: the journal entry is in the count at once.
    assert journal_size(app) == 1
    assert api_count(client) == 1
    confirm_all(app, tokens[1:])
    journal_confirmed(app, pid, {"FR": 8, "JP": 5})
    expected_countries = {"BR": 12, "FR": 8, "JP": 5}
    assert api_count(client) == 25

    # A folder applies the journal in small batches while readers read the API; every reading
    # must be exactly 25: a fold seen half-done would show a dip or a double count.
    done = threading.Event()
    readings, errors = [], []

    def folder():
        try:
            with app.app_context():
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    claimed, _ = counting.fold_batch(limit=2)
                    db.session.commit()
                    if not claimed:
                        return
                raise AssertionError("the fold did not finish within 60 s")
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            done.set()

    def reader():
        own = app.test_client()
        deadline = time.monotonic() + 60
        try:
            while not done.is_set() and time.monotonic() < deadline:
                detail = own.get("/api/petitions/speak-out").get_json()
                readings.append(
                    (api_count(own), detail["signature_count"], detail["signatures_by_country"])
                )
        except Exception as exc:  # asserted below
            errors.append(exc)

    threads = [threading.Thread(target=folder)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert errors == []
    assert readings, "no reading overlapped the fold"
    for count, detail_count, countries in readings:
        assert (count, detail_count, countries) == (25, 25, expected_countries)
    assert journal_size(app) == 0
    assert api_count(client) == 25
    assert_settled(app, pid)


def test_folders_racing_each_other_apply_each_entry_once(app, make_petition):
    pids = [make_petition(slug=f"p{i}", milestones=()) for i in range(3)]
    plan = {"FR": 23, "DE": 17, "KE": 9}
    for pid in pids:
        journal_confirmed(app, pid, plan)
    assert journal_size(app) == 3 * 49

    barrier = threading.Barrier(4)
    claimed, errors = [], []

    def folder():
        try:
            barrier.wait(timeout=30)
            with app.app_context():
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    n, _ = counting.fold_batch(limit=7)
                    db.session.commit()
                    claimed.append(n)
                    if not n:
                        return
        except Exception as exc:  # asserted below
            errors.append(exc)

    threads = [threading.Thread(target=folder) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert errors == []
    assert sum(claimed) == 3 * 49
    assert journal_size(app) == 0
    for pid in pids:
        assert_settled(app, pid)
        with app.app_context():
            assert db.session.get(Petition, pid).signature_count == 49


@pytest.mark.parametrize("app_config", [{"MILESTONE_MAIL_TO": ["staff@example.org"]}])
def test_the_fold_stamps_mails_once_and_clears_milestones(
    app, client, make_petition, make_signature, outbox, fold
):
    pid = make_petition(milestones=((3, "Three"), (5, "Five")))
    tokens = pending_with_tokens(app, make_signature, pid, 5)
    confirm_all(app, tokens)

    def stamped():
        with app.app_context():
            return {
                m.count: m.reached_at is not None
                for m in db.session.execute(select(Milestone)).scalars()
            }

    def milestone_mails():
        return sorted(m["subject"] for m in outbox() if m["subject"].startswith("Milestone"))

    # Counted at once, stamped and mailed by the fold.
    assert api_count(client) == 5
    assert stamped() == {3: False, 5: False}
    assert fold() == 5
    assert stamped() == {3: True, 5: True}
    expected_mails = [
        "Milestone reached: Five (Speak out)",
        "Milestone reached: Three (Speak out)",
    ]
    assert milestone_mails() == expected_mails
    assert fold() == 0

    # Moderation takes the count below both; the fold clears them.
    with app.app_context():
        confirmed = db.session.execute(
            select(Signature.id).where(Signature.state == "confirmed").order_by(Signature.id)
        ).scalars()
        gone = list(confirmed)[:3]
        moderation.invalidate(gone, "a test", None, petition_id=pid)
        db.session.commit()
    assert api_count(client) == 2
    assert fold() == 1
    assert stamped() == {3: False, 5: False}

    # Restored, they are reached again, and nobody is told twice.
    with app.app_context():
        moderation.restore(gone, None, app.config, petition_id=pid)
        db.session.commit()
    assert api_count(client) == 5
    assert fold() == 1
    assert stamped() == {3: True, 5: True}
    assert milestone_mails() == expected_mails
    assert_settled(app, pid)


def test_withdraw_invalidate_restore_and_recount_settle_exact(
    app, client, make_petition, make_signature, fold
):
    pid = make_petition(milestones=((4, "Four"),))
    fr = pending_with_tokens(app, make_signature, pid, 4, country="FR", prefix="fr")
    ua = pending_with_tokens(app, make_signature, pid, 3, country="UA", prefix="ua")
    confirm_all(app, fr + ua)
    with app.app_context():
        ids = dict(
            db.session.execute(
                select(Signature.email, Signature.id).where(Signature.petition_id == pid)
            ).all()
        )
        withdraw = signing.links(app.config, ids["fr0@example.org"], ("withdraw",))["withdraw"]
        db.session.commit()
    fold()
    with app.app_context():
        assert signing.withdraw(withdraw)[0] == "withdrawn"
        db.session.commit()
        moderation.invalidate(
            [ids["ua0@example.org"], ids["ua1@example.org"], ids["fr1@example.org"]],
            "duplicates",
            None,
        )
        db.session.commit()
        moderation.restore([ids["ua1@example.org"]], None, app.config)
        db.session.commit()
    # Exact before the fold: FR 4-1-1, UA 3-2+1.
    assert api_count(client) == 4
    assert client.get("/api/petitions/speak-out").get_json()["signatures_by_country"] == {
        "FR": 2,
        "UA": 2,
    }
    # One entry per withdrawal, per petition and country of a moderation, per restore.
    assert fold() == 4
    assert_settled(app, pid)
    with app.app_context():
        assert counting.totals(pid) == {"confirmed": 4, "offline": 0, "total": 4}

    # Recount with entries still in the journal and a column gone wrong: the entries are
    # discarded and the rows decide (make_signature recounts, so the damage comes after it).
    confirm_all(app, pending_with_tokens(app, make_signature, pid, 2, country="JP", prefix="jp"))
    with app.app_context():
        db.session.execute(db.update(Petition).where(Petition.id == pid).values(confirmed_count=40))
        db.session.commit()
    assert journal_size(app) == 2
    result = app.test_cli_runner().invoke(args=["signatures", "recount", "speak-out"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "speak-out: 6 (was 42)"
    assert journal_size(app) == 0
    assert_settled(app, pid)
    assert api_count(client) == 6


def test_a_petition_edit_stamps_milestones_from_the_exact_total(app, make_petition, make_signature):
    """Staff adding a milestone below the unfolded total see it reached at once."""
    from petition.petitions import manage

    pid = make_petition(milestones=())
    confirm_all(app, pending_with_tokens(app, make_signature, pid, 3))
    with app.app_context():
        petition = db.session.get(Petition, pid)
        manage.edit(petition, {"milestones": [(2, "Two")]}, app.config)
        db.session.commit()
        [milestone] = db.session.execute(select(Milestone)).scalars()
        assert milestone.reached_at is not None
        assert petition.signature_count == 3


def api_count_at(client, slug="speak-out"):
    data = client.get(f"/api/petitions/{slug}/count").get_json()
    return data["signature_count"], data["updated_at"]


def test_the_count_time_moves_with_every_change_before_and_after_the_fold(
    app, client, make_petition, make_signature
):
    """A widget keeps the newest snapshot by updated_at, so a confirmation must move it at once,
    not only when the fold runs, and the fold must never move it back."""
    pid = make_petition(milestones=())
    tokens = pending_with_tokens(app, make_signature, pid, 2)
    seen = [api_count_at(client)]
    for token in tokens:
        time.sleep(0.002)  # distinct microsecond stamps, also on a coarse clock
        confirm_all(app, [token])
        seen.append(api_count_at(client))
    assert journal_size(app) == 2
    with app.app_context():
        counting.fold(app.config)
    seen.append(api_count_at(client))
    counts = [count for count, _ in seen]
    times = [at for _, at in seen]
    assert counts == [0, 1, 2, 2]
    assert times[0] < times[1] < times[2] <= times[3]
