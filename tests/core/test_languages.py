"""Every supporter in their own language (#14): for each of the seven languages, chosen by
?lang=, by the cookie and by Accept-Language, the petition page, the sign form's errors, the
confirmation mail and the pages after signing and confirming speak it."""

import html
import re

import pytest

from tests.helpers import csrf_token, link

# A phrase of each page, as the catalogs write it (the translators' wording, checked by hand).
PHRASES = {
    "en": {
        "page": "Sign the petition",
        "error": "Please enter your name.",
        "subject": "Please confirm your signature: Speak out",
        "mail": "Confirm your signature (it counts only once you press the button on this page):",
        "signed": "Check your inbox",
        "thanks": "Your signature is confirmed and counted.",
    },
    "es": {
        "page": "Firma la petición",
        "error": "Escribe tu nombre.",
        "subject": "Confirma tu firma: Speak out",
        "mail": "Confirma tu firma (solo cuenta cuando pulses el botón de esta página):",
        "signed": "Revisa tu correo",
        "thanks": "Tu firma está confirmada y contada.",
    },
    "fr": {
        "page": "Signer la pétition",
        "error": "Merci d’indiquer votre nom.",
        "subject": "Confirmez votre signature\xa0: Speak out",
        "mail": "Confirmez votre signature (elle ne sera comptabilisée qu’une fois que vous aurez",
        "signed": "Consultez votre boîte de réception",
        "thanks": "Votre signature est confirmée et comptabilisée.",
    },
    "pt": {
        "page": "Assine a petição",
        "error": "Informe seu nome.",
        "subject": "Confirme sua assinatura: Speak out",
        "mail": "Confirme sua assinatura (ela só conta depois que você clicar no botão",
        "signed": "Confira sua caixa de entrada",
        "thanks": "Sua assinatura foi confirmada e contada.",
    },
    "de": {
        "page": "Petition unterschreiben",
        "error": "Bitte gib deinen Namen ein.",
        "subject": "Bitte bestätige deine Unterschrift: Speak out",
        "mail": "Bestätige deine Unterschrift – sie zählt erst, wenn du auf dieser Seite",
        "signed": "Schau in dein Postfach",
        "thanks": "Deine Unterschrift ist bestätigt und wird gezählt.",
    },
    "ru": {
        "page": "Подписать петицию",
        "error": "Пожалуйста, укажите имя.",
        "subject": "Пожалуйста, подтвердите подпись: Speak out",
        "mail": "Подтвердите подпись — она будет учтена, только когда вы нажмёте кнопку",
        "signed": "Проверьте почту",
        "thanks": "Ваша подпись подтверждена и учтена.",
    },
    "ar": {
        "page": "وقّعوا العريضة",
        "error": "يُرجى إدخال اسمكم.",
        "subject": "يُرجى تأكيد توقيعكم: Speak out",
        "mail": "أكّدوا توقيعكم (لن يُحتسب إلا بعد الضغط على الزر في هذه الصفحة):",
        "signed": "تفقّدوا بريدكم الوارد",
        "thanks": "تم تأكيد توقيعكم واحتسابه.",
    },
}


class Reader:
    """A browser that asks for one language in one way."""

    def __init__(self, client, language, way):
        self.client, self.language, self.way = client, language, way
        if way == "cookie":
            client.set_cookie("lang", language)

    def url(self, path):
        if self.way != "query":
            return path
        return f"{path}{'&' if '?' in path else '?'}lang={self.language}"

    def headers(self):
        if self.way == "header":
            return {"Accept-Language": f"{self.language}-XX,{self.language};q=0.9,en;q=0.1"}
        # The other ways must win over a browser asking for something else.
        return {"Accept-Language": "en" if self.language != "en" else "de"}

    def get(self, path):
        return self.client.get(self.url(path), headers=self.headers())

    def post(self, path, data):
        return self.client.post(self.url(path), data=data, headers=self.headers())


def page_text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("way", ["query", "cookie", "header"])
@pytest.mark.parametrize("language", sorted(PHRASES))
def test_a_supporter_signs_in_their_language(client, make_petition, outbox, language, way):
    make_petition(title="Speak out")
    phrases = PHRASES[language]
    reader = Reader(client, language, way)
    direction = "rtl" if language == "ar" else "ltr"

    page = reader.get("/petitions/speak-out")
    assert page.status_code == 200
    text = page_text(page)
    assert f'<html lang="{language}" dir="{direction}">' in text
    assert phrases["page"] in text

    token = csrf_token(client, reader.url("/petitions/speak-out"))
    refused = reader.post(
        "/petitions/speak-out/sign",
        {"csrf_token": token, "name": "", "email": "ana@example.org", "country": "BR"},
    )
    assert refused.status_code == 400
    assert phrases["error"] in page_text(refused)

    signed = reader.post(
        "/petitions/speak-out/sign",
        {"csrf_token": token, "name": "Ana", "email": "ana@example.org", "country": "BR"},
    )
    assert signed.status_code == 303
    assert phrases["signed"] in page_text(reader.get(signed.headers["Location"]))

    (mail,) = outbox()
    assert mail["subject"] == phrases["subject"]
    assert phrases["mail"] in mail["body"]
    confirm = link(mail["body"], "confirm")
    assert confirm.endswith(f"?lang={language}")  # the mail's links keep its language
    form = page_text(client.get(confirm))
    form_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    thanks = reader.post(confirm.split("?")[0], {"csrf_token": form_token})
    assert thanks.status_code == 200
    text = page_text(thanks)
    assert f'<html lang="{language}" dir="{direction}">' in text
    assert phrases["thanks"] in text


def test_numbers_and_countries_as_the_reader_writes_them(app, client, make_petition):
    from petition.core.extensions import db
    from petition.petitions.models import Petition

    pid = make_petition(title="Speak out")
    with app.app_context():
        db.session.get(Petition, pid).offline_count = 1234
        db.session.commit()

    def count(headers=None, query=""):
        page = page_text(client.get(f"/petitions/speak-out{query}", headers=headers or {}))
        return re.search(r'data-signature-count="1234">([^<]+)<', page).group(1), page

    assert count({"Accept-Language": "en"})[0] == "1,234"
    assert count({"Accept-Language": "de"})[0] == "1.234"
    assert count({"Accept-Language": "ru"})[0] == "1\xa0234"
    # CLDR: Arabic alone (and in Morocco) with Latin digits, in Egypt with Arabic-Indic ones.
    assert count({"Accept-Language": "ar"})[0] == "1,234"
    assert count({"Accept-Language": "ar-EG,ar;q=0.9"})[0] == "١٬٢٣٤"

    # The country list in the reader's language, sorted as that language sorts.
    _, page = count({"Accept-Language": "ru"})
    names = re.findall(r'<option value="[A-Z]{2}"[^>]*>([^<]+)</option>', page)
    assert names.index("Австралия") < names.index("Германия") < names.index("Япония")
    _, page = count({"Accept-Language": "de"})
    names = re.findall(r'<option value="[A-Z]{2}"[^>]*>([^<]+)</option>', page)
    assert names.index("Österreich") < names.index("Polen")  # Ö sorts as O in German
