"""CSV import: the report, the rules, dedupe, counting, resuming, the CLI."""

import datetime as dt
import io
import types

import pytest
from sqlalchemy import func, select, update
from wtforms.validators import ValidationError

from petition import imports
from petition.core.emails import InvalidEmail, check_email
from petition.core.extensions import db
from petition.core.forms import plain_text
from petition.imports.models import ImportRun
from petition.mail.models import OutboxMessage
from petition.petitions import counting
from petition.petitions.models import CountryCount, Milestone, Petition, Signature
from petition.staff.models import AuditLog

HEADER = "name,email,country,city,postcode,created_at\n"


def csv_bytes(*lines, header=HEADER, bom=False, newline="\n"):
    text = header + "".join(line + "\n" for line in lines)
    text = text.replace("\n", newline)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


@pytest.fixture
def petition_id(make_petition):
    return make_petition(milestones=((3, "Three"), (1000, "A thousand")))


@pytest.fixture
def run(app, petition_id):
    """Import bytes (or a path) into the petition; returns the report."""

    def do(data, **kwargs):
        with app.app_context():
            petition = db.session.get(Petition, petition_id)
            source = io.BytesIO(data) if isinstance(data, bytes) else data
            return imports.import_csv(petition, source, **kwargs)

    return do


def state(app, petition_id):
    """(count, per-country counts, reached milestone counts, signature rows) as stored."""
    with app.app_context():
        petition = db.session.get(Petition, petition_id)
        countries = dict(
            db.session.execute(
                select(CountryCount.country, CountryCount.count).where(
                    CountryCount.petition_id == petition_id, CountryCount.count > 0
                )
            ).all()
        )
        reached = (
            db.session.execute(
                select(Milestone.count).where(
                    Milestone.petition_id == petition_id, Milestone.reached_at.is_not(None)
                )
            )
            .scalars()
            .all()
        )
        rows = db.session.execute(
            select(func.count()).where(Signature.petition_id == petition_id)
        ).scalar_one()
        return petition.confirmed_count, countries, sorted(reached), rows


def assert_matches_recount(app, petition_id):
    before = state(app, petition_id)
    with app.app_context():
        counting.recount(db.session.get(Petition, petition_id))
        db.session.commit()
    assert state(app, petition_id) == before


def test_report_lists_each_kind_of_bad_row_with_its_line(run):
    data = csv_bytes(
        "Ana Souza,ana@example.org,BR,São Paulo,01000,2024-05-01",  # 2: fine
        ",noname@example.org,FR,,,",  # 3
        f"{'x' * 201},long@example.org,FR,,,",  # 4
        "Bad\x07Bell,bell@example.org,FR,,,",  # 5
        "<b>Bold</b>,bold@example.org,FR,,,",  # 6
        "Evil\u202eName,bidi@example.org,FR,,,",  # 7
        "No Email,,FR,,,",  # 8
        "Bad Email,not-an-address,FR,,,",  # 9
        "No Country,nocountry@example.org,,,,",  # 10
        "Atlantis,atlantis@example.org,Atlantis,,,",  # 11
        f"Long City,city@example.org,FR,{'c' * 101},,",  # 12
        f"Long Code,code@example.org,FR,,{'9' * 21},",  # 13
        "Bad Date,date@example.org,FR,,,yesterday",  # 14
        "Future,future@example.org,FR,,,2999-01-01",  # 15
        "Too,many,fields,FR,,,",  # 16
        '"Two',  # 17: a quoted name over two physical lines ...
        'Lines",two@example.org,FR,,,',  # 18: ... reported at the line it starts on
        "Zoé Lefèvre,zoe@example.org,fr,Lyon,,2024-05-02T10:00:00+02:00",  # 19: fine
    )
    report = run(data)
    assert (report.inserted, report.duplicates, report.rejected) == (2, 0, 15)
    assert report.rejections == [
        (3, "name is missing"),
        (4, "name is longer than 200 characters"),
        (5, "name contains control or invisible characters"),
        (6, "name contains < or >"),
        (7, "name contains control or invisible characters"),
        (8, "email is missing"),
        (9, "email is not valid: An email address must have an @-sign."),
        (10, "country is missing"),
        (11, "country 'Atlantis' is not a known country (use the two-letter code)"),
        (12, "city is longer than 100 characters"),
        (13, "postcode is longer than 20 characters"),
        (14, "created_at 'yesterday' is not an ISO 8601 date or time"),
        (15, "created_at '2999-01-01' is in the future"),
        (16, "expected 6 fields, found 7"),
        (17, "name contains control or invisible characters"),
    ]
    assert report.finished_at is not None


def test_rows_are_stored_confirmed_normalised_and_unmailed(app, run, petition_id, outbox):
    data = csv_bytes(
        "  Ana   Souza ,Ana@Example.ORG,br,São Paulo,01000,2024-05-01",
        "Zoé,zoe@example.org,Côte d’Ivoire,,,2024-05-02T10:00:00+02:00",
        "Sam,sam@example.org,UK,,,",
        "Dana,dana@example.org,Deutschland,,,",  # a name in any language the site serves
        "Rex,rex@example.org,Narnia,,,",
    )
    before = dt.datetime.now(dt.UTC)
    report = run(data)
    assert report.inserted == 4 and report.rejected == 1
    with app.app_context():
        rows = {s.email: s for s in db.session.execute(select(Signature)).scalars().all()}
    ana = rows["Ana@example.org"]
    assert ana.name == "Ana   Souza"  # clean_text trims, as the sign form does
    assert ana.canonical_email == "ana@example.org"
    assert (ana.country, ana.city, ana.postcode) == ("BR", "São Paulo", "01000")
    assert ana.state == "confirmed" and ana.source == "import" and not ana.updates
    assert ana.created_at == ana.confirmed_at == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    zoe = rows["zoe@example.org"]
    assert zoe.country == "CI"
    assert zoe.created_at == dt.datetime(2024, 5, 2, 8, tzinfo=dt.UTC)
    sam = rows["sam@example.org"]
    assert sam.country == "GB" and sam.created_at >= before and sam.confirmed_at == sam.created_at
    assert sam.mail_count == 0
    assert rows["dana@example.org"].country == "DE"
    assert outbox() == []  # imported people signed elsewhere: nobody is mailed


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_dedupes_against_existing_rows_and_within_the_file(
    app, run, petition_id, make_signature, fold, batch_size
):
    make_signature(petition_id, email="ana@example.org", country="BR")
    make_signature(petition_id, email="gone@example.org", state="withdrawn")
    fold()  # the stored counts the import adds to
    data = csv_bytes(
        "Ana Again,ANA@example.org,BR,,,",  # already signed
        "John,john.smith+petitions@googlemail.com,US,,,",
        "John Again,JohnSmith@gmail.com,US,,,",  # the same mailbox
        "John Thrice,j.o.h.n.s.m.i.t.h@GMAIL.com,US,,,",  # and again
        "Gone,gone@example.org,FR,,,",  # withdrew: not signed back in by an import
        "New,new@example.org,FR,,,",
        "New Again,New+x@Example.org,FR,,,",
    )
    report = run(data, batch_size=batch_size)
    assert (report.inserted, report.duplicates, report.rejected) == (2, 5, 0)
    with app.app_context():
        emails = (
            db.session.execute(
                select(Signature.canonical_email).where(Signature.source == "import")
            )
            .scalars()
            .all()
        )
    assert sorted(emails) == ["johnsmith@gmail.com", "new@example.org"]
    count, countries, _, rows = state(app, petition_id)
    assert (count, rows) == (3, 4)
    assert countries == {"BR": 1, "US": 1, "FR": 1}
    assert_matches_recount(app, petition_id)


@pytest.mark.parametrize("app_config", [{"MILESTONE_MAIL_TO": "team@example.org"}])
def test_counts_and_milestones_after_import_equal_recount(app, run, petition_id, outbox):
    rows = [f"Person {i},p{i}@example.org,{['FR', 'DE', 'BR'][i % 3]},,," for i in range(10)]
    report = run(csv_bytes(*rows), batch_size=4)
    assert report.inserted == 10
    count, countries, reached, _ = state(app, petition_id)
    assert count == 10 and countries == {"FR": 4, "DE": 3, "BR": 3}
    assert reached == [3]
    assert_matches_recount(app, petition_id)
    mails = outbox()
    assert [(m["to"], "Three" in m["subject"]) for m in mails] == [("team@example.org", True)]


def test_resumes_after_a_crash_without_duplicates(app, run, petition_id):
    rows = [f"Person {i},p{i}@example.org,FR,,," for i in range(20)]
    rows[15] = "Repeat,P3@example.org,FR,,,"  # a duplicate in a later batch
    rows[17] = "Broken,not-an-address,FR,,,"
    data = csv_bytes(*rows)

    class Crash(Exception):
        pass

    calls = []

    def crash_after_two_batches(line, lines):
        calls.append(line)
        if len(calls) == 3:  # the first call is the start, before any batch
            raise Crash

    with pytest.raises(Crash):
        run(data, batch_size=3, progress=crash_after_two_batches)
    with app.app_context():
        stopped = db.session.execute(select(ImportRun)).scalar_one()
        assert stopped.finished_at is None
        # At least the two batches the callback saw; the writer may have committed more.
        assert stopped.line >= 1 + 2 * 3 and stopped.line < 21
        done = stopped.line
        partial = (stopped.inserted, stopped.duplicates, stopped.rejected)
    count, _, _, stored = state(app, petition_id)
    assert count == stored == partial[0] == done - 1 - partial[1] - partial[2]

    seen = []
    report = run(data, batch_size=3, progress=lambda line, lines: seen.append(line))
    assert report.resumed_after == done
    assert seen[0] == done and seen[-1] == 21
    assert (report.inserted, report.duplicates, report.rejected) == (18, 1, 1)
    assert report.rejections == [(19, "email is not valid: An email address must have an @-sign.")]
    count, _, reached, stored = state(app, petition_id)
    assert count == stored == 18 and reached == [3]
    with app.app_context():
        runs = db.session.execute(select(ImportRun)).scalars().all()
        assert len(runs) == 1 and runs[0].line == 21 and runs[0].finished_at is not None
        assert (runs[0].inserted, runs[0].duplicates, runs[0].rejected) == (18, 1, 1)
        audit = db.session.execute(select(AuditLog)).scalar_one()
        assert audit.action == "signatures.import" and '"inserted": 18' in audit.detail
    assert_matches_recount(app, petition_id)

    again = run(data)
    assert again.already_imported and again.inserted == 18
    assert state(app, petition_id)[0] == 18


def test_a_failing_batch_leaves_nothing_of_itself(app, run, petition_id, monkeypatch):
    data = csv_bytes(*[f"P{i},p{i}@example.org,FR,,," for i in range(9)])
    real = counting.add_confirmed_batch
    calls = []

    def fail_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("database went away")
        return real(*args)

    monkeypatch.setattr(counting, "add_confirmed_batch", fail_third)
    with pytest.raises(RuntimeError, match="went away"):
        run(data, batch_size=3)
    with app.app_context():
        stopped = db.session.execute(select(ImportRun)).scalar_one()
        assert (stopped.line, stopped.inserted) == (7, 6)
    assert state(app, petition_id)[0::3] == (6, 6)  # the third batch's rows rolled back too

    monkeypatch.setattr(counting, "add_confirmed_batch", real)
    report = run(data, batch_size=3)
    assert report.inserted == 9 and report.resumed_after == 7
    assert state(app, petition_id)[0::3] == (9, 9)


def test_a_second_process_on_the_same_run_is_stopped(app, run, petition_id):
    data = csv_bytes(*[f"P{i},p{i}@example.org,FR,,," for i in range(12)])

    def other_process_moves_the_run(line, lines):
        if line > 1:
            with app.app_context():
                db.session.execute(update(ImportRun).values(line=ImportRun.line + 100))
                db.session.commit()

    with pytest.raises(imports.ImportFileError, match="another import"):
        run(data, batch_size=3, progress=other_process_moves_the_run)
    count, _, _, stored = state(app, petition_id)
    assert count == stored  # whatever was committed was counted exactly once


def test_bom_crlf_and_header_variants(app, run, petition_id):
    # The header names the columns in any order; city, postcode and created_at may be left out.
    data = csv_bytes(
        "ana@example.org,Ana,BR",
        "bo@example.org,Bo,SE",
        header="Email, Name ,COUNTRY\n",
        bom=True,
        newline="\r\n",
    )
    report = run(data)
    assert (report.inserted, report.rejected) == (2, 0)
    with app.app_context():
        names = db.session.execute(select(Signature.name).order_by(Signature.id)).scalars().all()
    assert names == ["Ana", "Bo"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\xef\xbb\xbf\r\n\r\n", "no header line"),
        (b"nom,courriel,pays\nA,a@example.org,FR\n", "unknown column 'nom'"),
        (b"name,city\nA,Paris\n", "no 'email' column"),
        (b"name,email,email,country\n", "'email' appears twice"),
        (HEADER.encode() + b"Ana,a@example.org,FR,,,\nJos\xe9,j@example.org,FR,,,\n", "line 3"),
        (HEADER.encode() + b"Ana,a@example.org,FR,,,\nTrunc\xc3", "line 3 is not valid UTF-8"),
        # A known name repeated passes the unknown-column check: the header's size is refused
        # first, and the repeats are counted in one pass (30,000 of them took 8 s before).
        (b"name,email,country" + b",city" * 30_000 + b"\n", "line 1: the header is longer"),
        (b"name,email,country" + b",city" * 300_000 + b"\n", "longer than 4,096 characters"),
        (b"\n \n" + b"name,email,country" + b",city" * 30_000, "line 3: the header is longer"),
        (b"name,email,country" + b",city" * 100 + b"\n", "the header has 103 columns"),
    ],
)
def test_unusable_files_are_refused_with_a_clear_message(app, run, petition_id, data, message):
    with pytest.raises(imports.ImportFileError, match=message):
        run(data)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ImportRun)).scalar() == 0
    assert state(app, petition_id)[0::3] == (0, 0)


def test_header_only_and_blank_lines(run):
    assert run(HEADER.encode()).rows == 0
    report = run(csv_bytes("", "Ana,ana@example.org,BR,,,", "   ,  ,,,,", ""))
    assert (report.inserted, report.rejected) == (1, 0)


def test_paths_and_unseekable_streams(app, run, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes("Ana,ana@example.org,BR,,,"))
    report = run(str(path))
    assert report.inserted == 1 and report.filename == "people.csv"

    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buffer):
            return self.inner.readinto(buffer)

    report = run(Pipe(csv_bytes("Bo,bo@example.org,SE,,,")), filename="bo.csv")
    assert report.inserted == 1 and report.filename == "bo.csv"
    report = run(Pipe(csv_bytes("Cy,cy@example.org,CY,,,")))
    assert report.inserted == 1 and report.filename == "upload.csv"


def test_a_large_file_streams_in_batches(app, run, petition_id):
    rows = [f"Person {i},p{i}@example.org,FR,,," for i in range(5000)]
    progress = []
    report = run(csv_bytes(*rows), batch_size=500, progress=lambda a, b: progress.append(a))
    assert report.inserted == 5000
    assert progress == [1, *range(501, 5002, 500)]  # the start, then one call per batch
    assert state(app, petition_id)[0] == 5000


def test_records_report_the_first_physical_line():
    data = b'a,b\r\n"x\r\ny",z\r\n\r\nlast,"q\nq\nq"\nend,1\n'
    found = [(line, fields) for line, fields in imports.records(io.BytesIO(data))]
    assert found == [
        (1, ["a", "b"]),
        (2, ["x\r\ny", "z"]),
        (4, []),
        (5, ["last", "q\nq\nq"]),
        (8, ["end", "1"]),
    ]


ADDRESSES = [
    "simple@example.org",
    "Mixed.Case@Example.ORG",
    "a.b+tag@gmail.com",
    "J.O.H.N@googlemail.com",
    "o'brien@example.ie",
    "x!#$%&'*+/=?^_`{|}~-y@example.org",
    "postmaster@example.org",
    "Info@Example.org",
    "user@xn--bcher-kva.de",
    "user@bücher.de",
    "üser@example.org",
    "user@sub.example.co.uk",
    "a" * 64 + "@example.org",
    "a" * 65 + "@example.org",
    "a@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + "." + "e" * 60 + ".org",
    "a..b@example.org",
    ".a@example.org",
    "a.@example.org",
    "a@example",
    "a@localhost",
    "a@-bad.example.org",
    "a@bad-.example.org",
    "a@example.123",
    "a@example.invalid",
    "a@exa_mple.org",
    '"quoted name"@example.org',
    "a@[192.0.2.1]",
    "Ana <ana@example.org>",
    "a@b@example.org",
    "a b@example.org",
    "a@ex ample.org",
    "aa@xn--ls8h.la",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_fast_email_path_agrees_with_check_email(address):
    try:
        expected = check_email(address)
    except InvalidEmail as exc:
        with pytest.raises(InvalidEmail) as raised:
            imports.email_forms(address)
        assert str(raised.value) == str(exc)
    else:
        assert imports.email_forms(address) == (expected.normalized, expected.canonical)


TEXTS = [
    "Ana Souza",
    "Zoé Lefèvre",
    "佐藤 花子",
    "أحمد حسن",
    "Tab\tName",
    "Bell\x07",
    "Del\x7f",
    "Nul\x00",
    "Line\nBreak",
    "Bidi\u202eoverride",
    "Isolate\u2066x",
    "Private\ue000use",
    "Unassigned\u0378",
    "Replacement\ufffd",
    "Less < than",
    "Greater > than",
    "Zero\u200bwidth",  # Cf, allowed by the form too
    "Emoji 🙂",
]


@pytest.mark.parametrize("value", TEXTS)
def test_text_rule_agrees_with_the_sign_form(value):
    try:
        plain_text(None, types.SimpleNamespace(data=value))
        form_ok = True
    except ValidationError:
        form_ok = False
    assert (imports.text_problem(value) is None) == form_ok


# --- the CLI ------------------------------------------------------------------------------------


def test_cli_import_prints_the_report(app, petition_id, tmp_path):
    good = [f"Person {i},p{i}@example.org,FR,,," for i in range(5)]
    bad = [f"Bad {i},bad-{i},FR,,," for i in range(60)]
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(*good, "Again,P1@example.org,FR,,,", *bad))
    result = app.test_cli_runner().invoke(
        args=["signatures", "import", "speak-out", str(path), "--batch-size", "10"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "inserted: 5\n" in out and "duplicates: 1\n" in out and "rejected: 60\n" in out
    assert "  line 8: email is not valid: An email address must have an @-sign.\n" in out
    assert "  line 57: " in out and "  line 58: " not in out  # the first 50 only
    assert "  ... and 10 more\n" in out

    again = app.test_cli_runner().invoke(args=["signatures", "import", "speak-out", str(path)])
    assert again.exit_code == 0 and "already imported" in again.output
    assert state(app, petition_id)[0] == 5


def test_cli_import_refuses_unusable_input(app, petition_id, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"nom,courriel\nA,a@example.org\n")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["signatures", "import", "speak-out", str(path)])
    assert result.exit_code == 1 and "unknown column 'nom'" in result.output
    result = runner.invoke(args=["signatures", "import", "no-such", str(path)])
    assert result.exit_code == 1 and "no petition" in result.output
    result = runner.invoke(args=["signatures", "import", "speak-out", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 0
