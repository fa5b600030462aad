"""petition: collect, confirm, count and deliver petition signatures."""

import datetime as dt
import functools
import os
import time

from flask import Flask, jsonify, make_response, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import format_date, format_decimal, format_timedelta, get_locale
from flask_wtf.csrf import CSRFError

from . import auth, countries, jobs
from . import config as config_module
from .db_setup import configure_sqlite, sqlite_engine_options
from .dbutil import RowIdConverter
from .extensions import babel, cache, cors, csrf, db, limiter, migrate
from .text import render_markdown

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config=None, instance_path=None):
    """Build the app: config layered, extensions bound, blueprints and commands registered."""
    app = Flask(
        __name__,
        instance_path=instance_path
        or os.environ.get("PETITION_INSTANCE_PATH")
        or os.path.join(ROOT, "instance"),
        instance_relative_config=True,
        template_folder=os.path.join(ROOT, "templates"),
    )
    config_module.load(app, test_config)
    app.session_interface = SessionInterface()
    options = sqlite_engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"))
    from .forms import refuse_nul, remember_undecodable_fields

    app.before_request(remember_undecodable_fields)
    app.before_request(refuse_nul)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    cache.init_app(app)
    # Partner sites read the API and the embed from any origin; nothing there uses cookies.
    cors.init_app(
        app,
        resources={r"/api/.*": {}, r"/embed/.*": {}, r"/petitions/[^/]+/badge\.svg": {}},
        origins="*",
        send_wildcard=True,
        methods=["GET", "HEAD", "OPTIONS"],
        supports_credentials=False,
    )
    jobs.init_app(app)
    # Registered before the limiter so it runs after the limiter's own hook (Flask runs them in
    # reverse): that hook rewrites Retry-After as int(reset - now), which truncates to 0 in
    # the last second of a window, telling a client to come straight back into a refusal.
    app.after_request(retry_after_at_least_one)
    limiter.init_app(app)
    auth.init_app(app)

    from .views import api, badge, embed, public, staff

    # Before the routes are added: an id no database can hold is a 404, not a driver error.
    app.url_map.converters["int"] = RowIdConverter
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(badge.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(staff.bp)

    from . import cli

    cli.register(app)
    register_errors(app)
    register_template_helpers(app)
    app.after_request(security_headers)

    from .fastcount import FastCount

    # The widgets' count polls, answered from the cache beneath Flask (petition/fastcount.py).
    app.wsgi_app = FastCount(app, app.wsgi_app)
    if app.config["TRUSTED_PROXIES"]:
        # Behind N proxies, the client address and scheme come from their X-Forwarded headers;
        # without this every signature would carry the proxy's address. Outermost, so the
        # count's fast path sees the same scheme (HSTS) as Flask does.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
    return app


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


def available_languages(app):
    folder = os.path.join(app.root_path, "translations")
    found = os.listdir(folder) if os.path.isdir(folder) else []
    return ["en"] + sorted(found)


def select_locale():
    from flask import current_app, has_request_context

    if not has_request_context():
        return None  # mail from a worker or a command: the default, or force_locale's

    languages = current_app.config.get("LANGUAGES") or available_languages(current_app)
    current_app.config["LANGUAGES"] = languages
    return request.accept_languages.best_match(languages) or "en"


@functools.cache
def security_header_items(hsts):
    """The security headers of every response, in order; hsts: HSTS is on and this is HTTPS.

    One list for both the after_request hook below and the count's fast path (fastcount.py).
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
        return render_template("error.html", title=title, message=message), status

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
                render_template("rate_limited.html", when=when, link_page=link_page)
            )
        response.status_code = 429
        if wait:
            response.headers["Retry-After"] = str(wait)
        # One client's refusal must never be kept by a shared cache and served to others.
        response.headers["Cache-Control"] = "no-store"
        return response

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


def register_template_helpers(app):
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["number"] = lambda n: format_decimal(n)
    app.jinja_env.filters["country_name"] = lambda code: countries.name(
        code, str(get_locale() or "en").split("_")[0]
    )

    app.jinja_env.globals["format_date"] = format_date

    @app.context_processor
    def globals_():
        return {"lang": str(get_locale() or "en").replace("_", "-")}
