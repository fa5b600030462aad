"""Days of action in the staff area: create and edit a day, the dashboard, the moderation queue
(approve, reject, edit, trust a host, review a host's edit), the CSV exports, the audit log."""

import csv
import datetime as dt
import io

import pytest
from babel.dates import format_date
from sqlalchemy import select

from petition.core.extensions import db
from petition.events import operations as events
from petition.events.models import DayOfAction, Event
from petition.staff import auth
from tests.events.test_events import (
    DAY,
    PRIVATE,
    event_ids,
    host_and_confirm,
    mail_link,
    rsvp,
    state_of,
)
from tests.events.test_host_tools import edit
from tests.helpers import STAFF_PASSWORD, csrf_token, staff_login, staff_post


@pytest.fixture
def staff(app):
    with app.app_context():
        auth.create_staff("lead@example.org", STAFF_PASSWORD, "admin")
        db.session.commit()
    desk = app.test_client()
    assert staff_login(desk, "lead@example.org").status_code == 303
    return desk


def read_csv(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_staff_pages_need_a_login(app, client, make_day):
    make_day()
    for path in (
        "/staff/days/new",
        f"/staff/days/{DAY}",
        f"/staff/days/{DAY}/edit",
        f"/staff/days/{DAY}/events.csv",
        f"/staff/days/{DAY}/rsvps.csv",
        "/staff/trusted-hosts",
        "/staff/events/1/edit",
    ):
        response = client.get(path)
        assert response.status_code in (302, 303) and "/staff/login" in response.location, path


def test_staff_create_and_edit_a_day(app, staff, client):
    page = staff.get("/staff/days/new")
    assert page.status_code == 200
    form = {
        "slug": "speak-out-2027",
        "title": "Global Speak Out",
        "starts_on": "2027-09-03",
        "ends_on": "",
        "petition": "",
        "toolkit": "1. **Find a place**",
        "requirements": "I will check whether a permit is needed\nI will be there on time",
        "slogans": "Speak out for Russia",
        "approval_required": "y",
        "state": "draft",
    }
    bad = staff_post(
        staff, "/staff/days/new", **{**form, "slug": "Not A Slug", "ends_on": "2027-09-01"}
    )
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "single hyphens" in text and "cannot be before" in text
    response = staff_post(staff, "/staff/days/new", **form)
    assert response.status_code == 303 and response.location.endswith("/staff/days/speak-out-2027")
    # A draft is not public.
    assert client.get("/days/speak-out-2027").status_code == 404
    again = staff_post(staff, "/staff/days/new", **form)
    assert again.status_code == 400 and "already has this slug" in again.get_data(as_text=True)

    edit_page = staff.get("/staff/days/speak-out-2027/edit").get_data(as_text=True)
    assert "I will be there on time" in edit_page
    response = staff_post(
        staff,
        "/staff/days/speak-out-2027/edit",
        **{**form, "state": "open", "ends_on": "2027-09-04"},
    )
    assert response.status_code == 303
    with app.app_context():
        day = db.session.execute(select(DayOfAction)).scalar_one()
        assert day.state == "open" and day.ends_on == dt.date(2027, 9, 4)
        assert day.requirement_list == [
            "I will check whether a permit is needed",
            "I will be there on time",
        ]
    assert client.get("/days/speak-out-2027").status_code == 200
    host_page = client.get("/days/speak-out-2027/host").get_data(as_text=True)
    assert "I will be there on time" in host_page
    # An open day does not go back to draft.
    back = staff_post(staff, "/staff/days/speak-out-2027/edit", **{**form, "state": "draft"})
    assert back.status_code == 400
    audit = staff.get("/staff/audit").get_data(as_text=True)
    assert "day.create" in audit and "day.edit" in audit


def test_dashboard_counts_by_country_and_rsvps_per_day(app, staff, client, make_day, outbox):
    make_day(approval=False)
    host_and_confirm(client, outbox)
    host_and_confirm(
        client, outbox, title="Speak Out Galway", city="Galway", host_email="c@example.org"
    )
    host_and_confirm(
        client,
        outbox,
        title="Speak Out Tokyo",
        city="Tokyo",
        country="JP",
        host_email="t@example.org",
    )
    dublin, galway, tokyo = event_ids(app)
    for n in range(3):
        rsvp(client, dublin, email=f"d{n}@example.org")
    rsvp(client, tokyo, email="t0@example.org")
    page = staff.get(f"/staff/days/{DAY}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert country_row("IE", "Ireland", 2, 0, 3) in text
    assert country_row("JP", "Japan", 1, 0, 1) in text
    # Ireland (two events) before Japan (one).
    assert text.index('data-country="IE"') < text.index('data-country="JP"')
    today = dt.datetime.now(dt.UTC).date()
    assert "4 RSVPs in all" in text
    # Today's bar in the chart says 4.
    assert f"<title>{format_date(today, locale='en')}: 4</title>" in text


def country_row(code, name, *numbers):
    cells = "".join(f'<td class="num">{n}</td>' for n in numbers)
    return f'<tr data-country="{code}"><td>{name}</td>{cells}</tr>'


def test_csv_exports_of_events_and_rsvps(app, staff, client, make_day, outbox):
    make_day(approval=False)
    host_and_confirm(client, outbox, address=PRIVATE, address_visibility="attendees")
    [event_id] = event_ids(app)
    rsvp(client, event_id, name="=cmd|' /C calc'!A0", email="x@example.org")
    rsvp(client, event_id, name="Ana", email="ana@example.org", share_with_host="y")
    [row] = read_csv(staff.get(f"/staff/days/{DAY}/events.csv"))
    assert row["id"] == str(event_id) and row["host_email"] == "aoife@example.org"
    assert row["address"] == PRIVATE and row["address_visibility"] == "attendees"
    assert row["starts_local"] == "2027-09-03T18:00:00+01:00" and row["timezone"] == "Europe/Dublin"
    assert row["attending"] == "2" and row["waiting"] == "0"
    rows = read_csv(staff.get(f"/staff/days/{DAY}/rsvps.csv"))
    assert [(r["name"], r["email"], r["share_with_host"]) for r in rows] == [
        ("'=cmd|' /C calc'!A0", "x@example.org", "no"),
        ("Ana", "ana@example.org", "yes"),
    ]
    audit = staff.get("/staff/audit").get_data(as_text=True)
    assert "day.export_events" in audit and "day.export_rsvps" in audit


def test_staff_edit_an_event_mails_attendees_and_is_audited(app, staff, client, make_day, outbox):
    make_day(approval=False)
    host_and_confirm(client, outbox)
    [event_id] = event_ids(app)
    rsvp(client, event_id, email="going@example.org")
    page = staff.get(f"/staff/events/{event_id}/edit")
    assert page.status_code == 200 and 'value="2027-09-03T18:00"' in page.get_data(as_text=True)
    fields = {
        "title": "Speak Out Dublin",
        "host_name": "Aoife Byrne",
        "mode": "in_person",
        "venue": "The Spire",
        "address": "O'Connell Street",
        "address_visibility": "public",
        "city": "Dublin",
        "country": "IE",
        "starts_at": "2027-09-03T18:30",
        "ends_at": "",
        "timezone": "",
    }
    response = staff_post(staff, f"/staff/events/{event_id}/edit", **fields)
    assert response.status_code == 303
    assert outbox()[-1]["to"] == "going@example.org" and "Changed" in outbox()[-1]["subject"]
    with app.app_context():
        event = db.session.get(Event, event_id)
        # Staff's own edit needs no second look.
        assert event.venue == "The Spire" and event.sequence == 1 and event.edited_at is None
    assert "event.edit" in staff.get("/staff/audit").get_data(as_text=True)


def test_a_host_edit_is_listed_for_review(app, staff, client, make_day, outbox):
    make_day(approval=False)
    mail = host_and_confirm(client, outbox)
    manage = mail_link(mail["body"], "events/manage")
    [event_id] = event_ids(app)
    assert edit(client, manage, description="Now with a choir.").status_code == 303
    queue = staff.get(f"/staff/days/{DAY}/events?state=edited").get_data(as_text=True)
    assert f'data-event-id="{event_id}"' in queue and "edited by the host" in queue
    staff_post(staff, f"/staff/events/{event_id}/reviewed")
    queue = staff.get(f"/staff/days/{DAY}/events?state=edited").get_data(as_text=True)
    assert f'data-event-id="{event_id}"' not in queue


def test_a_trusted_host_skips_approval(app, staff, client, make_day, outbox):
    make_day(approval=True)
    host_and_confirm(client, outbox)
    [first] = event_ids(app)
    assert state_of(app, first) == "pending"
    response = staff_post(staff, f"/staff/events/{first}/trust")
    assert response.status_code == 303
    assert state_of(app, first) == "approved"
    # Said once, by the staff layout.
    assert staff.get(response.location).get_data(as_text=True).count("Trusted host: Aoife") == 1
    # The same person, under another spelling of their address: straight onto the map.
    host_and_confirm(
        client, outbox, title="Speak Out Cork", city="Cork", host_email="AOIFE@example.org"
    )
    second = max(event_ids(app))
    assert state_of(app, second) == "approved"
    # Their edits are not marked for review.
    mail = outbox()
    manage = mail_link(
        next(m for m in mail if "Speak Out Cork" in m["subject"])["body"], "events/manage"
    )
    edit(client, manage, title="Speak Out Cork", city="Cork", description="Changed")
    with app.app_context():
        assert db.session.get(Event, second).edited_at is None
    listed = staff.get("/staff/trusted-hosts").get_data(as_text=True)
    assert "aoife@example.org" in listed
    with app.app_context():
        host_id = events.trusted_hosts()[0].id
    staff_post(staff, f"/staff/trusted-hosts/{host_id}/remove")
    host_and_confirm(
        client, outbox, title="Speak Out Limerick", city="Limerick", host_email="aoife@example.org"
    )
    assert state_of(app, max(event_ids(app))) == "pending"
    audit = staff.get("/staff/audit").get_data(as_text=True)
    assert "host.trust" in audit and "host.untrust" in audit


def test_a_held_host_is_not_published_even_when_trusted(app, staff, client, make_day, outbox):
    make_day(approval=True)
    host_and_confirm(client, outbox)
    [first] = event_ids(app)
    staff_post(staff, f"/staff/events/{first}/trust")
    # A bot trap tripped: held, whoever the host says they are.
    from tests.events.test_events import host

    token = csrf_token(client, f"/days/{DAY}/host")
    response = host(client, csrf_token=token, website="http://spam.example", title="Spam")
    assert response.status_code == 303
    held = max(event_ids(app))
    confirm = mail_link(outbox()[-1]["body"], "events/confirm")
    client.post(confirm, data={"csrf_token": csrf_token(client, confirm)})
    assert state_of(app, held) == "pending"
