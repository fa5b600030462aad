"""The host's manage link: edit (attendees told of a new time or place), the attendee list and its
CSV, writing to attendees under a cap; and the calendar file that RSVP mails carry."""

import csv
import io

import icalendar
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from petition.core.extensions import db
from petition.events.models import Event, EventMessage
from tests.events.test_events import (
    DAY,
    PRIVATE,
    approve,
    event_ids,
    host_and_confirm,
    host_form,
    mail_link,
    rsvp,
    rsvps,
    state_of,
)
from tests.helpers import csrf_token


def hosted(app, client, outbox, make_day, approval=False, **fields):
    """An event hosted and confirmed; (event id, manage path)."""
    make_day(approval=approval)
    mail = host_and_confirm(client, outbox, **fields)
    return max(event_ids(app)), mail_link(mail["body"], "events/manage")


def edit(client, manage, **changes):
    fields = host_form(**changes)
    fields.pop("host_email", None)
    fields.pop("agree_1", None)
    fields = {k: v for k, v in fields.items() if v is not None}
    fields["csrf_token"] = csrf_token(client, f"/days/{DAY}/host")
    return client.post(manage + "/edit", data=fields)


def event_row(app, event_id):
    with app.app_context():
        event = db.session.get(Event, event_id)
        db.session.expunge(event)
        return event


def calendar_of(mail):
    assert mail["attachment_name"] == "event.ics"
    assert mail["attachment_type"].startswith("text/calendar")
    [entry] = icalendar.Calendar.from_ical(mail["attachment"]).walk("VEVENT")
    return entry


def test_the_rsvp_mail_carries_the_calendar_entry_with_the_private_address(
    app, client, make_day, outbox
):
    event_id, _ = hosted(
        app, client, outbox, make_day, address=PRIVATE, address_visibility="attendees"
    )
    rsvp(client, event_id)
    entry = calendar_of(outbox()[-1])
    assert PRIVATE in str(entry["LOCATION"])
    assert entry["DTSTART"].dt.tzinfo.key == "Europe/Dublin"
    assert entry["DTSTART"].dt.hour == 18
    # The public calendar file never has it.
    assert PRIVATE not in client.get(f"/events/{event_id}.ics").get_data(as_text=True)


def test_the_edit_form_starts_from_the_event_in_its_local_time(app, client, make_day, outbox):
    _, manage = hosted(app, client, outbox, make_day)
    page = client.get(manage + "/edit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'value="2027-09-03T18:00"' in text and 'value="Speak Out Dublin"' in text
    # The email is not edited here: it is the address the host confirmed.
    assert 'name="host_email"' not in text


def test_a_new_time_mails_attendees_and_raises_the_sequence(app, client, make_day, outbox):
    event_id, manage = hosted(app, client, outbox, make_day, capacity="1")
    rsvp(client, event_id, email="going@example.org", share_with_host="y")
    rsvp(client, event_id, email="waiting@example.org")
    before = len(outbox())
    response = edit(
        client, manage, starts_at="2027-09-03T19:00", ends_at="2027-09-03T20:00", capacity="1"
    )
    assert response.status_code == 303
    assert "Your changes are saved." in client.get(manage).get_data(as_text=True)
    event = event_row(app, event_id)
    assert event.sequence == 1 and event.starts_at.hour == 18  # 19:00 Irish summer time
    assert event.edited_at is not None
    mails = outbox()[before:]
    assert sorted(m["to"] for m in mails) == ["going@example.org", "waiting@example.org"]
    going = next(m for m in mails if m["to"] == "going@example.org")
    assert going["subject"] == "Changed: Speak Out Dublin"
    assert "7:00\u202fPM" in going["body"]
    entry = calendar_of(going)
    assert entry["SEQUENCE"] == 1 and entry["DTSTART"].dt.hour == 19
    assert entry["UID"] == f"event-{event_id}@petition.test"
    # The one waiting has no place yet: no calendar entry, no address.
    waiting = next(m for m in mails if m["to"] == "waiting@example.org")
    assert waiting["attachment"] is None
    # The public calendar moves too, under the same UID, so calendar apps update the entry.
    [public] = icalendar.Calendar.from_ical(client.get(f"/events/{event_id}.ics").data).walk(
        "VEVENT"
    )
    assert public["UID"] == entry["UID"] and public["SEQUENCE"] == 1
    assert "7:00\u202fPM" in client.get(f"/events/{event_id}").get_data(as_text=True)


def test_a_new_description_tells_no_one_and_keeps_the_sequence(app, client, make_day, outbox):
    event_id, manage = hosted(app, client, outbox, make_day)
    rsvp(client, event_id)
    before = len(outbox())
    assert edit(client, manage, description="Bring two signs.").status_code == 303
    assert len(outbox()) == before
    event = event_row(app, event_id)
    assert event.sequence == 0 and event.description == "Bring two signs."
    # Saving without a change is said so, and moves nothing.
    assert edit(client, manage, description="Bring two signs.").status_code == 303
    assert "Nothing had changed." in client.get(manage).get_data(as_text=True)


def test_moving_the_city_moves_the_zone(app, client, make_day, outbox):
    event_id, manage = hosted(app, client, outbox, make_day)
    assert edit(client, manage, city="Tokyo", country="JP").status_code == 303
    event = event_row(app, event_id)
    assert event.timezone == "Asia/Tokyo" and event.starts_at.hour == 9  # 18:00 JST
    assert round(event.lat) == 36 or round(event.lat) == 35


def test_an_invalid_edit_changes_nothing(app, client, make_day, outbox):
    event_id, manage = hosted(app, client, outbox, make_day)
    response = edit(client, manage, starts_at="2027-09-04T18:00", title="")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Please fill this in." in text and 'value="2027-09-04T18:00"' in text
    event = event_row(app, event_id)
    assert event.title == "Speak Out Dublin" and event.sequence == 0


def test_editing_a_rejected_event_sends_it_back_to_staff(app, client, make_day, outbox):
    event_id, manage = hosted(app, client, outbox, make_day, approval=True)
    from petition.events import operations as events

    with app.app_context():
        events.reject(db.session.get(Event, event_id), "Please give an exact place.", app.config)
        db.session.commit()
    assert "Change the event" in client.get(manage).get_data(as_text=True)
    assert edit(client, manage, venue="The Spire, O'Connell Street").status_code == 303
    assert state_of(app, event_id) == "pending"
    assert event_row(app, event_id).reject_reason is None


def test_a_cancelled_event_is_not_edited(app, client, make_day, outbox):
    event_id, manage = hosted(app, client, outbox, make_day)
    client.post(manage + "/cancel", data={"csrf_token": csrf_token(client, manage)})
    response = edit(client, manage, title="Back on")
    assert response.status_code == 303
    assert "can no longer be changed" in client.get(manage).get_data(as_text=True)
    assert event_row(app, event_id).title == "Speak Out Dublin"


def test_more_places_promote_the_wait_list(app, client, make_day, outbox):
    event_id, manage = hosted(app, client, outbox, make_day, capacity="1")
    rsvp(client, event_id, email="first@example.org")
    rsvp(client, event_id, email="second@example.org")
    assert edit(client, manage, capacity="2").status_code == 303
    assert rsvps(app)[1] == ("second@example.org", "attending")
    assert "place is free" in outbox()[-1]["subject"]


def test_the_attendee_csv_has_emails_only_of_those_who_consented(app, client, make_day, outbox):
    event_id, manage = hosted(app, client, outbox, make_day)
    rsvp(
        client, event_id, name="Róisín Ní Bhriain", email="roisin@example.org", share_with_host="y"
    )
    rsvp(client, event_id, name='=HYPERLINK("http://x")', email="private@example.org")
    page = client.get(manage).get_data(as_text=True)
    assert "roisin@example.org" in page and "private@example.org" not in page
    response = client.get(manage + "/attendees.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["name"], r["email"], r["state"]) for r in rows] == [
        ("Róisín Ní Bhriain", "roisin@example.org", "attending"),
        ('\'=HYPERLINK("http://x")', "", "attending"),
    ]
    assert "private@example.org" not in response.get_data(as_text=True)


def test_writing_to_attendees_is_capped(app, client, make_day, outbox):
    event_id, manage = hosted(app, client, outbox, make_day, capacity="1")
    rsvp(client, event_id, email="ana@example.org")
    rsvp(client, event_id, email="waiting@example.org")

    def send(**fields):
        data = {"subject": "Meet at the gate", "body": "We meet at the north gate.\nBring water."}
        data.update(fields)
        data["csrf_token"] = csrf_token(client, manage)
        return client.post(manage + "/message", data=data)

    before = len(outbox())
    assert send().status_code == 303
    [mail] = outbox()[before:]
    assert mail["to"] == "ana@example.org" and mail["subject"] == "Meet at the gate"
    assert "We meet at the north gate.\nBring water." in mail["body"]
    assert "aoife@example.org" not in mail["body"]
    assert "on its way to 1 person" in client.get(manage).get_data(as_text=True)

    before = len(outbox())
    assert send(include_waiting="y").status_code == 303
    assert sorted(m["to"] for m in outbox()[before:]) == ["ana@example.org", "waiting@example.org"]

    assert send(body="").status_code == 400
    assert send().status_code == 303  # the third of three
    before = len(outbox())
    response = send()
    assert response.status_code == 429
    assert "as often as we allow" in response.get_data(as_text=True)
    assert len(outbox()) == before
    with app.app_context():
        assert db.session.execute(select(EventMessage)).scalars().all().__len__() == 3


def test_the_spanish_attendee_gets_the_host_message_frame_in_spanish(app, client, make_day, outbox):
    event_id, manage = hosted(app, client, outbox, make_day)
    client.post(
        f"/events/{event_id}/rsvp",
        data={
            "name": "Ana",
            "email": "ana@example.org",
            "csrf_token": csrf_token(client, f"/events/{event_id}"),
        },
        headers={"Accept-Language": "es"},
    )
    data = {"subject": "Hola", "body": "Nos vemos."}
    data["csrf_token"] = csrf_token(client, manage)
    assert client.post(manage + "/message", data=data).status_code == 303
    body = outbox()[-1]["body"]
    assert "Nos vemos." in body and "escribe" in body


def test_a_message_waits_for_approval(app, client, make_day, outbox):
    event_id, manage = hosted(app, client, outbox, make_day, approval=True)
    data = {"subject": "Hi", "body": "Hello", "csrf_token": csrf_token(client, manage)}
    assert client.post(manage + "/message", data=data).status_code == 303
    assert "once the event is on the map" in client.get(manage).get_data(as_text=True)
    approve(app, event_id)


def test_a_wrong_manage_token_is_a_404_everywhere(client, make_day):
    make_day()
    for path in ("/edit", "/attendees.csv"):
        assert client.get("/events/manage/nope" + path).status_code == 404
    token = csrf_token(client, f"/days/{DAY}/host")
    for path in ("/edit", "/message", "/cancel"):
        response = client.post("/events/manage/nope" + path, data={"csrf_token": token})
        assert response.status_code == 404


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.dictionaries(
        st.sampled_from(
            [k for k in host_form() if k not in ("host_email", "agree_1")]
            + ["capacity", "online_url", "subject", "body", "include_waiting"]
        ),
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(["", "online", "2027-09-03T18:00", "-1", "Asia/Tokyo", "x" * 6000]),
        ),
    )
)
def test_the_edit_and_message_forms_never_fail(app, client, make_day, outbox, fields):
    # Function-scoped fixtures last the whole run of examples: the event is hosted once.
    if not event_ids(app):
        make_day(approval=False)
        mail = host_and_confirm(client, outbox)
        app.config["TEST_MANAGE"] = mail_link(mail["body"], "events/manage")
        rsvp(client, max(event_ids(app)))
    manage = app.config["TEST_MANAGE"]
    assert edit(client, manage, **fields).status_code in (303, 400)
    data = {k: fields[k] for k in ("subject", "body", "include_waiting") if k in fields}
    data["csrf_token"] = csrf_token(client, f"/days/{DAY}/host")
    assert client.post(manage + "/message", data=data).status_code in (303, 400, 429)
    assert client.get(manage).status_code == 200
