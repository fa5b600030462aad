"""What partner sites put on their pages: the widget script, and the widget as a framable page."""

import hashlib
import os
import re

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from petition.core.extensions import limiter
from petition.core.http import public_cache
from petition.core.i18n import RIGHT_TO_LEFT
from petition.events import operations as events
from petition.partners.views.api import api_limit
from petition.petitions import snapshots

bp = Blueprint("embed", __name__, url_prefix="/embed")

# petition/static/embed/: the package's static folder, three levels up from here.
EMBED = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "static",
    "embed",
)
SCRIPT = os.path.join(EMBED, "widget.js")

# The widget's languages besides English, which it carries itself: one file of its words each,
# locales/CODE.json. widget.js lists the same codes (tests/partners/test_embed.py checks both).
LOCALES = (
    "ar", "cs", "da", "de", "el", "es", "fa", "fr", "he", "hi", "hu", "id",
    "it", "ja", "ko", "nl", "pl", "pt", "ro", "ru", "sv", "tr", "uk", "zh",
)  # fmt: skip
# Paths from this list only, never from the request.
LOCALE_FILES = {code: os.path.join(EMBED, "locales", f"{code}.json") for code in LOCALES}
LOCALE_NAME = re.compile(r"([a-z]{2})\.json")
# Chinese in Traditional script: the widget has only Simplified, and shows English instead.
TRADITIONAL = re.compile(r"zh[-_](hant|tw|hk|mo)\b")

# One script (and one set of words) for every petition and every partner: browsers may keep it
# five minutes and use a stale copy for a day while they fetch the new one, so a change reaches
# every page within minutes.
SCRIPT_CACHE = "public, max-age=300, stale-while-revalidate=86400"

# The iframe page is the one page any site may frame. It runs only our own script and talks
# only to our own API; the widget styles itself through constructable stylesheets and CSSOM,
# which style-src 'self' allows, so no 'unsafe-inline' is needed.
FRAME_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors *; base-uri 'none'"
)


# path -> (mtime, bytes, hash); each entry is replaced whole, so threads see one version
_files = {}


def static_file(path):
    """A file's bytes and a hash of them, read again only when the file changes."""
    mtime = os.stat(path).st_mtime_ns
    found = _files.get(path)
    if found is None or found[0] != mtime:
        with open(path, "rb") as f:
            data = f.read()
        found = _files[path] = (mtime, data, hashlib.sha256(data).hexdigest()[:32])
    return found[1], found[2]


def static_answer(path, content_type):
    """One of the widget's files, cached as the widget is and answered 304 when unchanged."""
    # The ETag is a hash of the content, so every app server behind a balancer agrees on it.
    data, etag = static_file(path)
    response = current_app.response_class(data, content_type=content_type)
    response.headers["Cache-Control"] = SCRIPT_CACHE
    response.set_etag(etag)
    return response.make_conditional(request)


@bp.get("/widget.js")
@limiter.exempt  # a static file, cached by browsers: limiting it would only break partner pages
def widget():
    return static_answer(SCRIPT, "text/javascript; charset=utf-8")


@bp.get("/locales/<path:name>")
@limiter.exempt  # as widget.js: every widget not in English asks for one of these once
def locale(name):
    """The widget's words in one language: /embed/locales/ru.json, for a code in LOCALES."""
    found = LOCALE_NAME.fullmatch(name)
    path = LOCALE_FILES.get(found.group(1)) if found else None
    if path is None:
        # JSON like the API's errors: the widget fetches this, and falls back to English.
        message = _("There is no page at this address.")
        return jsonify(error={"code": "not_found", "message": message}), 404
    return static_answer(path, "application/json")


def widget_language(tag):
    """The language the widget shows for a language tag: "pt-BR" is pt, "zh-Hans-CN" zh, one
    it has no words for en (as widget.js picks it)."""
    tag = (tag or "").strip().lower()
    code = re.split(r"[-_]", tag, maxsplit=1)[0]
    return code if code in LOCALES and not TRADITIONAL.match(tag) else "en"


def frame_page(kind, slug, title, found, **options):
    """A widget alone on a page: an unknown slug still gets the widget, which says it is not
    available, so a partner's typo shows a neutral note in their frame, not a browser error.

    ?lang=CODE is the widget's language (as data-lang, matched as the widget matches it);
    without it the widget follows the reader's browser.
    """
    asked = request.args.get("lang")
    language = widget_language(asked) if asked else None
    body = render_template(
        "partners/embed.html",
        kind=kind,
        slug=slug,
        title=title,
        theme="dark" if request.args.get("theme") == "dark" else "light",
        language=language,
        rtl=language in RIGHT_TO_LEFT,
        options={"lang": language, **options},
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
