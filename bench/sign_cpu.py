"""CPU per sign request, in one process through Flask's test client: where the time goes.

The HTTP benchmark (http_bench.py) measures what a machine sustains; this one isolates the
application's own cost of one sign (CSRF, validation, dedupe, tokens, outbox, commit), without
gunicorn, wrk or other processes, so a change to the sign path can be judged in seconds:

    .venv/bin/python bench/sign_cpu.py                       # both databases, 2,000 signs each
    .venv/bin/python bench/sign_cpu.py --backend postgresql --profile 25

It prints CPU microseconds per request (process time: this process only, so PostgreSQL's own
work is not in it) and wall microseconds (which include waiting for PostgreSQL's answers).
"""

import argparse
import cProfile
import io
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_bench  # noqa: E402 after the path is set

http_bench.PG_DATABASE = "sign_cpu_bench"

NAMES = ["Ana Souza", "Алексей Смирнов", "王伟", "أحمد حسن", "Nguyễn Thị Hương"]
COUNTRIES = ["BR", "RU", "CN", "EG", "VN"]


def run(backend, signs, profile_top, sort="tottime", seed=10_000):
    from petition import create_app

    with tempfile.TemporaryDirectory(prefix="sign-cpu-") as folder:
        url = http_bench.scratch_database(backend, folder)
        try:
            http_bench.prepare(backend, url, folder, seed)
            env = http_bench.app_env(url, folder, None)
            config = {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": env["SECRET_KEY"],
                "ABUSE_CHECKS": False,
                "CONFIRMATION_REQUIRED": True,
                "JOBS_IN_PROCESS": False,
                "MAIL_BACKEND": "file",
                "MAIL_FILE_DIR": f"{folder}/outbox",
                "PUBLIC_URL": env["PUBLIC_URL"],
                "DEPLOYMENT": "production",
            }
            app = create_app(config, instance_path=folder)
            client = app.test_client()
            page = client.get(f"/petitions/{http_bench.SLUG}")
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
            path = f"/petitions/{http_bench.SLUG}/sign"

            def sign(i):
                response = client.post(
                    path,
                    data={
                        "csrf_token": token,
                        "name": NAMES[i % len(NAMES)],
                        "email": f"cpu{i}@example.org",
                        "country": COUNTRIES[i % len(COUNTRIES)],
                        "t": "",
                    },
                )
                if response.status_code != 303:
                    raise SystemExit(f"sign answered {response.status_code}:\n{response.text}")

            for i in range(200):  # warm-up: caches, prepared statements, the pool
                sign(i)
            profiler = cProfile.Profile() if profile_top else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for i in range(200, 200 + signs):
                sign(i)
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(
                f"{backend}: {signs:,} signs, {cpu / signs * 1e6:,.0f} µs CPU and "
                f"{wall / signs * 1e6:,.0f} µs wall per sign"
                + (" (profiled: slower)" if profiler else ""),
                flush=True,
            )
            if profiler:
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats(sort).print_stats(profile_top)
                print(out.getvalue())
            with app.app_context():
                from petition.core.extensions import db

                db.engine.dispose()
        finally:
            http_bench.drop_scratch(backend)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--signs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=10_000, help="existing signatures")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N")
    parser.add_argument("--sort", default="tottime", help="cProfile sort key (tottime, cumulative)")
    a = parser.parse_args()
    for backend in ("sqlite", "postgresql") if a.backend == "both" else (a.backend,):
        run(backend, a.signs, a.profile, a.sort, a.seed)


if __name__ == "__main__":
    main()
