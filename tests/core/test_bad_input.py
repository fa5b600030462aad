"""Every field with bad input: a 400 with a clear message next to the field, nothing stored."""

import pytest
from sqlalchemy import func, select

from petition.core.extensions import db
from petition.mail.models import OutboxMessage
from petition.petitions.models import Signature
from tests.helpers import csrf_token

GOOD = {
    "name": "Ana Souza",
    "email": "ana@example.org",
    "country": "BR",
    "city": "Recife",
    "postcode": "50000-000",
}

BAD = [
    # field, value, words expected in the message
    ("name", "", "enter your name"),
    ("name", "   ", "enter your name"),
    ("name", "x" * 201, "under 200"),
    ("name", "Ana\x00Souza", "control"),
    ("name", "Ana\x07", "control"),
    ("name", "Ana\nSouza", "control"),
    ("name", "Ana\u202eazuoS", "control"),
    ("name", "<script>alert(1)</script>", "leave out"),
    ("name", "Ana <b>", "leave out"),
    ("name", "Ana \ufffd", "not valid text"),
    ("email", "", "enter your email"),
    ("email", "not-an-address", "not valid"),
    ("email", "a@" + "b" * 260 + ".org", "254"),
    ("email", "ana@exa\x00mple.org", "not valid"),
    ("email", "<script>@example.org", "not valid"),
    ("email", "12345", "not valid"),
    ("country", "", "choose your country"),
    ("country", "XX", "from the list"),
    ("country", "br", "from the list"),
    ("country", "12", "from the list"),
    ("country", "<b>FR</b>", "from the list"),
    ("country", "F" * 500, "from the list"),
    ("city", "c" * 101, "under 100"),
    ("city", "Recife\x1b[31m", "control"),
    ("city", "<img src=x onerror=alert(1)>", "leave out"),
    ("postcode", "1" * 21, "under 20"),
    ("postcode", "01000\t000", "control"),
    ("postcode", "<p>", "leave out"),
    ("updates", "banana", "ticked"),
    ("updates", "2", "ticked"),
]


def stored(app):
    with app.app_context():
        return (
            db.session.execute(select(func.count()).select_from(Signature)).scalar(),
            db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar(),
        )


@pytest.mark.parametrize(
    ("field", "value", "message"), BAD, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD)]
)
def test_bad_field_is_a_400_with_its_message(app, client, make_petition, field, value, message):
    make_petition()
    data = {**GOOD, field: value, "csrf_token": csrf_token(client, "/petitions/speak-out")}
    response = client.post("/petitions/speak-out/sign", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message.lower() in html.lower()
    assert f'id="{field}-error"' in html or field == "updates"
    # The other input is kept for the person to correct just the one field.
    for other, kept in GOOD.items():
        if other not in (field, "country"):
            assert f'value="{kept}"' in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert stored(app) == (0, 0)


def test_invalid_utf8_bytes_are_refused(app, client, make_petition):
    make_petition()
    token = csrf_token(client, "/petitions/speak-out")
    body = (
        b"csrf_token=" + token.encode() + b"&name=Ana%FF%FESouza&email=ana%40example.org&country=BR"
    )
    response = client.post(
        "/petitions/speak-out/sign", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "not valid text" in response.get_data(as_text=True)
    raw = b"csrf_token=" + token.encode() + b"&name=\xc3\x28&email=ana@example.org&country=BR"
    response = client.post(
        "/petitions/speak-out/sign", data=raw, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert stored(app) == (0, 0)


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_missing_or_forged_csrf_is_refused(app, client, make_petition, csrf):
    make_petition()
    data = dict(GOOD)
    if csrf is not None:
        data["csrf_token"] = csrf
    response = client.post("/petitions/speak-out/sign", data=data)
    assert response.status_code == 400
    assert "send the form again" in response.get_data(as_text=True)
    assert stored(app) == (0, 0)


def test_other_shapes_of_request_are_refused_cleanly(app, client, make_petition):
    make_petition()
    # Not a form: refused before the form code reads it (#12).
    assert client.post("/petitions/speak-out/sign", json=GOOD).status_code == 415
    token = csrf_token(client, "/petitions/speak-out")
    huge = {**GOOD, "csrf_token": token, "name": "x" * 200_000}
    assert client.post("/petitions/speak-out/sign", data=huge).status_code == 413
    multi = client.post(
        "/petitions/speak-out/sign", data={**GOOD, "csrf_token": token, "country": ["BR", "FR"]}
    )
    assert multi.status_code == 303  # the first value wins, as browsers never send two
    assert client.put("/petitions/speak-out/sign").status_code == 405
    assert client.post("/petitions/no-such-petition/sign", data=GOOD).status_code in (400, 404)
    assert stored(app) == (1, 1)


def test_error_pages_are_in_the_readers_language_where_we_have_one(client, make_petition):
    make_petition()
    response = client.get("/nowhere", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert response.status_code == 404
    assert "There is no page at this address." in response.get_data(as_text=True)
    assert client.get("/api/nowhere").get_json()["error"]["code"] == "not_found"
