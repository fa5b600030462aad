"""`flask delivery pdf SLUG --out FILE.pdf`: build and record a bundle; `flask delivery verify`."""

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
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Build even when no installed font prints some names' script (they print as boxes).",
)
def delivery_pdf(slug, out, since_last, processes, languages, allow_missing):
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
            allow_missing=allow_missing,
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


@delivery.command("verify")
@click.argument("path", metavar="FILE.pdf", type=click.Path(exists=True, dir_okay=False))
def delivery_verify(path):
    """Check a bundle: its attached rows against the hash, row and page counts it states, and
    against the delivery recorded here. Exit 1 when a check fails."""
    # Imported here: `python -m petition.delivery.verify` must find it not yet imported.
    from petition.delivery import verify

    try:
        checks = verify.verify(path)
    except verify.BundleError as error:
        raise click.ClickException(f"not a readable bundle: {error}") from None
    if any(c.name == "hash" for c in checks):
        checks.append(recorded(path))
    if not verify.report(checks):
        raise SystemExit(1)


def recorded(path):
    """Whether a delivery recorded here has this bundle's hash, rows and pages."""
    from petition.delivery import verify
    from petition.delivery.models import Delivery

    found = verify.stated(path)
    # Two deliveries of the same rows share a hash (a bundle built again, or in other languages).
    deliveries = (
        db.session.execute(
            select(Delivery).where(Delivery.sha256 == found["sha256"]).order_by(Delivery.number)
        )
        .scalars()
        .all()
    )
    if not deliveries:
        return verify.Check("record", False, "no delivery with this hash is recorded here")
    for delivery in deliveries:
        if (delivery.rows, delivery.pages) == (found["rows"], found["pages"]):
            return verify.Check(
                "record", True, f"delivery {delivery.number} of {delivery.created_at:%Y-%m-%d}"
            )
    numbers = ", ".join(str(d.number) for d in deliveries)
    return verify.Check(
        "record", False, f"deliveries {numbers} have this hash but other row or page counts"
    )
