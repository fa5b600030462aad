"""Public pages: petitions, signing, confirming, withdrawing."""

from urllib.parse import quote

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from petition.abuse import defences as abuse
from petition.core import db_setup
from petition.core.extensions import db, limiter
from petition.core.forms import clean_source
from petition.core.i18n import current_language, use_default_language
from petition.core.urls import petition_url, public_url, with_language
from petition.endorsements import operations as endorsements
from petition.events import operations as events
from petition.jobs import runner as jobs
from petition.petitions import cards as petition_cards
from petition.petitions import counting, texts
from petition.petitions.models import Petition
from petition.signing import operations as signing
from petition.signing.forms import SignForm

bp = Blueprint("public", __name__)


def public_petition(slug):
    """An open or closed petition by slug, as the reader sees it (texts.Localized); drafts and
    unknown slugs are 404. A reader who names no language we serve reads the petition's own."""
    petition = db.session.execute(
        select(Petition)
        .where(Petition.slug == slug, Petition.state != "draft")
        .options(selectinload(Petition.translations))
    ).scalar_one_or_none()
    if petition is None:
        abort(404)
    use_default_language(petition.language)
    return texts.localized(petition, current_language())


def commit_and_wake():
    """The request's one commit point; mail queued in it leaves only after it."""
    db.session.commit()
    jobs.wake(current_app)


# One budget per client address for the confirm and withdraw pages, GET and POST together
# (CONFIRM_LIMIT). Signing has no request limit: its defences hold signatures (abuse/defences.py).
link_limit = limiter.shared_limit(lambda: current_app.config["CONFIRM_LIMIT"], scope="links")


@bp.after_request
def no_store(response):
    # Every page here carries a CSRF token or a personal outcome: never cache or share them.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index():
    petitions = (
        db.session.execute(
            select(Petition)
            .where(Petition.state == "open")
            .order_by(Petition.created_at.desc())
            .options(selectinload(Petition.translations))
        )
        .scalars()
        .all()
    )
    language = current_language()
    return render_template(
        "signing/index.html", petitions=[texts.localized(p, language) for p in petitions]
    )


@bp.get("/petitions/<slug>")
def petition(slug):
    petition = public_petition(slug)
    form = SignForm(language=current_language())
    source = request.args.get("source") or request.args.get("utm_source")
    form.source.data = clean_source(source)
    form.t.data = abuse.form_time(current_app.config)
    return render_petition(petition, form)


def render_petition(petition, form, status=200, closed_message=None):
    return (
        render_template(
            "signing/petition.html",
            petition=petition,
            form=form,
            goal=counting.goal(petition),
            next_milestone=counting.next_milestone(petition),
            closed_message=closed_message,
            share=share_links(petition),
            embed_snippets=embed_snippets(petition),
            day=events.day_for_petition(petition.id),
            endorsers=endorsements.listed(petition),
        ),
        status,
    )


def embed_snippets(petition):
    """Copy-paste code for partner sites: the script, the iframe and the badge."""
    config = current_app.config
    page = petition_url(config, petition)
    badge = public_url(config, "petitions", petition.slug, "badge.svg")
    title = escape(petition.title)
    return [
        (
            "script",
            _('Widget (updates itself; add data-theme="dark" for the dark look)'),
            f'<div data-petition="{petition.slug}"></div>\n'
            f'<script src="{public_url(config, "embed", "widget.js")}" async></script>',
        ),
        (
            "iframe",
            _("Frame, where scripts are not allowed"),
            f'<iframe src="{public_url(config, "embed", petition.slug)}" title="{title}" '
            f'width="100%" height="230" style="border:0"></iframe>',
        ),
        (
            "badge",
            _("Badge for emails and READMEs (Markdown)"),
            f"[![{petition.title}]({badge})]({page})",
        ),
    ]


@bp.post("/petitions/<slug>/sign")
def sign(slug):
    db_setup.read_before_writing()
    # The petition's id and title from a per-process card: whether it is open is checked again
    # by the insert itself (petition/signing/insert.py).
    card = petition_cards.get(slug)
    if card is None:
        abort(404)
    use_default_language(card.language)
    form = SignForm(language=current_language())
    if not form.validate():
        return render_petition(public_petition(slug), form, status=400)
    data = signing.SignData(
        name=form.name.data,
        email=form.checked_email,
        country=form.country.data,
        city=form.city.data,
        postcode=form.postcode.data,
        updates=form.updates.data,
        source=form.source.data,
        locale=current_language(),
        ip=request.remote_addr,
    )
    form_meta = {"honeypot": form.website.data, "t": form.t.data}
    hold = abuse.hold_reason(card, data, form_meta, current_app.config)
    # Validation and the abuse checks done: only now take SQLite's write lock.
    db_setup.end_reads(db.session)
    try:
        signing.sign(card, data, current_app.config, hold=hold)
    except signing.PetitionClosed:
        db.session.rollback()
        petition_cards.forget(slug)
        return render_petition(public_petition(slug), form, status=409, closed_message=True)
    commit_and_wake()
    return redirect(url_for("public.signed", slug=slug), code=303)


@bp.get("/petitions/<slug>/signed")
def signed(slug):
    petition = public_petition(slug)
    return render_template(
        "signing/signed.html",
        petition=petition,
        confirmation=current_app.config["CONFIRMATION_REQUIRED"],
        share=share_links(petition),
    )


@bp.get("/confirm/<token>")
@link_limit
def confirm_page(token):
    found = signing.find_token(token, "confirm")
    if found is None:
        return render_template("signing/link_invalid.html"), 404
    return render_template(
        "signing/confirm.html",
        token=token,
        signature=found.signature,
        petition=signed_petition(found.signature),
    )


@bp.post("/confirm/<token>")
@link_limit
def confirm(token):
    outcome, signature = signing.confirm(token, current_app.config)
    if outcome == "invalid":
        return render_template("signing/link_invalid.html"), 404
    commit_and_wake()
    petition = signed_petition(signature)
    return render_template(
        "signing/confirmed.html",
        outcome=outcome,
        petition=petition,
        share=share_links(petition),
    )


@bp.get("/withdraw/<token>")
@link_limit
def withdraw_page(token):
    found = signing.find_token(token, "withdraw")
    if found is None:
        return render_template("signing/link_invalid.html"), 404
    return render_template(
        "signing/withdraw.html",
        token=token,
        signature=found.signature,
        petition=signed_petition(found.signature),
    )


@bp.post("/withdraw/<token>")
@link_limit
def withdraw(token):
    outcome, signature = signing.withdraw(token)
    if outcome == "invalid":
        return render_template("signing/link_invalid.html"), 404
    commit_and_wake()
    return render_template(
        "signing/withdrawn.html",
        outcome=outcome,
        petition=signed_petition(signature),
    )


def signed_petition(signature):
    """The signature's petition in the reader's language; one who names none reads the
    language they signed in."""
    use_default_language(signature.locale or signature.petition.language)
    return texts.localized(signature.petition, current_language())


def share_links(petition):
    """Links that open each network's own share dialog with the petition and its hashtag; the
    link opens the petition in the language it was shared in."""
    url = with_language(petition_url(current_app.config, petition), current_language())
    hashtag = (petition.hashtag or "").lstrip("#")
    text = petition.share_line + (f" #{hashtag}" if hashtag else "")
    u, t = quote(url, safe=""), quote(text, safe="")
    return {
        "url": url,
        "hashtag": hashtag,
        "links": [
            ("X", f"https://twitter.com/intent/tweet?url={u}&text={t}"),
            ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={u}"),
            ("WhatsApp", f"https://wa.me/?text={t}%20{u}"),
            ("Telegram", f"https://t.me/share/url?url={u}&text={t}"),
            ("Email", f"mailto:?subject={t}&body={u}"),
        ],
    }
