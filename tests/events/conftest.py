"""Fixtures of the events tests."""

import datetime as dt

import pytest

from petition.core.extensions import db
from petition.events import operations as events

DAY = "global-speak-out"


@pytest.fixture
def make_day(app):
    def make(
        slug=DAY,
        approval=True,
        requirements=("I will check whether a permit is needed",),
        starts=dt.date(2027, 9, 3),
        ends=None,
        state="open",
    ):
        with app.app_context():
            day = events.create_day(
                slug,
                "Global Speak Out",
                starts,
                ends,
                toolkit="1. **Find a place**",
                requirements=requirements,
                approval_required=approval,
                state=state,
            )
            db.session.commit()
            return day.id

    return make
