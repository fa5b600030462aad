"""The staff area: /staff/... Every view here needs a logged-in staff member.

One blueprint for the whole area: login, one's own password, accounts and the audit log are
here; other features add their staff pages to it from their own views (petitions and their
dashboard, signatures and moderation, blocklists and trending, imports, deliveries), and
create_app imports those before it registers the blueprint.
"""

import time

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask import session as cookie
from flask_babel import gettext as _
from flask_login import current_user, login_url, logout_user

bp = Blueprint("staff", __name__, url_prefix="/staff")
# (Flask's session is imported as `cookie`: this package's module `session`, the login views,
# takes that name here once it is imported.)
# The session records when it was last used at most this often (each write is a new cookie).
SEEN_EVERY_SECONDS = 60


def now():
    """Whole seconds of the clock the idle check reads (a function, so tests can move it)."""
    return int(time.time())


def mark_active():
    """Note in the session that its staff member is active now (login, and each staff page)."""
    cookie["staff_seen"] = now()


@bp.before_request
def end_idle_sessions():
    """A staff session idle for STAFF_IDLE_MINUTES is logged out: back to the login page."""
    if not current_user.is_authenticated:
        return None
    at = now()
    seen = cookie.get("staff_seen")
    idle = current_app.config["STAFF_IDLE_MINUTES"] * 60
    if idle and isinstance(seen, int) and at - seen > idle:
        logout_user()
        cookie.pop("staff_seen", None)
        flash(_("You were logged out after a while without activity. Please log in again."))
        back = request.full_path if request.query_string else request.path
        return redirect(login_url("staff.login", next_url=back))
    if not isinstance(seen, int) or at - seen >= SEEN_EVERY_SECONDS:
        mark_active()
    return None


@bp.after_request
def private(response):
    # Staff pages show personal data: never cached by browsers or proxies.
    response.headers["Cache-Control"] = "no-store"
    return response


def petition_links(petition):
    """Links between this petition's staff pages; the dashboard's if that view exists."""
    dashboard = None
    if "staff.petition" in current_app.view_functions:
        dashboard = url_for("staff.petition", slug=petition.slug)
    return {
        "dashboard": dashboard,
        "signatures": url_for("staff.signatures", slug=petition.slug),
        "import": url_for("staff.import_signatures", slug=petition.slug),
    }


# This feature's own pages register on bp.
from petition.staff.views import accounts, password, session  # noqa: E402,F401
