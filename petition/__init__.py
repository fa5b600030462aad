"""petition: collect, confirm, count and deliver petition signatures.

create_app is the composition root: the one place that imports every feature and registers its
blueprints, commands and job kinds. No feature imports this module or another's CLI.
"""

import os

from flask import Flask

from petition import demo, worker
from petition.abuse import bulk, trending
from petition.abuse import views as abuse_views
from petition.core import config as config_module
from petition.core import i18n
from petition.core.db import RowIdConverter
from petition.core.db_setup import configure_sqlite, sqlite_engine_options
from petition.core.extensions import babel, cache, cors, csrf, db, limiter, migrate
from petition.core.forms import refuse_non_form_bodies, refuse_nul, remember_undecodable_fields
from petition.core.http import (
    SessionInterface,
    register_errors,
    retry_after_at_least_one,
    security_headers,
)
from petition.core.i18n import register_template_helpers, select_locale
from petition.delivery import cli as delivery_cli
from petition.delivery import jobs as delivery_jobs
from petition.delivery import views as delivery_views
from petition.endorsements import cli as endorsements_cli
from petition.endorsements import views as endorsements_views
from petition.endorsements.views import staff as endorsements_staff_views
from petition.events import cli as events_cli
from petition.events import reminders as event_reminders
from petition.events import views as events_views
from petition.events.views import staff as events_staff_views
from petition.imports import cli as imports_cli
from petition.imports import views as imports_views
from petition.jobs import registry, rq, runner
from petition.partners.fastcount import FastCount
from petition.partners.views import api, badge, embed
from petition.petitions import cli as petitions_cli
from petition.petitions import counting
from petition.petitions import views as petitions_views
from petition.privacy import cli as privacy_cli
from petition.signing import views as signing_views
from petition.staff import auth
from petition.staff import cli as staff_cli
from petition.staff import views as staff_views

# Names bound here are attributes of the package: none may be the name of a module of it
# (importing petition.X sets petition.X), hence rq and runner rather than queue and jobs.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Features whose pages join the staff blueprint (petition/staff/views): imported above, so their
# routes are on it before it is registered.
STAFF_PAGES = (
    petitions_views,
    abuse_views,
    imports_views,
    delivery_views,
    events_staff_views,
    endorsements_staff_views,
)


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

    app.before_request(refuse_non_form_bodies)
    app.before_request(remember_undecodable_fields)
    app.before_request(refuse_nul)
    csrf.init_app(app)
    i18n.configure(app)
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
    register_jobs()
    rq.init_app(app)
    runner.init_app(app)
    # Registered before the limiter so it runs after the limiter's own hook (Flask runs them in
    # reverse): that hook rewrites Retry-After as int(reset - now), which truncates to 0 in
    # the last second of a window, telling a client to come straight back into a refusal.
    app.after_request(retry_after_at_least_one)
    limiter.init_app(app)
    auth.init_app(app)

    # Before the routes are added: an id no database can hold is a 404, not a driver error.
    app.url_map.converters["int"] = RowIdConverter
    app.register_blueprint(signing_views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(badge.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(staff_views.bp)
    app.register_blueprint(events_views.bp)
    app.register_blueprint(endorsements_views.bp)

    register_commands(app)
    register_errors(app)
    register_template_helpers(app)
    app.after_request(security_headers)

    # The widgets' count polls, answered from the cache beneath Flask (partners/fastcount.py).
    app.wsgi_app = FastCount(app, app.wsgi_app)
    if app.config["TRUSTED_PROXIES"]:
        # Behind N proxies, the client address and scheme come from their X-Forwarded headers;
        # without this every signature would carry the proxy's address. Outermost, so the
        # count's fast path sees the same scheme (HSTS) as Flask does.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
    return app


def register_jobs():
    """Each feature's job kinds and periodic work, in the registry the runners read."""
    registry.add_handler("delivery_pdf", delivery_jobs.delivery_pdf)
    registry.add_handler(bulk.KIND, bulk.moderation_bulk)
    registry.add_periodic("count_fold", counting.fold_periodically, "COUNT_FOLD_SECONDS")
    # A short period; each app's own TREND_CHECK_SECONDS decides when the check is due.
    registry.add_periodic("trend_alerts", trending.periodic_check, 1)
    registry.add_periodic(
        "event_reminders", event_reminders.periodic, "EVENT_REMINDER_CHECK_SECONDS"
    )


def register_commands(app):
    """Each feature's `flask` command group."""
    # `flask signatures` holds petitions' recount and imports' import.
    petitions_cli.signatures.add_command(imports_cli.signatures_import)
    for command in (
        staff_cli.staff,
        petitions_cli.petitions,
        petitions_cli.signatures,
        privacy_cli.privacy,
        delivery_cli.delivery,
        events_cli.days,
        events_cli.events_group,
        endorsements_cli.endorsements_group,
        demo.demo,
        worker.worker,
    ):
        app.cli.add_command(command)
