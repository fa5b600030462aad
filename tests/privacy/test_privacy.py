"""flask privacy: erase IPs, anonymise delivered petitions, erase a person's data."""

import datetime as dt
import hashlib
import json

from sqlalchemy import func, select, update

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.delivery.models import Delivery
from petition.mail.models import OutboxMessage
from petition.petitions import counting
from petition.petitions.models import Petition, Signature
from petition.signing.models import Token
from petition.staff.models import AuditLog


def run(app, *args):
    return app.test_cli_runner().invoke(args=["privacy", *args])


def set_fields(app, signature_id, **values):
    with app.app_context():
        db.session.execute(update(Signature).where(Signature.id == signature_id).values(**values))
        db.session.commit()


def deliver(app, petition_id, days_ago=0, rows=0):
    with app.app_context():
        number = (
            db.session.execute(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.petition_id == petition_id)
            ).scalar()
            + 1
        )
        db.session.add(
            Delivery(
                petition_id=petition_id,
                number=number,
                rows=rows,
                sha256="0" * 64,
                created_at=utcnow() - dt.timedelta(days=days_ago),
            )
        )
        db.session.commit()


def signature_rows(app, petition_id):
    with app.app_context():
        return (
            db.session.execute(
                select(Signature).where(Signature.petition_id == petition_id).order_by(Signature.id)
            )
            .scalars()
            .all()
        )


def totals(app, petition_id):
    with app.app_context():
        petition = db.session.get(Petition, petition_id)
        return petition.signature_count, counting.by_country(petition_id)


def audits(app, action):
    with app.app_context():
        return (
            db.session.execute(
                select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
            )
            .scalars()
            .all()
        )


def populate(make_signature, petition_id, prefix="p"):
    """Three confirmed (two countries), one pending, one invalidated; all with personal data."""
    ids = []
    for n, (state, country) in enumerate(
        [
            ("confirmed", "FR"),
            ("confirmed", "FR"),
            ("confirmed", "DE"),
            ("pending", "DE"),
            ("invalidated", "FR"),
        ]
    ):
        ids.append(
            make_signature(
                petition_id,
                email=f"{prefix}{n}@example.org",
                state=state,
                country=country,
                name=f"Name{prefix}{n}",
                city=f"City{prefix}{n}",
                postcode=f"PC{n}",
                ip=f"192.0.2.{n + 1}",
            )
        )
    return ids


def test_erase_ips_clears_only_old_ones(app, make_petition, make_signature):
    petition_id = make_petition()
    old = make_signature(petition_id, email="old@example.org", ip="192.0.2.1")
    recent = make_signature(petition_id, email="new@example.org", ip="192.0.2.2")
    set_fields(app, old, created_at=utcnow() - dt.timedelta(days=31))
    set_fields(app, recent, created_at=utcnow() - dt.timedelta(days=29))

    result = run(app, "erase-ips")
    assert result.exit_code == 0, result.output
    assert "erased the IP address of 1 signature(s) older than 30 day(s)" in result.output
    with app.app_context():
        assert db.session.get(Signature, old).ip is None
        assert db.session.get(Signature, recent).ip == "192.0.2.2"

    again = run(app, "erase-ips")
    assert "of 0 signature(s)" in again.output

    result = run(app, "erase-ips", "--older-than-days", "10")
    assert "of 1 signature(s) older than 10 day(s)" in result.output
    with app.app_context():
        assert db.session.get(Signature, recent).ip is None
    entries = audits(app, "privacy.erase_ips")
    assert [json.loads(e.detail)["erased"] for e in entries] == [1, 0, 1]


def test_erase_ips_in_batches(app, make_petition, make_signature):
    from petition.privacy.operations import erase_ips

    petition_id = make_petition()
    ids = [make_signature(petition_id, email=f"s{n}@example.org", ip="192.0.2.9") for n in range(7)]
    for signature_id in ids:
        set_fields(app, signature_id, created_at=utcnow() - dt.timedelta(days=40))
    with app.app_context():
        assert erase_ips(30, batch_size=2) == 7
        assert not db.session.execute(select(Signature.ip).where(Signature.ip.is_not(None))).all()


def test_anonymise_refuses_open_draft_and_undelivered(app, make_petition, make_signature):
    open_id = make_petition(slug="still-open")
    make_signature(open_id, email="a@example.org")
    deliver(app, open_id)
    draft_id = make_petition(slug="a-draft", state="draft")
    closed_id = make_petition(slug="not-delivered", state="closed")
    make_signature(closed_id, email="b@example.org", name="Keep Me")

    for slug, reason in [
        ("still-open", "is open"),
        ("a-draft", "is draft"),
        ("not-delivered", "no delivery"),
    ]:
        result = run(app, "anonymise", slug, "--yes")
        assert result.exit_code != 0
        assert reason in result.output
    assert run(app, "anonymise", "no-such", "--yes").exit_code != 0
    assert signature_rows(app, closed_id)[0].name == "Keep Me"
    assert signature_rows(app, open_id)[0].name == "Some One"
    assert draft_id
    assert not audits(app, "privacy.anonymise")


def test_anonymise_closed_delivered_petition(app, make_petition, make_signature):
    petition_id = make_petition(slug="done", state="closed")
    populate(make_signature, petition_id)
    other_id = make_petition(slug="other", state="closed")
    other_ids = populate(make_signature, other_id, prefix="o")
    deliver(app, petition_id, rows=3)
    before = signature_rows(app, petition_id)
    totals_before = totals(app, petition_id)
    assert totals_before == (3, {"FR": 2, "DE": 1})
    with app.app_context():
        db.session.add(Token(signature_id=before[3].id, purpose="confirm", token_hash="a" * 64))
        db.session.commit()

    result = run(app, "anonymise", "done", "--yes")
    assert result.exit_code == 0, result.output
    assert "done: anonymised 5 signature(s)" in result.output

    after = signature_rows(app, petition_id)
    personal = {s.name for s in before} | {s.email for s in before} | {s.city for s in before}
    for row in after:
        values = {
            c.name: getattr(row, c.name) for c in Signature.__table__.columns if c.name != "id"
        }
        assert not personal & {v for v in values.values() if isinstance(v, str)}
        assert row.name == "Anonymous"
        assert row.email == row.canonical_email
        assert row.email.endswith("@anonymised.invalid")
        assert row.city is None and row.postcode is None and row.ip is None
    assert len({row.canonical_email for row in after}) == len(after)
    assert [(s.id, s.state, s.country, s.created_at, s.confirmed_at) for s in after] == [
        (s.id, s.state, s.country, s.created_at, s.confirmed_at) for s in before
    ]
    assert totals(app, petition_id) == totals_before
    with app.app_context():
        assert not db.session.execute(select(Token)).all()
    # The other petition is untouched.
    assert [s.name for s in signature_rows(app, other_id)] == [f"Nameo{n}" for n in range(5)]
    assert len(other_ids) == 5

    again = run(app, "anonymise", "done", "--yes")
    assert again.exit_code == 0
    assert "nothing to do" in again.output
    assert [(s.email, s.name) for s in signature_rows(app, petition_id)] == [
        (s.email, s.name) for s in after
    ]
    entries = audits(app, "privacy.anonymise")
    assert len(entries) == 1
    assert entries[0].petition_id == petition_id
    assert json.loads(entries[0].detail) == {"signatures": 5}


def test_anonymise_asks_without_yes(app, make_petition, make_signature):
    petition_id = make_petition(slug="done", state="closed")
    make_signature(petition_id, email="a@example.org", name="Ana")
    deliver(app, petition_id)
    result = app.test_cli_runner().invoke(args=["privacy", "anonymise", "done"], input="n\n")
    assert result.exit_code != 0
    assert signature_rows(app, petition_id)[0].name == "Ana"


def test_anonymise_due_picks_only_due_petitions(app, make_petition, make_signature):
    due = make_petition(slug="due", state="closed")
    make_signature(due, email="a@example.org", name="Ana")
    deliver(app, due, days_ago=200)
    # Its last delivery is what counts: an old one plus a recent one is not due.
    redelivered = make_petition(slug="redelivered", state="closed")
    make_signature(redelivered, email="b@example.org", name="Bea")
    deliver(app, redelivered, days_ago=200)
    deliver(app, redelivered, days_ago=10)
    still_open = make_petition(slug="still-open")
    make_signature(still_open, email="c@example.org", name="Cy")
    deliver(app, still_open, days_ago=200)
    undelivered = make_petition(slug="undelivered", state="closed")
    make_signature(undelivered, email="d@example.org", name="Di")

    result = run(app, "anonymise-due")
    assert result.exit_code == 0, result.output
    assert "due: anonymised 1 signature(s)" in result.output
    assert "1 petition(s) due" in result.output
    assert signature_rows(app, due)[0].name == "Anonymous"
    for petition_id, name in [(redelivered, "Bea"), (still_open, "Cy"), (undelivered, "Di")]:
        assert signature_rows(app, petition_id)[0].name == name

    again = run(app, "anonymise-due")
    assert again.exit_code == 0
    assert "0 signature(s) anonymised" in again.output

    result = run(app, "anonymise-due", "--after-days", "5")
    assert "redelivered: anonymised 1 signature(s)" in result.output
    assert signature_rows(app, still_open)[0].name == "Cy"


def count(client, slug):
    response = client.get(f"/api/petitions/{slug}/count")
    assert response.status_code == 200
    return response.get_json()["signature_count"]


def test_erase_person_everywhere(app, client, make_petition, make_signature, fold):
    first = make_petition(slug="first", milestones=((2, "Two"),))
    second = make_petition(slug="second")
    third = make_petition(slug="third", state="closed")
    ana_1 = make_signature(
        first, email="ana.person@example.org", country="BR", name="Ana", city="Rio", ip="192.0.2.1"
    )
    other = make_signature(
        first, email="bo@example.org", country="BR", name="Bo", city="Oslo", ip="192.0.2.2"
    )
    ana_2 = make_signature(second, email="ana.person@example.org", state="pending", name="Ana")
    ana_3 = make_signature(third, email="ana.person@example.org", state="invalidated", name="Ana")
    fold()  # the milestone is stamped by the fold
    with app.app_context():
        db.session.add_all(
            [
                Token(signature_id=ana_1, purpose="withdraw", token_hash="1" * 64),
                Token(signature_id=ana_2, purpose="confirm", token_hash="2" * 64),
                Token(signature_id=other, purpose="withdraw", token_hash="3" * 64),
                OutboxMessage(to="Ana.Person@example.org", subject="Confirm", body="x"),
                OutboxMessage(
                    to="ana.person@example.org", subject="Old", body="x", sent_at=utcnow()
                ),
                OutboxMessage(to="bo@example.org", subject="Confirm", body="x"),
            ]
        )
        db.session.commit()
        assert db.session.get(Petition, first).milestones[0].reached_at is not None
    assert count(client, "first") == 2
    assert count(client, "second") == 0

    result = run(app, "erase-person", "Ana.Person+news@Example.org")
    assert result.exit_code == 0, result.output
    assert "signatures erased: 3 (petitions: first, second, third)" in result.output
    assert "withdrawn: 2, taken off the count: 1" in result.output
    assert "link tokens deleted: 2, unsent mails deleted: 1" in result.output

    assert count(client, "first") == 1
    assert count(client, "second") == 0
    assert totals(app, first) == (1, {"BR": 1})
    # The erasure journalled the count change; the fold clears the milestone.
    assert fold() == 1
    assert totals(app, first) == (1, {"BR": 1})
    with app.app_context():
        assert db.session.get(Petition, first).milestones[0].reached_at is None
        rows = {s.id: s for s in db.session.execute(select(Signature)).scalars()}
        for signature_id, state in [
            (ana_1, "withdrawn"),
            (ana_2, "withdrawn"),
            (ana_3, "invalidated"),
        ]:
            row = rows[signature_id]
            assert row.state == state
            assert row.name == "Anonymous"
            assert row.email.endswith("@anonymised.invalid")
            assert row.city is None and row.postcode is None and row.ip is None
        assert rows[ana_1].withdrawn_at is not None
        kept = rows[other]
        assert (kept.name, kept.email, kept.city, kept.ip, kept.state) == (
            "Bo",
            "bo@example.org",
            "Oslo",
            "192.0.2.2",
            "confirmed",
        )
        assert db.session.execute(select(Token.token_hash)).scalars().all() == ["3" * 64]
        mails = db.session.execute(select(OutboxMessage.to, OutboxMessage.subject)).all()
        assert sorted(mails) == [("ana.person@example.org", "Old"), ("bo@example.org", "Confirm")]

    entries = audits(app, "privacy.erase_person")
    assert {e.petition_id for e in entries} == {first, second, third, None}
    digest = hashlib.sha256(b"ana.person@example.org").hexdigest()
    for entry in entries:
        assert "ana" not in entry.detail.lower()
        assert "example.org" not in entry.detail
        assert json.loads(entry.detail)["email_sha256"] == digest
    by_petition = {e.petition_id: json.loads(e.detail) for e in entries}
    assert by_petition[first]["uncounted"] == 1
    assert by_petition[None]["outbox_deleted"] == 1

    again = run(app, "erase-person", "ana.person@example.org")
    assert again.exit_code == 0
    assert "signatures erased: 0 (petitions: none)" in again.output
    assert count(client, "first") == 1


def test_erase_person_one_petition(app, client, make_petition, make_signature):
    first = make_petition(slug="first")
    second = make_petition(slug="second")
    ana_1 = make_signature(first, email="ana@example.org", name="Ana")
    ana_2 = make_signature(second, email="ana@example.org", name="Ana")
    with app.app_context():
        db.session.add_all(
            [
                Token(
                    signature_id=ana_1,
                    purpose="withdraw",
                    token_hash=hashlib.sha256(b"tok-first").hexdigest(),
                ),
                Token(
                    signature_id=ana_2,
                    purpose="withdraw",
                    token_hash=hashlib.sha256(b"tok-second").hexdigest(),
                ),
                OutboxMessage(
                    to="ana@example.org", subject="1", body="http://x/withdraw/tok-first"
                ),
                OutboxMessage(
                    to="ana@example.org", subject="2", body="http://x/withdraw/tok-second"
                ),
            ]
        )
        db.session.commit()

    result = run(app, "erase-person", "ana@example.org", "--petition", "first")
    assert result.exit_code == 0, result.output
    assert "unsent mails deleted: 1" in result.output
    assert count(client, "first") == 0
    assert count(client, "second") == 1
    assert signature_rows(app, first)[0].name == "Anonymous"
    assert signature_rows(app, second)[0].name == "Ana"
    with app.app_context():
        assert db.session.execute(select(OutboxMessage.subject)).scalars().all() == ["2"]

    assert run(app, "erase-person", "not an address").exit_code != 0
    assert run(app, "erase-person", "ana@example.org", "--petition", "nope").exit_code != 0
