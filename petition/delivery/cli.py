"""`flask delivery pdf SLUG --out FILE.pdf [--since-last]`: build and record a bundle."""

import sys
import time

import click
from flask.cli import AppGroup
from sqlalchemy import select

from petition.core.extensions import db
from petition.delivery.build import PROCESSES, DeliveryError, build_delivery
from petition.petitions.models import Petition


@click.group(cls=AppGroup)
def delivery():
    """Delivery bundles for a petition's target."""


class Progress:
    """A progress bar on a terminal; elsewhere (logs, CI) a line every few seconds."""

    def __init__(self, stream=None, every=2.0):
        self.stream = stream or sys.stderr
        self.every = every
        self.bar = None
        self.shown = 0
        self.last_line = 0.0
        self.last_message = None

    def __call__(self, done, total, message):
        if self.stream.isatty():
            if self.bar is None:
                self.bar = click.progressbar(
                    length=max(total, 1), label="Building", show_pos=True, file=self.stream
                )
                self.bar.__enter__()
            self.bar.update(done - self.shown)
            self.shown = done
            return
        now = time.monotonic()
        phase_changed = not message.startswith("Drew") or not (self.last_message or "").startswith(
            "Drew"
        )
        if phase_changed or now - self.last_line >= self.every or done == total:
            click.echo(message, err=True)
            self.last_line = now
        self.last_message = message

    def close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@delivery.command("pdf")
@click.argument("slug")
@click.option(
    "--out", required=True, metavar="FILE.pdf", type=click.Path(dir_okay=False, writable=True)
)
@click.option(
    "--since-last",
    is_flag=True,
    help="Only the signatures that came after the last delivery of this petition.",
)
@click.option(
    "--processes",
    default=PROCESSES,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Worker processes drawing pages.",
)
@click.option(
    "--language",
    "languages",
    multiple=True,
    metavar="LANG",
    help="Print the cover letter in LANG (repeat for several; the first also gives the "
    "headings' language). Default: the petition's own.",
)
def delivery_pdf(slug, out, since_last, processes, languages):
    """Build the delivery bundle of a petition as a PDF, and record the delivery."""
    petition = db.session.execute(
        select(Petition).where(Petition.slug == slug)
    ).scalar_one_or_none()
    if petition is None:
        raise click.ClickException(f"no petition with the slug {slug!r}")
    progress = Progress()
    try:
        result = build_delivery(
            petition,
            out,
            since_last=since_last,
            created_by="cli",
            progress=progress,
            processes=processes,
            languages=[code.strip().lower() for code in languages] or None,
        )
    except DeliveryError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        progress.close()
    click.echo(f"delivery {result.number} of {slug}: {result.path}")
    click.echo(f"rows: {result.rows}")
    click.echo(f"pages: {result.pages}")
    click.echo(f"sha256: {result.sha256}")
    click.echo(f"signature ids: {result.first_signature_id} < id <= {result.last_signature_id}")
    click.echo(f"characters no font could print: {result.uncovered_summary()}")
    click.echo(f"seconds: {result.seconds:.1f}")
