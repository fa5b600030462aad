"""The delivery bundle: every script prints and extracts, fonts embedded, hash, since-last."""

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.delivery import canonical, layout
from petition.delivery.models import Delivery
from petition.jobs.models import Job
from petition.pdf import fonts
from petition.petitions.models import Petition, Signature
from petition.staff.models import AuditLog
from tests.helpers import csrf_token, normal
from tests.live import ROOT
from tests.services import missing, require_tool

PASSWORD = "correct horse battery staple"

# Real names in their scripts, with a city in the same country.
PEOPLE = [
    ("Zoé Lefèvre", "FR", "Paris"),
    ("Nguyễn Thị Minh Khai", "VN", "Hà Nội"),
    ("Řehoř Dvořák", "CZ", "Brno"),
    ("Małgorzata Wiśniewska", "PL", "Kraków"),
    ("Алексей Смирнов", "RU", "Москва"),
    ("Γιώργος Παπαδόπουλος", "GR", "Θεσσαλονίκη"),
    ("נועה כהן", "IL", "תל אביב"),
    ("أحمد حسن", "EG", "القاهرة"),
    ("سارا محمدی", "IR", "تهران"),
    ("प्रिया शर्मा", "IN", "मुंबई"),
    ("அனிதா ராமன்", "LK", "சென்னை"),
    ("สมชาย ใจดี", "TH", "กรุงเทพมหานคร"),
    ("王伟", "CN", "北京"),
    ("佐藤 花子", "JP", "東京"),
    ("김민준", "KR", "서울"),
    ("ნინო ბერიძე", "GE", "თბილისი"),
    ("Անի Հակոբյան", "AM", "Երևան"),
    ("አበበ በቀለ", "ET", "አዲስ አበባ"),
    ("Siobhán Ó Briain", "IE", None),
    # Names mixing directions, hyphens, digits and Latin initials (issue #15, item 5).
    ("אורי בקר-ליפשיץ", "IL", "חיפה"),
    ("J. כהן-Smith", "IL", None),
    ("דוד 2", "IL", None),
    ("محمد بن-سلمان", "EG", "الإسكندرية"),
    ("عبد الله ٣", "EG", None),
    ("Анна-Мария Иванова", "RU", None),
    ("O'Brien-Smith", "IE", None),
    ("李小龙", "CN", "上海"),
    ("Ngọc Ánh", "VN", None),
]
# Item 5's names, and more that mix directions, marks and punctuation.
MIXED_NAMES = [
    "אורי בקר-ליפשיץ",
    "J. כהן-Smith",
    "דוד 2",
    "محمد بن-سلمان",
    "عبد الله ٣",
    "Анна-Мария Иванова",
    "O'Brien-Smith",
    "李小龙",
    "김민준",
    "Ngọc Ánh",
    "נועה כהן",
    "فاطمة الزهراء",
    "عبدالله",
    "Smith, ג'ון",
    "שרה (לוי) 12-3",
    "ليلى 2024",
]


def tools():
    require_tool("qpdf", "qpdf")
    for tool in ("pdftotext", "pdffonts", "pdfinfo"):
        require_tool(tool, "poppler-utils")


def pdf_text(path):
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return normal(out.stdout.decode("utf-8"))


def mupdf_pages(path):
    """The text of each page as PyMuPDF extracts it."""
    try:
        import pymupdf
    except ImportError:
        missing("PyMuPDF is not installed (pip install -r requirements-dev.txt)")
    with pymupdf.open(path) as doc:
        return [page.get_text() for page in doc]


def pdf_pages(path):
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", out.stdout, re.M).group(1))


def add_signatures(app, petition_id, people, start=0, state="confirmed"):
    """Signatures confirmed a minute apart; returns their ids."""
    from petition.petitions import counting

    base = utcnow() - dt.timedelta(days=3)
    ids = []
    with app.app_context():
        for i, (name, country, city) in enumerate(people, start=start):
            moment = base + dt.timedelta(minutes=i)
            email = f"signer{i}@example.org"
            signature = Signature(
                petition_id=petition_id,
                name=name,
                email=email,
                canonical_email=email,
                country=country,
                city=city,
                postcode="75001",
                ip="203.0.113.7",
                state=state,
                created_at=moment,
                confirmed_at=moment if state == "confirmed" else None,
                mail_count=1,
                mail_window_start=moment,
            )
            db.session.add(signature)
            db.session.flush()
            ids.append(signature.id)
        counting.recount(db.session.get(Petition, petition_id))
        db.session.commit()
    return ids


def build(app, out, *args):
    result = app.test_cli_runner().invoke(
        args=["delivery", "pdf", "speak-out", "--out", str(out), *args]
    )
    return result


def printed(output, key):
    return re.search(rf"^{key}: (.+)$", output, re.M).group(1)


@pytest.fixture
def petition_id(app, make_petition):
    from petition.endorsements import operations as endorsements

    petition_id = make_petition(milestones=((5, "Five people"), (1000, "A thousand")))
    with app.app_context():
        petition = db.session.get(Petition, petition_id)
        for name in ("Amnesty Example", "Fédération des Exemples", "منظمة المثال"):
            data = endorsements.EndorsementData(name=name)
            endorsements.add_by_staff(petition, data, app.config, added_by="test")
        db.session.commit()
    return petition_id


def test_every_script_prints_embedded_extractable_and_hashed(app, petition_id, tmp_path):
    tools()
    ids = add_signatures(app, petition_id, PEOPLE)
    out = tmp_path / "bundle.pdf"
    result = build(app, out)
    assert result.exit_code == 0, result.output
    assert "characters no font could print: none" in result.output

    assert subprocess.run(["qpdf", "--check", str(out)], capture_output=True).returncode == 0

    listing = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True)
    rows = listing.stdout.splitlines()[2:]
    assert len(rows) >= 15  # a font per script
    for row in rows:
        emb, sub, uni = row.split()[-5:-2]
        assert (emb, uni) == ("yes", "yes"), row
    assert "Helvetica" not in listing.stdout

    text = pdf_text(out)
    for name, _country, city in PEOPLE:
        assert normal(name) in text, name
        if city:
            assert normal(city) in text, city
    mupdf_text = normal(" ".join(mupdf_pages(out)))
    for name, _country, _city in PEOPLE:
        assert normal(name) in mupdf_text, name
    assert "@" not in text
    assert "203.0.113.7" not in text and "75001" not in text

    with app.app_context():
        delivery = db.session.execute(select(Delivery)).scalar_one()
        signatures = db.session.execute(select(Signature)).scalars().all()
        expected = canonical.row_hash(canonical.bundle_rows(signatures))
        counts = {}
        for s in signatures:
            counts[s.country] = counts.get(s.country, 0) + 1
        order = sorted(counts, key=canonical.country_sort_key)
        list_pages = layout.count_pages([counts[c] for c in order])
    assert (delivery.number, delivery.created_by, delivery.rows) == (1, "cli", len(PEOPLE))
    assert (delivery.first_signature_id, delivery.last_signature_id) == (0, max(ids))
    assert delivery.sha256 == expected == printed(result.output, "sha256")
    assert delivery.file_path == str(out)
    pages = pdf_pages(out)
    assert pages == delivery.pages == int(printed(result.output, "pages"))
    assert pages - list_pages == 3  # the cover letter, the summary and the endorsers
    # The summary: row count, the hash and how it is computed.
    assert f"Rows {len(PEOPLE)}" in text
    assert f"SHA-256 {expected}" in text
    assert "separated by tabs and ended by a line feed, in UTF-8" in text
    assert "Endorsed by 3 organisations Amnesty Example Fédération des Exemples" in text
    assert "Five people (reached" in text
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text


def test_the_list_runs_in_country_name_order_with_subtotals(app, petition_id, tmp_path):
    tools()
    add_signatures(
        app,
        petition_id,
        [("Lea Graf", "CH", "Zürich"), ("Anna Schröder", "DE", "Köln"), ("José Ángel", "ES", None)],
    )
    out = tmp_path / "bundle.pdf"
    assert build(app, out).exit_code == 0
    text = pdf_text(out)
    body = text[text.index("Germany No. Name") :]
    assert body.index("Anna Schröder") < body.index("José Ángel") < body.index("Lea Graf")
    assert "Subtotal, Germany 1" in body
    assert re.search(r"1 Anna Schröder Köln Germany \d{4}-\d\d-\d\d", body)


def test_since_last_delivers_only_new_signatures(app, petition_id, tmp_path):
    tools()
    add_signatures(app, petition_id, PEOPLE[:4])
    first = build(app, tmp_path / "one.pdf")
    assert first.exit_code == 0, first.output
    new = [("Jürgen Weiß", "DE", "Berlin"), ("Олена Шевченко", "UA", "Київ")]
    new_ids = add_signatures(app, petition_id, new, start=100)
    add_signatures(app, petition_id, [("Still Pending", "FR", None)], start=200, state="pending")

    second = build(app, tmp_path / "two.pdf", "--since-last")
    assert second.exit_code == 0, second.output
    assert printed(second.output, "rows") == "2"
    with app.app_context():
        one, two = db.session.execute(select(Delivery).order_by(Delivery.number)).scalars()
        newest = db.session.execute(select(Signature.id).order_by(Signature.id.desc())).scalar()
        added = db.session.execute(select(Signature).where(Signature.id.in_(new_ids))).scalars()
        expected = canonical.row_hash(canonical.bundle_rows(added))
    assert (one.number, two.number) == (1, 2)
    assert two.first_signature_id == one.last_signature_id
    assert two.last_signature_id == newest
    assert two.rows == 2 and two.sha256 == expected
    text = pdf_text(tmp_path / "two.pdf")
    assert "Jürgen Weiß" in text and "Олена Шевченко" in text
    for name, _country, _city in PEOPLE[:4]:
        assert normal(name) not in text
    assert "Still Pending" not in text
    assert "Signatures confirmed since delivery number 1" in text

    nothing = build(app, tmp_path / "three.pdf", "--since-last")
    assert nothing.exit_code != 0
    assert "no new confirmed signatures since delivery 2" in nothing.output


def test_characters_no_font_covers_are_counted_and_still_extracted(app, petition_id, tmp_path):
    tools()
    tangut = "\U00017000"
    add_signatures(
        app,
        petition_id,
        [("Ana \ue000 Souza", "BR", None), ("X\ue000 " + tangut, "FR", "Lyon")],
    )
    out = tmp_path / "bundle.pdf"
    # Tangut is a script a font could print and none installed does: the build stops, records
    # nothing and writes nothing, unless told to go on.
    refused = build(app, out)
    assert refused.exit_code == 1
    assert "no installed font prints 1 characters of U+17000" in refused.output, refused.output
    assert "--allow-missing" in refused.output
    assert not out.exists()
    with app.app_context():
        assert db.session.execute(select(Delivery)).first() is None
    result = build(app, out, "--allow-missing")
    assert result.exit_code == 0, result.output
    assert "characters no font could print: 3 (U+E000 x2, U+17000 x1)" in result.output, (
        result.output
    )
    assert subprocess.run(["qpdf", "--check", str(out)], capture_output=True).returncode == 0
    # The marker is drawn; the names as stored come back out through ActualText.
    assert "Ana \ue000 Souza" in pdf_text(out)


def test_a_build_that_lost_its_number_leaves_the_winner_alone(
    app, petition_id, tmp_path, monkeypatch
):
    from petition.delivery import build as build_module

    add_signatures(app, petition_id, PEOPLE[:2])
    out = tmp_path / "bundle.pdf"
    out.write_bytes(b"the winner's file")
    read_plan = build_module.read_plan

    def stale(conn, *args):
        plan = read_plan(conn, *args)
        with app.app_context():
            # Another build records number 1 while this one is drawing it.
            db.session.add(Delivery(petition_id=petition_id, number=1, sha256="0" * 64))
            db.session.commit()
        return plan

    monkeypatch.setattr(build_module, "read_plan", stale)
    with app.app_context(), pytest.raises(build_module.DeliveryError, match="number 1"):
        petition = db.session.get(Petition, petition_id)
        build_module.build_delivery(petition, str(out), processes=1)
    assert out.read_bytes() == b"the winner's file"
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == []


def test_nothing_to_deliver_is_an_error(app, petition_id, tmp_path):
    tools()
    add_signatures(app, petition_id, [("Only Pending", "FR", None)], state="pending")
    result = build(app, tmp_path / "bundle.pdf")
    assert result.exit_code != 0
    assert "there are no confirmed signatures to deliver" in result.output


# --- the canonical form, the layout and the fonts, without a PDF -------------------------


def test_canonical_form_is_documented_bytes():
    rows = [
        (1, "Zoé\tLefèvre", None, "FR", "2026-01-02"),
        (2, "Jürgen", "Köln", "DE", "2026-01-03"),
    ]
    by_hand = "1\tZoé Lefèvre\t\tFR\t2026-01-02\n2\tJürgen\tKöln\tDE\t2026-01-03\n"
    assert canonical.row_hash(rows) == hashlib.sha256(by_hand.encode("utf-8")).hexdigest()
    # Decomposed input hashes as its NFC form.
    decomposed = [(1, "Zoe\u0301 Lefe\u0300vre", "", "FR", "2026-01-02")]
    assert canonical.row_hash(decomposed) == canonical.row_hash(
        [(1, "Zoé Lefèvre", "", "FR", "2026-01-02")]
    )


def test_bundle_rows_order_by_country_name_then_time_then_id(tmp_path):
    class S:
        def __init__(self, id, country, minute):
            self.id, self.name, self.city, self.country = id, f"n{id}", None, country
            self.confirmed_at = dt.datetime(2026, 1, 1, 23, minute, tzinfo=dt.UTC)

    rows = canonical.bundle_rows(
        [S(1, "CH", 0), S(2, "ES", 5), S(3, "DE", 9), S(4, "DE", 1), S(5, "DE", 1)]
    )
    assert [r.name for r in rows] == ["n4", "n5", "n3", "n2", "n1"]  # Germany, Spain, Switzerland
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].date == "2026-01-01"
    path = tmp_path / "rows.csv"
    path.write_text(
        "seq,name,city,country,date\n"
        + "".join(f"{r.seq},{r.name},,{r.country},{r.date}\n" for r in rows),
        encoding="utf-8",
    )
    assert canonical.row_hash(canonical.read_csv(path)) == canonical.row_hash(rows)


@pytest.mark.parametrize("counts", [[1], [3, 200, 1, 57], [53], [54], [55], [10_000, 1]])
def test_pagination_places_every_row_once_within_pages(counts):
    pages = list(layout.paginate(counts))
    assert len(pages) == layout.count_pages(counts)
    seq = 1
    for page in pages:
        units = 0
        for block in page:
            if isinstance(block, layout.Rows):
                assert block.first_seq == seq
                seq += block.count
                units += block.count
            elif isinstance(block, layout.Heading):
                units += layout.HEADING_UNITS
            else:
                units += layout.SUBTOTAL_UNITS
        assert units <= layout.UNITS_PER_PAGE
    assert seq - 1 == sum(counts)
    parts = list(layout.volumes(iter(pages), 120))
    assert sum(part.rows for part in parts) == sum(counts)
    assert sum(len(part.pages) for part in parts) == len(pages)


def test_right_to_left_runs_come_in_display_order():
    # "abc", then the Hebrew word reversed, then the digits left to right, then "def".
    runs = fonts.visual_runs("abc אבג 12 def")
    assert [(s, e, rtl) for s, e, rtl in runs] == [
        (0, 4, False),
        (8, 10, False),
        (4, 8, True),
        (10, 14, False),
    ]
    assert fonts.visual_runs("נועה כהן") == [(0, 8, True)]


def test_every_sample_name_gets_glyphs_without_notdef():
    engine = fonts.TextEngine()
    for name, country, city in PEOPLE:
        for text in (name, city or ""):
            if not text:
                continue
            prepared = engine.prepare(text, hint={"JP": "ja", "KR": "ko"}.get(country))
            assert prepared.uncovered == (), text
            for font, codes, _glyphs, _actual, _x, _width in prepared.segments:
                for code in map(ord, codes):
                    assert font.ttf.face.charToGlyph.get(code, 0) != 0, (text, hex(code))


def names_pdf(path, pages):
    """A PDF of pages of names, one a line, drawn through the bundle's Writer."""
    from petition.delivery.render import emit_page, engine, new_canvas

    canvas = new_canvas(str(path), "names")
    writer = fonts.Writer(engine(), canvas._doc, layered=True)
    for names in pages:
        ops = [writer.place(n, 50, 800 - 14 * i, 10) for i, n in enumerate(names)]
        emit_page(canvas, writer, [], ops)
    canvas.save()


def lines(text):
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


# Names that make a page's strong characters mostly Latin, or mostly Hebrew: pdftotext reads a
# page in the direction most of them have, and a name mixing directions must come back whole on
# either kind of page.
LATIN_FILL = ["Anna Schmidt", "Jean Dupont", "Maria Rossi", "John Smith", "Lea Graf"] * 4
HEBREW_FILL = ["נועה כהן", "יוסי לוי", "שרה מזרחי", "רחל אברהם", "משה ביטון", "אסתר דהן"] * 4


def test_every_name_extracts_whole_in_logical_order(tmp_path):
    """Issue #15, item 5: each name comes back whole, in the order it is written, from poppler
    and MuPDF, on a page mostly Latin, on a page mostly Hebrew and on a page of its own."""
    require_tool("pdftotext", "poppler-utils")
    mutool = require_tool("mutool", "mupdf-tools")
    path = tmp_path / "names.pdf"
    pages = [LATIN_FILL + MIXED_NAMES, HEBREW_FILL + MIXED_NAMES] + [[n] for n in MIXED_NAMES]
    names_pdf(path, pages)
    # What pdftotext adds of its own (embedding marks) and the pieces' LRM and RLM marks are
    # invisible; normal() takes them off, and NFKC the lam-alef ligature (لى in ليلى), whose
    # code is its compatibility form. Nothing else.
    expected = [[normal(n) for n in page] for page in pages]

    for mode in ([], ["-layout"]):
        out = subprocess.run(["pdftotext", *mode, str(path), "-"], capture_output=True, check=True)
        poppler = out.stdout.decode("utf-8").split("\f")[: len(pages)]
        assert [[normal(line) for line in lines(page)] for page in poppler] == expected, mode

    mupdf = mupdf_pages(path)
    assert [[normal(line) for line in lines(page)] for page in mupdf] == expected
    for name, page in zip(MIXED_NAMES, mupdf[2:], strict=True):
        assert lines(page) == [name] or name == "ليلى 2024"  # exact, but for the ligature

    # mutool (1.21) ignores ActualText: Arabic comes as the presentation forms NFKC turns into
    # letters, and a parenthesis in right-to-left text as the mirrored glyph's own character.
    out = subprocess.run(
        [mutool, "draw", "-q", "-F", "txt", "-o", "-", str(path), "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    shown = [n for n in LATIN_FILL + MIXED_NAMES if "(" not in n]
    got = [normal(line) for line in lines(out.stdout) if ")" not in line]
    assert got == [normal(n) for n in shown]


# --- staff: start a build, watch it, download it -------------------------------------------


def test_staff_build_a_bundle_watch_it_and_download_it(app, client, petition_id, tmp_path):
    tools()
    add_signatures(app, petition_id, PEOPLE[:6])
    created = app.test_cli_runner().invoke(
        args=["staff", "create", "lead@example.org", "--role", "campaigner", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert created.exit_code == 0, created.output
    assert client.get("/staff/petitions/speak-out/deliveries").status_code == 302  # log in first
    login = client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(client, "/staff/login"),
            "email": "lead@example.org",
            "password": PASSWORD,
        },
    )
    assert login.status_code == 303

    page = client.get("/staff/petitions/speak-out/deliveries")
    assert page.status_code == 200
    assert "No delivery yet." in page.get_data(as_text=True)
    assert (
        client.post("/staff/petitions/speak-out/deliveries", data={"scope": "all"}).status_code
        == 400
    )
    started = client.post(
        "/staff/petitions/speak-out/deliveries",
        data={
            "csrf_token": csrf_token(client, "/staff/petitions/speak-out/deliveries"),
            "scope": "all",
        },
    )
    assert started.status_code == 303
    running = client.get("/staff/petitions/speak-out/deliveries").get_data(as_text=True)
    job_url = re.search(r'data-job-url="([^"]+)"', running).group(1)
    assert "<progress" in running and "staff-jobs.js" in running
    assert client.get(job_url).get_json()["state"] == "queued"

    from petition.jobs import runner as jobs

    with app.app_context():
        assert jobs.run_one(app) is True
        entry = db.session.execute(
            select(AuditLog).where(AuditLog.action == "delivery.start")
        ).scalar_one()
        assert entry.petition_id == petition_id and json.loads(entry.detail)["since_last"] is False
        job = db.session.execute(select(Job)).scalar_one()
        assert job.staff_id is not None
    status = client.get(job_url).get_json()
    assert status["state"] == "done", status
    assert status["progress"] == status["total"] == 6
    result = status["result"]
    assert result["rows"] == 6
    # The server's paths and worker processes stay on the server (#12).
    assert "path" not in result and "max_rss_kb" not in result
    assert str(tmp_path) not in json.dumps(status)
    with app.app_context():
        delivery = db.session.get(Delivery, result["delivery_id"])
        assert delivery.created_by == "lead@example.org" and delivery.staff_id == job.staff_id
    assert delivery.file_path.startswith(str(tmp_path / "deliveries"))
    # Every signer's name is in it: the app's own user alone may read it, and its folder (#12).
    assert os.stat(delivery.file_path).st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / "deliveries").st_mode & 0o777 == 0o700

    listing = client.get("/staff/petitions/speak-out/deliveries").get_data(as_text=True)
    assert delivery.sha256 in listing and "lead@example.org" in listing
    download = client.get(f"/staff/deliveries/{delivery.id}/download")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.data.startswith(b"%PDF")
    assert "speak-out-delivery-1.pdf" in download.headers["Content-Disposition"]
    download.close()

    client.post(
        "/staff/logout",
        data={"csrf_token": csrf_token(client, "/staff/petitions/speak-out/deliveries")},
    )
    assert client.get(f"/staff/deliveries/{delivery.id}/download").status_code == 302
    assert client.get(job_url).status_code == 302


def test_the_cover_letter_prints_in_each_language_chosen(app, petition_id, tmp_path):
    from petition.delivery import words
    from petition.petitions import texts

    tools()
    with app.app_context():
        texts.publish(
            db.session.get(Petition, petition_id),
            "ru",
            app.config["LANGUAGES"],
            title="Выступите, МОК",
            cover_letter="Уважаемый Международный олимпийский комитет!\n\nМы просим вас выступить.",
        )
        db.session.commit()
    add_signatures(app, petition_id, [("Anna Schröder", "DE", "Köln"), ("Олег Ким", "RU", None)])
    out = tmp_path / "bundle.pdf"
    result = build(app, out, "--language", "ru", "--language", "en")
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    with app.app_context():
        russian = words.frame("ru")
    assert russian["summary"] != "Summary"  # the Russian catalog translates the frame
    # The Russian letter first, then the English default one, then the summary, all in Russian.
    first = text.index("Мы просим вас выступить.")
    second = text.index("We are delivering to you the petition “Speak out”")
    summary = text.index(normal(russian["summary"]))
    assert first < second < summary
    assert "Выступите, МОК" in text
    assert normal(russian["subtotal"] % {"country": "Германия"}) in text
    assert normal(russian["page"] % {"page": 1, "pages": pdf_pages(out)}) in text
    assert "Summary" not in text and "Subtotal" not in text

    refused = build(app, tmp_path / "other.pdf", "--language", "fr")
    assert refused.exit_code == 1
    assert "not published in fr (it is in en, ru)" in refused.output


def test_the_bundle_carries_its_rows_and_verifies(app, petition_id, tmp_path):
    tools()
    add_signatures(app, petition_id, PEOPLE)
    out = tmp_path / "bundle.pdf"
    result = build(app, out)
    assert result.exit_code == 0, result.output
    sha256 = printed(result.output, "sha256")

    listed = subprocess.run(
        ["qpdf", "--list-attachments", str(out)], capture_output=True, text=True, check=True
    )
    assert "rows.tsv" in listed.stdout
    rows = subprocess.run(
        ["qpdf", "--show-attachment=rows.tsv", str(out)], capture_output=True, check=True
    ).stdout
    # What a recipient runs: sha256sum of the attachment is the printed hash.
    assert hashlib.sha256(rows).hexdigest() == sha256
    assert sha256 in pdf_text(out).replace(" ", "")
    lines = rows.decode("utf-8").splitlines()
    assert len(lines) == len(PEOPLE)
    assert [line.split("\t")[0] for line in lines] == [str(n) for n in range(1, len(PEOPLE) + 1)]
    assert not any("@" in line for line in lines)  # no emails in the attachment either
    assert "rows.tsv" in pdf_text(out)  # the summary says how to check

    verified = app.test_cli_runner().invoke(args=["delivery", "verify", str(out)])
    assert verified.exit_code == 0, verified.output
    for check in ("attachment", "hash", "rows", "pages", "printed hash", "record"):
        assert f"{check}: ok" in verified.output

    data = out.read_bytes()
    # The stated hash edited: the attachment no longer matches it.
    stated = data.replace(
        f"/PetitionRowsSHA256 ({sha256})".encode(), f"/PetitionRowsSHA256 ({sha256[::-1]})".encode()
    )
    assert stated != data
    (tmp_path / "stated.pdf").write_bytes(stated)
    # A row changed inside the attachment (same length, so the file still parses).
    at = data.index(b"/Type /EmbeddedFile")
    start = data.index(b"stream\n", at) + len(b"stream\n") + 40
    rows_changed = data[:start] + bytes([data[start] ^ 0xFF]) + data[start + 1 :]
    (tmp_path / "rows.pdf").write_bytes(rows_changed)
    # Pages stated that the file does not have.
    found = re.search(rb"/PetitionPages \((\d+)\)", data)
    other = b"%d" % ((int(found.group(1)) + 1) % 10 ** len(found.group(1)))
    pages = data[: found.start(1)] + other.rjust(len(found.group(1)), b"0") + data[found.end(1) :]
    (tmp_path / "pages.pdf").write_bytes(pages)
    for name, failed in (
        ("stated", "hash: FAILED"),
        ("rows", "FAILED"),
        ("pages", "pages: FAILED"),
    ):
        tampered = app.test_cli_runner().invoke(
            args=["delivery", "verify", str(tmp_path / f"{name}.pdf")]
        )
        assert tampered.exit_code == 1, (name, tampered.output)
        assert failed in tampered.output, (name, tampered.output)
    # The same checks without the app, as a recipient runs them.
    offline = subprocess.run(
        [sys.executable, "-m", "petition.delivery.verify", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert offline.returncode == 0 and "hash: ok" in offline.stdout, offline.stderr
    assert "RuntimeWarning" not in offline.stderr
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(data[: len(data) // 2])
    broken = subprocess.run(
        [sys.executable, "-m", "petition.delivery.verify", str(truncated)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert broken.returncode == 1 and "not a readable bundle" in broken.stderr


def test_private_use_characters_alone_do_not_stop_a_build(app, petition_id, tmp_path):
    tools()
    add_signatures(app, petition_id, [("Ana \ue000 Souza", "BR", None)])
    result = build(app, tmp_path / "bundle.pdf")
    assert result.exit_code == 0, result.output
    assert "characters no font could print: 1 (U+E000 x1)" in result.output
