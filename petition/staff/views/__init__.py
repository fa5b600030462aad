"""The staff area: /staff/... Every view here needs a logged-in staff member.

One blueprint for the whole area: login, one's own password, accounts and the audit log are
here; other features add their staff pages to it from their own views (petitions and their
dashboard, signatures and moderation, blocklists and trending, imports, deliveries), and
create_app imports those before it registers the blueprint.
"""

from flask import Blueprint, current_app, url_for

bp = Blueprint("staff", __name__, url_prefix="/staff")


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
