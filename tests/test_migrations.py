"""The migrations are the schema: they match the models and run both ways on both databases."""

import pytest
from flask_migrate import check, downgrade, upgrade
from sqlalchemy import inspect

from petition import create_app
from petition.core.extensions import db
from tests import services


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/m.db"
        return
    name = f"petition_migrations_{services.worker_id()}"
    url = services.postgres_database(name)
    yield url
    services.drop_postgres_database(name)


def test_migrations_match_the_models_and_run_both_ways(empty_database, tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": empty_database,
            "JOBS_IN_PROCESS": False,
            "SECRET_KEY": "x" * 40,
        },
        instance_path=tmp_path,
    )
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"petitions", "signatures", "outbox", "staff", "deliveries", "jobs"} <= tables
        check()  # raises if autogenerate finds a difference between models and migrations
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()
