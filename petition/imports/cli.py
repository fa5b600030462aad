"""`flask signatures import`."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from petition.core.extensions import db
from petition.petitions.models import Petition


@click.command("import")
@with_appcontext
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

    from petition.imports import ImportFileError, import_csv

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
