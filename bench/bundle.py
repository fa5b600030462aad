"""Delivery bundle benchmark: build the PDF of N signatures in many scripts.

    .venv/bin/python bench/bundle.py [--rows 1000000] [--backend sqlite|postgresql]
                                     [--processes 2] [--volume-rows 25000] [--profile]

Creates a database through the migrations (a SQLite file in a temporary folder, or the
database petition_bundle_bench on BENCH_POSTGRES_URL, default the tests' server), fills it with
ROWS confirmed signatures whose names are in Latin (incl. Vietnamese and Czech), Cyrillic,
Greek, Arabic, Persian, Hebrew, Devanagari, Tamil, Thai, Chinese, Japanese, Korean, Georgian,
Armenian and Ethiopic (given names from real ones, family names made of real syllables, so
nearly every name is distinct), and names mixing directions, hyphens, digits and Latin
initials, then runs the same build as `flask delivery pdf` and reports
the wall time, rows per second, pages, file size, and the peak RSS of every process: this one
(RUSAGE_SELF), each worker and qpdf (their own getrusage), and the largest of all children
(RUSAGE_CHILDREN). --profile also runs the build under cProfile in this process and draws one
volume in this process under cProfile, printing the top functions of each.
"""

import argparse
import cProfile
import datetime as dt
import io
import os
import platform
import pstats
import random
import resource
import sqlite3
import sys
import tempfile
import time
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PG_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
PG_DATABASE = "petition_bundle_bench"
SLUG = "bundle-bench"

# (weight, countries, given names, family names or syllable sources, cities)
SCRIPTS = {
    "latin": (
        46,
        ["BR", "FR", "DE", "ES", "IE", "GB", "US", "CA", "PL", "TR", "ZA", "CH", "IT", "MX"],
        [
            "Ana",
            "João",
            "Zoé",
            "François",
            "Jürgen",
            "Siobhán",
            "Begoña",
            "Kwame",
            "Olivia",
            "Liam",
            "Ayşe",
            "Łukasz",
            "Chloé",
            "Małgorzata",
            "Pieter",
            "Emily",
            "Carlos",
            "Lea",
            "Noah",
            "Thandiwe",
            "Ciarán",
            "Mehmet",
        ],
        [
            "Souza",
            "Lefèvre",
            "Müller",
            "Crépin",
            "Weiß",
            "Schröder",
            "Núñez",
            "García",
            "Briain",
            "MacAodha",
            "Mensah",
            "Smith",
            "Johnson",
            "Ramírez",
            "Tremblay",
            "Connor",
            "Nkosi",
            "Merwe",
            "Yılmaz",
            "Öztürk",
            "Wiśniewska",
            "Wójcik",
            "Graf",
            "Keller",
            "Silva",
            "Gonçalves",
        ],
        ["São Paulo", "Paris", "Köln", "Madrid", "Dublin", "London", "New York", "Montréal"],
    ),
    "vietnamese": (
        3,
        ["VN"],
        ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng"],
        ["Thị", "Văn", "Minh", "Khai", "Hương", "Đức", "Hồng", "Quỳnh", "Ngọc", "Tuấn"],
        ["Hà Nội", "Thành phố Hồ Chí Minh", "Đà Nẵng"],
    ),
    "czech": (
        2,
        ["CZ"],
        ["Řehoř", "Jiří", "Kateřina", "Tomáš", "Věra", "Dušan"],
        ["Dvořák", "Novák", "Svoboda", "Černý", "Procházka", "Kučera", "Veselý", "Horák"],
        ["Praha", "Brno", "Plzeň"],
    ),
    "cyrillic": (
        10,
        ["RU", "UA", "BG", "RS"],
        ["Алексей", "Мария", "Дмитрий", "Ольга", "Олена", "Андрій", "Иван", "Светлана"],
        ["Смирнов", "Иванова", "Кузнецов", "Попова", "Шевченко", "Коваленко", "Петров"],
        ["Москва", "Санкт-Петербург", "Київ", "Львів", "София"],
    ),
    "greek": (
        2,
        ["GR", "CY"],
        ["Γιώργος", "Ελένη", "Νίκος", "Μαρία", "Δημήτρης"],
        ["Παπαδόπουλος", "Νικολάου", "Γεωργίου", "Οικονόμου"],
        ["Αθήνα", "Θεσσαλονίκη", "Λευκωσία"],
    ),
    "arabic": (
        5,
        ["EG", "MA", "SA", "JO"],
        ["أحمد", "فاطمة", "محمد", "علي", "خالد", "ليلى"],
        ["حسن", "علي", "إبراهيم", "يوسف", "عبدالله", "منصور"],
        ["القاهرة", "الإسكندرية", "الرباط", "عمّان"],
    ),
    "persian": (
        2,
        ["IR"],
        ["سارا", "علی", "مریم", "رضا"],
        ["محمدی", "رضایی", "حسینی", "کریمی"],
        ["تهران", "شیراز", "اصفهان"],
    ),
    "hebrew": (
        3,
        ["IL"],
        ["נועה", "יונתן", "דוד", "שרה", "מיכל"],
        ["כהן", "לוי", "מזרחי", "פרץ", "ביטון"],
        ["תל אביב", "חיפה", "ירושלים"],
    ),
    "devanagari": (
        5,
        ["IN", "NP"],
        ["प्रिया", "अर्जुन", "अनीता", "राहुल", "सुनीता"],
        ["शर्मा", "पटेल", "वर्मा", "गुप्ता", "सिंह"],
        ["मुंबई", "दिल्ली", "काठमाडौं"],
    ),
    "tamil": (
        2,
        ["LK"],
        ["அனிதா", "முருகன்", "கவிதா"],
        ["ராமன்", "சுப்பிரமணியம்", "கிருஷ்ணன்"],
        ["சென்னை", "யாழ்ப்பாணம்"],
    ),
    "thai": (
        3,
        ["TH"],
        ["สมชาย", "มาลี", "สุดา", "ประยุทธ"],
        ["ใจดี", "ศรีสุข", "วงศ์สวัสดิ์", "บุญมา"],
        ["กรุงเทพมหานคร", "เชียงใหม่"],
    ),
    "chinese": (
        6,
        ["CN", "TW"],
        list("王李张刘陈杨黄赵"),
        list("伟娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂"),
        ["北京", "上海", "台北", "广州"],
    ),
    "japanese": (
        4,
        ["JP"],
        ["佐藤", "鈴木", "高橋", "田中", "渡辺"],
        ["花子", "一郎", "さくら", "ゆうき", "翔太", "美咲", "健"],
        ["東京", "大阪", "京都"],
    ),
    "korean": (
        3,
        ["KR"],
        list("김이박최정강"),
        ["민준", "서연", "지훈", "하은", "도윤", "수빈", "예준"],
        ["서울", "부산", "인천"],
    ),
    "georgian": (
        1,
        ["GE"],
        ["ნინო", "გიორგი", "მარიამ"],
        ["ბერიძე", "კაპანაძე", "გელაშვილი"],
        ["თბილისი", "ბათუმი"],
    ),
    "armenian": (
        1,
        ["AM"],
        ["Անի", "Արամ", "Նարեկ"],
        ["Հակոբյան", "Պետրոսյան", "Սարգսյան"],
        ["Երևան", "Գյումրի"],
    ),
    "ethiopic": (
        1,
        ["ET"],
        ["አበበ", "ሰላም", "ዮሐንስ"],
        ["በቀለ", "ተስፋዬ", "ገብሬ"],
        ["አዲስ አበባ", "ጎንደር"],
    ),
    # Whole names mixing directions, hyphens, digits and Latin initials, each with a second
    # part from the list after them (issue #15, item 5): the bidi path of the text engine.
    "mixed": (
        3,
        ["IL", "SA", "JO", "IE", "RU", "VN", "HK"],
        [
            "אורי בקר-ליפשיץ",
            "J. כהן-Smith",
            "דוד",
            "محمد بن-سلمان",
            "عبد الله",
            "Анна-Мария Иванова",
            "O'Brien-Smith",
            "李小龙",
            "김민준",
            "Ngọc Ánh",
            "שרה לוי",
            "ليلى",
        ],
        ["2", "٣", "בן-דוד", "بن-سلمان", "J.", "3-ב", "Smith", "לוי-כהן", "2024", "אבו-חצירא"],
        ["חיפה", "الرياض", "عمّان", "Dublin"],
    ),
}
NO_SPACE = {"chinese", "japanese", "korean"}
WHOLE = {"mixed"}


def clusters(words):
    """Grapheme-ish clusters (a base, its marks, and a virama-joined consonant) of words."""
    out = []
    for word in words:
        current = ""
        for ch in word:
            joined = current and (
                unicodedata.category(ch)[0] == "M"
                or unicodedata.name(current[-1], "").endswith("VIRAMA")
            )
            if joined:
                current += ch
            else:
                if current:
                    out.append(current)
                current = ch
        if current:
            out.append(current)
    return out


def name_maker(rng):
    weighted = []
    for script, (weight, countries, given, family, cities) in SCRIPTS.items():
        pieces = clusters(family)
        weighted.append((weight, script, countries, given, family, pieces, cities))

    weights = [w[0] for w in weighted]

    def make():
        _weight, script, countries, given, family, pieces, cities = rng.choices(weighted, weights)[
            0
        ]
        if script in NO_SPACE:
            name = rng.choice(given) + rng.choice(family) + rng.choice(family)
        elif script in WHOLE:
            name = f"{rng.choice(given)} {rng.choice(family)}"
        else:
            # A real given name; a family name of 2-4 syllables of the script, sometimes two.
            made = "".join(rng.choice(pieces) for _ in range(rng.randint(2, 4)))
            name = f"{rng.choice(given)} {rng.choice(family)} {made}"
        return name, rng.choice(countries), rng.choice(cities)

    return make


def stamp(moment):
    """The text SQLAlchemy stores for a UTC datetime in SQLite."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def signatures(n, petition_id, seed=7):
    rng = random.Random(seed)  # noqa: S311 synthetic data
    make = name_maker(rng)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(n):
        name, country, city = make()
        created = start + dt.timedelta(seconds=i * 20 + rng.randrange(20))
        confirmed = created + dt.timedelta(seconds=rng.randrange(30, 7200))
        email = f"signer{i}@example.org"
        yield (petition_id, name, email, email, country, city, created, confirmed)


def create_database(backend, folder):
    from petition.core.extensions import db  # noqa: F401

    if backend == "sqlite":
        path = os.path.join(folder, "bench.db")
        return f"sqlite:///{path}"
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    url = make_url(PG_URL).set(drivername="postgresql+psycopg", database=PG_DATABASE)
    return url.render_as_string(hide_password=False)


def make_app(url, folder):
    from petition import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "JOBS_IN_PROCESS": False,
            "SECRET_KEY": "bench-" + "x" * 32,
            "CACHE_TYPE": "NullCache",
        },
        instance_path=folder,
    )


def fill(app, backend, url, rows):
    from flask_migrate import upgrade

    from petition.core.extensions import db
    from petition.endorsements import operations as endorsements
    from petition.petitions.manage import create_petition

    with app.app_context():
        upgrade()
        petition = create_petition(
            SLUG,
            "Bundle benchmark: every name in its own script",
            "The Benchmark Committee",
            "Please act.",
            [(1000, "A thousand"), (100_000, "A hundred thousand")],
            open_it=True,
        )
        db.session.flush()
        # The endorsers page, as a campaign's bundle has one.
        for name in ("Amnesty-like Org", "Fédération Exemple", "منظمة المثال", "彩虹运动联盟"):
            data = endorsements.EndorsementData(name=name, country="GB")
            endorsements.add_by_staff(petition, data, app.config, added_by="bench")
        db.session.commit()
        petition_id = petition.id
        db.engine.dispose()
    started = time.monotonic()
    columns = (
        "petition_id, name, email, canonical_email, country, city, created_at, confirmed_at, "
        "state, updates, mail_count"
    )
    if backend == "sqlite":
        path = url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        batch = []
        values = "?, ?, ?, ?, ?, ?, ?, ?, 'confirmed', 0, 1"
        sql = f"INSERT INTO signatures ({columns}) VALUES ({values})"  # noqa: S608 (constants)
        for p, name, email, canonical, country, city, created, confirmed in signatures(
            rows, petition_id
        ):
            batch.append(
                (p, name, email, canonical, country, city, stamp(created), stamp(confirmed))
            )
            if len(batch) == 50_000:
                conn.executemany(sql, batch)
                batch.clear()
        conn.executemany(sql, batch)
        conn.commit()
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            with conn.cursor().copy(f"COPY signatures ({columns}) FROM STDIN") as copy:
                for row in signatures(rows, petition_id):
                    copy.write_row((*row, "confirmed", False, 1))
            conn.execute("ANALYZE signatures")
    with app.app_context():
        from petition.petitions import counting
        from petition.petitions.models import Petition

        counting.recount(db.session.get(Petition, petition_id))
        db.session.commit()
        db.engine.dispose()
    return time.monotonic() - started


def machine():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as f:
            ram = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        ram = "unknown"
    return f"{os.cpu_count()} CPUs ({cpu}), {ram} RAM, Python {platform.python_version()}"


def top(profile, title, lines=22):
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    print(f"--- {title} (by own time) ---")
    print("\n".join(out.getvalue().splitlines()[4:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--volume-rows", type=int, default=None)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", help="copy the PDF here")
    args = parser.parse_args()

    from petition.core.extensions import db
    from petition.delivery import build
    from petition.petitions.models import Petition

    print(f"machine: {machine()}")
    print(f"date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    with tempfile.TemporaryDirectory(prefix="bundle-bench-") as folder:
        url = create_database(args.backend, folder)
        app = make_app(url, folder)
        seconds = fill(app, args.backend, url, args.rows)
        print(f"filled {args.backend} with {args.rows:,} signatures in {seconds:.1f} s")
        volume_rows = args.volume_rows or build.VOLUME_ROWS
        out = os.path.join(folder, "bundle.pdf")
        with app.app_context():
            petition = db.session.execute(
                db.select(Petition).where(Petition.slug == SLUG)
            ).scalar_one()
            petition_id = petition.id
            started = time.monotonic()
            result = build.build_delivery(
                petition,
                out,
                created_by="bench",
                processes=args.processes,
                volume_rows=volume_rows,
            )
            wall = time.monotonic() - started
        size = os.path.getsize(out)
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(
            f"built: {result.rows:,} rows, {result.pages:,} pages, {size / 1e6:.1f} MB in "
            f"{wall:.1f} s ({result.rows / wall:,.0f} rows/s), {args.processes} processes, "
            f"volumes of {volume_rows:,} rows"
        )
        print(f"sha256: {result.sha256}")
        print(f"uncovered characters: {result.uncovered_summary()}")
        print("peak RSS (MiB):")
        for name, kb in result.processes.items():
            print(f"  {name:>14}: {kb / 1024:.0f}")
        print(f"  {'all children':>14}: {children / 1024:.0f} (RUSAGE_CHILDREN: the largest child)")
        if args.keep:
            os.replace(out, args.keep)
            print(f"kept {args.keep}")

        if args.profile:
            profile_runs(app, petition_id, folder, volume_rows)
        if args.backend == "postgresql":
            with app.app_context():
                db.engine.dispose()


def profile_runs(app, petition_id, folder, volume_rows):
    from petition.core.extensions import db
    from petition.delivery import build, layout, render
    from petition.petitions.models import Petition

    with app.app_context():
        petition = db.session.get(Petition, petition_id)
        profile = cProfile.Profile()
        profile.enable()
        build.build_delivery(
            petition, os.path.join(folder, "profiled.pdf"), created_by="bench", processes=2
        )
        profile.disable()
        top(profile, "the build process (workers run apart)")

        # What the workers do, in this process: every volume (at most the first 400,000 rows,
        # which cover all scripts), since countries, and so scripts, differ from one to the next.
        dialect = db.engine.dialect.name
        profile = cProfile.Profile()
        drawn = 0
        seconds = 0.0
        with build.snapshot(db.engine) as conn:
            plan = build.read_plan(conn, petition_id, False, dialect)
            order = [code for code, _count in plan["counts"]]
            countries = [(c, c, n) for c, n in plan["counts"]]
            counts = [n for _c, n in plan["counts"]]
            total_pages = layout.count_pages(counts) + 2
            streamed = build.stream_rows(conn, plan, order, dialect)
            render.engine()  # fonts load once per worker; not part of a volume's cost
            for index, part in enumerate(layout.volumes(layout.paginate(counts), volume_rows)):
                if drawn >= 400_000:
                    break
                rows = [next(streamed) for _ in range(part.rows)]
                task = {
                    "path": os.path.join(folder, f"volume-{index}.pdf"),
                    "header": {"title": "Profile", "right": "Delivery 1"},
                    "first_page": 3 + part.page_index,
                    "total_pages": total_pages,
                    "pages": part.pages,
                    "countries": countries,
                    "rows": [(name, city, date) for name, city, _code, date in rows],
                }
                started = time.monotonic()
                profile.enable()
                render.render_volume(task)
                profile.disable()
                seconds += time.monotonic() - started
                drawn += part.rows
    print(f"{drawn:,} rows drawn in one process, profiled, in {seconds:.1f} s")
    top(profile, "drawing the volumes (the workers' work)")


if __name__ == "__main__":
    main()
