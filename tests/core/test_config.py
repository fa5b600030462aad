import pytest

from petition import create_app
from petition.core.config import ConfigError, database_url

SECRET = "a-real-secret-key-of-more-than-32-characters"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in ("DEPLOYMENT", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PUBLIC_URL"):
        monkeypatch.delenv(key, raising=False)


def make(tmp_path, **config):
    return create_app(config or None, instance_path=tmp_path)


def test_production_refuses_to_start_without_a_real_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYMENT", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        make(tmp_path)
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        make(tmp_path)
    monkeypatch.setenv("SECRET_KEY", SECRET)
    app = make(tmp_path)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["HSTS"] is True
    assert app.config["JOBS_IN_PROCESS"] is False
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_debug(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYMENT", "production")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigError, match="debug"):
        make(tmp_path)


def test_production_defaults_can_still_be_overridden(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYMENT", "production")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("FLASK_HSTS", "false")
    assert make(tmp_path).config["HSTS"] is False


def test_development_keeps_a_random_secret_in_the_instance_folder(tmp_path):
    first = make(tmp_path).config["SECRET_KEY"]
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert make(tmp_path).config["SECRET_KEY"] == first
    assert make(tmp_path / "other").config["SECRET_KEY"] != first


def test_layers_defaults_instance_file_environment_then_test_mapping(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("MAIL_PORT = 2525\nMAIL_SERVER = 'mx.example.org'\n")
    monkeypatch.setenv("FLASK_MAIL_PORT", "587")
    monkeypatch.setenv("PUBLIC_URL", "https://act.example.org/")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/petition")
    app = make(tmp_path, MAIL_SERVER="smtp.test")
    assert app.config["MAIL_PORT"] == 587
    assert app.config["MAIL_SERVER"] == "smtp.test"
    assert app.config["PUBLIC_URL"] == "https://act.example.org"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/petition"


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    uri = make(tmp_path).config["SQLALCHEMY_DATABASE_URI"]
    assert uri == f"sqlite:///{tmp_path}/petition.db"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
        ("postgresql://h/d", "postgresql+psycopg://h/d"),
        ("postgresql+psycopg://h/d", "postgresql+psycopg://h/d"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_urls_use_psycopg3(given, used):
    assert database_url(given) == used


def test_unknown_mail_backend_is_named(tmp_path):
    from petition.mail.outbox import make_sender

    app = make(tmp_path, MAIL_BACKEND="pigeon")
    with pytest.raises(ValueError, match="pigeon"):
        make_sender(app.config)


def test_pages_carry_security_headers_and_safe_cookies(client, make_petition):
    make_petition()
    response = client.get("/petitions/speak-out")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Strict-Transport-Security" not in response.headers


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    from sqlalchemy import text

    from petition.core.extensions import db

    app = make(tmp_path)
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.session.rollback()
        db.engine.dispose()


@pytest.mark.parametrize("app_config", [{"HSTS": True}])
def test_hsts_only_over_https(client, make_petition):
    make_petition()
    assert "Strict-Transport-Security" not in client.get("/petitions/speak-out").headers
    secure = client.get("/petitions/speak-out", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}])
def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(
    app, client, make_petition, sign
):
    from sqlalchemy import select

    from petition.core.extensions import db
    from petition.petitions.models import Signature

    make_petition()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    # Over HTTPS, Flask-WTF also checks that the form came from this site.
    client.environ_base["HTTP_REFERER"] = "https://localhost/petitions/speak-out"
    response = sign()
    assert response.status_code == 303
    with app.app_context():
        assert db.session.execute(select(Signature.ip)).scalar() == "203.0.113.7"


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, client, make_petition, sign):
    from sqlalchemy import select

    from petition.core.extensions import db
    from petition.petitions.models import Signature

    make_petition()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    sign()
    with app.app_context():
        assert db.session.execute(select(Signature.ip)).scalar() == "127.0.0.1"
