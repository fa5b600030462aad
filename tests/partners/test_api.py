"""The public API as partner sites use it: shapes, CORS, caching, conditional requests."""

import threading
import time
from xml.etree import ElementTree

import pytest
from sqlalchemy import event, select

from petition.core.extensions import db
from petition.mail.models import OutboxMessage
from petition.petitions.models import Petition
from tests import services
from tests.helpers import csrf_token, link, token_of

SVG = "{http://www.w3.org/2000/svg}"


def set_offline(app, pid, n):
    with app.app_context():
        db.session.get(Petition, pid).offline_count = n
        db.session.commit()


@pytest.mark.parametrize(
    "path", ["/api/petitions", "/api/petitions/speak-out", "/api/petitions/speak-out/count"]
)
def test_cors_cache_control_etag_and_304(client, make_petition, path):
    make_petition()
    first = client.get(path, headers={"Origin": "https://blog.example.ie"})
    assert first.status_code == 200
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["Cache-Control"] == "public, max-age=2, stale-while-revalidate=2"
    assert "Set-Cookie" not in first.headers
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_errors_are_json_with_the_right_status(client):
    missing = client.get("/api/petitions/nope/count")
    assert missing.status_code == 404
    assert missing.get_json() == {
        "error": {"code": "not_found", "message": "No petition with the slug 'nope'."}
    }
    assert missing.headers["Access-Control-Allow-Origin"] == "*"
    wrong = client.post("/api/petitions")
    assert wrong.status_code in (400, 405)
    assert "error" in wrong.get_json()


def test_drafts_are_not_public(client, make_petition):
    make_petition(state="draft")
    assert client.get("/api/petitions/speak-out").status_code == 404
    assert client.get("/api/petitions").get_json() == {"petitions": []}


# A lifetime longer than the loop, however loaded the machine: the test is about hits.
@pytest.mark.parametrize("app_config", [{"CACHE_TYPE": "SimpleCache", "COUNT_CACHE_SECONDS": 60}])
def test_page_views_within_the_cache_lifetime_do_not_reach_the_database(app, client, make_petition):
    make_petition()
    statements = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(200):
            assert client.get("/api/petitions/speak-out/count").status_code == 200
            client.get("/api/petitions/speak-out")
            client.get("/petitions/speak-out/badge.svg")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads = [s for s in statements if "FROM petitions" in s]
    # One read fills the count entry and the snapshot; the badge's and the API's own reads, if
    # any, once each. Never one per request.
    assert 1 <= len(reads) <= 3, reads


def confirm_one(client, sign_fixture, outbox, email):
    sign_fixture(email=email)
    path = link(outbox()[-1]["body"], "confirm")
    client.post(path, data={"csrf_token": csrf_token(client, path)})


@pytest.mark.parametrize("app_config", [{"CACHE_TYPE": "SimpleCache"}])
def test_a_confirmation_shows_within_five_seconds(client, make_petition, sign, outbox):
    make_petition()
    assert client.get("/api/petitions/speak-out/count").get_json()["signature_count"] == 0
    confirm_one(client, sign, outbox, "fresh@example.org")
    confirmed_at = time.monotonic()
    # The cached answer may still say 0, but only for the cache lifetime plus what HTTP
    # caches may add (max-age + stale-while-revalidate): 1 + 2 + 2 seconds at most.
    while client.get("/api/petitions/speak-out/count").get_json()["signature_count"] != 1:
        assert time.monotonic() - confirmed_at < 5, "confirmation not visible within 5 s"
        time.sleep(0.05)
    config = client.application.config
    assert config["COUNT_CACHE_SECONDS"] + config["API_MAX_AGE"] + config["API_STALE_SECONDS"] <= 5


def test_the_count_cache_is_shared_through_redis(database_url, tmp_path):
    services.require_redis()
    import redis

    from petition import create_app
    from tests.helpers import test_config

    redis.Redis.from_url(services.REDIS_URL).flushdb()
    config = test_config(
        database_url,
        tmp_path,
        CACHE_TYPE=None,
        REDIS_URL=services.REDIS_URL,
        COUNT_CACHE_SECONDS=30,
    )
    first, second = (create_app(config, instance_path=tmp_path / n) for n in ("a", "b"))
    with first.app_context():
        db.session.add(Petition(slug="shared", title="T", target="X", state="open"))
        db.session.commit()
    try:
        assert first.config["CACHE_TYPE"] == "RedisCache"
        assert (
            first.test_client().get("/api/petitions/shared/count").get_json()["signature_count"]
            == 0
        )
        with first.app_context():
            db.session.execute(select(Petition)).scalar_one().offline_count = 5
            db.session.commit()
        # The second app server answers from the snapshot the first one stored in Redis.
        assert (
            second.test_client().get("/api/petitions/shared/count").get_json()["signature_count"]
            == 0
        )
        keys = redis.Redis.from_url(services.REDIS_URL).keys("petition:snapshot:*")
        assert keys == [b"petition:snapshot:shared"]
        ttl = redis.Redis.from_url(services.REDIS_URL).ttl(keys[0])
        assert 0 < ttl <= 30
    finally:
        redis.Redis.from_url(services.REDIS_URL).flushdb()
        for app in (first, second):
            with app.app_context():
                db.engine.dispose()


def test_without_redis_the_api_still_answers_from_the_database(database_url, tmp_path):
    from petition import create_app
    from tests.helpers import test_config

    # A closed port: Redis is down. The count must come from the database, not a 500.
    config = test_config(database_url, tmp_path, CACHE_TYPE=None, REDIS_URL="redis://127.0.0.1:9/0")
    app = create_app(config, instance_path=tmp_path)
    with app.app_context():
        db.session.add(Petition(slug="down", title="T", target="X", state="open", offline_count=3))
        db.session.commit()
    try:
        response = app.test_client().get("/api/petitions/down/count")
        assert response.status_code == 200
        assert response.get_json()["signature_count"] == 3
    finally:
        with app.app_context():
            db.engine.dispose()


# --- the badge --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offline", "shown"),
    [
        (0, "0 signatures"),
        (1, "1 signature"),
        (7, "7 signatures"),
        (1_234_567, "1,234,567 signatures"),
    ],
)
def test_badge_shows_any_count(app, client, make_petition, offline, shown):
    pid = make_petition(milestones=[(10, "Ten")])
    set_offline(app, pid, offline)
    response = client.get("/petitions/speak-out/badge.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    root = ElementTree.fromstring(response.data)
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert shown in texts
    counted = [t.get("data-signature-count") for t in root.iter(f"{SVG}text")]
    assert str(offline) in counted
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("y") == "50"]
    track, fill = (float(r.get("width")) for r in bars)
    goal = 10 if offline < 10 else 2_000_000
    assert fill == pytest.approx(track * min(offline / goal, 1), abs=0.1)
    assert (
        client.get(
            "/petitions/speak-out/badge.svg", headers={"If-None-Match": response.headers["ETag"]}
        ).status_code
        == 304
    )


def test_badge_escapes_the_title_and_truncates_it(client, make_petition):
    make_petition(title='Stop <script>alert("x")</script> & "quotes" – a very long title indeed')
    response = client.get("/petitions/speak-out/badge.svg")
    root = ElementTree.fromstring(response.data)
    title = next(root.iter(f"{SVG}text")).text
    assert title.startswith('Stop <script>alert("x")') and title.endswith("…")
    assert b"<script>" not in response.data
    assert client.get("/petitions/nope/badge.svg").status_code == 404


def test_badge_numbers_follow_the_readers_language(app, client, make_petition):
    pid = make_petition()
    set_offline(app, pid, 1_234_567)
    response = client.get("/petitions/speak-out/badge.svg", headers={"Accept-Language": "es"})
    texts = [t.text for t in ElementTree.fromstring(response.data).iter(f"{SVG}text")]
    assert "1.234.567 firmas" in texts
    assert "Accept-Language" in response.headers["Vary"]


# --- milestone mail -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_config", [{"MILESTONE_MAIL_TO": "staff@example.org, lead@example.org"}]
)
def test_a_milestone_is_announced_exactly_once_under_racing_confirmations(
    app, client, make_petition, sign, outbox, fold
):
    from petition.signing import operations as signing

    make_petition(milestones=[(10, "Ten"), (15, "Fifteen"), (100, "Hundred")])
    for i in range(24):
        sign(email=f"p{i}@example.org")
    tokens = [token_of(m["body"], "confirm") for m in outbox()]
    barrier = threading.Barrier(len(tokens))
    errors = []

    def confirm(token):
        try:
            barrier.wait(timeout=30)
            with app.app_context():
                signing.confirm(token, app.config)
                db.session.commit()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=confirm, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert client.get("/api/petitions/speak-out/count").get_json()["signature_count"] == 24
    # Folders racing each other (the periodic job runs in every process) mail each milestone
    # once, and a second round finds nothing left to fold.
    folded = []
    folders = [threading.Thread(target=lambda: folded.append(fold())) for _ in range(4)]
    for t in folders:
        t.start()
    for t in folders:
        t.join(timeout=60)
    assert sum(folded) == 24
    assert fold() == 0
    with app.app_context():
        announced = sorted(
            (m.to, m.subject)
            for m in db.session.execute(select(OutboxMessage)).scalars()
            if m.subject.startswith("Milestone reached")
        )
    assert announced == sorted(
        (to, f"Milestone reached: {label} (Speak out)")
        for to in ("staff@example.org", "lead@example.org")
        for label in ("Ten", "Fifteen")
    )


@pytest.mark.parametrize("app_config", [{"MILESTONE_MAIL_TO": ["staff@example.org"]}])
def test_a_milestone_reached_again_after_moderation_is_not_announced_twice(
    app, client, make_petition, sign, outbox, fold
):
    make_petition(milestones=[(1, "First")])
    sign()
    body = outbox()[0]["body"]
    # A fold after each step: reached, cleared, reached again.
    for kind, reached in (("confirm", True), ("withdraw", False)):
        path = link(body, kind)
        client.post(path, data={"csrf_token": csrf_token(client, path)})
        assert fold() == 1
        detail = client.get("/api/petitions/speak-out").get_json()
        assert (detail["milestones"][0]["reached_at"] is not None) is reached
    sign(email="again@example.org")
    path = link(outbox()[-1]["body"], "confirm")
    client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert fold() == 1
    detail = client.get("/api/petitions/speak-out").get_json()
    assert detail["milestones"][0]["reached_at"] is not None
    milestone_mails = [m for m in outbox() if m["subject"].startswith("Milestone")]
    assert len(milestone_mails) == 1
    assert milestone_mails[0]["to"] == "staff@example.org"
    assert "http://petition.test/petitions/speak-out" in milestone_mails[0]["body"]


def test_petition_page_offers_the_embed_snippets(client, make_petition):
    make_petition(title='Say "no" <now>')
    html = client.get("/petitions/speak-out").get_data(as_text=True)
    assert "Embed this petition on your site" in html
    assert (
        "&lt;div data-petition=&#34;speak-out&#34;&gt;&lt;/div&gt;\n&lt;script "
        "src=&#34;http://petition.test/embed/widget.js&#34; async&gt;"
    ) in html
    assert "http://petition.test/embed/speak-out" in html
    assert (
        "[![Say &#34;no&#34; &lt;now&gt;](http://petition.test/petitions/speak-out/badge.svg)]"
        "(http://petition.test/petitions/speak-out)"
    ) in html
    assert "<now>" not in html


def test_the_iframe_snippet_escapes_the_whole_title(app, make_petition):
    """The snippet is HTML a partner pastes: its title attribute must read back as the title."""
    from html.parser import HTMLParser

    from petition.core.extensions import db
    from petition.petitions.models import Petition
    from petition.signing.views import embed_snippets

    title = 'Fish &amp; chips > "all" <now>'
    make_petition(title=title)
    with app.test_request_context("/"):
        petition = db.session.execute(db.select(Petition)).scalar_one()
        [iframe] = [code for kind, _label, code in embed_snippets(petition) if kind == "iframe"]

    class Frame(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "iframe":
                self.attrs = dict(attrs)

    parser = Frame()
    parser.feed(iframe)
    assert parser.attrs["title"] == title
