"""Real services the tests use: PostgreSQL, Redis, Chromium, and fresh databases on them.

On a machine without a service, the tests that need it skip and say why; in CI (CI=true) a
missing service fails the run instead, so CI can never pass by skipping.
"""

import functools
import os
import shutil

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
# Headless as root, and no calls home: this machine's network refuses them.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing(reason):
    """Skip a test for a missing service, or fail it in CI."""
    if IN_CI:
        pytest.fail(f"CI requires this service: {reason}", pytrace=False)
    pytest.skip(reason)


@functools.cache
def postgres_problem():
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}".strip()


def require_postgres():
    problem = postgres_problem()
    if problem:
        missing(problem)


@functools.cache
def redis_problem():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
        return None
    except redis.RedisError as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"


def require_redis():
    problem = redis_problem()
    if problem:
        missing(problem)


def require_chromium():
    if not os.path.exists(CHROMIUM):
        missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing("the playwright Python package is not installed")


def require_tool(name, package):
    path = shutil.which(name)
    if not path:
        missing(f"{name} not found (apt-get install {package})")
    return path


def worker_id():
    """Unique per test process, so parallel runs on one server never share a database."""
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def postgres_database(name):
    """Drop and create an empty database; return its SQLAlchemy URL (psycopg 3)."""
    require_postgres()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def drop_postgres_database(name):
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url, instance_path):
    """Build the schema through the migrations, as production does."""
    from petition import create_app

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "JOBS_IN_PROCESS": False, "SECRET_KEY": "x" * 32},
        instance_path=str(instance_path),
    )
    with app.app_context():
        upgrade()
        from petition.core.extensions import db

        db.engine.dispose()
