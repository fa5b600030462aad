"""Building a delivery: read the set, draw it in worker processes, merge, record it.

A delivery is the petition's confirmed signatures with first_signature_id < id <=
last_signature_id, where last_signature_id is the highest signature id when the build starts
and first_signature_id is 0, or, with since_last, the previous delivery's last_signature_id.

ReportLab keeps a whole document in memory until it is saved, so the list is drawn in volumes
of about VOLUME_ROWS rows, each a separate PDF drawn by one of PROCESSES worker processes, and
merge.py joins them, streaming, behind the cover letter and summary. This process reads the
rows in bundle order from one consistent snapshot of the database, in chunks, hashes them
(canonical.py) and hands each volume's rows to a worker; it holds at most a few volumes at a
time, so memory does not grow with the number of signatures. Page breaks are computed from the
per-country counts before drawing (layout.py), which is how every volume knows "Page X of Y".
"""

import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import logging
import multiprocessing
import os
import resource
import secrets
import tempfile
import time
import unicodedata
import zlib
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from petition.core import countries, uploads
from petition.core.extensions import db
from petition.core.files import make_private, private_dir
from petition.core.i18n import RIGHT_TO_LEFT
from petition.delivery import canonical, layout, render, words
from petition.delivery.models import Delivery
from petition.endorsements.models import Endorsement
from petition.pdf import merge
from petition.petitions import counting
from petition.petitions.models import Milestone, Petition, PetitionTranslation, Signature

log = logging.getLogger(__name__)

VOLUME_ROWS = 25_000
PROCESSES = 2
FETCH_ROWS = 5_000
PLACEHOLDER_HASH = "0" * 64


class DeliveryError(Exception):
    """The bundle cannot be built as asked; the message says why."""


@dataclass
class Result:
    delivery_id: int
    number: int
    path: str
    rows: int
    pages: int
    sha256: str
    first_signature_id: int
    last_signature_id: int
    uncovered: dict = field(default_factory=dict)
    seconds: float = 0.0
    # Peak resident memory (KiB) of each process that took part: this one and the workers.
    processes: dict = field(default_factory=dict)

    @property
    def uncovered_total(self):
        return sum(self.uncovered.values())

    def uncovered_summary(self):
        """'none', or each character no font could print with its code point and count."""
        if not self.uncovered:
            return "none"
        parts = [
            f"U+{ord(ch):04X} x{count}"
            for ch, count in sorted(self.uncovered.items(), key=lambda item: -item[1])
        ]
        return f"{self.uncovered_total} ({', '.join(parts)})"

    def as_dict(self):
        return {
            "delivery_id": self.delivery_id,
            "number": self.number,
            "path": self.path,
            "rows": self.rows,
            "pages": self.pages,
            "sha256": self.sha256,
            "first_signature_id": self.first_signature_id,
            "last_signature_id": self.last_signature_id,
            "uncovered": {f"U+{ord(ch):04X}": n for ch, n in self.uncovered.items()},
            "seconds": round(self.seconds, 2),
            "max_rss_kb": self.processes,
        }


@contextlib.contextmanager
def snapshot(engine):
    """A read-only connection that sees one state of the database for all its queries."""
    if engine.dialect.name == "sqlite":
        # The app's engine takes the write lock at BEGIN outside GET requests; a long read
        # must not block signing, so this one begins deferred: WAL gives it a snapshot.
        reader = create_engine(engine.url, poolclass=NullPool, connect_args={"timeout": 30})

        @event.listens_for(reader, "connect")
        def on_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA query_only=ON")

        @event.listens_for(reader, "begin")
        def on_begin(conn):
            conn.exec_driver_sql("BEGIN")

        try:
            with reader.connect() as conn, conn.begin():
                yield conn
        finally:
            reader.dispose()
    else:
        with engine.connect() as conn:
            conn = conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            with conn.begin():
                yield conn


def moment_expr():
    return func.coalesce(Signature.confirmed_at, Signature.created_at)


def date_expr(dialect):
    """The UTC date (YYYY-MM-DD) of the confirmation, as text, computed by the database."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", moment_expr()), "YYYY-MM-DD")
    # SQLite keeps UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'.
    return func.substr(moment_expr(), 1, 10)


def default_out(instance_path, slug):
    """instance/deliveries/SLUG-delivery-N.pdf, as a function of N."""
    folder = os.path.join(instance_path, "deliveries")
    return lambda number: os.path.join(folder, f"{slug}-delivery-{number}.pdf")


def build_delivery(
    petition,
    out,
    *,
    since_last=False,
    created_by="cli",
    staff_id=None,
    progress=None,
    processes=PROCESSES,
    volume_rows=VOLUME_ROWS,
    languages=None,
    allow_missing=False,
):
    """Build the bundle of a petition into out (a path, or a function of the delivery number).

    languages: the cover letter is printed in each, in that order (a version's own letter, or
    the default letter in that language); the first is the language of every heading, label
    and number. Default: the petition's own language. Each must be one the petition is
    published in (check with check_languages).

    A letter of a script no installed font prints (its fonts not installed) stops the build
    before anything is recorded, unless allow_missing: the bundle would show the recipient a
    box for every such character. Characters no font can have (private use) never stop it.

    Records and returns the delivery; progress(done, total, message) hears how far it got.
    """
    started = time.monotonic()
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("commit before building a delivery")
    petition_id, slug = petition.id, petition.slug
    # End the caller's (read) transaction: on SQLite the app's transactions take the write lock
    # at BEGIN, and a build must not hold it for minutes. The build reads from its own snapshot.
    db.session.rollback()
    report = progress or (lambda done, total, message: None)
    engine = db.engine
    dialect = engine.dialect.name

    with snapshot(engine) as conn:
        plan = read_plan(conn, petition_id, since_last, dialect)
        number = plan["number"]
        path = os.path.abspath(out(number) if callable(out) else out)
        # Written beside the target, and moved there only once the number is ours (below).
        part_path = f"{path}.{secrets.token_hex(4)}.part"
        private_dir(os.path.dirname(path))
        order = [code for code, _count in plan["counts"]]
        languages = check_languages(plan, languages)
        list_countries = [
            (code, countries.name(code, languages[0]), count) for code, count in plan["counts"]
        ]
        counts = [count for _code, count in plan["counts"]]
        list_pages = layout.count_pages(counts)
        parts = layout.volumes(layout.paginate(counts), volume_rows)
        rows_total = plan["rows"]
        report(0, rows_total, "Laying out pages")

        spec = front_spec(plan, list_countries, order, languages, current_app.config["UPLOAD_DIR"])
        header = {
            "title": spec["title"],
            "right": spec["words"]["header"] % {"number": number, "date": plan["date"]},
            "page": spec["words"]["page"],
        }
        context = multiprocessing.get_context("spawn")
        workers = max(1, min(processes, -(-rows_total // volume_rows)))
        with (
            tempfile.TemporaryDirectory(prefix=".bundle-", dir=os.path.dirname(path)) as tmp,
            concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool,
        ):
            processes_rss = {}

            def note(result):
                key = f"worker {result['pid']}"
                processes_rss[key] = max(processes_rss.get(key, 0), result["max_rss_kb"])
                return result

            front_pages = pool.submit(render.front_pages, {**spec, "sha256": PLACEHOLDER_HASH})
            front_count = note(front_pages.result())["pages"]
            total_pages = front_count + list_pages
            digest = hashlib.sha256()
            pending = []
            done_rows = 0
            uncovered = {}

            def collect(future, rows):
                nonlocal done_rows
                result = note(future.result())
                for ch, n in result["uncovered"].items():
                    uncovered[ch] = uncovered.get(ch, 0) + n
                done_rows += rows
                report(done_rows, rows_total, f"Drew {done_rows:,} of {rows_total:,} rows")

            files = []
            # The rows as hashed, deflated as they go: the bundle carries them as rows.tsv, so
            # a recipient can check the printed SHA-256 against them.
            rows_path = os.path.join(tmp, "rows.tsv.deflated")
            rows_file = open(rows_path, "wb")  # noqa: SIM115 closed below, before the join
            deflate = zlib.compressobj(6)
            rows_size = 0
            streamed = stream_rows(conn, plan, order, dialect)
            for index, part in enumerate(parts):
                rows = []
                for seq in range(part.first_seq, part.first_seq + part.rows):
                    try:
                        name, city, code, date = next(streamed)
                    except StopIteration:
                        raise DeliveryError("the signatures changed while reading") from None
                    line = canonical.canonical_line(seq, name, city, code, date).encode()
                    digest.update(line)
                    rows_file.write(deflate.compress(line))
                    rows_size += len(line)
                    rows.append((name, city, date))
                volume_path = os.path.join(tmp, f"volume-{index:05d}.pdf")
                files.append(volume_path)
                task = {
                    "path": volume_path,
                    "header": header,
                    "first_page": front_count + part.page_index + 1,
                    "total_pages": total_pages,
                    "pages": part.pages,
                    "countries": list_countries,
                    "rows": rows,
                    "words": spec["words"],
                    "language": spec["language"],
                }
                pending.append((pool.submit(render.render_volume, task), part.rows))
                del rows, task
                # Keep the workers busy with one volume queued each, and no more in memory.
                while len(pending) > workers:
                    collect(*pending.pop(0))
            if next(streamed, None) is not None:
                raise DeliveryError("the signatures changed while reading")
            rows_file.write(deflate.flush())
            rows_file.close()
            sha256 = digest.hexdigest()
            front_path = os.path.join(tmp, "front.pdf")
            front = pool.submit(
                render.render_front,
                {
                    "path": front_path,
                    "spec": {**spec, "sha256": sha256},
                    "header": header,
                    "total_pages": total_pages,
                },
            )
            for future, rows in pending:
                collect(future, rows)
            front_result = note(front.result())
            if front_result["pages"] != front_count:
                raise DeliveryError("the summary took another page count than laid out")
            for ch, n in front_result["uncovered"].items():
                uncovered[ch] = uncovered.get(ch, 0) + n

            missing = missing_scripts(uncovered)
            if missing and not allow_missing:
                count = sum(n for ch, n in uncovered.items() if printable(ch))
                raise DeliveryError(
                    f"no installed font prints {count:,} characters of {', '.join(missing)}: "
                    "install the fonts (`make fonts`, see README) or build with --allow-missing"
                )
            report(rows_total, rows_total, "Joining volumes")
            try:
                joined = merge.join(
                    [front_path, *files],
                    part_path,
                    title=plan["title"],
                    creator=render.CREATOR,
                    document_id=sha256[:32],
                    attachments=[
                        (ROWS_NAME, rows_path, rows_size, "text/tab-separated-values", ROWS_DESC)
                    ],
                    info={
                        "PetitionRows": rows_total,
                        "PetitionRowsSHA256": sha256,
                        "PetitionPages": total_pages,
                    },
                )
            except merge.MergeError as exc:
                raise DeliveryError(f"the volumes could not be joined: {exc}") from None
    try:
        if joined != total_pages:
            raise DeliveryError(f"the bundle has {joined} pages, {total_pages} were laid out")
        report(rows_total, rows_total, "Recording the delivery")
        delivery = Delivery(
            petition_id=petition_id,
            number=number,
            staff_id=staff_id,
            created_by=created_by,
            first_signature_id=plan["first_id"],
            last_signature_id=plan["last_id"],
            rows=rows_total,
            sha256=sha256,
            pages=total_pages,
            file_path=path,
        )
        db.session.add(delivery)
        try:
            # The unique (petition, number) row is taken at the flush; a concurrent build that
            # got the same number fails here, before it could overwrite this one's file.
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            raise DeliveryError(
                f"delivery number {number} was recorded by another build meanwhile; build again"
            ) from None
        # Read before the commit: after it, reading would begin a transaction (and on SQLite
        # take the write lock) that nothing ends.
        delivery_id = delivery.id
        make_private(part_path)  # every signer's name: not for other users of the machine
        os.replace(part_path, path)
        db.session.commit()
    finally:
        if os.path.exists(part_path):
            os.unlink(part_path)
    seconds = time.monotonic() - started
    log.info("delivery %s of %s: %s rows, %.1f s", number, slug, rows_total, seconds)
    return Result(
        delivery_id=delivery_id,
        number=number,
        path=path,
        rows=rows_total,
        pages=total_pages,
        sha256=sha256,
        first_signature_id=plan["first_id"],
        last_signature_id=plan["last_id"],
        uncovered=uncovered,
        seconds=seconds,
        processes={
            "parent": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            **processes_rss,
        },
    )


def read_plan(conn, petition_id, since_last, dialect):
    """What the delivery holds, read in the snapshot: bounds, counts per country, front data."""
    petition = conn.execute(
        select(
            Petition.title,
            Petition.language,
            Petition.target,
            Petition.cover_letter,
            counting.CONFIRMED.label("confirmed_count"),
            Petition.offline_count,
        ).where(Petition.id == petition_id)
    ).one()
    previous = conn.execute(
        select(Delivery.number, Delivery.last_signature_id)
        .where(Delivery.petition_id == petition_id)
        .order_by(Delivery.number.desc())
        .limit(1)
    ).first()
    number = (previous.number if previous else 0) + 1
    first_id = previous.last_signature_id if since_last and previous else 0
    last_id = (
        conn.execute(
            select(func.max(Signature.id)).where(Signature.petition_id == petition_id)
        ).scalar()
        or 0
    )
    day = date_expr(dialect)
    found = conn.execute(
        select(Signature.country, func.count(), func.min(day), func.max(day))
        .where(*delivery_filter(petition_id, first_id, last_id))
        .group_by(Signature.country)
    ).all()
    rows = sum(count for _code, count, _first, _last in found)
    if not rows:
        if since_last and previous:
            raise DeliveryError(f"no new confirmed signatures since delivery {previous.number}")
        raise DeliveryError("there are no confirmed signatures to deliver")
    counts = sorted(
        ((code, count) for code, count, _first, _last in found),
        key=lambda item: canonical.country_sort_key(item[0]),
    )
    milestones = conn.execute(
        select(Milestone.count, Milestone.label, Milestone.reached_at)
        .where(Milestone.petition_id == petition_id, Milestone.reached_at.is_not(None))
        .order_by(Milestone.count)
    ).all()
    endorsers = conn.execute(
        select(
            Endorsement.name,
            Endorsement.country,
            Endorsement.domain,
            Endorsement.logo_name,
            Endorsement.logo_width,
            Endorsement.logo_height,
        )
        .where(
            Endorsement.petition_id == petition_id,
            Endorsement.state == "approved",
            Endorsement.repeat_of_id.is_(None),
        )
        .order_by(Endorsement.approved_at, Endorsement.id)
    ).all()
    today = dt.datetime.now(dt.UTC).date()
    versions = {
        language: (canonical.clean(title), letter or "")
        for language, title, letter in conn.execute(
            select(
                PetitionTranslation.language,
                PetitionTranslation.title,
                PetitionTranslation.cover_letter,
            ).where(PetitionTranslation.petition_id == petition_id)
        )
    }
    versions[petition.language] = (canonical.clean(petition.title), petition.cover_letter or "")
    return {
        "language": petition.language,
        "versions": versions,
        "today": today,
        "number": number,
        "since": previous.number if since_last and previous else None,
        "first_id": first_id,
        "last_id": last_id,
        "petition_id": petition_id,
        "rows": rows,
        "counts": counts,
        "first_date": min(first for _code, _count, first, _last in found),
        "last_date": max(last for _code, _count, _first, last in found),
        "title": canonical.clean(petition.title),
        "target": canonical.clean(petition.target),
        "letter": petition.cover_letter or "",
        # Approved endorsers as of the snapshot: name, country, domain, logo (name, w, h).
        "endorsers": [
            (canonical.clean(e.name), e.country, e.domain, e.logo_name, e.logo_width, e.logo_height)
            for e in endorsers
        ],
        "petition_total": petition.confirmed_count + petition.offline_count,
        "offline": petition.offline_count,
        "milestones": [
            (m.count, canonical.clean(m.label), canonical.utc_date(m.reached_at))
            for m in milestones
        ],
        "date": today.isoformat(),
    }


def delivery_filter(petition_id, first_id, last_id):
    return (
        Signature.petition_id == petition_id,
        Signature.state == "confirmed",
        Signature.id > first_id,
        Signature.id <= last_id,
    )


# The attached rows: their name in the PDF, and what a reader's attachment list says of them.
ROWS_NAME = "rows.tsv"
ROWS_DESC = "The rows in the canonical form the SHA-256 of the summary is computed over"


def script_of(ch):
    """A character's script as its Unicode name begins ("CJK", "HANGUL"), or its code point
    where this Python's Unicode data names none."""
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else f"U+{ord(ch):04X}"


def printable(ch):
    """A letter, mark or digit: some font prints it (private-use and unassigned ones, none)."""
    return unicodedata.category(ch)[0] in "LMN"


def missing_scripts(uncovered):
    """The scripts of the uncovered characters a font could print and none installed does."""
    return sorted({script_of(ch) for ch in uncovered if printable(ch)})


def check_languages(plan, languages):
    """The languages asked for, in order and once each; DeliveryError names one the petition
    is not published in."""
    chosen = list(dict.fromkeys(languages or [plan["language"]]))
    unknown = [language for language in chosen if language not in plan["versions"]]
    if unknown:
        published = ", ".join(sorted(plan["versions"]))
        raise DeliveryError(
            f"the petition is not published in {', '.join(unknown)} (it is in {published})"
        )
    return chosen


def front_spec(plan, list_countries, order, languages, upload_dir=None):
    """What the front matter prints, every word already in its language (words.py)."""
    keys = ["target", "number", "since", "rows", "first_date", "last_date"]
    keys += ["petition_total", "offline", "date"]
    language = languages[0]
    spec = {
        **{key: plan[key] for key in keys},
        "countries": list_countries,
        "order": order,
        "language": language,
        "rtl": language in RIGHT_TO_LEFT,
        "words": words.frame(language),
        "title": plan["versions"][language][0],
        "milestones": [
            (words.milestone_label(count, language), label, date)
            for count, label, date in plan["milestones"]
        ],
        "endorsers": [
            {
                "name": name,
                "country": countries.name(code, language) if code else "",
                "domain": domain,
                # The stored, re-encoded PNG (core/uploads.py): drawn from the file, by path.
                "logo": uploads.path_of(upload_dir, logo) if logo and upload_dir else None,
                "logo_size": (width, height),
            }
            for name, code, domain, logo, width, height in plan["endorsers"]
        ],
        "endorsed": words.endorsed_heading(len(plan["endorsers"]), language),
    }
    spec["letters"] = [
        {
            "language": code,
            "rtl": code in RIGHT_TO_LEFT,
            "title": plan["versions"][code][0],
            "text": plan["versions"][code][1]
            or words.default_letter(spec, plan["versions"][code][0], code),
            "date": words.long_date(plan["today"], code),
            "labels": words.letter_labels(code),
        }
        for code in languages
    ]
    return spec


def stream_rows(conn, plan, order, dialect):
    """(name, city, country, date) in bundle order, cleaned as canonical.py hashes them."""
    day = date_expr(dialect)
    clean = canonical.clean
    where = delivery_filter(plan["petition_id"], plan["first_id"], plan["last_id"])
    streaming = conn.execution_options(yield_per=FETCH_ROWS)
    for code in order:
        result = streaming.execute(
            select(Signature.name, Signature.city, day)
            .where(*where, Signature.country == code)
            .order_by(moment_expr(), Signature.id)
        )
        for name, city, date in result:
            yield clean(name), clean(city), code, date
