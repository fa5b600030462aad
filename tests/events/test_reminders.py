"""Reminders the day before, at the local hour, in Dublin, Buenos Aires and Tokyo alike."""

import datetime as dt

import pytest
from sqlalchemy import select

from petition.core.extensions import db
from petition.events import reminders
from petition.events.models import Event, Rsvp
from tests.events.test_events import event_ids, host_and_confirm, rsvp


@pytest.mark.parametrize(
    ("city", "country", "date", "due_utc"),
    [
        # 10:00 Irish summer time the day before is 09:00 UTC.
        ("Dublin", "IE", "2027-09-03", dt.datetime(2027, 9, 2, 9, tzinfo=dt.UTC)),
        ("Buenos Aires", "AR", "2027-09-03", dt.datetime(2027, 9, 2, 13, tzinfo=dt.UTC)),
        ("Tokyo", "JP", "2027-09-03", dt.datetime(2027, 9, 2, 1, tzinfo=dt.UTC)),
        # The day before is the day the clocks go forward (28 March): 10:00 is then summer time.
        ("Dublin", "IE", "2027-03-29", dt.datetime(2027, 3, 28, 9, tzinfo=dt.UTC)),
        # The day before the clocks go back (31 October): still summer time on the 30th.
        ("Dublin", "IE", "2027-10-31", dt.datetime(2027, 10, 30, 9, tzinfo=dt.UTC)),
    ],
)
def test_reminders_fall_the_day_before_at_the_local_hour(
    app, client, make_day, outbox, city, country, date, due_utc
):
    make_day(approval=False, starts=dt.date.fromisoformat(date))
    host_and_confirm(client, outbox, city=city, country=country, starts_at=f"{date}T18:00",
                     ends_at=None)  # fmt: skip
    [event_id] = event_ids(app)
    rsvp(client, event_id, email="going@example.org")
    rsvp(client, event_id, email="left@example.org")
    before = len(outbox())
    with app.app_context():
        left = db.session.execute(select(Rsvp).where(Rsvp.email == "left@example.org")).scalar_one()
        left.state = "cancelled"
        db.session.commit()
        assert reminders.reminder_time(db.session.get(Event, event_id), 10) == due_utc
        db.session.rollback()
        assert reminders.due_reminders(app.config, now=due_utc - dt.timedelta(minutes=1)) == 0
        assert reminders.due_reminders(app.config, now=due_utc) == 1
        # Claimed: a second run, or a second worker, sends nothing more.
        assert reminders.due_reminders(app.config, now=due_utc + dt.timedelta(hours=1)) == 0
    mails = outbox()[before:]
    assert [m["to"] for m in mails] == ["going@example.org"]
    assert "Tomorrow" in mails[0]["subject"]
    assert "/rsvp/cancel/" in mails[0]["body"]
