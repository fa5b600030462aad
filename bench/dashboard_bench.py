"""Staff dashboard benchmark: render /staff/petitions/<slug> over a million signatures.

    .venv/bin/python bench/dashboard_bench.py [--rows 1000000] [--repeat 5]

Builds a fresh PostgreSQL database (petition_dashboard_bench on BENCH_POSTGRES_URL, default the
tests' server) through the migrations, fills one petition with ROWS signatures spread over 58
days (90% confirmed, 23 sources, 10 countries) in one INSERT ... SELECT, vacuums, then logs a
staff member in with Flask's test client and times the dashboard page. The page counts rows
(per day over 30 days, pending, first confirmation, sources): it should stay well under a
second, served by ix_signatures_petition_state_confirmed and the petition/state/country index.
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PG_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
DATABASE = "petition_dashboard_bench"
PASSWORD = "benchmark password"  # noqa: S105 a throwaway account in a throwaway database

FILL = """
INSERT INTO signatures (petition_id, name, email, canonical_email, country, updates, source,
                        state, created_at, confirmed_at, mail_count)
SELECT %(petition)s, 'Name ' || g, 'e' || g || '@example.org', 'e' || g || '@example.org',
  (ARRAY['FR','DE','US','GB','BR','RU','JP','IN','ES','IT'])[1 + g %% 10], false,
  CASE WHEN g %% 7 = 0 THEN NULL ELSE 'src' || (g %% 23) END,
  CASE WHEN g %% 10 = 0 THEN 'pending' ELSE 'confirmed' END,
  now() - ((%(rows)s - g) * interval '5 seconds'),
  CASE WHEN g %% 10 = 0 THEN NULL
       ELSE now() - ((%(rows)s - g) * interval '5 seconds') + interval '1 minute' END,
  1
FROM generate_series(1, %(rows)s) g
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import psycopg
    from sqlalchemy.engine import make_url

    from petition import create_app
    from petition.core.extensions import db
    from petition.petitions import counting
    from petition.petitions.manage import create_petition
    from petition.staff import auth
    from tests import services

    server = make_url(PG_URL)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    url = server.set(database=DATABASE).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as instance:
            services.migrate(url, instance)
            app = create_app(
                {"SQLALCHEMY_DATABASE_URI": url, "JOBS_IN_PROCESS": False, "SECRET_KEY": "b" * 40},
                instance_path=instance,
            )
            with app.app_context():
                petition = create_petition("bench", "Benchmark", "Nobody", open_it=True)
                auth.create_staff("bench@example.org", PASSWORD, "campaigner")
                db.session.commit()
                started = time.perf_counter()
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(FILL, {"petition": petition.id, "rows": args.rows})
                    conn.execute("VACUUM ANALYZE signatures")
                counting.recount(petition)
                db.session.commit()
                print(f"filled {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
                db.engine.dispose()

            client = app.test_client()
            page = client.get("/staff/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            client.post(
                "/staff/login",
                data={"email": "bench@example.org", "password": PASSWORD, "csrf_token": token},
            )
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = client.get("/staff/petitions/bench")
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.status_code
            print(
                f"dashboard over {args.rows:,} signatures: median {statistics.median(times):.3f} s,"
                f" max {max(times):.3f} s ({args.repeat} runs, first included)"
            )
            with app.app_context():
                # Where the time goes, query by query.
                import datetime as dt

                from petition.petitions import reports
                from petition.petitions.models import Petition

                petition = db.session.execute(db.select(Petition)).scalar_one()
                today = dt.datetime.now(dt.UTC).date()
                for name, run in [
                    ("first confirmation", lambda: reports.first_confirmed(petition.id)),
                    ("pending", lambda: reports.pending_count(petition.id)),
                    (
                        "per day, 30 days",
                        lambda: reports.confirmed_per_day(
                            petition.id, today - dt.timedelta(days=29), today
                        ),
                    ),
                    ("sources", lambda: counting.by_source(petition.id, limit=10)),
                    ("countries", lambda: counting.by_country(petition.id)),
                ]:
                    started = time.perf_counter()
                    run()
                    print(f"  {name}: {time.perf_counter() - started:.3f} s")
                db.engine.dispose()
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")


if __name__ == "__main__":
    main()
