"""`flask petitions ...` and `flask signatures recount`."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from petition.core.extensions import db
from petition.petitions import counting, milestones, snapshots, texts
from petition.petitions.manage import create_petition
from petition.petitions.models import Petition


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
@click.option(
    "--language", default="en", show_default=True, help="The language the title and text are in."
)
@click.option("--open", "open_it", is_flag=True, help="Open for signatures now.")
def petitions_create(slug, title, target, text_file, milestones, hashtag, language, open_it):
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
    language = language.strip().lower()
    if language not in current_app.config["LANGUAGES"]:
        raise click.BadParameter(
            f"one of {', '.join(current_app.config['LANGUAGES'])}", param_hint="--language"
        )
    text = text_file.read() if text_file else ""
    create_petition(slug, title, target, text, parsed, open_it, hashtag=hashtag, language=language)
    db.session.commit()
    state = "open" if open_it else "draft"
    click.echo(f"created {slug} ({state}) with {len(parsed)} milestone(s)")


@petitions.command("translate")
@click.argument("slug")
@click.argument("language")
@click.option("--title", required=True, help="The title in LANGUAGE.")
@click.option("--text-file", type=click.File("r", encoding="utf-8"), help="Markdown text.")
@click.option(
    "--cover-letter-file",
    type=click.File("r", encoding="utf-8"),
    help="The delivery bundle's cover letter in LANGUAGE (Markdown).",
)
@click.option("--share-text", help="What share links say beside the link.")
@click.option("--hashtag", help="The hashtag in LANGUAGE (default: the petition's).")
def petitions_translate(slug, language, title, text_file, cover_letter_file, share_text, hashtag):
    """Publish a petition in another LANGUAGE (one count for all), or update that version.

    Options left out keep what the version had."""
    petition = db.session.execute(select(Petition).where(Petition.slug == slug)).scalar()
    if petition is None:
        raise click.ClickException(f"no petition with the slug {slug!r}")
    existed = petition.translation(language.strip().lower()) is not None
    try:
        texts.publish(
            petition,
            language,
            current_app.config["LANGUAGES"],
            title=title,
            text=text_file.read() if text_file else None,
            cover_letter=cover_letter_file.read() if cover_letter_file else None,
            share_text=share_text,
            hashtag=hashtag,
        )
    except texts.TranslationError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    snapshots.forget(slug)
    verb = "updated" if existed else "published"
    click.echo(f"{slug}: {verb} in {language.strip().lower()} ({', '.join(petition.languages)})")


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
