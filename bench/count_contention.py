"""Count contention benchmark: confirmations racing on one petition, counter row vs journal.

    .venv/bin/python bench/count_contention.py [--threads 16 64] [--seconds 4]

Builds a scratch PostgreSQL database (petition_count_bench on BENCH_POSTGRES_URL, default the
tests' server) through the migrations. For each design and thread count it opens a fresh
petition with enough pending signatures and confirm tokens (one INSERT ... SELECT), then runs
THREADS threads for SECONDS, each confirming one signature after another through the real
domain function (signing.confirm, then commit: one transaction per confirmation), and reports
confirmations per second and latency percentiles. Afterwards it checks the count is exact.

The designs:
  row      the previous counting.add_confirmed (copied below): every confirming transaction
           UPDATEs the petition row and holds its lock until it commits, so they queue.
  journal  the current one: every confirmation INSERTs a count_deltas row; a fold thread runs
           counting.fold every COUNT_FOLD_SECONDS meanwhile, as the in-process runner does.

Threads share one process (and its GIL) and the machine may be shared: the figures are
indicative. The row design's cost shows most in the latency tail, which grows with the queue.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PG_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
DATABASE = "petition_count_bench"

# Pending signatures with a confirm token each; the plain token is 'bench-<petition>-<n>'.
FILL = """
WITH s AS (
  INSERT INTO signatures (petition_id, name, email, canonical_email, country, updates, state,
                          created_at, mail_count)
  SELECT %(petition)s, 'Name ' || g, 'e' || g || '@example.org', 'e' || g || '@example.org',
    (ARRAY['FR','DE','US','GB','BR','RU','JP','IN','ES','IT'])[1 + g %% 10], false,
    'pending', now(), 1
  FROM generate_series(1, %(rows)s) g
  RETURNING id, email
)
INSERT INTO tokens (signature_id, purpose, token_hash, created_at)
SELECT id, 'confirm',
  encode(sha256(convert_to('bench-' || %(petition)s || '-' || split_part(email, '@', 1), 'UTF8')),
         'hex'),
  now()
FROM s
"""


def old_add_confirmed(petition_id, country, delta):
    """The counter-row design (counting.add_confirmed before the journal), for comparison."""
    from sqlalchemy import update

    from petition.core.db import insert, utcnow
    from petition.core.extensions import db
    from petition.petitions import counting
    from petition.petitions.models import CountryCount, Petition

    now = utcnow()
    total = db.session.execute(
        update(Petition)
        .where(Petition.id == petition_id)
        .values(confirmed_count=Petition.confirmed_count + delta, updated_at=now)
        .returning(Petition.confirmed_count + Petition.offline_count)
    ).scalar_one()
    if delta > 0:
        stmt = insert(CountryCount).values(petition_id=petition_id, country=country, count=delta)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["petition_id", "country"],
                set_={"count": CountryCount.count + delta},
            )
        )
    else:
        db.session.execute(
            update(CountryCount)
            .where(CountryCount.petition_id == petition_id, CountryCount.country == country)
            .values(count=CountryCount.count + delta)
        )
    return counting.stamp_milestones(petition_id, total, now)


def run(app, url, design, threads, seconds, rows):
    import psycopg
    from sqlalchemy import func, select

    from petition.core.extensions import db
    from petition.petitions import counting
    from petition.petitions.manage import create_petition
    from petition.petitions.models import Signature
    from petition.signing import operations as signing

    slug = f"{design}-{threads}"
    with app.app_context():
        petition = create_petition(slug, f"Bench {slug}", "Nobody", open_it=True)
        db.session.commit()
        petition_id = petition.id
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(FILL, {"petition": petition_id, "rows": rows})
        conn.execute("ANALYZE")
    tokens = iter([f"bench-{petition_id}-e{n}" for n in range(1, rows + 1)])
    take = threading.Lock()
    latencies, errors = [], []
    start = threading.Barrier(threads + 1)
    stop = threading.Event()

    def confirmer():
        own = []
        try:
            start.wait(timeout=60)
            while not stop.is_set():
                with take:
                    token = next(tokens, None)
                if token is None:
                    break
                began = time.perf_counter()
                with app.app_context():
                    outcome, _ = signing.confirm(token, app.config)
                    db.session.commit()
                own.append(time.perf_counter() - began)
                assert outcome == "confirmed", outcome
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            latencies.extend(own)

    def folder():
        with app.app_context():
            while not stop.wait(app.config["COUNT_FOLD_SECONDS"]):
                counting.fold(app.config)

    original = counting.add_confirmed
    if design == "row":
        counting.add_confirmed = old_add_confirmed
    workers = [threading.Thread(target=confirmer) for _ in range(threads)]
    if design == "journal":
        workers.append(threading.Thread(target=folder))
    try:
        for worker in workers:
            worker.start()
        start.wait(timeout=60)
        began = time.perf_counter()
        stop.wait(seconds)
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
        elapsed = time.perf_counter() - began
    finally:
        counting.add_confirmed = original
    if errors:
        raise errors[0]

    with app.app_context():
        counting.fold(app.config)
        rows_confirmed = db.session.execute(
            select(func.count()).where(
                Signature.petition_id == petition_id, Signature.state == "confirmed"
            )
        ).scalar_one()
        counted = counting.totals(petition_id)["confirmed"]
        db.session.commit()
    assert counted == rows_confirmed == len(latencies), (counted, rows_confirmed, len(latencies))
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "design": design,
        "threads": threads,
        "confirmed": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": p99 * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rows", type=int, default=20_000, help="pending signatures ready per run")
    args = parser.parse_args()

    import psycopg
    from sqlalchemy.engine import make_url

    from petition import create_app
    from petition.core.extensions import db
    from tests import services

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    url = (
        make_url(PG_URL)
        .set(drivername="postgresql+psycopg", database=DATABASE)
        .render_as_string(hide_password=False)
    )
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="count-bench-") as instance:
            services.migrate(url, instance)
            app = create_app(
                {
                    "SQLALCHEMY_DATABASE_URI": url,
                    "JOBS_IN_PROCESS": False,
                    "SECRET_KEY": "b" * 40,
                    # One connection per confirming thread, plus the folder's.
                    "DB_POOL_SIZE": max(args.threads) + 2,
                    "DB_MAX_OVERFLOW": 0,
                },
                instance_path=instance,
            )
            for threads in args.threads:
                for design in ("row", "journal"):
                    result = run(app, url, design, threads, args.seconds, args.rows)
                    results.append(result)
                    print(
                        f"{design:8} {threads:3} threads: {result['confirmed']:6} confirmed, "
                        f"{result['per_second']:7.0f}/s, p50 {result['p50_ms']:6.1f} ms, "
                        f"p99 {result['p99_ms']:6.1f} ms, max {result['max_ms']:6.1f} ms",
                        flush=True,
                    )
            with app.app_context():
                db.engine.dispose()
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    return results


if __name__ == "__main__":
    main()
