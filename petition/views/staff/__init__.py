"""The staff area: /staff/... Every view here needs a logged-in staff member."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.after_request
def private(response):
    # Staff pages show personal data: never cached by browsers or proxies.
    response.headers["Cache-Control"] = "no-store"
    return response


# The views register on bp: accounts and audit, petitions and their dashboard, login,
# one's own password, signatures (search, moderation, export, import), deliveries (bundles,
# progress, downloads), abuse (blocklists, the trending report).
from . import abuse, admin, delivery, password, petitions, session, signatures  # noqa: E402,F401
