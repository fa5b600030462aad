"""The staff area: /staff/... Every view here needs a logged-in staff member."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.after_request
def private(response):
    # Staff pages show personal data: never cached by browsers or proxies.
    response.headers["Cache-Control"] = "no-store"
    return response


from . import session  # noqa: E402,F401  (views register on bp)
