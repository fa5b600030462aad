"""GET /api/petitions/<slug>/count answered beneath Flask, straight from the count cache.

The widgets poll this one URL far more than anything else, and its answer is ready-made in the
cache (snapshots.count_entry: JSON body and ETag). Through Flask, the request context, the
before/after hooks of a dozen extensions and the response object cost several times the answer
itself; this WSGI middleware sends the same bytes and headers without them
(tests/partners/test_fastcount.py compares the two paths header by header).

It answers only the plain case it knows to answer exactly as Flask would, and hands everything
else to Flask: a cache miss or an unknown slug (Flask fills the cache and builds the JSON 404),
other methods (OPTIONS preflight included), validators and ranges other than a single strong
If-None-Match, unusual slugs or a NUL in the query, a request body.
"""

import re
import time

from redis import RedisError
from werkzeug.http import http_date

from petition.core.extensions import cache
from petition.core.http import cache_control, security_header_items
from petition.petitions import snapshots

# The route's <slug> is any segment; only plain ASCII slugs are taken here, so PATH_INFO needs no
# decoding to equal Flask's request.path (anything else goes through Flask's routing).
PATH = re.compile(r"/api/petitions/([A-Za-z0-9_-]{1,200})/count\Z")
# One strong validator, as the widget's browser sends back; lists, W/ and * go through Flask.
ONE_ETAG = re.compile(r'"[^",]*"\Z')
# Requests that make Flask do something else than a plain 200 or 304 here: other validators
# and ranges (public_cache's make_conditional), CORS's private-network preflight header, a body.
UNHANDLED = (
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_RANGE",
    "HTTP_IF_RANGE",
    "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK",
    "HTTP_TRANSFER_ENCODING",
)
# flask-cors as create_app configures it for /api/ (origins "*", send_wildcard, always_send):
# the wildcard on every answer, with or without an Origin header, and no Vary.
CORS = (("Access-Control-Allow-Origin", "*"),)
JSON = ("Content-Type", "application/json")
CACHE_RETRY_SECONDS = 5


class FastCount:
    """WSGI middleware: the count endpoint's cache hits, the rest to the wrapped app."""

    def __init__(self, app, wsgi_app):
        self.wsgi_app = wsgi_app
        self.config = app.config
        # Flask-Caching's backend itself: cache.get needs an app context only to find it.
        self.backend = app.extensions["cache"][cache]
        # The in-process runner starts with the first request; a count poll is one too.
        self.runner = app.extensions.get("jobs")
        # Flask refuses hosts outside these (400) or routes by them: leave it to Flask.
        self.enabled = not (app.config.get("TRUSTED_HOSTS") or app.config.get("SERVER_NAME"))
        self.tails = {}
        # After a cache error, leave the count to Flask (which logs and reads the database) for
        # a while, rather than wait on a failing Redis twice per request.
        self.cache_down_until = 0.0

    def __call__(self, environ, start_response):
        answer = self.answer(environ) if self.enabled else None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return [body] if body and environ["REQUEST_METHOD"] == "GET" else []

    def answer(self, environ):
        """(status, headers, body) for a request this path serves, else None."""
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            return None
        match = PATH.match(environ.get("PATH_INFO", ""))
        if match is None:
            return None
        query = environ.get("QUERY_STRING", "")
        # refuse_nul answers 400 to a NUL in the query, encoded or not.
        if "%00" in query or "\x00" in query:
            return None
        if environ.get("CONTENT_LENGTH") not in (None, "", "0"):
            return None
        if any(key in environ for key in UNHANDLED):
            return None
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match is not None and not ONE_ETAG.match(if_none_match):
            return None

        if self.runner is not None:
            self.runner.ensure_started()
        if self.cache_down_until and time.monotonic() < self.cache_down_until:
            return None
        try:
            found = self.backend.get(snapshots.count_key(match.group(1)))
        except (RedisError, OSError):
            self.cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS
            return None
        self.cache_down_until = 0.0
        if found is None or found == snapshots.MISSING:
            return None
        body, etag = found

        etag = ("ETag", f'"{etag}"')
        cache_control, rest = self.tail(environ.get("wsgi.url_scheme") in ("https", "wss"))
        if if_none_match is None:
            head = [JSON, ("Content-Length", str(len(body))), etag, cache_control, *rest]
            return "200 OK", head, body
        # As public_cache's make_conditional answers: a Date added, and a 304 without the
        # entity headers (werkzeug drops them).
        date = ("Date", http_date())
        if if_none_match == etag[1]:
            return "304 NOT MODIFIED", [etag, cache_control, date, *rest], b""
        head = [JSON, ("Content-Length", str(len(body))), etag, cache_control, date, *rest]
        return "200 OK", head, body

    def tail(self, secure):
        """The headers after ETag, in Flask's order: Cache-Control, then security and CORS."""
        config = self.config
        key = (config["API_MAX_AGE"], config["API_STALE_SECONDS"], config["HSTS"] and secure)
        found = self.tails.get(key)
        if found is None:
            rest = (*security_header_items(bool(key[2])), *CORS)
            found = ("Cache-Control", cache_control(config)), rest
            self.tails = {key: found}
        return found
