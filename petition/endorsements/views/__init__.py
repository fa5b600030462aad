"""Public pages of endorsing: the form for a petition or a day of action, the confirmation
link, and the logos of approved endorsers."""

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from petition.abuse.defences import form_time, submission_hold_reason
from petition.core import uploads
from petition.core.extensions import csrf, db, limiter
from petition.core.i18n import current_language, use_default_language
from petition.endorsements import operations as endorsements
from petition.endorsements.forms import EndorseForm
from petition.endorsements.models import Endorsement
from petition.jobs import runner as jobs

bp = Blueprint("endorsements", __name__)

link_limit = limiter.shared_limit(lambda: current_app.config["CONFIRM_LIMIT"], scope="links")

# POSTs that carry a logo, read under their own larger limit (raise_limit): the public form's
# and staff's (views/staff.py).
PUBLIC_UPLOADS = ("endorsements.endorse_petition", "endorsements.endorse_day")
STAFF_UPLOADS = ("staff.new_endorser", "staff.edit_endorser")
UPLOAD_ENDPOINTS = PUBLIC_UPLOADS + STAFF_UPLOADS
# A logo's name never points at other bytes: it may be kept for a year.
LOGO_CACHE = "public, max-age=31536000, immutable"


@bp.after_request
def caching(response):
    if request.endpoint == "endorsements.logo" and response.status_code == 200:
        return response
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_app_request
def raise_limit():
    """Room for a logo in the body of an endorse form (public, or staff's when signed in), and
    only there.

    Every other request keeps MAX_CONTENT_LENGTH; the form checks its own CSRF token, as the
    global check would read the body under the small limit first.
    """
    if request.endpoint not in UPLOAD_ENDPOINTS or request.method != "POST":
        return None
    if request.endpoint in STAFF_UPLOADS and not current_user.is_authenticated:
        return None
    limit = current_app.config["LOGO_MAX_BYTES"] + 64 * 1024
    if request.content_length is not None and request.content_length > limit:
        return too_large()
    request.max_content_length = limit
    return None


def too_large():
    message = _(
        "The logo is too large: please send one under %(limit)s MB.",
        limit=f"{current_app.config['LOGO_MAX_BYTES'] / 1_000_000:g}",
    )
    return render_template("core/error.html", title=_("Too large"), message=message), 413


def public_target(petition_slug=None, day_slug=None):
    target = endorsements.find_target(petition_slug, day_slug)
    if target is None:
        abort(404)
    if petition_slug is not None:
        use_default_language(target.language)
    return target


@bp.route("/petitions/<slug>/endorse", methods=["GET", "POST"])
@csrf.exempt
def endorse_petition(slug):
    return endorse(public_target(petition_slug=slug), "petition")


@bp.route("/days/<slug>/endorse", methods=["GET", "POST"])
@csrf.exempt
def endorse_day(slug):
    return endorse(public_target(day_slug=slug), "day")


def endorse(target, kind):
    config = current_app.config
    language = current_language()
    title = endorsements.target_title(target, language)
    page = {
        "target": target,
        "kind": kind,
        "title": title,
        "page_url": url_for(
            "public.petition" if kind == "petition" else "events.day", slug=target.slug
        ),
    }
    if not endorsements.accepts_endorsements(target):
        status = 409 if request.method == "POST" else 200
        return render_template("endorsements/closed.html", **page), status
    try:
        form = EndorseForm(language=language)
        if request.method == "GET":
            form.t.data = form_time(config)
            return render_template("endorsements/endorse.html", form=form, **page)
        valid = form.validate()
    except RequestEntityTooLarge:
        return too_large()
    if not valid:
        return render_template("endorsements/endorse.html", form=form, **page), 400
    try:
        logo = stored_logo(form)
    except uploads.UploadError as exc:
        form.logo.errors = [exc.message]
        return render_template("endorsements/endorse.html", form=form, **page), 400
    held = submission_hold_reason(
        {"honeypot": form.nickname.data, "t": form.t.data},
        config,
        Endorsement,
        request.remote_addr,
    )
    with endorsements.logo_kept_if_committed(logo, config):
        endorsements.endorse(
            target,
            form.endorsement_data(language, request.remote_addr),
            config,
            logo=logo,
            held_reason=held,
        )
        db.session.commit()
    jobs.wake(current_app)
    endpoint = "endorsements.petition_sent" if kind == "petition" else "endorsements.day_sent"
    return redirect(url_for(endpoint, slug=target.slug), code=303)


def stored_logo(form):
    """The form's logo re-encoded and stored (name, width, height), or None without one;
    UploadError where the file is refused."""
    data = form.logo_bytes()
    return endorsements.store_logo(data, current_app.config) if data is not None else None


@bp.get("/petitions/<slug>/endorse/sent")
def petition_sent(slug):
    return sent(public_target(petition_slug=slug), "public.petition")


@bp.get("/days/<slug>/endorse/sent")
def day_sent(slug):
    return sent(public_target(day_slug=slug), "events.day")


def sent(target, endpoint):
    return render_template(
        "endorsements/sent.html",
        title=endorsements.target_title(target, current_language()),
        page_url=url_for(endpoint, slug=target.slug),
    )


@bp.get("/endorsements/confirm/<token>")
@link_limit
def confirm_page(token):
    found = endorsements.find_by_token(token)
    if found is None:
        return render_template("signing/link_invalid.html"), 404
    use_default_language(found.language)
    return render_template(
        "endorsements/confirm.html",
        token=token,
        endorsement=found,
        title=endorsements.target_title(found.target, current_language()),
        used=found.state != "unverified",
    )


@bp.post("/endorsements/confirm/<token>")
@link_limit
def confirm(token):
    outcome, found = endorsements.confirm(token)
    if outcome == "invalid":
        return render_template("signing/link_invalid.html"), 404
    db.session.commit()
    use_default_language(found.language)
    return render_template(
        "endorsements/confirmed.html",
        outcome=outcome,
        endorsement=found,
        title=endorsements.target_title(found.target, current_language()),
    )


@bp.get("/endorsements/logos/<name>")
@limiter.exempt  # static bytes under unguessable names: a logo wall asks for many at once
def logo(name):
    found = endorsements.logo_entry(name)
    if found is None or found.state != "approved" or found.repeat_of_id is not None:
        abort(404)
    return send_logo(name, LOGO_CACHE)


def send_logo(name, cache_control):
    path = uploads.path_of(current_app.config["UPLOAD_DIR"], name)
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/png", conditional=True, max_age=None)
    response.headers["Cache-Control"] = cache_control
    # Re-encoded PNG bytes, never a document: no browser may sniff them into one.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
