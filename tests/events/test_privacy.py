"""Hosts and attendees under the privacy commands: erase a person, anonymise after the day."""

import datetime as dt
import os

from sqlalchemy import select, update

from petition.core.extensions import db
from petition.events.models import DayOfAction, Event, EventPhoto, EventToken, Rsvp
from tests.events.test_events import (
    DAY,
    PRIVATE,
    event_ids,
    host_and_confirm,
    mail_link,
    rsvp,
    rsvps,
    state_of,
)
from tests.events.test_photos import jpeg_with_gps, upload


def run(app, *args):
    return app.test_cli_runner().invoke(args=["privacy", *args])


def test_erasing_an_attendee_frees_their_place(app, client, make_day, outbox):
    make_day(approval=False)
    host_and_confirm(client, outbox, capacity="1")
    [event_id] = event_ids(app)
    rsvp(client, event_id, name="Ana Souza", email="Ana.Souza@gmail.com")
    rsvp(client, event_id, name="Next", email="next@example.org")
    result = run(app, "erase-person", "anasouza@gmail.com")
    assert result.exit_code == 0, result.output
    assert "RSVPs erased: 1" in result.output
    [(email, state), second] = rsvps(app)
    assert state == "cancelled" and email.endswith("@anonymised.invalid")
    assert second == ("next@example.org", "attending")
    assert "place is free" in outbox()[-1]["subject"]
    with app.app_context():
        erased = db.session.execute(select(Rsvp).order_by(Rsvp.id)).scalars().first()
        assert erased.name == "Anonymous" and erased.ip is None
        assert not db.session.execute(
            select(EventToken).where(EventToken.rsvp_id == erased.id)
        ).first()
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    assert "Ana Souza" not in page and 'data-rsvp-count="1"' in page


def test_erasing_a_host_cancels_their_coming_event_and_deletes_its_photos(
    app, client, make_day, outbox
):
    make_day(approval=False)
    mail = host_and_confirm(client, outbox, address=PRIVATE, address_visibility="attendees")
    manage = mail_link(mail["body"], "events/manage")
    [event_id] = event_ids(app)
    rsvp(client, event_id, email="guest@example.org")
    # A photo of a past event of theirs.
    past = host_and_confirm(client, outbox, title="Speak Out Cork", city="Cork")
    past_id = max(event_ids(app))
    with app.app_context():
        db.session.execute(
            update(Event)
            .where(Event.id == past_id)
            .values(starts_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1), ends_at=None)
        )
        db.session.commit()
    response = upload(client, mail_link(past["body"], "events/manage"), ("a.jpg", jpeg_with_gps()))
    assert response.status_code == 303
    with app.app_context():
        [photo] = db.session.execute(select(EventPhoto)).scalars().all()
        files = [photo.file_name, photo.thumb_name]

    result = run(app, "erase-person", "aoife@example.org")
    assert result.exit_code == 0, result.output
    assert "events hosted: 2 (1 cancelled, 1 photo(s) deleted)" in result.output
    assert state_of(app, event_id) == "cancelled"
    assert state_of(app, past_id) == "approved"  # a past event stays on the record
    assert any(m["to"] == "guest@example.org" and "Cancelled" in m["subject"] for m in outbox())
    with app.app_context():
        for event in db.session.execute(select(Event)).scalars():
            assert event.host_name == "Anonymous"
            assert event.host_email.endswith("@anonymised.invalid")
        assert db.session.get(Event, event_id).address == ""
        assert db.session.execute(select(EventPhoto)).first() is None
    for name in files:
        assert not os.path.exists(os.path.join(app.config["UPLOAD_DIR"], name))
    # The manage link is dead, and nothing unsent is left for the erased address.
    assert client.get(manage).status_code == 404
    assert not any(m["to"] == "aoife@example.org" and m["sent_at"] is None for m in outbox())
    assert "Aoife" not in client.get(f"/events/{past_id}").get_data(as_text=True)


def test_a_day_over_long_enough_is_anonymised(app, client, make_day, outbox):
    make_day(approval=False, starts=dt.date(2027, 9, 3))
    host_and_confirm(client, outbox, address=PRIVATE, address_visibility="attendees")
    [event_id] = event_ids(app)
    rsvp(client, event_id, email="guest@example.org")
    # Not due yet: nothing changes.
    result = run(app, "anonymise-due")
    assert result.exit_code == 0 and "day " not in result.output
    with app.app_context():
        db.session.execute(
            update(DayOfAction).values(
                starts_on=dt.date.today() - dt.timedelta(days=40),
                ends_on=dt.date.today() - dt.timedelta(days=40),
            )
        )
        db.session.commit()
    result = run(app, "anonymise-due")
    assert result.exit_code == 0, result.output
    assert f"day {DAY}: anonymised 1 RSVP(s) and 1 host(s)" in result.output
    [(email, state)] = rsvps(app)
    assert email.endswith("@anonymised.invalid") and state == "attending"
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event.host_name == "Anonymous" and event.address == ""
        assert db.session.execute(select(EventToken)).first() is None
    # The day's figures stand; a second run does nothing.
    assert 'data-event-count="1"' in client.get(f"/days/{DAY}").get_data(as_text=True)
    assert f"day {DAY}: anonymised 0 RSVP(s) and 0 host(s)" in run(app, "anonymise-due").output
