"""GET /petitions/<slug>/badge.svg"""

from flask import Blueprint, abort, make_response
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _

from petition.core.extensions import limiter
from petition.core.http import public_cache
from petition.partners.svg import render_svg
from petition.petitions import snapshots

bp = Blueprint("badge", __name__)


@bp.get("/petitions/<slug>/badge.svg")
# No limit: mail image proxies (Gmail, Outlook) fetch it for thousands of readers from a few
# addresses, a refusal would show a broken image in supporters' inboxes, and it is drawn from
# the cached snapshot, so a flood never reaches the database.
@limiter.exempt
def badge(slug):
    snapshot = snapshots.get(slug)
    if snapshot is None:
        abort(404)
    count, goal = snapshot["signature_count"], snapshot["goal"]
    count_text = ngettext(
        "%(count)s signature", "%(count)s signatures", count, count=format_decimal(count)
    )
    caption = _("goal %(goal)s", goal=format_decimal(goal))
    label = _(
        "%(title)s: %(count)s of %(goal)s",
        title=snapshot["title"],
        count=count_text,
        goal=format_decimal(goal),
    )
    svg = render_svg(
        snapshot["title"], count, count_text, caption, count / goal if goal else 1, label
    )
    response = make_response(svg)
    response.mimetype = "image/svg+xml"
    # An image may be opened on its own; it needs no script, style sheet or frame.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    response.vary.add("Accept-Language")
    return public_cache(response)
