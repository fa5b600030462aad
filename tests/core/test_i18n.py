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


def test_every_catalog_translates_every_message(tmp_path):
    """A new _() string without a translation fails here, not in front of a Spanish reader."""
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    pybabel = Path(sys.executable).parent / "pybabel"
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(pybabel),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=60,
    )
    # Supporters read every language we have; the staff area may stay English until a
    # campaign translates it.
    staff_only = (
        "templates/staff/",
        "templates/petitions/staff/",
        "templates/abuse/staff/",
        "templates/imports/staff/",
        "templates/delivery/staff/",
        "templates/events/staff/",
        "petition/events/views/staff.py",
        "petition/staff/views/",
        "petition/petitions/views.py",
        "petition/petitions/forms.py",
        "petition/abuse/views/",
        "petition/imports/views.py",
        "petition/delivery/views.py",
    )
    with open(pot, "rb") as f:
        wanted = {
            m.id
            for m in read_po(f)
            if m.id and not all(path.startswith(staff_only) for path, _ in m.locations)
        }
    catalogs = sorted(root.glob("petition/translations/*/LC_MESSAGES/messages.po"))
    assert catalogs
    for path in catalogs:
        with open(path, "rb") as f:
            catalog = read_po(f)
        done = {
            m.id
            for m in catalog
            if m.id
            and m.string
            and "fuzzy" not in m.flags
            and (isinstance(m.string, str) or all(m.string))
        }
        assert sorted(map(str, wanted - done)) == [], f"untranslated in {path}"
