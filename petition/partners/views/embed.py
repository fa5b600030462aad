"""What partner sites put on their pages: the widget script, and the widget as a framable page."""

import hashlib
import os

from flask import Blueprint, current_app, render_template, request

from petition.core.extensions import limiter
from petition.core.http import public_cache
from petition.events import operations as events
from petition.partners.views.api import api_limit
from petition.petitions import snapshots

bp = Blueprint("embed", __name__, url_prefix="/embed")

# petition/static/embed/widget.js: the package's static folder, three levels up from here.
SCRIPT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "static",
    "embed",
    "widget.js",
)

# One script for every petition and every partner: browsers may keep it five minutes and use a
# stale copy for a day while they fetch the new one, so a change reaches every page within minutes.
SCRIPT_CACHE = "public, max-age=300, stale-while-revalidate=86400"

# The iframe page is the one page any site may frame. It runs only our own script and talks
# only to our own API; the widget styles itself through constructable stylesheets and CSSOM,
# which style-src 'self' allows, so no 'unsafe-inline' is needed.
FRAME_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors *; base-uri 'none'"
)


_script = (None, b"", "")  # (mtime, bytes, hash), replaced whole so threads see one version


def script():
    """The widget's bytes and a hash of them, read again only when the file changes."""
    global _script
    mtime = os.stat(SCRIPT).st_mtime_ns
    if _script[0] != mtime:
        with open(SCRIPT, "rb") as f:
            data = f.read()
        _script = (mtime, data, hashlib.sha256(data).hexdigest()[:32])
    return _script[1], _script[2]


@bp.get("/widget.js")
@limiter.exempt  # a static file, cached by browsers: limiting it would only break partner pages
def widget():
    # The ETag is a hash of the content, so every app server behind a balancer agrees on it.
    data, etag = script()
    response = current_app.response_class(data, content_type="text/javascript; charset=utf-8")
    response.headers["Cache-Control"] = SCRIPT_CACHE
    response.set_etag(etag)
    return response.make_conditional(request)


def frame_page(kind, slug, title, found, **options):
    """A widget alone on a page: an unknown slug still gets the widget, which says it is not
    available, so a partner's typo shows a neutral note in their frame, not a browser error."""
    body = render_template(
        "partners/embed.html",
        kind=kind,
        slug=slug,
        title=title,
        theme="dark" if request.args.get("theme") == "dark" else "light",
        options=options,
    )
    response = current_app.make_response((body, 200 if found else 404))
    response.headers["Content-Security-Policy"] = FRAME_CSP
    return public_cache(response)


def bounded(name, top):
    value = request.args.get(name, type=int)
    return value if value and 0 < value <= top else None


@bp.get("/<slug>")
@api_limit  # the iframe's readers are the API's readers: one budget for both
def frame(slug):
    """The petition widget alone on a page, for partners that prefer an <iframe> to a script."""
    snapshot = snapshots.get(slug)
    # ?poll=N: seconds between count refreshes, as data-poll-seconds (the script clamps it).
    return frame_page(
        "data-petition",
        slug,
        snapshot["title"] if snapshot else slug,
        snapshot is not None,
        **{"poll-seconds": bounded("poll", 3600)},
    )


@bp.get("/days/<slug>")
@api_limit
def day_frame(slug):
    """The day-of-action widget alone on a page, for an <iframe>."""
    day = events.day_by_slug(slug)
    return frame_page(
        "data-day", slug, day.title if day else slug, day is not None, limit=bounded("limit", 20)
    )


@bp.after_app_request
def allow_framing(response):
    """Drop X-Frame-Options from the iframe page: CSP frame-ancestors says who may frame it.

    The app's security_headers adds X-Frame-Options: DENY to every response. It is registered
    after the blueprints, so it runs before this hook (Flask runs after_request functions in
    reverse order of registration), and this hook has the last word.
    """
    if request.endpoint in ("embed.frame", "embed.day_frame"):
        response.headers.pop("X-Frame-Options", None)
    return response
