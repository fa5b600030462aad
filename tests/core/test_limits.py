"""Request limits (Flask-Limiter): link pages, the API, staff login; Redis, a dead Redis, off."""

import time
import uuid

import pytest

from petition.core.extensions import db
from tests import services
from tests.helpers import csrf_token, link
from tests.live import free_port

SPANISH = {"Accept-Language": "es-ES,es;q=0.9"}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_staff(app):
    def make(email="campaigner@example.org"):
        result = app.test_cli_runner().invoke(
            args=["staff", "create", email, "--role", "campaigner", "--password-stdin"],
            input=PASSWORD + "\n",
        )
        assert result.exit_code == 0, result.output
        return email

    return make


def login(client, email, password=PASSWORD):
    return client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(client, "/staff/login"),
            "email": email,
            "password": password,
        },
    )


def retry_after(response):
    value = int(response.headers["Retry-After"])
    assert value >= 1
    return value


@pytest.mark.parametrize("app_config", [{"CONFIRM_LIMIT": "5 per minute"}])
def test_confirm_and_withdraw_pages_share_one_limit_per_address(
    app, client, make_petition, sign, outbox
):
    make_petition()
    sign()
    body = outbox()[0]["body"]
    confirm, withdraw = link(body, "confirm"), link(body, "withdraw")
    # The CSRF token comes from a page without a limit, so only link pages are counted below.
    token = csrf_token(client, "/petitions/speak-out")
    statuses = [
        client.get(confirm).status_code,
        client.get(withdraw).status_code,
        client.get("/confirm/a-guessed-token").status_code,
        client.get("/withdraw/another-guess").status_code,
        client.post(confirm, data={"csrf_token": token}).status_code,
    ]
    assert statuses == [200, 200, 404, 404, 200]

    # Without the link's ?lang=en (and the cookie it set), the browser's language speaks.
    client.delete_cookie("lang")
    refused = client.post(withdraw.split("?")[0], data={"csrf_token": token}, headers=SPANISH)
    assert refused.status_code == 429
    assert 1 <= retry_after(refused) <= 60
    assert refused.headers["Cache-Control"] == "no-store"
    html = refused.get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in html
    assert "Demasiados intentos" in html
    assert "Vuelve a intentarlo dentro de" in html
    assert "El enlace de tu correo sigue funcionando" in html
    # The withdrawal was refused, not done: the signature still counts.
    assert client.get("/api/petitions/speak-out/count").get_json()["signature_count"] == 1
    english = client.get(confirm)
    assert english.status_code == 429
    assert "Please try again in " in english.get_data(as_text=True)

    # Another address has its own budget; pages without a limit stay open to this one.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert other.get(confirm).status_code == 200
    assert client.get("/petitions/speak-out").status_code == 200


@pytest.mark.parametrize("app_config", [{"API_LIMIT": "4 per minute"}])
def test_api_over_its_limit_answers_json_429(app, client, make_petition):
    make_petition()
    assert [
        client.get("/api/petitions").status_code,
        client.get("/api/petitions/speak-out").status_code,
        client.get("/api/petitions/nope").status_code,
        # The iframe page shares the API's budget.
        client.get("/embed/speak-out").status_code,
    ] == [200, 200, 404, 200]

    refused = client.get("/api/petitions/speak-out")
    assert refused.status_code == 429
    assert refused.mimetype == "application/json"
    error = refused.get_json()["error"]
    assert error["code"] == "rate_limited"
    seconds = retry_after(refused)
    assert 1 <= seconds <= 60 and f"{seconds} s" in error["message"]
    assert refused.headers["Cache-Control"] == "no-store"
    assert refused.headers["X-RateLimit-Limit"] == "4"
    # A browser's CORS request must still be able to read the refusal.
    cors = client.get("/api/petitions", headers={"Origin": "https://partner.example"})
    assert cors.status_code == 429 and cors.headers["Access-Control-Allow-Origin"] == "*"
    frame = client.get("/embed/speak-out")
    assert frame.status_code == 429 and frame.mimetype == "text/html"

    # The badge, the widget script and the count have no limit (the count: see api.py).
    assert client.get("/petitions/speak-out/badge.svg").status_code == 200
    assert client.get("/embed/widget.js").status_code == 200
    assert client.get("/api/petitions/speak-out/count").status_code == 200
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert other.get("/api/petitions/speak-out").status_code == 200


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "ABUSE_CHECKS": "0",
            "CONFIRM_LIMIT": "1 per minute",
            "API_LIMIT": "1 per minute",
            "LOGIN_LIMIT_PER_ADDRESS": "1 per minute",
            "LOGIN_LIMIT_PER_ACCOUNT": "1 per minute",
        }
    ],
)
def test_abuse_checks_off_turns_request_limits_off(app, client, make_petition, make_staff):
    make_petition()
    email = make_staff()
    for _ in range(3):
        assert client.get("/confirm/a-guess").status_code == 404
        assert client.get("/api/petitions/speak-out").status_code == 200
        assert login(client, email, "wrong password!!").status_code == 400
    assert "X-RateLimit-Limit" not in client.get("/api/petitions").headers


LOGIN_WINDOW = 4


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "LOGIN_LIMIT_PER_ADDRESS": f"20 per {LOGIN_WINDOW} seconds",
            "LOGIN_LIMIT_PER_ACCOUNT": f"10 per {LOGIN_WINDOW} seconds",
        }
    ],
)
def test_30_wrong_logins_meet_429_and_the_right_password_works_after_the_window(client, make_staff):
    email = make_staff()
    token = csrf_token(client, "/staff/login")

    def attempt(password):
        data = {"csrf_token": token, "email": email, "password": password}
        return client.post("/staff/login", data=data)

    started = time.monotonic()
    statuses = [attempt("wrong password!!").status_code for _ in range(30)]
    assert statuses[:10] == [400] * 10  # each of these checked the password
    assert 429 in statuses
    refused = attempt(PASSWORD)
    if time.monotonic() - started < LOGIN_WINDOW:
        # Still inside the window: the right password is refused like any other.
        assert refused.status_code == 429
        assert 1 <= retry_after(refused) <= LOGIN_WINDOW

    # Poll until the window has passed; bounded well beyond it.
    deadline = time.monotonic() + LOGIN_WINDOW + 10
    while (response := attempt(PASSWORD)).status_code == 429:
        assert time.monotonic() < deadline, "the login stayed locked after its window"
        time.sleep(0.2)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


@pytest.mark.parametrize(
    ("app_config", "rotate"),
    [
        (
            {
                "TRUSTED_PROXIES": 1,
                "LOGIN_LIMIT_PER_ACCOUNT": "3 per 10 minutes",
                "LOGIN_LIMIT_PER_ADDRESS": "100 per 10 minutes",
            },
            "address",
        ),
        (
            {
                "TRUSTED_PROXIES": 1,
                "LOGIN_LIMIT_PER_ACCOUNT": "100 per 10 minutes",
                "LOGIN_LIMIT_PER_ADDRESS": "3 per 10 minutes",
            },
            "account",
        ),
    ],
)
def test_login_limits_per_account_across_addresses_and_per_address_across_accounts(
    client, make_staff, rotate
):
    accounts = [make_staff(f"staff{i}@example.org") for i in range(5 if rotate == "account" else 2)]
    statuses = []
    for i in range(4):
        # Behind the trusted proxy, each attempt comes from the address it forwards.
        forwarded = f"198.51.100.{i + 1}" if rotate == "address" else "198.51.100.1"
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
        email = accounts[0] if rotate == "address" else accounts[i]
        statuses.append(login(client, email, "wrong password!!").status_code)
    assert statuses == [400, 400, 400, 429]

    if rotate == "address":
        # The account stays locked from a fresh address, even with the right password...
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
        assert login(client, accounts[0]).status_code == 429
        # ...while another account logs in from there.
        assert login(client, accounts[-1]).status_code == 303
    else:
        # That address is locked for every account; the same account from elsewhere is not.
        assert login(client, accounts[-1]).status_code == 429
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
        assert login(client, accounts[-1]).status_code == 303


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_ACCOUNT": "3 per 10 minutes"}])
def test_a_json_body_does_not_get_round_the_account_limit(client, make_staff):
    """Flask-WTF reads JSON too; the account's limit counts the form's email only."""
    import json

    email = make_staff()
    statuses = [login(client, email, "wrong password!!").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    for content_type in ("application/json", "application/json; charset=utf-8"):
        response = client.post(
            "/staff/login",
            data=json.dumps({"email": email, "password": PASSWORD}),
            content_type=content_type,
            headers={"X-CSRFToken": csrf_token(client, "/staff/login")},
        )
        assert response.status_code == 415
    # Still not logged in: the staff area sends this client to the login page.
    assert client.get("/staff/").status_code == 302


# --- Redis ---------------------------------------------------------------------------------


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own, so parallel runs on one Redis never count together."""
    import redis

    services.require_redis()
    prefix = f"petition-test-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(services.REDIS_URL)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.mark.parametrize("storage", ["redis", "memory"])
def test_limits_in_redis_are_counted_together_by_every_app(make_app, redis_prefix, storage):
    import redis

    config = {"API_LIMIT": "3 per minute", "RATELIMIT_KEY_PREFIX": redis_prefix}
    if storage == "redis":
        config["REDIS_URL"] = services.REDIS_URL
    first = make_app(**config)
    with first.app_context():
        from petition.petitions.models import Petition

        db.session.add(Petition(slug="speak-out", title="T", target="T", text="x", state="open"))
        db.session.commit()
    assert first.config["RATELIMIT_STORAGE_URI"] == config.get("REDIS_URL", "memory://")
    one = first.test_client()
    assert [one.get("/api/petitions/speak-out").status_code for _ in range(2)] == [200, 200]

    # A second app (another gunicorn worker or machine) starts with a storage of its own.
    two = make_app(**config).test_client()
    statuses = [two.get("/api/petitions/speak-out").status_code for _ in range(2)]
    if storage == "redis":
        assert statuses == [200, 429]
        keys = redis.Redis.from_url(services.REDIS_URL).keys(f"*{redis_prefix}*")
        assert len(keys) == 1 and b"api" in keys[0]
    else:
        # The control: per-process memory does not share, which is why production uses Redis.
        assert statuses == [200, 200]


def test_a_dead_redis_takes_down_neither_signing_nor_the_api(make_app):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(
        REDIS_URL=dead,
        CACHE_TYPE=None,  # the count cache on the dead Redis too, as in production
        API_LIMIT="5 per minute",
        CONFIRM_LIMIT="50 per minute",
    )
    assert app.config["RATELIMIT_STORAGE_URI"] == dead
    assert app.config["CACHE_TYPE"] == "RedisCache"
    with app.app_context():
        from petition.petitions.models import Petition

        db.session.add(Petition(slug="speak-out", title="T", target="T", text="x", state="open"))
        db.session.commit()
    client = app.test_client()
    started = time.monotonic()
    token = csrf_token(client, "/petitions/speak-out")
    signed = client.post(
        "/petitions/speak-out/sign",
        data={"csrf_token": token, "name": "Ana", "email": "ana@example.org", "country": "BR"},
    )
    assert signed.status_code == 303
    with app.app_context():
        from sqlalchemy import select

        from petition.mail.models import OutboxMessage

        body = db.session.execute(select(OutboxMessage.body)).scalar_one()
    confirm = link(body, "confirm")
    assert client.get(confirm).status_code == 200
    assert client.post(confirm, data={"csrf_token": token}).status_code == 200
    count = client.get("/api/petitions/speak-out/count")
    assert count.status_code == 200 and count.get_json()["signature_count"] == 1
    # Limits still hold, counted in this process's memory until Redis is back (the count
    # above is exempt from API_LIMIT).
    statuses = [client.get("/api/petitions").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    # Refused connections fail fast; nothing waited on a timeout.
    assert time.monotonic() - started < 10


def test_a_429_never_says_retry_after_0(app, client):
    """In the last second of a window Flask-Limiter writes int(reset - now) = 0; a client told
    0 comes straight back into another refusal, so the app's last hook says 1."""

    @app.get("/__edge-of-window")
    def edge():
        return "wait", 429, {"Retry-After": "0"}

    assert client.get("/__edge-of-window").headers["Retry-After"] == "1"
