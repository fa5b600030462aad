"""`flask privacy ...`"""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from petition.core.extensions import db
from petition.petitions.models import Petition


@click.group(cls=AppGroup)
def privacy():
    """Privacy: erase IP addresses, anonymise delivered petitions, erase a person's data."""


@privacy.command("erase-ips")
@click.option(
    "--older-than-days",
    type=click.IntRange(0),
    help="Default: the IP_RETENTION_DAYS setting.",
)
def privacy_erase_ips(older_than_days):
    """Clear the client IP of signatures older than N days (batched; safe to rerun)."""
    from petition.privacy.operations import erase_ips

    days = older_than_days
    if days is None:
        days = int(current_app.config["IP_RETENTION_DAYS"])
    erased = erase_ips(days)
    click.echo(f"erased the IP address of {erased} signature(s) older than {days} day(s)")


@privacy.command("anonymise")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def privacy_anonymise(slug, yes):
    """Replace every signer's personal data on a closed, delivered petition (irreversible)."""
    from petition.privacy.operations import PrivacyError, anonymise_petition, check_anonymisable

    petition = db.session.execute(
        select(Petition).where(Petition.slug == slug)
    ).scalar_one_or_none()
    if petition is None:
        raise click.ClickException(f"no petition with the slug {slug!r}")
    try:
        check_anonymisable(petition)
        if not yes:
            click.confirm(f"Anonymise every signature of {slug}? This cannot be undone", abort=True)
        done = anonymise_petition(petition)
    except PrivacyError as exc:
        raise click.ClickException(str(exc)) from None
    if done:
        click.echo(f"{slug}: anonymised {done} signature(s)")
    else:
        click.echo(f"{slug}: nothing to do, already anonymised")


@privacy.command("anonymise-due")
@click.option(
    "--after-days",
    type=click.IntRange(0),
    help="Default: the ANONYMISE_AFTER_DAYS setting.",
)
def privacy_anonymise_due(after_days):
    """Anonymise every closed petition last delivered more than N days ago (for cron)."""
    from petition.privacy.operations import anonymise_due

    days = after_days if after_days is not None else int(current_app.config["ANONYMISE_AFTER_DAYS"])
    results = anonymise_due(days)
    for slug, done in results:
        click.echo(f"{slug}: anonymised {done} signature(s)")
    total = sum(done for _, done in results)
    click.echo(
        f"{len(results)} petition(s) due (last delivery over {days} day(s) ago), "
        f"{total} signature(s) anonymised"
    )
    from petition.privacy.operations import anonymise_days_due

    event_days = int(current_app.config["EVENT_ANONYMISE_AFTER_DAYS"])
    for done in anonymise_days_due(event_days):
        click.echo(f"day {done.slug}: anonymised {done.rsvps} RSVP(s) and {done.hosts} host(s)")


@privacy.command("erase-person")
@click.argument("email")
@click.option("--petition", "slug", help="Only this petition's signature.")
def privacy_erase_person(email, slug):
    """A data-subject request: anonymise and withdraw a person's signatures, drop unsent mail."""
    from petition.core.emails import InvalidEmail
    from petition.privacy.operations import erase_person

    petition = None
    if slug:
        petition = db.session.execute(
            select(Petition).where(Petition.slug == slug)
        ).scalar_one_or_none()
        if petition is None:
            raise click.ClickException(f"no petition with the slug {slug!r}")
    try:
        report = erase_person(email, petition)
    except InvalidEmail as exc:
        raise click.ClickException(f"not an email address: {exc}") from None
    where = ", ".join(report.petitions) or "none"
    click.echo(f"signatures erased: {report.signatures} (petitions: {where})")
    click.echo(f"withdrawn: {report.withdrawn}, taken off the count: {report.uncounted}")
    click.echo(f"link tokens deleted: {report.tokens}, unsent mails deleted: {report.outbox}")
    if report.endorsements:
        click.echo(f"endorsements whose contact was erased: {report.endorsements}")
    if report.events is not None:
        found = report.events
        click.echo(
            f"RSVPs erased: {found.rsvps}; events hosted: {found.hosted} "
            f"({found.cancelled} cancelled, {found.photos} photo(s) deleted)"
        )
