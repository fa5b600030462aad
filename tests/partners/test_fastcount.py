"""The count endpoint's WSGI fast path (partners/fastcount.py) answers exactly as Flask does."""

import time
import uuid

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import EnvironBuilder

from petition.core.extensions import db
from petition.partners.fastcount import FastCount
from petition.petitions.models import Petition
from tests import services
from tests.helpers import csrf_token, link
from tests.live import free_port

COUNT = "/api/petitions/speak-out/count"
HTTP, HTTPS = "http://localhost", "https://localhost"


SETTINGS = {"CACHE_TYPE": "SimpleCache", "HSTS": True, "API_LIMIT": "3 per minute"}


@pytest.fixture
def app_config():
    # A real cache (the tests' default is none), HSTS on to see it over HTTPS, a tight API limit,
    # and entries that outlive a test: with the default second, a loaded CI machine let one expire
    # between the warm-up and the call meant to be a hit, which then went through Flask.
    return {**SETTINGS, "COUNT_CACHE_SECONDS": 60}


class Paths:
    """Calls the whole WSGI stack with the fast path on, or off so that Flask answers."""

    def __init__(self, app):
        self.app = app
        fast = app.wsgi_app
        if isinstance(fast, ProxyFix):
            fast = fast.app
        assert isinstance(fast, FastCount)
        self.fastcount, flask_app = fast, fast.wsgi_app
        self.through_flask = []

        def spy(environ, start_response):
            self.through_flask.append(environ["PATH_INFO"])
            return flask_app(environ, start_response)

        fast.wsgi_app = spy

    def call(self, fast=True, method="GET", path=COUNT, headers=None, base=HTTP, **kw):
        environ = EnvironBuilder(
            method=method, path=path, headers=headers, base_url=base, **kw
        ).get_environ()
        started = {}

        def start_response(status, headers, exc_info=None):
            started["status"], started["headers"] = status, list(headers)

        self.fastcount.enabled = fast
        try:
            result = self.app.wsgi_app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            self.fastcount.enabled = True
        return started["status"], started["headers"], body

    def both(self, **kw):
        """(fast answer, Flask answer, whether the fast call reached Flask)."""
        before = len(self.through_flask)
        fast = self.call(**kw)
        fell_through = len(self.through_flask) > before
        return fast, self.call(fast=False, **kw), fell_through


def same(fast, flask):
    """Equal byte for byte but for the Date value, which may tick between the two calls."""
    assert fast[0] == flask[0]
    assert fast[2] == flask[2]
    strip = [(k, "(a date)" if k == "Date" else v) for k, v in fast[1]]
    assert strip == [(k, "(a date)" if k == "Date" else v) for k, v in flask[1]]


@pytest.fixture
def paths(app, make_petition):
    make_petition()
    return Paths(app)


def warm(paths):
    """The first request fills the cache through Flask; the next is served from it."""
    status, headers, body = paths.call()
    assert status == "200 OK"
    return dict(headers)["ETag"]


@pytest.mark.parametrize("base", [HTTP, HTTPS])
@pytest.mark.parametrize(
    "headers",
    [None, {"Origin": "https://partner.example"}, {"Accept-Language": "es"}],
    ids=["plain", "cors", "spanish"],
)
def test_200_is_flasks_answer(paths, base, headers):
    warm(paths)
    fast, flask, fell_through = paths.both(base=base, headers=headers)
    assert not fell_through
    same(fast, flask)
    status, head, body = fast
    head = dict(head)
    assert status == "200 OK" and body.startswith(b'{"goal":100,"signature_count":0,')
    assert head["Content-Type"] == "application/json"
    assert head["Content-Length"] == str(len(body))
    assert head["Cache-Control"] == "public, max-age=2, stale-while-revalidate=2"
    assert head["Access-Control-Allow-Origin"] == "*"
    assert head["X-Frame-Options"] == "DENY" and head["X-Content-Type-Options"] == "nosniff"
    assert ("Strict-Transport-Security" in head) == base.startswith("https")
    assert "Set-Cookie" not in head and "X-RateLimit-Limit" not in head


def test_304_on_a_matching_etag_and_200_on_an_older_one(paths):
    etag = warm(paths)
    fast, flask, fell_through = paths.both(headers={"If-None-Match": etag})
    assert not fell_through
    same(fast, flask)
    assert fast[0] == "304 NOT MODIFIED" and fast[2] == b""
    assert "Content-Length" not in dict(fast[1]) and dict(fast[1])["ETag"] == etag

    fast, flask, fell_through = paths.both(headers={"If-None-Match": '"an-older-count"'})
    assert not fell_through
    same(fast, flask)
    assert fast[0] == "200 OK" and "Date" in dict(fast[1])


def test_head(paths):
    warm(paths)
    fast, flask, fell_through = paths.both(method="HEAD")
    assert not fell_through
    same(fast, flask)
    assert fast[2] == b"" and int(dict(fast[1])["Content-Length"]) > 0


def test_a_miss_goes_through_flask_then_the_next_is_fast(paths):
    paths.call()
    assert paths.through_flask == [COUNT]
    paths.call()
    assert paths.through_flask == [COUNT]


@pytest.mark.parametrize(
    "request_",
    [
        {
            "method": "OPTIONS",
            "headers": {"Origin": "https://p.example", "Access-Control-Request-Method": "GET"},
        },
        {"method": "POST"},
        {"path": "/api/petitions/nope/count"},
        {"path": "/api/petitions/speak-out/count/"},
        {"path": "/api/petitions/sp%C3%A9ak/count"},
        {"path": "/api/petitions/speak\x00out/count"},
        {"query_string": "x=%00"},
        {"headers": {"If-Modified-Since": "Wed, 21 Oct 2015 07:28:00 GMT"}},
        {"headers": {"Range": "bytes=0-3"}},
        {"headers": {"If-Match": '"x"'}},
        {"headers": {"If-None-Match": "*"}},
        {"headers": {"If-None-Match": 'W/"x", "y"'}},
        {"headers": {"Access-Control-Request-Private-Network": "true"}},
        {"method": "GET", "data": b"a body"},
    ],
    ids=lambda r: repr(r)[:60],
)
def test_what_the_fast_path_does_not_handle_is_flasks(paths, request_):
    warm(paths)
    paths.call()  # for the 404 too: its cache entry exists from here on
    fast, flask, fell_through = paths.both(**request_)
    assert fell_through
    same(fast, flask)


def test_an_unknown_slug_is_flasks_json_404(paths):
    for _ in range(2):  # the second time from the cached "missing" entry
        fast, flask, fell_through = paths.both(path="/api/petitions/nope/count")
        same(fast, flask)
        status, headers, body = fast
        assert fell_through and status.startswith("404")
        assert b'"code":"not_found"' in body.replace(b" ", b"")
        assert dict(headers)["Access-Control-Allow-Origin"] == "*"


def test_options_preflight_gets_cors_from_flask(app, make_petition):
    make_petition()
    client = app.test_client()
    client.get(COUNT)
    response = client.options(
        COUNT, headers={"Origin": "https://p.example", "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    "app_config", [{"CACHE_TYPE": "SimpleCache", "HSTS": True, "TRUSTED_PROXIES": 1}]
)
def test_behind_a_proxy_the_scheme_and_address_come_from_proxyfix(app, paths):
    warm(paths)
    for forwarded in ("https", "http"):
        headers = {"X-Forwarded-Proto": forwarded, "X-Forwarded-For": "203.0.113.9"}
        fast, flask, fell_through = paths.both(headers=headers)
        assert not fell_through
        same(fast, flask)
        assert ("Strict-Transport-Security" in dict(fast[1])) == (forwarded == "https")


def test_the_count_is_exempt_from_the_api_limit_on_both_paths(app, paths):
    # API_LIMIT is 3 a minute here: the count stays open past it, served fast or by Flask.
    client = app.test_client()
    statuses = [client.get("/api/petitions/speak-out").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    for _ in range(5):
        fast, flask, _fell = paths.both()
        assert fast[0] == flask[0] == "200 OK"
        same(fast, flask)


@pytest.mark.parametrize("app_config", [{**SETTINGS, "COUNT_CACHE_SECONDS": 1}])
def test_a_confirmation_shows_within_the_cache_lifetime(app, paths, sign, outbox):
    client = app.test_client()
    assert client.get(COUNT).get_json()["signature_count"] == 0
    served_fast = len(paths.through_flask)
    assert client.get(COUNT).get_json()["signature_count"] == 0
    assert len(paths.through_flask) == served_fast  # a cache hit, not through Flask

    assert sign(email="fresh@example.org").status_code == 303
    confirm = link(outbox()[-1]["body"], "confirm")
    client.post(confirm, data={"csrf_token": csrf_token(client, confirm)})
    confirmed_at = time.monotonic()
    # The fast path reads the entry Flask fills: it may hold the old count for
    # COUNT_CACHE_SECONDS, never longer.
    limit = app.config["COUNT_CACHE_SECONDS"] + 0.5
    while client.get(COUNT).get_json()["signature_count"] != 1:
        assert time.monotonic() - confirmed_at < limit, "the fast path kept an old count"
        time.sleep(0.05)


def test_with_redis_one_app_fills_the_entry_another_serves_fast(make_app):
    services.require_redis()
    import redis

    prefix = f"petition-test-{uuid.uuid4().hex}:"
    config = {"CACHE_TYPE": None, "REDIS_URL": services.REDIS_URL, "CACHE_KEY_PREFIX": prefix}
    first, second = make_app("a", **config), make_app("b", **config)
    with first.app_context():
        db.session.add(Petition(slug="speak-out", title="T", target="X", state="open"))
        db.session.commit()
    try:
        assert first.config["CACHE_TYPE"] == "RedisCache"
        assert first.test_client().get(COUNT).status_code == 200
        paths = Paths(second)
        fast, flask, fell_through = paths.both()
        assert not fell_through and fast[0] == "200 OK"
        same(fast, flask)
    finally:
        store = redis.Redis.from_url(services.REDIS_URL)
        keys = list(store.scan_iter(match=f"{prefix}*"))
        if keys:
            store.delete(*keys)
        store.close()


def test_with_the_cache_down_flask_answers_from_the_database(make_app):
    app = make_app("down", CACHE_TYPE=None, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        db.session.add(Petition(slug="speak-out", title="T", target="X", state="open"))
        db.session.commit()
    paths = Paths(app)
    for _ in range(2):
        (status, _headers, body), _flask, fell_through = paths.both()
        assert fell_through and status == "200 OK" and b'"signature_count":0' in body
    # The fast path stepped aside after the first error instead of trying Redis every time.
    assert paths.fastcount.cache_down_until > 0
