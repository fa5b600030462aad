"""flask commands: petitions, signatures, demo, worker."""

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from . import counting, jobs, milestones
from .extensions import db
from .models import Milestone, Petition


def parse_milestone(value):
    """N or N:LABEL, N a positive integer (underscores and commas allowed: 300_000)."""
    count_text, _, label = value.partition(":")
    try:
        count = int(count_text.replace(",", "").replace("_", ""))
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected N or N:LABEL") from None
    if count <= 0:
        raise click.BadParameter(f"{value!r}: the count must be positive")
    return count, label.strip() or f"{count:,} signatures"


def create_petition(slug, title, target, text="", milestones=(), open_it=False, **fields):
    """Add a petition with milestones to the session; the caller commits."""
    petition = Petition(slug=slug, title=title, target=target, text=text, **fields)
    for count, label in milestones:
        petition.milestones.append(Milestone(count=count, label=label))
    if open_it:
        petition.open()
    db.session.add(petition)
    return petition


def register(app):
    app.cli.add_command(staff)
    app.cli.add_command(petitions)
    app.cli.add_command(signatures)
    app.cli.add_command(demo)
    app.cli.add_command(worker)
    app.cli.add_command(privacy)
    from .delivery.cli import delivery

    app.cli.add_command(delivery)


@click.group(cls=AppGroup)
def staff():
    """Staff accounts."""


@staff.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "campaigner"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_create(email, role, password_stdin):
    """Create a staff account; the password comes from a prompt or standard input."""
    import sys

    from .auth import AccountError, create_staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        account = create_staff(email, password, role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.flush()
    from .auth import audit

    audit("staff.create", staff=None, email=account.email, role=role, via="cli")
    db.session.commit()
    click.echo(f"created {role} {account.email}")


@staff.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_password(email, password_stdin):
    """Set an account's password and log out its sessions (for an admin locked out of all)."""
    import sys

    from .auth import AccountError, audit, set_password, staff_by_email

    account = staff_by_email(email)
    if account is None:
        raise click.ClickException(f"there is no staff account for {email.strip().lower()}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        set_password(account, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    audit("staff.password_reset", staff=None, email=account.email, via="cli")
    db.session.commit()
    click.echo(f"new password set for {account.email}; its sessions are logged out")


@click.group(cls=AppGroup)
def petitions():
    """Create and manage petitions."""


@petitions.command("create")
@click.argument("slug")
@click.option("--title", required=True)
@click.option("--target", required=True, help="Who receives the petition.")
@click.option("--text-file", type=click.File("r", encoding="utf-8"), help="Markdown text.")
@click.option("--milestone", "milestones", multiple=True, metavar="N[:LABEL]")
@click.option("--hashtag", help="Used in share links, e.g. '#SpeakOut'.")
@click.option("--open", "open_it", is_flag=True, help="Open for signatures now.")
def petitions_create(slug, title, target, text_file, milestones, hashtag, open_it):
    """Create a petition."""
    import re

    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug) or len(slug) > 100:
        raise click.BadParameter("lower-case letters, digits and single hyphens", param_hint="SLUG")
    parsed = sorted({parse_milestone(m) for m in milestones})
    if len({c for c, _ in parsed}) != len(parsed):
        raise click.BadParameter("two milestones share a count", param_hint="--milestone")
    exists = db.session.execute(select(Petition.id).where(Petition.slug == slug)).scalar()
    if exists:
        raise click.ClickException(f"a petition with the slug {slug!r} already exists")
    text = text_file.read() if text_file else ""
    create_petition(slug, title, target, text, parsed, open_it, hashtag=hashtag)
    db.session.commit()
    state = "open" if open_it else "draft"
    click.echo(f"created {slug} ({state}) with {len(parsed)} milestone(s)")


@click.group(cls=AppGroup)
def signatures():
    """Work on signatures."""


@signatures.command("recount")
@click.argument("slug", required=False)
def signatures_recount(slug):
    """Recompute counts and milestones from the signature rows."""
    query = select(Petition).order_by(Petition.id)
    if slug:
        query = query.where(Petition.slug == slug)
    found = db.session.execute(query).scalars().all()
    if slug and not found:
        raise click.ClickException(f"no petition with the slug {slug!r}")
    for petition in found:
        before = petition.signature_count
        after, reached = counting.recount(petition)
        if reached:
            milestones.announce(reached, current_app.config)
        db.session.commit()
        click.echo(f"{petition.slug}: {after} (was {before})")


@signatures.command("import")
@click.argument("slug")
@click.argument("path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Lines per transaction.",
)
def signatures_import(slug, path, batch_size):
    """Import signatures from CSV as confirmed, deduplicated; rerun the same file to resume.

    The header is name,email,country,city,postcode,created_at. No mail is sent.
    """
    import contextlib
    import sys

    from .imports import ImportFileError, import_csv

    petition = db.session.execute(
        select(Petition).where(Petition.slug == slug)
    ).scalar_one_or_none()
    if petition is None:
        raise click.ClickException(f"no petition with the slug {slug!r}")
    with contextlib.ExitStack() as stack:
        bar = None
        done = 0

        def progress(line, lines):
            nonlocal bar, done
            if bar is None:
                bar = stack.enter_context(
                    click.progressbar(
                        length=lines, label="Importing", show_pos=True, file=sys.stderr
                    )
                )
            bar.update(line - done)
            done = line

        try:
            report = import_csv(petition, path, batch_size=batch_size, progress=progress)
        except ImportFileError as exc:
            raise click.ClickException(str(exc)) from None
    print_import_report(report)


# Rejected lines printed at most; the rest are counted.
REPORT_LINES = 50


def print_import_report(report):
    if report.already_imported:
        when = report.finished_at.strftime("%Y-%m-%d %H:%M UTC")
        click.echo(f"this file was already imported on {when}; nothing to do. Its report:")
    elif report.resumed_after is not None:
        click.echo(f"resumed after line {report.resumed_after} (an earlier run stopped there)")
    click.echo(f"inserted: {report.inserted}")
    click.echo(f"duplicates: {report.duplicates}")
    click.echo(f"rejected: {report.rejected}")
    for line, reason in report.rejections[:REPORT_LINES]:
        click.echo(f"  line {line}: {reason}")
    more = report.rejected - min(len(report.rejections), REPORT_LINES)
    if more > 0:
        click.echo(f"  ... and {more} more")


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
    from .privacy import erase_ips

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
    from .privacy import PrivacyError, anonymise_petition, check_anonymisable

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
    from .privacy import anonymise_due

    days = after_days if after_days is not None else int(current_app.config["ANONYMISE_AFTER_DAYS"])
    results = anonymise_due(days)
    for slug, done in results:
        click.echo(f"{slug}: anonymised {done} signature(s)")
    total = sum(done for _, done in results)
    click.echo(
        f"{len(results)} petition(s) due (last delivery over {days} day(s) ago), "
        f"{total} signature(s) anonymised"
    )


@privacy.command("erase-person")
@click.argument("email")
@click.option("--petition", "slug", help="Only this petition's signature.")
def privacy_erase_person(email, slug):
    """A data-subject request: anonymise and withdraw a person's signatures, drop unsent mail."""
    from .privacy import erase_person
    from .signing import InvalidEmail

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


@click.command()
@with_appcontext
def demo():
    """Create the demo petition with milestones and a few hundred signatures."""
    from .demo import create_demo

    created, petition = create_demo()
    db.session.commit()
    if created:
        click.echo(f"demo petition created: /petitions/{petition.slug}")
    else:
        click.echo(f"demo petition already there: /petitions/{petition.slug}")


@click.command()
@with_appcontext
@click.option(
    "--once",
    "--burst",
    "once",
    is_flag=True,
    help="Send and run what is due now, then exit (under RQ: sweep, then empty the queues).",
)
@click.option(
    "--queues",
    default="mail,jobs",
    show_default=True,
    help="Under RQ: which queues this worker serves, in priority order (mail, jobs).",
)
def worker(once, queues):
    """Send queued mail and run background jobs until stopped (SIGINT or SIGTERM).

    With REDIS_URL set this is an RQ worker; without it, threads polling the tables.
    """
    from . import queue

    app = current_app._get_current_object()
    if app.config["REDIS_URL"]:
        kinds = [k.strip() for k in queues.split(",") if k.strip()]
        unknown = sorted(set(kinds) - set(queue.KINDS))
        if unknown or not kinds:
            raise click.BadParameter(
                f"expected a comma-separated list of {', '.join(queue.KINDS)}",
                param_hint="--queues",
            )
        click.echo(
            f"worker: RQ queues {', '.join(kinds)} on Redis; mail via {app.config['MAIL_BACKEND']}",
            err=True,
        )
        # A plain loop of Redis BLPOP, not per-process threads: the signal handlers are RQ's.
        queue.run_worker(app, kinds, burst=once)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"worker: mail via {app.config['MAIL_BACKEND']}", err=True)
    jobs.run_worker(app, stop, once=once)
