import ipaddress
import os
import shutil
import socket

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, select, text

from petition import create_app
from petition.core.db import utcnow
from petition.core.extensions import db
from petition.mail.models import OutboxMessage
from petition.petitions.models import Milestone, Petition, Signature
from tests import services
from tests.helpers import ADMIN, CAMPAIGNER, STAFF_PASSWORD, csrf_token, staff_login, test_config

BACKENDS = ["sqlite", "postgresql"]


# --- hypothesis ------------------------------------------------------------------------------

# The property tests drive one app (function-scoped, once per database) through many examples;
# they assert only "no 500 and a sane status", so state shared between examples is fine.
# In CI the examples are the same on every run (derandomize, no example database), so a red CI
# run is reproducible; locally each run explores new inputs. HYPOTHESIS_PROFILE=thorough
# explores much further before a change that touches input handling.
settings.register_profile(
    "petition",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    **({"derandomize": True, "database": None} if services.IN_CI else {}),
)
settings.register_profile("thorough", settings.get_profile("petition"), max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "petition"))


# --- no traffic beyond this machine -------------------------------------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback_only(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host != "localhost":
            try:
                loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise AssertionError(f"test tried to reach {address!r}; only loopback is allowed")


@pytest.fixture(autouse=True)
def no_outside_network(monkeypatch):
    def connect(sock, address):
        _loopback_only(sock, address)
        return _real_connect(sock, address)

    def connect_ex(sock, address):
        _loopback_only(sock, address)
        return _real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


# --- databases built through the migrations ------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    services.migrate(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    name = f"petition_test_{services.worker_id()}"
    url = services.postgres_database(name)
    services.migrate(url, tmp_path_factory.mktemp("pg-instance"))
    engine = create_engine(url)
    yield url, engine
    engine.dispose()
    services.drop_postgres_database(name)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A migrated, empty database: a copy of the SQLite template, or truncated PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "petition.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    services.require_postgres()
    url, engine = request.getfixturevalue("postgres_url")
    with engine.begin() as conn:
        # Every table the models know (create_app imported every feature's), not a list kept by
        # hand: a new feature's table is emptied between tests from its first day.
        tables = ", ".join(table.name for table in db.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def app_config():
    """Per-test config overrides; a test sets keys on it before asking for app."""
    return {}


@pytest.fixture
def make_app(database_url, tmp_path):
    """More apps on the test database, as separate app processes would be; disposed after.

    Apps made with the same name share an instance folder, as workers of one server do.
    """
    made = []

    def make(name="app", **overrides):
        app = create_app(
            test_config(database_url, tmp_path, **overrides), instance_path=str(tmp_path / name)
        )
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path, app_config):
    app = create_app(test_config(database_url, tmp_path, **app_config), instance_path=tmp_path)
    yield app
    runner = app.extensions.get("jobs")
    if runner is not None:
        runner.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


# --- Chromium --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, one per test module."""
    services.require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=services.CHROMIUM, args=services.CHROMIUM_ARGS, timeout=30_000
        )
        yield browser
        browser.close()


# --- factories and helpers ------------------------------------------------------------------


@pytest.fixture
def make_petition(app):
    def make(slug="speak-out", state="open", milestones=((100, "A hundred"),), **fields):
        with app.app_context():
            fields.setdefault("title", "Speak out")
            fields.setdefault("target", "The IOC")
            fields.setdefault("text", "Please **act**.")
            petition = Petition(slug=slug, state=state, **fields)
            for count, label in milestones:
                petition.milestones.append(Milestone(count=count, label=label))
            db.session.add(petition)
            db.session.commit()
            return petition.id

    return make


@pytest.fixture
def make_signature(app):
    def make(petition_id, email="someone@example.org", state="confirmed", country="FR", **fields):
        from petition.petitions import counting

        with app.app_context():
            fields.setdefault("name", "Some One")
            now = utcnow()
            signature = Signature(
                petition_id=petition_id,
                email=email,
                canonical_email=email.lower(),
                country=country,
                state=state,
                created_at=now,
                confirmed_at=now if state == "confirmed" else None,
                mail_count=1,
                mail_window_start=now,
                **fields,
            )
            db.session.add(signature)
            if state == "confirmed":
                # Counted as a confirmation is: one journal entry, which the fold applies.
                counting.add_confirmed(petition_id, country, +1)
            db.session.commit()
            return signature.id

    return make


@pytest.fixture
def fold(app):
    """Fold the count journal now, as the periodic job does; returns the entries applied.

    Counts read exact without it; milestones are stamped (and mailed) by the fold.
    """

    def run():
        from petition.petitions import counting

        with app.app_context():
            return counting.fold(app.config)

    return run


@pytest.fixture
def accounts(app):
    """An admin (id 1) and a campaigner (id 2), with STAFF_PASSWORD, nobody logged in."""
    from petition.staff import auth

    with app.app_context():
        auth.create_staff(ADMIN, STAFF_PASSWORD, "admin")
        auth.create_staff(CAMPAIGNER, STAFF_PASSWORD, "campaigner")
        db.session.commit()
    return {ADMIN: 1, CAMPAIGNER: 2}


@pytest.fixture
def staff(app, client):
    """A campaigner account, logged in on the test client."""
    from petition.staff import auth

    with app.app_context():
        auth.create_staff(CAMPAIGNER, STAFF_PASSWORD, "campaigner")
        db.session.commit()
    assert staff_login(client, CAMPAIGNER).status_code == 303
    return CAMPAIGNER


@pytest.fixture
def sign(client):
    """Post the sign form the way a browser does, CSRF token and all."""

    def post(slug="speak-out", **fields):
        data = {"name": "Ana Souza", "email": "ana@example.org", "country": "BR"}
        data.update(fields)
        data = {k: v for k, v in data.items() if v is not None}
        data.setdefault("csrf_token", csrf_token(client, f"/petitions/{slug}"))
        return client.post(f"/petitions/{slug}/sign", data=data)

    return post


@pytest.fixture
def outbox(app):
    """The mails queued so far, oldest first, each as an email.message with .body text."""

    def read():
        with app.app_context():
            rows = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
            return [
                {
                    "to": r.to,
                    "subject": r.subject,
                    "body": r.body,
                    "sent_at": r.sent_at,
                    "attachment": r.attachment,
                    "attachment_name": r.attachment_name,
                    "attachment_type": r.attachment_type,
                }
                for r in rows
            ]

    return read
