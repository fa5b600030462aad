"""The public JSON API: shapes per DESIGN, cached, cross-origin, conditional."""

from flask import Blueprint, Response, current_app, jsonify, request

from petition.core.extensions import limiter
from petition.core.http import public_cache
from petition.endorsements import operations as endorsements
from petition.petitions import snapshots

bp = Blueprint("api", __name__, url_prefix="/api")


def limit_exempt():
    # The count is exempt from API_LIMIT: its answer is one cache read (unknown slugs are
    # cached too), cheaper than checking a limit, which costs a storage round trip (Redis in
    # production). Like the badge, it is what many readers behind one address poll, and
    # petition/partners/fastcount.py serves it below Flask, where no limit is checked either.
    return request.endpoint == "api.count"


# One budget per client address for the whole API and the iframe page (API_LIMIT); see config.
api_limit = limiter.shared_limit(
    lambda: current_app.config["API_LIMIT"], scope="api", exempt_when=limit_exempt
)
api_limit(bp)


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@bp.errorhandler(ApiError)
def api_error(exc):
    response = jsonify(error={"code": exc.code, "message": exc.message})
    response.status_code = exc.status
    return response


@bp.after_request
def cacheable(response):
    return public_cache(response)


def find(slug):
    snapshot = snapshots.get(slug)
    if snapshot is None:
        raise ApiError(404, "not_found", f"No petition with the slug {slug!r}.")
    return snapshot


def asked_language():
    # Any code: one the petition is not published in gives its own title.
    return (request.args.get("lang") or "").strip().lower() or None


@bp.get("/petitions")
def petitions():
    language = asked_language()
    return jsonify(petitions=[snapshots.in_language(s, language) for s in snapshots.listing()])


@bp.get("/petitions/<slug>")
def petition(slug):
    body = snapshots.in_language(find(slug), asked_language())
    # Kept beside the snapshot, not in it: petitions does not know endorsements (DESIGN, Layout).
    body["endorsers"] = endorsements.cached_public_rows(current_app.config, petition_slug=slug)
    return jsonify(body)


@bp.get("/petitions/<slug>/count")
def count(slug):
    # The widgets' hot path: body and ETag come ready-made from the cache (petitions/snapshots.py).
    entry = snapshots.count_entry(slug)
    if entry is None:
        raise ApiError(404, "not_found", f"No petition with the slug {slug!r}.")
    body, etag = entry
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    return response
