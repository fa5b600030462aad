import re

from tests.helpers import csrf_token, link

SPANISH = {"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}


def test_form_errors_and_country_names_in_the_readers_language(client, make_petition):
    make_petition()
    page = client.get("/petitions/speak-out", headers=SPANISH).get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in page
    assert "Firma la petición" in page
    assert re.search(r'<option value="DE">Alemania</option>', page)
    token = csrf_token(client, "/petitions/speak-out")
    response = client.post(
        "/petitions/speak-out/sign",
        data={"csrf_token": token, "name": "", "email": "ana@example.org", "country": "ZZ"},
        headers=SPANISH,
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Escribe tu nombre." in html
    assert "Elige tu país de la lista." in html


def test_mail_goes_out_in_the_language_the_person_signed_in(client, make_petition, outbox):
    make_petition(title="Habla ya")
    token = csrf_token(client, "/petitions/speak-out")
    client.post(
        "/petitions/speak-out/sign",
        data={"csrf_token": token, "name": "Begoña", "email": "b@example.org", "country": "ES"},
        headers=SPANISH,
    )
    [mail] = outbox()
    assert mail["subject"] == "Confirma tu firma: Habla ya"
    assert "Retira tu firma cuando quieras" in mail["body"]
    path = link(mail["body"], "confirm")
    page = client.get(path, headers=SPANISH).get_data(as_text=True)
    assert "Confirmar mi firma" in page


def test_unknown_languages_fall_back_to_english(client, make_petition):
    make_petition()
    page = client.get("/petitions/speak-out", headers={"Accept-Language": "xx"})
    assert "Sign the petition" in page.get_data(as_text=True)
