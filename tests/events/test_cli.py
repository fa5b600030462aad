"""`flask days create` and `flask events list|approve|reject`."""

import re

from sqlalchemy import select

from petition.core.extensions import db
from petition.events.models import DayOfAction
from tests.events.test_events import event_ids, host_and_confirm, state_of


def test_days_create_and_events_moderation(app, client, outbox, tmp_path):
    runner = app.test_cli_runner()
    toolkit = tmp_path / "toolkit.md"
    toolkit.write_text("1. **Find a good place**\n", encoding="utf-8")
    result = runner.invoke(
        args=[
            "days",
            "create",
            "global-speak-out",
            "--title",
            "Global Speak Out",
            "--starts",
            "2027-09-03",
            "--toolkit-file",
            str(toolkit),
            "--requirement",
            "I will check the permit",
            "--open",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        day = db.session.execute(select(DayOfAction)).scalar_one()
        assert (day.state, str(day.ends_on), day.requirement_list) == (
            "open",
            "2027-09-03",
            ["I will check the permit"],
        )
    again = runner.invoke(
        args=["days", "create", "global-speak-out", "--title", "x", "--starts", "2027-09-03"]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    backwards = runner.invoke(
        args=[
            "days",
            "create",
            "later",
            "--title",
            "x",
            "--starts",
            "2027-09-03",
            "--ends",
            "2027-09-01",
        ]
    )
    assert backwards.exit_code != 0

    host_and_confirm(client, outbox)
    host_and_confirm(
        client, outbox, title="Speak Out Cork", city="Cork", host_email="b@example.org"
    )
    first, second = event_ids(app)
    listed = runner.invoke(args=["events", "list", "global-speak-out", "--state", "pending"])
    lines = listed.output.splitlines()
    assert [int(re.match(r"\d+", line).group()) for line in lines if line[:1].isdigit()] == [
        first,
        second,
    ]
    assert "2027-09-03 18:00 Europe/Dublin" in lines[0]

    assert runner.invoke(args=["events", "approve", str(first)]).exit_code == 0
    assert state_of(app, first) == "approved"
    assert runner.invoke(args=["events", "approve", str(first)]).exit_code != 0
    result = runner.invoke(args=["events", "reject", str(second), "--reason", "No exact place."])
    assert result.exit_code == 0
    assert state_of(app, second) == "rejected"
    assert "No exact place." in outbox()[-1]["body"]
    assert runner.invoke(args=["events", "approve", "999999"]).exit_code != 0
