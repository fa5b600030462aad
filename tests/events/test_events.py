"""Days of action end to end: hosting, confirming, moderating, the public pages, RSVPs."""

import datetime as dt
import re

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from petition.core.extensions import db
from petition.events import operations as events
from petition.events.models import Event, Rsvp
from tests.helpers import csrf_token

DAY = "global-speak-out"
PRIVATE = "Flat 3, 12 Secret Lane"


def host_form(**fields):
    data = {
        "title": "Speak Out Dublin",
        "host_name": "Aoife Byrne",
        "host_email": "aoife@example.org",
        "mode": "in_person",
        "venue": "Outside the embassy",
        "address": "184 Orwell Road",
        "address_visibility": "public",
        "city": "Dublin",
        "country": "IE",
        "starts_at": "2027-09-03T18:00",
        "ends_at": "2027-09-03T19:30",
        "timezone": "",
        "description": "Bring a sign.\n\nWe speak at 18:15.",
        "agree_1": "y",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def host(client, slug=DAY, **fields):
    data = host_form(**fields)
    data.setdefault("csrf_token", csrf_token(client, f"/days/{slug}/host"))
    return client.post(f"/days/{slug}/host", data=data)


def mail_link(body, kind):
    found = re.search(rf"https?://[^/\s]+(/{kind}/[A-Za-z0-9_-]+)", body)
    assert found, f"no {kind} link in:\n{body}"
    return found.group(1)


def press(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def event_ids(app):
    with app.app_context():
        return db.session.execute(select(Event.id).order_by(Event.id)).scalars().all()


def state_of(app, event_id):
    with app.app_context():
        return db.session.get(Event, event_id).state


def host_and_confirm(client, outbox, **fields):
    before = len(outbox())
    assert host(client, **fields).status_code == 303
    mail = outbox()[before]
    press(client, mail_link(mail["body"], "events/confirm"))
    return mail


def approve(app, event_id):
    with app.app_context():
        events.approve(db.session.get(Event, event_id), app.config)
        db.session.commit()


def test_host_confirm_pending_then_approved_is_public(app, client, make_day, outbox):
    make_day()
    response = host(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/days/{DAY}/host/sent")
    [event_id] = event_ids(app)
    assert state_of(app, event_id) == "unverified"
    [mail] = outbox()
    assert mail["to"] == "aoife@example.org"
    assert "/events/manage/" in mail["body"]
    confirm = mail_link(mail["body"], "events/confirm")
    # A mail scanner that opens the link confirms nothing.
    assert client.get(confirm).status_code == 200
    assert state_of(app, event_id) == "unverified"
    assert press(client, confirm).status_code == 200
    assert state_of(app, event_id) == "pending"

    # Pending: not public anywhere.
    assert client.get(f"/events/{event_id}").status_code == 404
    assert client.get(f"/events/{event_id}.ics").status_code == 404
    day_page = client.get(f"/days/{DAY}").get_data(as_text=True)
    assert "Speak Out Dublin" not in day_page
    assert 'data-event-count="0"' in day_page
    assert 'class="pin"' not in day_page
    assert b"Speak Out Dublin" not in client.get(f"/days/{DAY}.ics").data

    approve(app, event_id)
    assert "on the map" in outbox()[-1]["subject"]
    page = client.get(f"/events/{event_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Speak Out Dublin" in text and "Aoife" in text and "Byrne" not in text
    assert "aoife@example.org" not in text
    day_page = client.get(f"/days/{DAY}").get_data(as_text=True)
    assert 'data-event-count="1"' in day_page and 'data-city-count="1"' in day_page
    assert 'data-country-count="1"' in day_page
    assert "Speak Out Dublin" in day_page
    # On the map: a pin linking to the event, Ireland marked, drawn in the page itself.
    assert f'<a href="/events/{event_id}" class="pin">' in day_page
    assert 'class="land active" data-country="IE"' in day_page
    assert "<title>Speak Out Dublin (Dublin)</title>" in day_page
    assert b"Speak Out Dublin" in client.get(f"/days/{DAY}.ics").data


def test_no_approval_day_publishes_on_confirmation(app, client, make_day, outbox):
    make_day(approval=False)
    host_and_confirm(client, outbox)
    [event_id] = event_ids(app)
    assert state_of(app, event_id) == "approved"
    assert client.get(f"/events/{event_id}").status_code == 200


def test_reject_mails_the_reason_and_the_manage_link_cancels(app, client, make_day, outbox):
    make_day()
    first = host_and_confirm(client, outbox)
    [event_id] = event_ids(app)
    with app.app_context():
        events.reject(db.session.get(Event, event_id), "Please give an exact time.", app.config)
        db.session.commit()
    assert "Please give an exact time." in outbox()[-1]["body"]
    assert client.get(f"/events/{event_id}").status_code == 404
    manage = mail_link(first["body"], "events/manage")
    page = client.get(manage).get_data(as_text=True)
    assert "Please give an exact time." in page

    hosted = host_and_confirm(
        client, outbox, title="Speak Out Galway", city="Galway", host_email="ciara@example.org"
    )
    second = max(event_ids(app))
    approve(app, second)
    manage = mail_link(hosted["body"], "events/manage")
    rsvp(client, second, email="guest@example.org")
    response = client.post(manage + "/cancel", data={"csrf_token": csrf_token(client, manage)})
    assert response.status_code == 303
    assert state_of(app, second) == "cancelled"
    assert outbox()[-1]["to"] == "guest@example.org"
    assert "Cancelled" in outbox()[-1]["subject"]
    page = client.get(f"/events/{second}")
    assert page.status_code == 200 and "This event is cancelled." in page.get_data(as_text=True)
    assert "Speak Out Galway" not in client.get(f"/days/{DAY}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("city", "country", "zone", "utc_hour"),
    [
        ("Dublin", "IE", "Europe/Dublin", 17),
        ("Buenos Aires", "AR", "America/Argentina/Buenos_Aires", 21),
        ("Tokyo", "JP", "Asia/Tokyo", 9),
    ],
)
def test_time_zones(app, client, make_day, outbox, city, country, zone, utc_hour):
    make_day(approval=False)
    host_and_confirm(client, outbox, city=city, country=country, ends_at=None)
    [event_id] = event_ids(app)
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event.timezone == zone
        assert event.starts_at == dt.datetime(2027, 9, 3, utc_hour, 0, tzinfo=dt.UTC)
        assert event.lat is not None and event.lon is not None
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    assert "6:00" in page or "18:00" in page
    cal = icalendar.Calendar.from_ical(client.get(f"/events/{event_id}.ics").data)
    [vevent] = cal.walk("VEVENT")
    start = vevent.decoded("DTSTART")
    assert (start.hour, start.minute) == (18, 0)
    assert vevent["DTSTART"].params["TZID"] == zone
    assert zone in [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]


def test_a_time_the_clocks_skip_is_refused_and_dst_days_are_right(app, client, make_day, outbox):
    make_day(starts=dt.date(2027, 3, 28), approval=False)
    response = host(client, starts_at="2027-03-28T01:30", ends_at=None)
    assert response.status_code == 400
    assert "does not exist in Europe/Dublin" in response.get_data(as_text=True)
    assert event_ids(app) == []
    host_and_confirm(client, outbox, starts_at="2027-03-28T18:00", ends_at=None)
    [event_id] = event_ids(app)
    with app.app_context():
        # Irish summer time began at 01:00 UTC that morning: 18:00 there is 17:00 UTC.
        assert db.session.get(Event, event_id).starts_at.hour == 17


def test_host_form_errors_keep_the_input(app, client, make_day):
    make_day()
    response = host(
        client,
        agree_1=None,
        city="Atlantis-on-Sea",
        country="US",
        starts_at="2027-09-04T18:00",
        title="Mine",
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Please tick this to host an event." in text
    assert 'value="Mine"' in text
    response = host(client, city="Atlantis-on-Sea", country="US")
    assert "please choose its time zone" in response.get_data(as_text=True)
    response = host(client, starts_at="2027-09-04T18:00", ends_at=None)
    assert "The event must be on" in response.get_data(as_text=True)
    assert event_ids(app) == []


def test_moscow_idaho_is_not_moscow(app, client, make_day, outbox):
    make_day(approval=False)
    host_and_confirm(client, outbox, city="Moscow", country="US", ends_at=None)
    with app.app_context():
        event = db.session.execute(select(Event)).scalar_one()
        # Northern Idaho keeps Pacific time.
        assert event.timezone == "America/Los_Angeles"


def rsvp(client, event_id, **fields):
    data = {"name": "Guest", "email": "guest@example.org"}
    data.update(fields)
    data.setdefault("csrf_token", csrf_token(client, f"/events/{event_id}"))
    return client.post(f"/events/{event_id}/rsvp", data=data)


def rsvps(app):
    with app.app_context():
        return [
            (r.email, r.state) for r in db.session.execute(select(Rsvp).order_by(Rsvp.id)).scalars()
        ]


def test_rsvp_dedupes_across_spellings_and_a_repeat_reveals_nothing(app, client, make_day, outbox):
    make_day(approval=False)
    host_and_confirm(client, outbox)
    [event_id] = event_ids(app)
    first = rsvp(client, event_id, email="Ana.Souza+speakout@gmail.com")
    again = rsvp(client, event_id, email="anasouza@googlemail.com")
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(rsvps(app)) == 1
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    assert 'data-rsvp-count="1"' in page


def test_capacity_and_the_wait_list(app, client, make_day, outbox):
    make_day(approval=False)
    host_and_confirm(client, outbox, capacity="2")
    [event_id] = event_ids(app)
    for n in range(4):
        assert rsvp(client, event_id, email=f"p{n}@example.org").status_code == 303
    assert [s for _, s in rsvps(app)] == ["attending", "attending", "waiting", "waiting"]
    assert "wait list" in outbox()[-1]["subject"]
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    assert 'data-rsvp-count="2"' in page and "This event is full" in page
    cancel = mail_link(
        next(m for m in outbox() if m["to"] == "p0@example.org")["body"], "rsvp/cancel"
    )
    assert press(client, cancel).status_code == 200
    assert rsvps(app) == [
        ("p0@example.org", "cancelled"),
        ("p1@example.org", "attending"),
        ("p2@example.org", "attending"),
        ("p3@example.org", "waiting"),
    ]
    promoted = outbox()[-1]
    assert promoted["to"] == "p2@example.org" and "place is free" in promoted["subject"]
    # Pressing again changes nothing and promotes no one else.
    assert "Your RSVP is cancelled." in client.get(cancel).get_data(as_text=True)
    client.post(cancel, data={"csrf_token": csrf_token(client, f"/events/{event_id}")})
    assert rsvps(app)[3] == ("p3@example.org", "waiting")


def test_a_private_address_is_only_for_attendees(app, client, make_day, outbox):
    make_day(approval=False)
    host_and_confirm(client, outbox, address=PRIVATE, address_visibility="attendees")
    [event_id] = event_ids(app)
    for path in (
        f"/events/{event_id}",
        f"/days/{DAY}",
        f"/events/{event_id}.ics",
        f"/days/{DAY}.ics",
    ):
        body = client.get(path).get_data(as_text=True)
        assert PRIVATE not in body, path
    assert "Shown after you RSVP" in client.get(f"/events/{event_id}").get_data(as_text=True)
    rsvp(client, event_id)
    assert PRIVATE in outbox()[-1]["body"]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.dictionaries(
        st.sampled_from(list(host_form()) + ["capacity", "online_url", "timezone", "agree_2"]),
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(["", "online", "2027-09-03T18:00", "-1", "Asia/Tokyo", "x" * 400]),
        ),
    )
)
def test_host_and_rsvp_forms_never_fail(app, client, make_day, fields):
    # Function-scoped fixtures last the whole run of examples: the day is made once.
    with app.app_context():
        missing = events.day_by_slug(DAY) is None
    if missing:
        make_day(approval=False)
    response = host(client, **fields)
    assert response.status_code in (303, 400)
    with app.app_context():
        approved = (
            db.session.execute(select(Event.id).where(Event.state == "approved")).scalars().first()
        )
    if approved is None:
        with app.app_context():
            day = events.day_by_slug(DAY)
            event = Event(
                day_id=day.id,
                title="t",
                host_name="h",
                host_email="h@example.org",
                host_canonical_email="h@example.org",
                country="IE",
                timezone="Europe/Dublin",
                state="approved",
                starts_at=dt.datetime(2027, 9, 3, 17, tzinfo=dt.UTC),
                approved_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
            )
            db.session.add(event)
            db.session.commit()
            approved = event.id
    response = rsvp(
        client,
        approved,
        name=fields.get("title", "x"),
        email=fields.get("host_email", "x@example.org"),
        share_with_host=fields.get("mode", ""),
    )
    assert response.status_code in (303, 400)


def test_the_api_shows_approved_events_only(app, client, make_day, outbox):
    make_day()
    host_and_confirm(client, outbox)
    assert client.get(f"/api/days/{DAY}").get_json()["events"] == []
    [event_id] = event_ids(app)
    approve(app, event_id)
    response = client.get(f"/api/days/{DAY}")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "public" in response.headers["Cache-Control"]
    assert (
        client.get(
            f"/api/days/{DAY}", headers={"If-None-Match": response.headers["ETag"]}
        ).status_code
        == 304
    )
    body = response.get_json()
    assert (body["event_count"], body["city_count"], body["country_count"]) == (1, 1, 1)
    [event] = body["events"]
    assert event["starts_at"] == "2027-09-03T18:00:00+01:00"
    assert event["timezone"] == "Europe/Dublin"
    assert event["address"] == "184 Orwell Road"
    assert event["url"] == f"http://petition.test/events/{event_id}"
    assert round(event["lat"]) == 53 and round(event["lon"]) == -6
    assert "aoife" not in response.get_data(as_text=True).lower()
    assert client.get("/api/days/nope").status_code == 404


def test_the_demo_day_is_on_the_map_with_people_going(app, client):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    data = client.get(f"/api/days/{DAY}").get_json()
    assert data["state"] == "open" and data["city_count"] >= 19
    assert any(e["details_to_come"] for e in data["events"])
    assert any(e["mode"] == "online" for e in data["events"])
    assert data["rsvp_count"] > 0
    assert dt.date.fromisoformat(data["events"][0]["starts_at"][:10]).month == 9
    page = client.get(f"/days/{DAY}").get_data(as_text=True)
    assert page.count('class="pin"') >= 19
