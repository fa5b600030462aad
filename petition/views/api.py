"""The public JSON API: shapes per DESIGN, cached, cross-origin, conditional."""

from flask import Blueprint, Response, current_app, jsonify, request

from .. import snapshots
from ..extensions import limiter

bp = Blueprint("api", __name__, url_prefix="/api")


def limit_exempt():
    # The count is exempt from API_LIMIT: its answer is one cache read (unknown slugs are
    # cached too), cheaper than checking a limit, which costs a storage round trip (Redis in
    # production). Like the badge, it is what many readers behind one address poll, and
    # petition/fastcount.py serves it below Flask, where no limit is checked either.
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
    if response.status_code == 200:
        response.add_etag()  # keeps an ETag the view set
        # make_conditional is most of this hook's cost; without a validator to compare it
        # could only answer 200 anyway.
        if any(key in request.environ for key in CONDITIONAL_HEADERS):
            response.make_conditional(request)
    return response


def cache_control(config):
    """The Cache-Control of public GET answers (also sent by petition/fastcount.py)."""
    return (
        f"public, max-age={config['API_MAX_AGE']}, "
        f"stale-while-revalidate={config['API_STALE_SECONDS']}"
    )


def find(slug):
    snapshot = snapshots.get(slug)
    if snapshot is None:
        raise ApiError(404, "not_found", f"No petition with the slug {slug!r}.")
    return snapshot


@bp.get("/petitions")
def petitions():
    return jsonify(petitions=snapshots.listing())


@bp.get("/petitions/<slug>")
def petition(slug):
    return jsonify(find(slug))


@bp.get("/petitions/<slug>/count")
def count(slug):
    # The widgets' hot path: body and ETag come ready-made from the cache (snapshots.py).
    entry = snapshots.count_entry(slug)
    if entry is None:
        raise ApiError(404, "not_found", f"No petition with the slug {slug!r}.")
    body, etag = entry
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    return response
