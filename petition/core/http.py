"""HTTP helpers: the session cookie, security and caching headers, error pages."""

import datetime as dt
import functools
import time

from flask import current_app, jsonify, make_response, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import format_timedelta
from flask_wtf.csrf import CSRFError

from petition.core.extensions import limiter


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, minus work that the hot paths repeat for nothing."""

    # Nothing under /api/ reads or writes the session (GET JSON for partner sites): leave the
    # cookie unread and unsigned, and send none back.
    SESSIONLESS = ("/api/",)

    def __init__(self):
        self.serializers = {}

    def get_signing_serializer(self, app):
        # Flask builds a new serializer, key derivation included, on every request.
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self.serializers.get(key)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            self.serializers = {key: serializer}
        return serializer

    def open_session(self, app, request):
        if request.path.startswith(self.SESSIONLESS):
            return None  # Flask then uses a null session: empty, and never saved
        return super().open_session(app, request)


@functools.cache
def security_header_items(hsts):
    """The security headers of every response, in order; hsts: HSTS is on and this is HTTPS.

    One list for both the after_request hook below and the count's fast path (partners/).
    """
    items = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        # No page may be framed unless it says so itself (the iframe embed will).
        ("X-Frame-Options", "DENY"),
        (
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    ]
    # Browsers ignore HSTS over plain HTTP; sending it only there keeps development usable.
    if hsts:
        items.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return tuple(items)


def security_headers(response):
    from flask import current_app

    headers = response.headers
    # setdefault: a view that sets its own (the iframe page's CSP) keeps it.
    hsts = bool(current_app.config["HSTS"]) and request.is_secure
    for name, value in security_header_items(hsts):
        headers.setdefault(name, value)
    return response


def wants_json():
    return request.path.startswith("/api/")


def register_errors(app):
    def error_page(status, code, title, message):
        if wants_json():
            return jsonify(error={"code": code, "message": message}), status
        return render_template("core/error.html", title=title, message=message), status

    from flask_babel import gettext as _

    @app.errorhandler(404)
    def not_found(_exc):
        return error_page(404, "not_found", _("Not found"), _("There is no page at this address."))

    @app.errorhandler(405)
    def not_allowed(_exc):
        return error_page(
            405,
            "method_not_allowed",
            _("Not allowed"),
            _("This address does not take that method."),
        )

    @app.errorhandler(CSRFError)
    def csrf_failed(_exc):
        return error_page(
            400,
            "csrf_failed",
            _("Please try again"),
            _(
                "Your session expired or the form was sent from elsewhere. "
                "Go back, reload the page and send the form again."
            ),
        )

    @app.errorhandler(400)
    def bad_request(_exc):
        return error_page(
            400, "bad_request", _("Bad request"), _("The request was not understood.")
        )

    @app.errorhandler(403)
    def forbidden(_exc):
        return error_page(403, "forbidden", _("Not allowed"), _("Your account cannot do this."))

    @app.errorhandler(429)
    def too_many(exc):
        wait = retry_after(exc)
        if wants_json():
            message = (
                _("Too many requests from this address. Try again in %(seconds)s s.", seconds=wait)
                if wait
                else _("Too many attempts from here. Please wait a few minutes and try again.")
            )
            response = jsonify(error={"code": "rate_limited", "message": message})
        else:
            when = None
            if wait:
                when = format_timedelta(dt.timedelta(seconds=wait), add_direction=True)
            link_page = request.path.startswith(("/confirm/", "/withdraw/"))
            response = make_response(
                render_template("core/rate_limited.html", when=when, link_page=link_page)
            )
        response.status_code = 429
        if wait:
            response.headers["Retry-After"] = str(wait)
        # One client's refusal must never be kept by a shared cache and served to others.
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(415)
    def not_a_form(_exc):
        return error_page(
            415,
            "unsupported_media_type",
            _("Not a form"),
            _(
                "This address takes forms the way a browser sends them. "
                "Go back, reload the page and send the form again."
            ),
        )

    @app.errorhandler(413)
    def too_large(_exc):
        return error_page(413, "too_large", _("Too large"), _("The request was too large."))

    @app.errorhandler(500)
    def server_error(_exc):
        return error_page(
            500,
            "server_error",
            _("Something went wrong"),
            _("Something went wrong on our side. Please try again in a moment."),
        )


def retry_after_at_least_one(response):
    if response.status_code == 429 and response.headers.get("Retry-After") == "0":
        response.headers["Retry-After"] = "1"
    return response


def retry_after(exc):
    """Whole seconds until the breached limit lets this client in again, or None if unknown."""
    current = limiter.current_limit
    if current is not None and current.breached:
        # As Flask-Limiter computes its Retry-After header, so page and header agree.
        return max(1, int(current.reset_at - time.time()))
    limit = getattr(exc, "limit", None)  # a RateLimitExceeded: at most one window away
    return int(limit.limit.get_expiry()) if limit is not None else None


CONDITIONAL_HEADERS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_RANGE",
)


def public_cache(response):
    """Let browsers and CDNs keep a GET answer briefly, and answer 304 when it is unchanged."""
    if request.method not in ("GET", "HEAD") or response.status_code not in (200, 404):
        return response
    response.headers["Cache-Control"] = cache_control(current_app.config)
    if response.mimetype == "text/html":
        # A page is in the reader's language: a shared cache keeps one copy per language.
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    if response.status_code == 200:
        response.add_etag()  # keeps an ETag the view set
        # make_conditional is most of this hook's cost; without a validator to compare it
        # could only answer 200 anyway.
        if any(key in request.environ for key in CONDITIONAL_HEADERS):
            response.make_conditional(request)
    return response


def cache_control(config):
    """The Cache-Control of public GET answers (also sent by petition/partners/fastcount.py)."""
    return (
        f"public, max-age={config['API_MAX_AGE']}, "
        f"stale-while-revalidate={config['API_STALE_SECONDS']}"
    )
