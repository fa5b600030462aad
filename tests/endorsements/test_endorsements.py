"""Endorsements end to end: the form, the contact's confirmation, staff's queue, where approved
endorsers show (page, API, bundle), repeats merged, logos re-encoded, contact data private."""

import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from petition.core import uploads
from petition.core.extensions import db
from petition.endorsements import operations as endorsements
from petition.endorsements.models import Endorsement
from petition.petitions.models import Petition
from petition.staff.models import AuditLog
from tests.delivery.test_delivery import add_signatures, pdf_text, tools
from tests.helpers import CAMPAIGNER, csrf_token, link, normal, staff_login, staff_post, token_of

SLUG = "speak-out"
FORM = f"/petitions/{SLUG}/endorse"
CONTACT = {"contact_name": "Dana Secretname", "contact_email": "dana.private@example.org"}
GPS = {1: "N", 2: (53.0, 20.0, 41.0), 3: "W", 4: (6.0, 15.0, 26.0)}


def png_bytes(size=(300, 120), mode="RGBA", colour=(200, 30, 30, 128)):
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps(size=(640, 480)):
    exif = Image.Exif()
    exif[0x8825] = GPS
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    Image.new("RGB", size, (20, 90, 200)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def webp_bytes():
    out = io.BytesIO()
    Image.new("RGBA", (200, 200), (0, 128, 0, 255)).save(out, "WEBP")
    return out.getvalue()


def endorse(client, path=FORM, logo=None, token_path=None, **fields):
    data = {
        "org_name": "Parents for Air",
        "website": "https://www.parents-for-air.example.org/about",
        "country": "GB",
        "statement": "Every child deserves clean air.",
        **CONTACT,
        **fields,
    }
    data["csrf_token"] = csrf_token(client, token_path or path)
    if logo is not None:
        data["logo"] = (io.BytesIO(logo[1]), logo[0])
    return client.post(path, data=data, content_type="multipart/form-data")


def confirm_last(client, outbox):
    mail = outbox()[-1]
    path = link(mail["body"], "endorsements/confirm")
    page = client.get(path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<button" in body  # a link in a mail never confirms by itself: the button does
    token = token_of(mail["body"], "endorsements/confirm")
    response = client.post(
        f"/endorsements/confirm/{token}", data={"csrf_token": csrf_token(client, path)}
    )
    assert response.status_code == 200
    return mail


def rows(app):
    with app.app_context():
        return db.session.execute(select(Endorsement).order_by(Endorsement.id)).scalars().all()


def public_views(client, slug=SLUG):
    page = client.get(f"/petitions/{slug}").get_data(as_text=True)
    api = client.get(f"/api/petitions/{slug}").get_json()
    return page, api


def bundle_text(app, tmp_path, name="bundle.pdf"):
    out = tmp_path / name
    result = app.test_cli_runner().invoke(args=["delivery", "pdf", SLUG, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, pdf_text(out)


@pytest.fixture
def staff(app, accounts):
    """A campaigner logged in on a client of their own (the `client` stays a supporter's)."""
    staff_client = app.test_client()
    assert staff_login(staff_client, CAMPAIGNER).status_code == 303
    return staff_client


@pytest.fixture
def petition_id(make_petition, make_signature):
    petition_id = make_petition()
    make_signature(petition_id, name="Ana Souza")
    return petition_id


def test_endorse_confirm_approve_shows_on_page_api_and_bundle(
    app, client, staff, petition_id, outbox, tmp_path
):
    tools()
    form = client.get(FORM)
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.get_data(as_text=True)

    response = endorse(client, logo=("logo.png", png_bytes()))
    assert response.status_code == 303
    assert response.headers["Location"] == f"{FORM}/sent"
    (row,) = rows(app)
    assert (row.state, row.domain, row.website) == (
        "unverified",
        "parents-for-air.example.org",
        "https://www.parents-for-air.example.org/about",
    )
    mail = outbox()[-1]
    assert mail["to"] == CONTACT["contact_email"]
    assert "Parents for Air" in mail["body"]

    # Unverified, then confirmed and pending: on none of the page, the API or the bundle.
    page, api = public_views(client)
    assert "Parents for Air" not in page and api["endorsers"] == []
    confirm_last(client, outbox)
    (row,) = rows(app)
    assert row.state == "pending" and row.confirmed_at is not None
    page, api = public_views(client)
    assert "Parents for Air" not in page and api["endorsers"] == []
    logo = client.get(f"/endorsements/logos/{row.logo_name}")
    assert logo.status_code == 404  # a pending logo is not public
    _, text = bundle_text(app, tmp_path, "before.pdf")
    assert "Parents for Air" not in text

    queue = staff.get("/staff/endorsements").get_data(as_text=True)
    assert "Parents for Air" in queue and CONTACT["contact_email"] in queue
    with staff.get(f"/staff/endorsements/logos/{row.logo_name}") as seen:
        assert seen.status_code == 200 and "no-store" in seen.headers["Cache-Control"]
    approved = staff_post(staff, f"/staff/endorsements/{row.id}/approve")
    assert approved.status_code == 303

    page, api = public_views(client)
    assert "Endorsed by 1 organisation" in page
    assert re.search(
        r'<a href="https://www.parents-for-air.example.org/about" rel="noopener"[^>]*>', page
    )
    assert api["endorsers"] == [
        {
            "name": "Parents for Air",
            "website": "https://www.parents-for-air.example.org/about",
            "country": "GB",
            "logo_url": f"http://petition.test/endorsements/logos/{row.logo_name}",
        }
    ]
    with client.get(f"/endorsements/logos/{row.logo_name}") as logo:
        assert logo.status_code == 200 and logo.mimetype == "image/png"
        assert logo.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert Image.open(io.BytesIO(logo.data)).mode == "RGBA"  # transparency kept
    out, text = bundle_text(app, tmp_path, "after.pdf")
    assert "Endorsed by 1 organisation Parents for Air" in text
    images = subprocess.run(["pdfimages", "-list", str(out)], capture_output=True, text=True)
    assert len(images.stdout.splitlines()) > 2, "the logo is drawn on the endorsers page"

    # The contact's name and address are in no public answer, nor in the bundle.
    for body in (page, json.dumps(api, ensure_ascii=False), text):
        assert "Secretname" not in body and "dana.private" not in body
    approval_mail = outbox()[-1]
    assert approval_mail["to"] == CONTACT["contact_email"]
    assert "http://petition.test/petitions/speak-out" in approval_mail["body"]
    with app.app_context():
        actions = db.session.execute(select(AuditLog.action)).scalars().all()
    assert "endorsement.approve" in actions


def test_reject_mails_the_reason_and_lists_nothing(app, client, staff, petition_id, outbox):
    endorse(client)
    confirm_last(client, outbox)
    (row,) = rows(app)
    response = staff_post(
        staff, f"/staff/endorsements/{row.id}/reject", reason="We could not reach you."
    )
    assert response.status_code == 303
    (row,) = rows(app)
    assert row.state == "rejected"
    assert "We could not reach you." in outbox()[-1]["body"]
    page, api = public_views(client)
    assert "Parents for Air" not in page and api["endorsers"] == []
    # Approving a rejected one later lists it; removing takes it off everywhere.
    staff_post(staff, f"/staff/endorsements/{row.id}/approve")
    assert public_views(client)[1]["endorsers"][0]["name"] == "Parents for Air"
    staff_post(staff, f"/staff/endorsements/{row.id}/remove")
    assert rows(app) == []
    assert public_views(client)[1]["endorsers"] == []


def test_a_repeat_is_merged_not_listed_twice(app, client, staff, petition_id, outbox):
    endorse(client)
    confirm_last(client, outbox)
    (first,) = rows(app)
    staff_post(staff, f"/staff/endorsements/{first.id}/approve")

    # The same organisation (same domain, another spelling of it) sends the form again.
    endorse(
        client,
        website="PARENTS-FOR-AIR.example.org",
        statement="We now have 40 schools with us.",
        contact_name="Sam Other",
        contact_email="sam@example.org",
    )
    confirm_last(client, outbox)
    first_row, repeat = rows(app)
    assert repeat.repeat_of_id == first_row.id and repeat.state == "pending"
    # Until staff approve it, the listing is the first one's, unchanged.
    assert public_views(client)[1]["endorsers"][0]["website"].startswith("https://www.")
    queue = staff.get("/staff/endorsements").get_data(as_text=True)
    assert "Repeat of Parents for Air" in queue

    staff_post(staff, f"/staff/endorsements/{repeat.id}/approve")
    (merged,) = rows(app)
    assert merged.id == first_row.id and merged.state == "approved"
    assert merged.statement == "We now have 40 schools with us."
    assert merged.contact_email == "sam@example.org"
    page, api = public_views(client)
    assert len(api["endorsers"]) == 1
    assert "Endorsed by 1 organisation" in page and page.count('<strong dir="auto">') == 1

    # A repeat by the contact's address alone (a new website) is recognised too.
    endorse(client, org_name="PfA", website="pfa.example.net", contact_email="SAM@example.org")
    assert rows(app)[-1].repeat_of_id == first_row.id


def test_staff_add_an_endorser_directly_form_and_cli(app, client, staff, petition_id):
    with app.app_context():
        petition = db.session.get(Petition, petition_id)
    path = "/staff/endorsements/new"
    data = {
        "target": f"petition:{SLUG}",
        "org_name": "Médecins pour l'air",
        "website": "medecins.example.org",
        "country": "FR",
        "csrf_token": csrf_token(staff, path),
        "logo": (io.BytesIO(webp_bytes()), "logo.webp"),
    }
    response = staff.post(path, data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    (row,) = rows(app)
    assert (row.state, row.added_by, row.logo_name.endswith(".png")) == (
        "approved",
        "campaigner@example.org",
        True,
    )
    assert public_views(client)[1]["endorsers"][0]["name"] == "Médecins pour l'air"

    runner = app.test_cli_runner()
    added = runner.invoke(
        args=[
            "endorsements",
            "add",
            "--petition",
            petition.slug,
            "--name",
            "Союз врачей",
            "--website",
            "https://vrachi.example.org",
            "--country",
            "ru",
        ]
    )
    assert added.exit_code == 0, added.output
    # The same site again from the terminal: merged into the entry, not a second one.
    again = runner.invoke(
        args=["endorsements", "add", "--petition", SLUG, "--name", "Союз врачей (Москва)"]
    )
    assert again.exit_code == 0 and "merged into" not in again.output  # another name, no site
    merged = runner.invoke(
        args=[
            "endorsements",
            "add",
            "--petition",
            SLUG,
            "--name",
            "Soyuz Vrachei",
            "--website",
            "www.vrachi.example.org",
        ]
    )
    assert "merged into" in merged.output
    listing = runner.invoke(args=["endorsements", "list", "--petition", SLUG])
    lines = listing.output.splitlines()
    assert len(lines) == 3 and all(re.match(r"\d+\t", line) for line in lines)
    assert "Soyuz Vrachei" in listing.output and "Союз врачей\t" not in listing.output

    bad = runner.invoke(
        args=["endorsements", "add", "--petition", SLUG, "--name", "X", "--country", "XX"]
    )
    assert bad.exit_code != 0 and "ISO 3166-1" in bad.output
    neither = runner.invoke(args=["endorsements", "list"])
    assert neither.exit_code != 0 and "--petition or --day" in neither.output


def test_cli_approves_a_confirmed_endorsement(app, client, petition_id, outbox):
    endorse(client)
    confirm_last(client, outbox)
    (row,) = rows(app)
    runner = app.test_cli_runner()
    pending = runner.invoke(args=["endorsements", "list", "--petition", SLUG, "--state", "pending"])
    assert pending.output.startswith(f"{row.id}\tpending\tParents for Air")
    done = runner.invoke(args=["endorsements", "approve", str(row.id)])
    assert done.exit_code == 0 and done.output.startswith(f"{row.id}\t")
    assert rows(app)[0].state == "approved"
    again = runner.invoke(args=["endorsements", "approve", str(row.id)])
    assert again.exit_code != 0


def test_a_day_of_action_takes_endorsements_too(app, client, staff, outbox):
    from petition.events import operations as events

    with app.app_context():
        import datetime as dt

        events.create_day("speak-day", "Global Speak Out", dt.date(2027, 9, 3), state="open")
        db.session.commit()
    response = endorse(client, path="/days/speak-day/endorse", org_name="Queer Runners")
    assert response.status_code == 303
    assert response.headers["Location"] == "/days/speak-day/endorse/sent"
    confirm_last(client, outbox)
    (row,) = rows(app)
    assert row.day_id is not None and row.petition_id is None
    assert client.get("/api/days/speak-day").get_json()["endorsers"] == []
    dashboard = staff.get("/staff/days/speak-day").get_data(as_text=True)
    assert re.search(r'id="stat-endorsements".*?target=day:speak-day">1</a>', dashboard, re.S)
    staff_post(staff, f"/staff/endorsements/{row.id}/approve")
    day = client.get("/days/speak-day").get_data(as_text=True)
    assert "Endorsed by 1 organisation" in day and "Queer Runners" in day
    assert client.get("/api/days/speak-day").get_json()["endorsers"][0]["name"] == "Queer Runners"
    assert "dana.private" not in day


def test_bad_input_gets_clear_errors_and_keeps_nothing(app, client, petition_id):
    response = endorse(client, org_name="", website="ftp://files.example.org", contact_email="x")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Please fill this in." in body
    assert "https:// or http://" in body
    assert "This email address is not valid" in body
    assert "Every child deserves clean air." in body  # what was typed comes back
    for website in ("localhost", "http://user:pw@example.org", "https://exa mple.org"):
        assert endorse(client, website=website).status_code == 400, website
    # Without the CSRF token: refused.
    no_token = client.post(FORM, data={"org_name": "X"}, content_type="multipart/form-data")
    assert no_token.status_code == 400
    assert rows(app) == []


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bomb.png", None, "too many pixels"),
        ("notes.png", b"This is not a picture at all, just text.\n" * 10, "not an image we can"),
        (
            "logo.svg",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
            b"</script></svg>",
            "SVG images are not accepted",
        ),
        ("empty.png", b"", "The file is empty"),
    ],
)
def test_what_is_not_a_logo_gets_a_clear_400(app, client, petition_id, name, data, message):
    if name == "bomb.png":
        out = io.BytesIO()
        Image.new("1", (30000, 30000)).save(out, "PNG")  # about 100 KB, 900 megapixels
        data = out.getvalue()
        assert len(data) < app.config["LOGO_MAX_BYTES"]
    response = endorse(client, logo=(name, data))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert rows(app) == []
    folder = app.config["UPLOAD_DIR"]
    assert not (os.path.isdir(folder) and os.listdir(folder))


def test_logos_are_reencoded_png_without_exif(app, client, petition_id):
    for name, data in (
        ("photo.jpg", jpeg_with_gps()),
        ("logo.webp", webp_bytes()),
        ("big.png", png_bytes((2000, 800))),
    ):
        assert endorse(client, logo=(name, data), org_name=name, website="").status_code == 303
    stored = rows(app)
    assert len(stored) == 3
    for row in stored:
        path = uploads.path_of(app.config["UPLOAD_DIR"], row.logo_name)
        raw = Path(path).read_bytes()
        assert raw.startswith(b"\x89PNG")
        with Image.open(path) as img:
            assert max(img.size) <= app.config["LOGO_MAX_SIDE"]
            assert (img.width, img.height) == (row.logo_width, row.logo_height)
            assert "exif" not in img.info and not img.getexif()
        assert b"PhoneMaker" not in raw and b"Exif" not in raw


def test_a_logo_too_large_for_the_limit_is_a_413(app, client, petition_id):
    # A small limit keeps the test's body in memory (the test client spools large ones).
    app.config["LOGO_MAX_BYTES"] = 50_000
    big = b"\x89PNG" + b"0" * 150_000
    response = endorse(client, logo=("huge.png", big))
    assert response.status_code == 413
    assert "under 0.05 MB" in response.get_data(as_text=True)
    # Under the body limit but over the file's: the form says so.
    response = endorse(client, logo=("huge.png", b"\x89PNG" + b"0" * 60_000))
    assert response.status_code == 400
    assert "larger than 0.05 MB" in response.get_data(as_text=True)
    assert rows(app) == []


def test_closed_petition_takes_no_endorsement(app, client, make_petition):
    make_petition(state="closed")
    assert "no longer takes endorsements" in client.get(FORM).get_data(as_text=True)
    # A token from another page of the session: the closed form has none to give.
    assert endorse(client, token_path="/staff/login").status_code == 409
    assert rows(app) == []


def test_staff_pages_and_export_need_a_login(app, client, petition_id):
    for path in ("/staff/endorsements", "/staff/endorsements/new", "/staff/endorsements.csv"):
        response = client.get(path)
        assert response.status_code in (302, 303) and "/staff/login" in response.headers["Location"]


def test_staff_edit_and_csv_export(app, client, staff, petition_id, outbox):
    endorse(client, org_name='=HYPERLINK("x")')
    confirm_last(client, outbox)
    (row,) = rows(app)
    path = f"/staff/endorsements/{row.id}/edit"
    form = staff.get(path)
    assert form.status_code == 200
    response = staff.post(
        path,
        data={
            "csrf_token": csrf_token(staff, path),
            "org_name": "Parents for Clean Air",
            "website": "cleanair.example.org",
            "country": "IE",
            "statement": "",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    (row,) = rows(app)
    assert (row.name, row.domain, row.country, row.statement) == (
        "Parents for Clean Air",
        "cleanair.example.org",
        "IE",
        "",
    )
    export = staff.get("/staff/endorsements.csv")
    text = export.get_data(as_text=True)
    assert export.mimetype == "text/csv"
    assert "Parents for Clean Air" in text and CONTACT["contact_email"] in text
    with app.app_context():
        actions = set(db.session.execute(select(AuditLog.action)).scalars())
    assert {"endorsement.edit", "endorsement.export"} <= actions


def test_the_bundle_prints_endorsers_in_every_script(app, petition_id, tmp_path):
    tools()
    names = [
        "Amnesty Example",
        "Радужный спортивный союз",
        "جمعية الرياضة للجميع",
        "פורום הספורט הגאה",
        "彩虹运动联盟",
        "무지개 스포츠 연대",
        "レインボー・スポーツ",
    ]
    with app.app_context():
        petition = db.session.get(Petition, petition_id)
        for i, name in enumerate(names):
            logo = endorsements.store_logo(png_bytes(), app.config) if i % 2 == 0 else None
            data = endorsements.EndorsementData(name=name, country="GB")
            endorsements.add_by_staff(petition, data, app.config, logo=logo)
        db.session.commit()
    add_signatures(app, petition_id, [("Lea Graf", "CH", "Zürich")], start=10)
    out, text = bundle_text(app, tmp_path)
    page = normal(
        subprocess.run(
            ["pdftotext", "-f", "3", "-l", "3", str(out), "-"], capture_output=True, check=True
        ).stdout.decode()
    )
    assert "Endorsed by 7 organisations" in page
    for name in names:
        assert normal(name) in page, name
    listing = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True)
    for row in listing.stdout.splitlines()[2:]:
        emb, _sub, uni = row.split()[-5:-2]
        assert (emb, uni) == ("yes", "yes"), row
    verify = app.test_cli_runner().invoke(args=["delivery", "verify", str(out)])
    assert verify.exit_code == 0, verify.output


def test_website_normalisation():
    n = endorsements.normalize_website
    assert n("glaad.example.org") == ("https://glaad.example.org", "glaad.example.org")
    assert n("https://WWW.Example.ORG/Path?q=1#x") == (
        "https://www.example.org/Path?q=1",
        "example.org",
    )
    assert n("http://bücher.example")[1] == "xn--bcher-kva.example"
    assert n("") == ("", "")
    for bad in ("javascript:alert(1)", "https://localhost", "https://a..b", "https://x.org:8080"):
        with pytest.raises(endorsements.WebsiteError):
            n(bad)


def test_the_form_mails_one_address_at_most_the_cap(app, client, petition_id, outbox):
    cap = app.config["MAIL_CAP_PER_ADDRESS"]
    for i in range(cap + 2):
        assert (
            endorse(client, org_name=f"Org {i}", website=f"org{i}.example.org").status_code == 303
        )
    assert len([m for m in outbox() if m["to"] == CONTACT["contact_email"]]) == cap
    kept = rows(app)
    assert len(kept) == cap + 2  # nothing is lost: staff see the ones past the cap, held
    assert [r.held_reason for r in kept[cap:]] == ["held: mail cap reached for this address"] * 2


def test_erasing_a_person_erases_them_as_a_contact(app, client, staff, petition_id, outbox):
    endorse(client, logo=("logo.png", png_bytes()))
    confirm_last(client, outbox)
    endorse(client, path=FORM, org_name="Another", website="another.example.org")  # unconfirmed
    first, second = rows(app)
    staff_post(staff, f"/staff/endorsements/{first.id}/approve")
    result = app.test_cli_runner().invoke(
        args=["privacy", "erase-person", "Dana.Private@example.org"]
    )
    assert result.exit_code == 0, result.output
    assert "endorsements whose contact was erased: 2" in result.output
    (kept,) = rows(app)
    assert kept.id == first.id and kept.state == "approved"
    assert (kept.contact_name, kept.contact_email, kept.contact_canonical_email) == ("", "", "")
    assert kept.logo_name  # what the organisation made public stays
    assert public_views(client)[1]["endorsers"][0]["name"] == "Parents for Air"
    # Its unconfirmed one is gone with its mail; nothing unsent is left for the address.
    assert [m for m in outbox() if m["to"] == CONTACT["contact_email"] and not m["sent_at"]] == []
    export = staff.get("/staff/endorsements.csv").get_data(as_text=True)
    assert "dana.private" not in export.lower() and "Secretname" not in export


def test_anonymising_a_petition_forgets_its_endorsement_contacts(
    app, client, staff, petition_id, outbox
):
    from tests.privacy.test_privacy import deliver

    endorse(client)
    confirm_last(client, outbox)
    (row,) = rows(app)
    staff_post(staff, f"/staff/endorsements/{row.id}/approve")
    with app.app_context():
        db.session.get(Petition, petition_id).state = "closed"
        db.session.commit()
    deliver(app, petition_id, rows=1)
    result = app.test_cli_runner().invoke(args=["privacy", "anonymise", SLUG, "--yes"])
    assert result.exit_code == 0, result.output
    (row,) = rows(app)
    assert (row.contact_name, row.contact_email, row.state) == ("", "", "approved")
    with app.app_context():
        actions = db.session.execute(select(AuditLog.action)).scalars().all()
    assert "privacy.anonymise_endorsements" in actions


def test_the_staff_forms_check_their_own_csrf_token(app, staff, petition_id):
    # Exempt from the global check (their bodies are read under the logo's limit), the staff
    # forms refuse a POST without the token themselves.
    data = {"target": f"petition:{SLUG}", "org_name": "No Token Org"}
    response = staff.post("/staff/endorsements/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert rows(app) == []
    data["csrf_token"] = csrf_token(staff, "/staff/endorsements/new")
    response = staff.post("/staff/endorsements/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    (row,) = rows(app)
    edit = f"/staff/endorsements/{row.id}/edit"
    no_token = staff.post(edit, data={"org_name": "Renamed"}, content_type="multipart/form-data")
    assert no_token.status_code == 400
    assert rows(app)[0].name == "No Token Org"
