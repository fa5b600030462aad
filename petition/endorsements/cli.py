"""`flask endorsements ...`: staff add, list and approve endorsers from the terminal."""

import click
from flask import current_app
from flask.cli import AppGroup

from petition.core import countries, uploads
from petition.core.db import StateError
from petition.core.extensions import db
from petition.core.forms import clean_text
from petition.endorsements import operations as endorsements
from petition.endorsements.models import ENDORSEMENT_STATES, Endorsement
from petition.jobs import runner as jobs
from petition.staff import auth


@click.group("endorsements", cls=AppGroup)
def endorsements_group():
    """Organisations endorsing a petition or a day of action."""


def target_option(function):
    function = click.option("--day", "day_slug", help="The day of action's slug.")(function)
    return click.option("--petition", "petition_slug", help="The petition's slug.")(function)


def find_target(petition_slug, day_slug):
    if bool(petition_slug) == bool(day_slug):
        raise click.UsageError("give one of --petition or --day")
    target = endorsements.find_target(petition_slug, day_slug, public=False)
    if target is None:
        kind, slug = ("petition", petition_slug) if petition_slug else ("day of action", day_slug)
        raise click.ClickException(f"no {kind} {slug!r}")
    return target


@endorsements_group.command("add")
@target_option
@click.option("--name", required=True, help="The organisation's name, in any script.")
@click.option("--website", default="", help="Its website (https:// may be left out).")
@click.option("--country", default="", help="ISO 3166-1 alpha-2 code, e.g. GB.")
@click.option("--statement", default="", help="A sentence or two, shown on the page.")
@click.option(
    "--logo", "logo_file", type=click.File("rb"), help="A PNG, JPEG or WebP (re-encoded)."
)
def add(petition_slug, day_slug, name, website, country, statement, logo_file):
    """Add an endorser, approved at once (merged into its entry if it has one)."""
    target = find_target(petition_slug, day_slug)
    name = clean_text(name)
    if not name or len(name) > 200:
        raise click.BadParameter("1 to 200 characters", param_hint="--name")
    country = country.strip().upper()
    if country and country not in countries.CODES:
        raise click.BadParameter(f"{country!r} is not an ISO 3166-1 code", param_hint="--country")
    try:
        url, domain = endorsements.normalize_website(website)
    except endorsements.WebsiteError as exc:
        raise click.BadParameter(str(exc.message), param_hint="--website") from exc
    config = current_app.config
    logo = None
    if logo_file is not None:
        try:
            logo = endorsements.store_logo(logo_file.read(), config)
        except uploads.UploadError as exc:
            raise click.BadParameter(str(exc.message), param_hint="--logo") from exc
    data = endorsements.EndorsementData(
        name=name, website=url, domain=domain, country=country, statement=statement.strip()
    )
    with endorsements.logo_kept_if_committed(logo, config):
        entry, merged = endorsements.add_by_staff(target, data, config, logo=logo, added_by="cli")
        action = "endorsement.merge" if merged else "endorsement.add"
        auth.audit(action, petition_id=entry.petition_id, endorsement_id=entry.id, name=name)
        db.session.commit()
    jobs.wake(current_app)
    verb = "merged into" if merged else "added as"
    click.echo(f"{entry.id}\t{verb} #{entry.id}: {entry.name} (approved)")


@endorsements_group.command("list")
@target_option
@click.option("--state", type=click.Choice(ENDORSEMENT_STATES), help="Only this state.")
def list_endorsements(petition_slug, day_slug, state):
    """One line per endorsement: id, state, name, website, country (tab-separated)."""
    target = find_target(petition_slug, day_slug)
    query = db.select(Endorsement).where(endorsements.target_filter(target))
    if state:
        query = query.where(Endorsement.state == state)
    for e in db.session.execute(query.order_by(Endorsement.id)).scalars():
        repeat = f"\trepeat of {e.repeat_of_id}" if e.repeat_of_id else ""
        click.echo(f"{e.id}\t{e.state}\t{e.name}\t{e.website}\t{e.country}{repeat}")


@endorsements_group.command("approve")
@click.argument("endorsement_id", type=int)
def approve(endorsement_id):
    """Approve an endorsement that came through the form (a repeat merges into its entry)."""
    endorsement = db.session.get(Endorsement, endorsement_id)
    if endorsement is None:
        raise click.ClickException(f"no endorsement {endorsement_id}")
    repeat = endorsement.repeat_of_id is not None
    try:
        entry = endorsements.approve(endorsement, current_app.config)
    except StateError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    auth.audit(
        "endorsement.merge" if repeat else "endorsement.approve",
        petition_id=entry.petition_id,
        endorsement_id=endorsement_id,
        name=entry.name,
    )
    db.session.commit()
    jobs.wake(current_app)
    done = f"merged into #{entry.id}" if repeat else "approved"
    click.echo(f"{endorsement_id}\t{done}: {entry.name}")
