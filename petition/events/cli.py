"""`flask days ...` and `flask events ...`."""

import re

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from petition.core.db import StateError
from petition.core.extensions import db
from petition.events import operations as events
from petition.events.models import EVENT_STATES, DayOfAction, Event
from petition.petitions.models import Petition


@click.group(cls=AppGroup)
def days():
    """Days of action."""


@days.command("create")
@click.argument("slug")
@click.option("--title", required=True)
@click.option("--starts", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--ends", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD (default: --starts)")
@click.option("--petition", "petition_slug", help="The petition the day belongs to.")
@click.option("--toolkit-file", type=click.File("r", encoding="utf-8"), help="Markdown for hosts.")
@click.option("--requirement", "requirements", multiple=True, help="A line hosts must tick.")
@click.option("--slogan", "slogans", multiple=True, help="A poster slogan.")
@click.option("--no-approval", is_flag=True, help="Publish events once the host confirms.")
@click.option("--open", "open_it", is_flag=True, help="Take events now.")
def days_create(
    slug,
    title,
    starts,
    ends,
    petition_slug,
    toolkit_file,
    requirements,
    slogans,
    no_approval,
    open_it,
):
    """Create a day of action."""
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug) or len(slug) > 100:
        raise click.BadParameter("lower-case letters, digits and single hyphens", param_hint="SLUG")
    if db.session.execute(select(DayOfAction.id).where(DayOfAction.slug == slug)).scalar():
        raise click.ClickException(f"a day of action with the slug {slug!r} already exists")
    petition = None
    if petition_slug:
        petition = db.session.execute(
            select(Petition).where(Petition.slug == petition_slug)
        ).scalar_one_or_none()
        if petition is None:
            raise click.ClickException(f"no petition {petition_slug!r}")
    try:
        day = events.create_day(
            slug,
            title,
            starts.date(),
            ends.date() if ends else None,
            petition=petition,
            toolkit=toolkit_file.read() if toolkit_file else "",
            requirements=requirements,
            slogans=slogans,
            approval_required=not no_approval,
            state="open" if open_it else "draft",
        )
    except StateError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {day.slug} ({day.state}), {day.starts_on} to {day.ends_on}")


@click.group(cls=AppGroup, name="events")
def events_group():
    """Hosted events: list and moderate."""


@events_group.command("list")
@click.argument("day_slug")
@click.option("--state", type=click.Choice(EVENT_STATES))
def events_list(day_slug, state):
    """One line per event, beginning with its id."""
    day = events.day_by_slug(day_slug, public=False)
    if day is None:
        raise click.ClickException(f"no day of action {day_slug!r}")
    query = select(Event).where(Event.day_id == day.id).order_by(Event.id)
    if state:
        query = query.where(Event.state == state)
    for event in db.session.execute(query).scalars():
        start = events.local(event.starts_at, event.timezone)
        held = " held" if event.held_reason else ""
        click.echo(
            f"{event.id}\t{event.state}{held}\t{start:%Y-%m-%d %H:%M} {event.timezone}\t"
            f"{event.country}\t{event.city}\t{event.title}"
        )


def get_event(event_id):
    event = db.session.get(Event, event_id)
    if event is None:
        raise click.ClickException(f"no event {event_id}")
    return event


@events_group.command("approve")
@click.argument("event_id", type=click.IntRange(1, 2**31 - 1))
def events_approve(event_id):
    """Put a pending event on the map (its host is mailed)."""
    event = get_event(event_id)
    try:
        events.approve(event, current_app.config)
    except StateError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"approved event {event.id}")


@events_group.command("reject")
@click.argument("event_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--reason", required=True, help="Mailed to the host.")
def events_reject(event_id, reason):
    """Reject a pending event; the reason is mailed to its host."""
    event = get_event(event_id)
    try:
        events.reject(event, reason, current_app.config)
    except StateError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"rejected event {event.id}")
