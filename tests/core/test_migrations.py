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


@pytest.fixture
def app(empty_database, tmp_path):
    """An app on the empty database, which the test migrates itself."""
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": empty_database,
            "JOBS_IN_PROCESS": False,
            "SECRET_KEY": "x" * 40,
        },
        instance_path=tmp_path,
    )


def test_migrations_match_the_models_and_run_both_ways(app):
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"petitions", "signatures", "outbox", "staff", "deliveries", "jobs"} <= tables
        check()  # raises if autogenerate finds a difference between models and migrations
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def test_held_signatures_keep_being_held_across_the_upgrade(app):
    """d4e5f6a7b8c9 turns the old "held: " reason prefix into the held column."""
    import datetime as dt

    from sqlalchemy import MetaData, Table, select

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with app.app_context():
        upgrade(revision="3bed7679f39c")
        with db.engine.begin() as conn:
            tables = MetaData()
            petitions = Table("petitions", tables, autoload_with=conn)
            signatures = Table("signatures", tables, autoload_with=conn)
            conn.execute(
                petitions.insert().values(
                    id=1,
                    slug="p",
                    title="P",
                    target="T",
                    text="",
                    cover_letter="",
                    endorsers="",
                    state="open",
                    offline_count=0,
                    confirmed_count=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            for n, (state, reason) in enumerate(
                [
                    ("fraudulent", "held: hidden honeypot field was filled in"),
                    ("fraudulent", "fake name, says staff"),
                    ("invalidated", "held: but staff invalidated it since"),
                    ("confirmed", None),
                ]
            ):
                conn.execute(
                    signatures.insert().values(
                        id=n + 1,
                        petition_id=1,
                        name="N",
                        email=f"{n}@example.org",
                        canonical_email=f"{n}@example.org",
                        country="FR",
                        updates=False,
                        state=state,
                        moderation_reason=reason,
                        created_at=now,
                        mail_count=0,
                    )
                )
        upgrade()
        with db.engine.connect() as conn:
            signatures = Table("signatures", MetaData(), autoload_with=conn)
            held = dict(conn.execute(select(signatures.c.id, signatures.c.held)).all())
        assert held == {1: True, 2: False, 3: False, 4: False}
        downgrade(revision="3bed7679f39c")
        db.engine.dispose()


def test_free_text_endorsers_become_approved_endorsements_and_back(app):
    """7ec4f11d1804 turns the petitions' endorsers column (one a line) into endorsements."""
    import datetime as dt

    from sqlalchemy import MetaData, Table, select

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with app.app_context():
        upgrade(revision="7ca1a02b6130")
        with db.engine.begin() as conn:
            petitions = Table("petitions", MetaData(), autoload_with=conn)
            signatures = Table("signatures", MetaData(), autoload_with=conn)
            conn.execute(
                petitions.insert().values(
                    id=1,
                    slug="p",
                    title="P",
                    target="T",
                    text="",
                    cover_letter="",
                    endorsers="Amnesty Example\n\n  منظمة   المثال \namnesty example\nДругие",
                    state="open",
                    offline_count=0,
                    confirmed_count=0,
                    language="en",
                    share_text="",
                    created_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                signatures.insert().values(
                    id=1,
                    petition_id=1,
                    name="Ana",
                    email="a@example.org",
                    canonical_email="a@example.org",
                    country="FR",
                    updates=False,
                    state="confirmed",
                    created_at=now,
                    mail_count=0,
                    held=False,
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            endorsements = Table("endorsements", MetaData(), autoload_with=conn)
            found = conn.execute(
                select(
                    endorsements.c.name, endorsements.c.state, endorsements.c.petition_id
                ).order_by(endorsements.c.approved_at)
            ).all()
            assert [tuple(r) for r in found] == [
                ("Amnesty Example", "approved", 1),
                ("منظمة المثال", "approved", 1),
                ("Другие", "approved", 1),
            ]
            assert "endorsers" not in {c["name"] for c in inspect(conn).get_columns("petitions")}
            # The petition's signatures survived the column's removal (no table rebuild).
            assert conn.execute(select(signatures.c.id)).all() == [(1,)]
        downgrade(revision="7ca1a02b6130")
        with db.engine.connect() as conn:
            petitions = Table("petitions", MetaData(), autoload_with=conn)
            text = conn.execute(select(petitions.c.endorsers)).scalar_one()
            assert text == "Amnesty Example\nمنظمة المثال\nДругие"
        db.engine.dispose()
