"""Import benchmark: `flask signatures import` of a generated CSV into fresh databases.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--backend sqlite|postgresql|both]
                                           [--batch-size 1000] [--random-dates] [--profile]

Writes a CSV of ROWS signatures into a temporary folder: names in nine scripts, 1% repeated
mailboxes spelled another way, 0.5% bad rows, a quarter with created_at (in file order, as
exports from elsewhere come, unless --random-dates). Then, for each backend, builds a fresh
database through the migrations, creates a petition and runs the CLI import in a child
process; reports wall seconds (interpreter start included), rows per second and the child's
peak RSS, and checks the stored count against the rows. PostgreSQL comes from
BENCH_POSTGRES_URL (default: the tests' server, postgresql://postgres@127.0.0.1:5432/test),
where a database petition_import_bench is dropped and created. --profile runs the import in
this process under cProfile instead and prints the top functions (of the reading thread; the
writer threads are not profiled).
"""

import argparse
import csv
import datetime as dt
import os
import platform
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PG_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
PG_DATABASE = "petition_import_bench"
SLUG = "import-bench"
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

FIRST = {
    "latin": ["Ana", "João", "Zoé", "François", "Jürgen", "Siobhán", "Begoña", "Ólafur", "Kwame"],
    "cyrillic": ["Алексей", "Мария", "Дмитрий", "Ольга", "Олена", "Андрій"],
    "greek": ["Γιώργος", "Ελένη", "Νίκος", "Μαρία"],
    "hebrew": ["נועה", "יונתן", "דוד", "שרה"],
    "arabic": ["أحمد", "فاطمة", "سارا", "علی"],
    "devanagari": ["प्रिया", "अर्जुन", "अनीता", "राहुल"],
    "thai": ["สมชาย", "มาลี", "สุดา"],
    "cjk": ["佐藤", "鈴木", "王", "李"],
    "hangul": ["김", "이", "박"],
}
LAST = {
    "latin": ["Souza", "Lefèvre", "Müller-Crépin", "Ó Briain", "Núñez", "Mensah", "O'Connor"],
    "cyrillic": ["Смирнов", "Иванова", "Шевченко", "Коваленко"],
    "greek": ["Παπαδόπουλος", "Νικολάου"],
    "hebrew": ["כהן", "לוי"],
    "arabic": ["حسن", "محمدی", "رضایی"],
    "devanagari": ["शर्मा", "पटेल"],
    "thai": ["ใจดี", "ศรีสุข"],
    "cjk": ["花子", "一郎", "伟", "娜"],
    "hangul": ["민준", "서연", "지훈"],
}
COUNTRY = {
    "latin": ["BR", "FR", "DE", "ES", "IE", "GB", "US", "PT", "Brazil", "france", "Germany"],
    "cyrillic": ["RU", "UA", "BY", "Russia"],
    "greek": ["GR", "CY"],
    "hebrew": ["IL"],
    "arabic": ["EG", "IR", "MA", "Egypt"],
    "devanagari": ["IN", "NP", "India"],
    "thai": ["TH"],
    "cjk": ["JP", "CN", "TW", "Japan"],
    "hangul": ["KR"],
}
CITIES = ["", "", "São Paulo", "Москва", "Αθήνα", "תל אביב", "القاهرة", "मुंबई", "東京", "Köln"]
DOMAINS = ["gmail.com", "example.org", "mail.example.net", "posteo.de", "yandex.ru", "web.de"]
DOMAINS += [f"org{i}.example.com" for i in range(200)]
BAD = [
    ("", "missing@example.org", "FR", "", "", ""),
    ("Bad <script>", "bad@example.org", "FR", "", "", ""),
    ("No Email", "not-an-address", "FR", "", "", ""),
    ("Nowhere", "nowhere@example.org", "Atlantis", "", "", ""),
    ("Future", "future@example.org", "FR", "", "", "2999-01-01"),
]


def generate(path, rows, seed=1, random_dates=False):
    """Write the CSV; return how many rows should be inserted."""
    rng = random.Random(seed)  # noqa: S311 test data, not secrets
    scripts = list(FIRST)
    unique = []  # rows whose mailbox is new, so later rows can repeat it
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(["name", "email", "country", "city", "postcode", "created_at"])
        for i in range(rows):
            roll = rng.random()
            if roll < 0.005:
                name, email, country, city, postcode, created = rng.choice(BAD)
                writer.writerow(
                    [
                        name,
                        f"{i}.{email}" if "@" in email else email,
                        country,
                        city,
                        postcode,
                        created,
                    ]
                )
                continue
            script = rng.choice(scripts)
            name = f"{rng.choice(FIRST[script])} {rng.choice(LAST[script])}"
            domain = DOMAINS[i % len(DOMAINS)]
            if roll < 0.015 and unique:
                # The same mailbox as an earlier row, spelled another way.
                j = rng.choice(unique)
                domain = DOMAINS[j % len(DOMAINS)]
                local = f"User.{j}" if domain != "gmail.com" else f"u.s.e.r.{j}"
                email = f"{local}+again@{domain.upper()}"
            else:
                email = f"user.{i}@{domain}" if domain != "gmail.com" else f"user{i}@gmail.com"
                unique.append(i)
            created = ""
            if roll > 0.75:
                # Exports from elsewhere come in signing order: a row every ten seconds.
                seconds = rng.randrange(10 * rows) if random_dates else 10 * i
                created = (START + dt.timedelta(seconds=seconds)).isoformat()
            writer.writerow(
                [
                    name,
                    email,
                    rng.choice(COUNTRY[script]),
                    rng.choice(CITIES),
                    str(10000 + i % 89999) if roll > 0.5 else "",
                    created,
                ]
            )
    return len(unique)


def machine():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as f:
            mem_kb = int(f.readline().split()[1])
    except OSError:
        mem_kb = 0
    return f"{os.cpu_count()} CPUs, {mem_kb / 1024 / 1024:.1f} GiB RAM, {cpu}"


def prepare(url, instance):
    """Fresh schema through the migrations and one open petition; returns the env for flask."""
    from petition import create_app
    from petition.core.extensions import db
    from petition.petitions.manage import create_petition
    from tests import services

    services.migrate(url, instance)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "JOBS_IN_PROCESS": False, "SECRET_KEY": "b" * 40},
        instance_path=instance,
    )
    with app.app_context():
        create_petition(SLUG, "Benchmark", "Nobody", milestones=[(500_000, "Half")], open_it=True)
        db.session.commit()
        db.engine.dispose()
    env = dict(os.environ, DATABASE_URL=url, PETITION_INSTANCE_PATH=instance)
    env["FLASK_JOBS_IN_PROCESS"] = "false"
    env["SECRET_KEY"] = "b" * 40
    return app, env


def check(app, expected):
    from sqlalchemy import func, select

    from petition.core.extensions import db
    from petition.petitions.models import Petition, Signature

    with app.app_context():
        petition = db.session.execute(select(Petition).where(Petition.slug == SLUG)).scalar_one()
        rows = db.session.execute(
            select(func.count()).where(
                Signature.petition_id == petition.id, Signature.state == "confirmed"
            )
        ).scalar_one()
        count = petition.confirmed_count
        db.engine.dispose()
    ok = rows == count == expected
    return f"rows {rows}, count {count}, expected {expected}: {'ok' if ok else 'MISMATCH'}"


def run_cli(env, path, batch_size):
    """The CLI import in a child process: (wall seconds, peak RSS MiB, last output lines)."""
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    args = [flask, "signatures", "import", SLUG, path, "--batch-size", str(batch_size)]
    started = time.perf_counter()
    # stderr goes to a file (the progress bar writes there) so a failure can say why.
    with tempfile.TemporaryFile(mode="w+") as errors:
        child = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        if child.returncode:
            errors.seek(0)
            tail = errors.read()[-3000:]
            raise SystemExit(f"import failed ({child.returncode}):\n{out}\n{tail}")
    return elapsed, usage.ru_maxrss / 1024, out.strip().splitlines()[:3]


def profile(app, path, batch_size):
    import cProfile
    import pstats

    from sqlalchemy import select

    from petition import imports
    from petition.core.extensions import db
    from petition.petitions.models import Petition

    with app.app_context():
        petition = db.session.execute(select(Petition).where(Petition.slug == SLUG)).scalar_one()
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        report = imports.import_csv(petition, path, batch_size=batch_size)
        profiler.disable()
        print(f"  in-process import: {time.perf_counter() - started:.1f} s, {report.inserted} new")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql", "both"], default="both", help="databases"
    )
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="cProfile in-process instead")
    parser.add_argument(
        "--random-dates", action="store_true", help="created_at in random order, not file order"
    )
    args = parser.parse_args()

    print(f"machine: {machine()}; python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        path = os.path.join(tmp, "signatures.csv")
        started = time.perf_counter()
        expected = generate(path, args.rows, random_dates=args.random_dates)
        size = os.path.getsize(path) / 1024 / 1024
        took = time.perf_counter() - started
        print(
            f"generated {args.rows:,} rows ({size:.0f} MiB, {expected:,} distinct) in {took:.1f} s"
        )
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        for backend in backends:
            instance = os.path.join(tmp, f"instance-{backend}")
            os.makedirs(instance)
            if backend == "sqlite":
                url = f"sqlite:///{instance}/bench.db"
            else:
                from tests import services

                os.environ["TEST_POSTGRES_URL"] = PG_URL
                services.POSTGRES_URL = PG_URL
                url = services.postgres_database(PG_DATABASE)
            app, env = prepare(url, instance)
            if args.profile:
                print(f"{backend}:")
                profile(app, path, args.batch_size)
                continue
            elapsed, rss, head = run_cli(env, path, args.batch_size)
            print(
                f"{backend}: {elapsed:.1f} s wall, {args.rows / elapsed:,.0f} rows/s, "
                f"peak RSS {rss:.0f} MiB; {check(app, expected)}"
            )
            for line in head:
                print(f"  | {line}")
            if backend == "postgresql":
                from tests import services

                services.drop_postgres_database(PG_DATABASE)


if __name__ == "__main__":
    main()
