"""Staff signatures: search and paging, invalidate and restore, CSV export, CSV upload."""

import csv
import hashlib
import html
import io
import json
import os
import re

import pytest
from sqlalchemy import func, select

from petition import imports
from petition.core import spreadsheets
from petition.core.extensions import db
from petition.imports.models import ImportRun
from petition.mail.models import OutboxMessage
from petition.petitions import counting, exports
from petition.petitions.models import Milestone, Petition, Signature
from petition.staff.models import AuditLog
from tests.helpers import csrf_token

SLUG = "speak-out"
LIST = f"/staff/petitions/{SLUG}/signatures"
EXPORT = f"/staff/petitions/{SLUG}/signatures.csv"
IMPORT = f"/staff/petitions/{SLUG}/import"
HEADER = "name,email,country,city,postcode,created_at\n"


@pytest.fixture
def petition_id(make_petition):
    return make_petition(milestones=((3, "Three"), (100, "A hundred")))


@pytest.fixture
def seed(app, petition_id):
    """Import CSV rows (without the header) straight through the domain function."""

    def do(*rows):
        with app.app_context():
            petition = db.session.get(Petition, petition_id)
            data = (HEADER + "".join(r + "\n" for r in rows)).encode()
            report = imports.import_csv(petition, io.BytesIO(data))
            assert report.rejected == 0, report.rejections
            return report

    return do


def names(response):
    """The names in the signature table, in order."""
    body = response.get_data(as_text=True)
    return [
        html.unescape(m)
        for m in re.findall(r'<tr id="signature-\d+"[^>]*>\s*<td dir="auto">([^<]*)', body)
    ]


def public_count(client):
    return client.get(f"/api/petitions/{SLUG}/count").get_json()["signature_count"]


def reached(app, client):
    """Milestones reached, once the count journal is folded (the periodic runner's job)."""
    with app.app_context():
        counting.fold(app.config)
    body = client.get(f"/api/petitions/{SLUG}").get_json()
    return {m["count"]: m["reached_at"] is not None for m in body["milestones"]}


def signature_id(app, email):
    with app.app_context():
        return db.session.execute(select(Signature.id).where(Signature.email == email)).scalar_one()


# --- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", LIST),
        ("get", EXPORT),
        ("get", IMPORT),
        ("post", IMPORT),
        ("post", f"{LIST}/1/invalidate"),
        ("post", f"{LIST}/1/restore"),
    ],
)
def test_every_page_needs_a_staff_login(client, petition_id, method, path):
    response = getattr(client, method)(path)
    if method == "post" and "import" not in path:
        # CSRFProtect answers first for ordinary forms: no token, no entry.
        assert response.status_code in (302, 400)
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/staff/login")


def test_unknown_petition_is_404(client, staff):
    assert client.get("/staff/petitions/nope/signatures").status_code == 404
    assert client.get("/staff/petitions/nope/import").status_code == 404


# --- search and paging ----------------------------------------------------------------------


ROWS = [
    "Ana Souza,ana@example.org,BR,,,2025-01-01T10:00:00Z",
    "Bruno Lima,bruno@example.org,BR,,,2025-01-02T10:00:00Z",
    "Chloé Martin,chloe.martin@gmail.com,FR,,,2025-01-03T10:00:00Z",
    "Dmitri Ivanov,dmitri@example.ru,RU,,,2025-01-04T10:00:00Z",
    "Ева Смирнова,eva@example.ru,RU,,,2025-01-05T10:00:00Z",
    "Fatima 100%_sure,fatima@example.org,MA,,,2025-01-06T10:00:00Z",
    "Gaspard Roux,gaspard@example.fr,FR,,,2025-01-07T10:00:00Z",
]


def test_list_is_newest_first_and_keyset_paged(client, staff, seed):
    seed(*ROWS)
    first = client.get(LIST + "?per_page=3")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    assert 'class="flash error"' not in first.get_data(as_text=True)
    assert names(first) == ["Gaspard Roux", "Fatima 100%_sure", "Ева Смирнова"]
    body = first.get_data(as_text=True)
    assert 'rel="prev"' not in body
    older = html.unescape(re.search(r'<a rel="next" href="([^"]+)"', body).group(1))
    second = client.get(older)
    assert names(second) == ["Dmitri Ivanov", "Chloé Martin", "Bruno Lima"]
    body = second.get_data(as_text=True)
    older = html.unescape(re.search(r'<a rel="next" href="([^"]+)"', body).group(1))
    newer = html.unescape(re.search(r'<a rel="prev" href="([^"]+)"', body).group(1))
    assert "per_page=3" in older and "per_page=3" in newer
    third = client.get(older)
    assert names(third) == ["Ana Souza"]
    assert 'rel="next"' not in third.get_data(as_text=True)
    back = client.get(newer)
    assert names(back) == names(first)
    assert 'rel="prev"' not in back.get_data(as_text=True)


def test_paging_is_exact_when_times_tie(client, staff, seed):
    # Rows imported without created_at share the batch's time: the id breaks the tie.
    seed(*[f"P{i},p{i}@example.org,FR,,," for i in range(7)])
    seen, url = [], LIST + "?per_page=3"
    while url:
        body = client.get(url).get_data(as_text=True)
        seen += names(client.get(url))
        found = re.search(r'<a rel="next" href="([^"]+)"', body)
        url = html.unescape(found.group(1)) if found else None
    assert seen == [f"P{i}" for i in reversed(range(7))]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=ana", ["Ana Souza"]),
        ("q=SOUZA", ["Ana Souza"]),
        ("q=example.ru", ["Ева Смирнова", "Dmitri Ivanov"]),
        ("q=Смирнова", ["Ева Смирнова"]),
        ("q=100%25_", ["Fatima 100%_sure"]),  # % and _ are literal, not wildcards
        ("q=%25", ["Fatima 100%_sure"]),
        ("q=Chloe.Martin%2Bpetition@googlemail.com", ["Chloé Martin"]),  # the same mailbox
        ("country=FR", ["Gaspard Roux", "Chloé Martin"]),
        ("country=BR&q=bruno", ["Bruno Lima"]),
        ("since=2025-01-03&until=2025-01-04", ["Dmitri Ivanov", "Chloé Martin"]),
        ("until=2025-01-01", ["Ana Souza"]),
        ("source=import&country=MA", ["Fatima 100%_sure"]),
        ("source=partner.example", []),
        ("state=invalidated", []),
        ("state=confirmed&country=RU", ["Ева Смирнова", "Dmitri Ivanov"]),
    ],
)
def test_search(client, staff, seed, query, expected):
    seed(*ROWS)
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert names(response) == expected


def test_bad_filters_are_shown_and_ignored(client, staff, seed):
    seed(*ROWS)
    response = client.get(f"{LIST}?per_page=100000&since=yesterday&country=XX&state=gone")
    assert response.status_code == 200
    assert len(names(response)) == 7
    body = response.get_data(as_text=True)
    assert 'class="flash error"' in body


def test_page_size_is_capped(client, staff, app, petition_id, seed):
    seed(*[f"P{i},p{i}@example.org,FR,,," for i in range(205)])
    assert len(names(client.get(LIST))) == 50
    assert len(names(client.get(LIST + "?per_page=200"))) == 200
    assert len(names(client.get(LIST + "?per_page=201"))) == 50


# --- invalidate and restore -----------------------------------------------------------------


def post_form(client, path, **data):
    data.setdefault("csrf_token", csrf_token(client, IMPORT))
    return client.post(path, data=data)


@pytest.mark.parametrize("app_config", [{"MILESTONE_MAIL_TO": "team@example.org"}])
def test_invalidate_and_restore_move_the_count_and_milestones(
    app, client, staff, seed, petition_id, fold
):
    seed(
        "Ana,ana@example.org,BR,,,",
        "Bo,bo@example.org,SE,,,",
        "Cy,cy@example.org,CY,,,",
    )
    assert public_count(client) == 3 and reached(app, client) == {3: True, 100: False}
    ana = signature_id(app, "ana@example.org")

    response = post_form(
        client, f"{LIST}/{ana}/invalidate", reason="  Fake:   same IP as 40 others ", next=LIST
    )
    assert response.status_code == 303 and response.headers["Location"] == LIST
    # The count moves at once; the fold (a second later in production) clears the milestone.
    assert public_count(client) == 2
    assert fold() == 1
    assert public_count(client) == 2 and reached(app, client) == {3: False, 100: False}
    with app.app_context():
        row = db.session.get(Signature, ana)
        assert row.state == "invalidated"
        assert row.moderation_reason == "Fake: same IP as 40 others"
        assert row.moderated_by is not None and row.moderated_at is not None
        by_country = client.get(f"/api/petitions/{SLUG}").get_json()["signatures_by_country"]
        assert by_country == {"SE": 1, "CY": 1}
    page = client.get(LIST + "?state=invalidated").get_data(as_text=True)
    assert "Fake: same IP as 40 others" in page and "Restore" in page

    # Invalidating it again changes nothing.
    post_form(client, f"{LIST}/{ana}/invalidate", reason="again")
    assert public_count(client) == 2

    response = post_form(client, f"{LIST}/{ana}/restore")
    assert response.status_code == 303
    assert public_count(client) == 3
    assert fold() == 1
    assert reached(app, client) == {3: True, 100: False}
    with app.app_context():
        row = db.session.get(Signature, ana)
        assert row.state == "confirmed" and row.moderation_reason is None
        actions = db.session.execute(select(AuditLog.action).order_by(AuditLog.id)).scalars()
        assert [a for a in actions if a.startswith("signatures.")] == [
            "signatures.import",
            "signatures.invalidate",
            "signatures.restore",
        ]
        # Staff heard of the milestone once, though the count crossed it three times.
        mails = db.session.execute(select(OutboxMessage.subject)).scalars().all()
        assert len([m for m in mails if "Three" in m]) == 1


def test_pending_signatures_go_back_to_pending(app, client, staff, petition_id, make_signature):
    pending = make_signature(petition_id, email="p@example.org", state="pending")
    post_form(client, f"{LIST}/{pending}/invalidate", reason="spam")
    with app.app_context():
        assert db.session.get(Signature, pending).state == "invalidated"
    assert public_count(client) == 0
    post_form(client, f"{LIST}/{pending}/restore")
    with app.app_context():
        assert db.session.get(Signature, pending).state == "pending"
    assert public_count(client) == 0


def test_invalidate_needs_a_reason_and_a_csrf_token(app, client, staff, seed):
    seed("Ana,ana@example.org,BR,,,")
    ana = signature_id(app, "ana@example.org")
    response = post_form(client, f"{LIST}/{ana}/invalidate", reason="   ")
    assert response.status_code == 303
    assert "give a reason" in client.get(LIST).get_data(as_text=True)
    response = client.post(f"{LIST}/{ana}/invalidate", data={"reason": "spam"})
    assert response.status_code == 400
    response = client.post(f"{LIST}/{ana}/restore", data={})
    assert response.status_code == 400
    assert public_count(client) == 1
    with app.app_context():
        assert db.session.get(Signature, ana).state == "confirmed"


def test_moderation_stays_within_the_petition(app, client, staff, make_petition, make_signature):
    make_petition()
    other = make_petition(slug="other")
    theirs = make_signature(other, email="x@example.org")
    post_form(client, f"{LIST}/{theirs}/invalidate", reason="wrong petition")
    with app.app_context():
        assert db.session.get(Signature, theirs).state == "confirmed"


def test_next_only_returns_to_our_pages(app, client, staff, seed):
    seed("Ana,ana@example.org,BR,,,")
    ana = signature_id(app, "ana@example.org")
    response = post_form(
        client, f"{LIST}/{ana}/invalidate", reason="x", next="https://evil.example/"
    )
    assert response.headers["Location"] == LIST


# --- export ---------------------------------------------------------------------------------


FORMULAS = {
    '=HYPERLINK("http://evil.example","click")': '\'=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-1+2": "'-1+2",
    "@SUM(1+1)": "'@SUM(1+1)",
    "\tTabbed": "'\tTabbed",
    "\rReturn": "'\rReturn",
    "  =1+1": "'  =1+1",
    "Ana-Maria": "Ana-Maria",
    "O'Brien": "O'Brien",
}


@pytest.mark.parametrize(("value", "expected"), FORMULAS.items())
def test_neutralise(value, expected):
    assert spreadsheets.neutralise(value) == expected


def read_csv(response):
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:], newline="")))


def test_export_writes_every_column_and_neutralises_formulas(
    app, client, staff, petition_id, make_signature, seed
):
    seed("Zoé Lefèvre,zoe@example.org,FR,Lyon,69001,2025-02-03T04:05:06Z")
    for i, value in enumerate(FORMULAS):
        make_signature(petition_id, email=f"f{i}@example.org", name=value, city=value)
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="{SLUG}-signatures-'
    )
    assert response.headers["Cache-Control"] == "no-store"
    rows = read_csv(response)
    assert rows[0] == list(exports.COLUMNS)
    assert rows[1][:8] == [
        "Zoé Lefèvre",
        "zoe@example.org",
        "FR",
        "Lyon",
        "69001",
        "no",
        "import",
        "confirmed",
    ]
    assert rows[1][8] == rows[1][9] == "2025-02-03T04:05:06Z"
    exported = {row[1]: row for row in rows[2:]}
    for i, expected in enumerate(FORMULAS.values()):
        assert exported[f"f{i}@example.org"][0] == expected
        assert exported[f"f{i}@example.org"][3] == expected
    with app.app_context():
        entry = db.session.execute(
            select(AuditLog).where(AuditLog.action == "signatures.export")
        ).scalar_one()
        assert entry.petition_id == petition_id


def test_export_follows_the_filters(client, staff, seed):
    seed(*ROWS)
    rows = read_csv(client.get(EXPORT + "?country=RU"))
    assert sorted(r[0] for r in rows[1:]) == ["Dmitri Ivanov", "Ева Смирнова"]


def test_export_streams(app, client, staff, petition_id, seed, monkeypatch):
    seed(*[f"P{i},p{i}@example.org,FR,,," for i in range(30)])
    query = exports.rows_query(petition_id)
    assert query.get_execution_options()["yield_per"] == exports.YIELD_PER
    with app.app_context():
        chunks = exports.csv_chunks(petition_id, rows_per_chunk=7)
        assert iter(chunks) is chunks  # a generator: rows leave as they are read
        assert len(list(chunks)) == 1 + 5  # the header, then 30 rows 7 at a time
    monkeypatch.setattr(exports, "YIELD_PER", 4)
    response = client.get(EXPORT)
    assert response.is_streamed
    assert len(read_csv(response)) == 31


# --- upload ---------------------------------------------------------------------------------


def upload(client, data, filename="people.csv", token=True):
    form = {"file": (io.BytesIO(data), filename)}
    if token:
        form["csrf_token"] = csrf_token(client, IMPORT)
    return client.post(IMPORT, data=form, content_type="multipart/form-data")


def test_import_page_and_upload(app, client, staff, petition_id):
    page = client.get(IMPORT)
    assert page.status_code == 200 and "name,email,country,city,postcode,created_at" in (
        page.get_data(as_text=True)
    )
    data = (
        HEADER + "Ana,ana@example.org,BR,,,\nBad,nope,BR,,,\nAna,ANA@example.org,BR,,,\n"
    ).encode()
    response = upload(client, data)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert re.search(r'id="report-inserted">1<', body)
    assert re.search(r'id="report-duplicates">1<', body)
    assert re.search(r'id="report-rejected">1<', body)
    assert "An email address must have an @-sign." in body
    assert public_count(client) == 1
    with app.app_context():
        run = db.session.execute(select(ImportRun)).scalar_one()
        assert run.filename == "people.csv" and run.finished_at is not None
        assert run.staff_id is not None
        entry = db.session.execute(
            select(AuditLog).where(AuditLog.action == "signatures.import")
        ).scalar_one()
        assert entry.staff_email == staff and entry.ip is not None
        assert json.loads(entry.detail)["inserted"] == 1
    # The stored upload is gone once the import finished.
    assert os.listdir(os.path.join(app.instance_path, "imports")) == []

    again = upload(client, data, filename="renamed.csv")
    assert again.status_code == 200 and "imported before" in again.get_data(as_text=True)


def test_an_upload_whose_header_repeats_a_column_endlessly_is_refused(
    app, client, staff, petition_id
):
    data = b"name,email,country" + b",city" * 30_000 + b"\nAna,ana@example.org,BR\n"
    response = upload(client, data)
    assert response.status_code == 400
    assert "the header is longer than 4,096 characters" in response.get_data(as_text=True)
    assert public_count(client) == 0
    assert os.listdir(os.path.join(app.instance_path, "imports")) == []


@pytest.mark.parametrize("filename", ["people\x00.csv", "../../people.csv", "a\x07.csv"])
def test_an_upload_named_with_a_folder_or_a_control_is_refused(
    app, client, staff, petition_id, filename
):
    response = upload(client, (HEADER + "Ana,ana@example.org,BR,,,\n").encode(), filename=filename)
    assert response.status_code == 400
    assert "has a folder or a control character" in response.get_data(as_text=True)
    assert public_count(client) == 0
    folder = os.path.join(app.instance_path, "imports")
    assert not os.path.isdir(folder) or os.listdir(folder) == []
    with app.app_context():
        assert db.session.execute(select(ImportRun)).first() is None


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("امضاها\u200cی <تهران>.csv", "امضاها\u200cی <تهران>.csv"),  # a ZWNJ is part of a word
        ("Petición firmada (copia).CSV", "Petición firmada (copia).CSV"),
    ],
)
def test_an_upload_name_in_any_script_is_kept(app, client, staff, petition_id, sent, kept):
    response = upload(client, (HEADER + "Ana,ana@example.org,BR,,,\n").encode(), filename=sent)
    assert response.status_code == 200
    with app.app_context():
        assert db.session.execute(select(ImportRun.filename)).scalar_one() == kept


@pytest.mark.parametrize("app_config", [{"IMPORT_MAX_BYTES": 200_000}])
def test_uploads_beyond_the_app_wide_body_limit_are_fine(app, client, staff, petition_id):
    rows = "".join(f"Person {i},p{i}@example.org,FR,,,\n" for i in range(3000))
    data = (HEADER + rows).encode()
    assert 64 * 1024 < len(data) < 200_000
    response = upload(client, data)
    assert response.status_code == 200
    assert public_count(client) == 3000
    # Elsewhere the small limit still holds.
    big = client.post(
        f"/petitions/{SLUG}/sign", data={"name": "x" * 70_000}, content_type="multipart/form-data"
    )
    assert big.status_code == 413


@pytest.mark.parametrize("app_config", [{"IMPORT_MAX_BYTES": 10_000}])
@pytest.mark.parametrize("rows", [1000, 5000])  # caught while stored; refused by its length
def test_too_large_upload_is_413_with_a_message(app, client, staff, petition_id, rows):
    data = (HEADER + "Ana,ana@example.org,BR,,,\n" * rows).encode()
    response = upload(client, data)
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "larger than the upload limit of" in body and "flask signatures import" in body
    assert public_count(client) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"nom,courriel,pays\nA,a@example.org,FR\n", "unknown column"),
        (b"", "the file is empty"),
        (HEADER.encode() + b"Jos\xe9,j@example.org,FR,,,\n", "line 2 is not valid UTF-8"),
    ],
)
def test_bad_file_is_400_with_a_message(app, client, staff, petition_id, data, message):
    response = upload(client, data)
    assert response.status_code == 400
    assert message in html.unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ImportRun)).scalar() == 0
    assert os.listdir(os.path.join(app.instance_path, "imports")) == []


def test_upload_needs_a_file_and_a_csrf_token(client, staff, petition_id):
    response = upload(client, HEADER.encode() + b"Ana,ana@example.org,BR,,,\n", token=False)
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    response = client.post(
        IMPORT, data={"csrf_token": csrf_token(client, IMPORT)}, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and "Choose a CSV file" in response.get_data(as_text=True)
    assert public_count(client) == 0


def test_an_interrupted_upload_can_be_resumed(app, client, staff, petition_id):
    data = (HEADER + "".join(f"P{i},p{i}@example.org,FR,,,\n" for i in range(10))).encode()
    sha = hashlib.sha256(data).hexdigest()
    folder = os.path.join(app.instance_path, "imports")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, sha + ".csv"), "wb") as f:
        f.write(data)
    # What a process killed after its first batch of 4 lines leaves behind.
    with app.app_context():
        petition = db.session.get(Petition, petition_id)
        head = data.split(b"\n")
        first = b"\n".join(head[:5]) + b"\n"
        imports.import_csv(petition, io.BytesIO(first))
        run = db.session.execute(select(ImportRun)).scalar_one()
        run.file_sha256, run.filename, run.finished_at = sha, "big.csv", None
        db.session.commit()
        run_id = run.id
    page = client.get(IMPORT).get_data(as_text=True)
    assert "stopped after line 5" in page and "Resume" in page
    response = client.post(IMPORT, data={"csrf_token": csrf_token(client, IMPORT), "run": run_id})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Resumed after line 5" in body and re.search(r'id="report-inserted">10<', body)
    assert public_count(client) == 10
    assert os.listdir(folder) == []
    with app.app_context():
        milestone = db.session.execute(select(Milestone).where(Milestone.count == 3)).scalar_one()
        assert milestone.reached_at is not None


def test_racing_moderators_move_the_count_once(app, client, staff, seed, petition_id):
    import threading

    from petition.abuse import moderation

    seed(*[f"P{i},p{i}@example.org,FR,,," for i in range(4)])
    target = signature_id(app, "p1@example.org")
    start = threading.Barrier(6)
    errors = []

    def invalidate():
        try:
            with app.app_context():
                start.wait()
                moderation.invalidate([target], "duplicate", None, petition_id=petition_id)
                db.session.commit()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=invalidate) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert public_count(client) == 3
    with app.app_context():
        entries = db.session.execute(
            select(func.count()).where(AuditLog.action == "signatures.invalidate")
        ).scalar()
        assert entries == 1  # the five that found it invalidated changed nothing


@pytest.mark.parametrize("app_config", [{"CACHE_TYPE": "SimpleCache", "COUNT_CACHE_SECONDS": 300}])
def test_moderation_drops_every_cached_picture_of_the_count(app, client, staff, seed):
    """The widgets' count answer has its own cache entry: moderation must drop it with the
    snapshot, or the count endpoint keeps the old number while the detail shows the new one."""
    seed("Ana,ana@example.org,BR,,,", "Bo,bo@example.org,SE,,,")
    assert public_count(client) == 2
    assert client.get("/api/petitions/speak-out").get_json()["signature_count"] == 2
    ana = signature_id(app, "ana@example.org")
    response = post_form(client, f"{LIST}/{ana}/invalidate", reason="spam", next=LIST)
    assert response.status_code == 303
    assert public_count(client) == 1
    assert client.get("/api/petitions/speak-out").get_json()["signature_count"] == 1
