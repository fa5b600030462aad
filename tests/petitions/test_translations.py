"""A petition in several languages (#14): one count, each reader's version, each signer's mail."""

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from petition.core.extensions import db
from petition.petitions import texts
from petition.petitions.models import Petition, PetitionTranslation
from petition.staff.models import AuditLog
from tests.helpers import csrf_token, link, staff_post, token_of

RUSSIAN_TITLE = "МОК: выступите против закона"
RUSSIAN_TEXT = "Мы призываем **Международный олимпийский комитет** выступить."


@pytest.fixture
def bilingual(app, make_petition):
    """An English petition published in Russian too."""
    pid = make_petition(title="IOC: speak out against the law", text="We call on **the IOC**.")
    with app.app_context():
        petition = db.session.get(Petition, pid)
        texts.publish(
            petition,
            "ru",
            app.config["LANGUAGES"],
            title=RUSSIAN_TITLE,
            text=RUSSIAN_TEXT,
            share_text="Я подписал(а) петицию к МОК",
        )
        db.session.commit()
    return pid


def confirm(client, body):
    """Follow the mail's link (it carries the mail's ?lang=) and press the button."""
    page = client.get(link(body, "confirm"))
    assert page.status_code == 200
    form_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    return client.post(
        f"/confirm/{token_of(body, 'confirm')}", data={"csrf_token": form_token.group(1)}
    )


def test_signing_in_either_language_adds_to_one_count(app, client, bilingual, outbox):
    russian = client.get("/petitions/speak-out?lang=ru").get_data(as_text=True)
    assert '<html lang="ru" dir="ltr">' in russian
    assert RUSSIAN_TITLE in russian
    assert "<strong>Международный олимпийский комитет</strong>" in russian
    token = csrf_token(client, "/petitions/speak-out?lang=ru")
    data = {"name": "Мария Иванова", "email": "maria@example.org", "country": "RU"}
    assert (
        client.post("/petitions/speak-out/sign", data={**data, "csrf_token": token}).status_code
        == 303
    )

    client.delete_cookie("lang")
    token = csrf_token(client, "/petitions/speak-out?lang=en")
    data = {"name": "Jane Doe", "email": "jane@example.org", "country": "IE"}
    assert (
        client.post("/petitions/speak-out/sign", data={**data, "csrf_token": token}).status_code
        == 303
    )

    mails = {m["to"]: m for m in outbox()}
    ru, en = mails["maria@example.org"], mails["jane@example.org"]
    assert ru["subject"].endswith(RUSSIAN_TITLE) and "IOC" not in ru["subject"]
    assert RUSSIAN_TITLE in ru["body"] and "?lang=ru" in ru["body"]
    assert "IOC: speak out against the law" in en["subject"]
    assert RUSSIAN_TITLE not in en["body"] and "?lang=en" in en["body"]

    thanks = confirm(client, ru["body"])
    assert thanks.status_code == 200
    page = thanks.get_data(as_text=True)
    assert '<html lang="ru" dir="ltr">' in page and RUSSIAN_TITLE in page
    # Its share links open the Russian page and say the Russian share text ("Я подписал...").
    assert "speak-out%3Flang%3Dru" in page
    assert "%D0%AF%20%D0%BF%D0%BE%D0%B4%D0%BF%D0%B8%D1%81%D0%B0%D0%BB" in page
    assert confirm(client, en["body"]).status_code == 200
    for lang in ("ru", "en"):
        body = client.get(f"/api/petitions/speak-out?lang={lang}").get_json()
        assert body["signature_count"] == 2
    with app.app_context():
        petition = db.session.get(Petition, bilingual)
        assert sorted(s.locale for s in petition_signatures(petition)) == ["en", "ru"]


def petition_signatures(petition):
    from petition.petitions.models import Signature

    return db.session.execute(
        select(Signature).where(Signature.petition_id == petition.id)
    ).scalars()


def test_the_api_lists_languages_and_gives_the_title_asked_for(client, bilingual):
    plain = client.get("/api/petitions/speak-out").get_json()
    assert plain["languages"] == ["en", "ru"]
    assert plain["title"] == "IOC: speak out against the law"
    assert "titles" not in plain
    russian = client.get("/api/petitions/speak-out?lang=ru").get_json()
    assert russian["title"] == RUSSIAN_TITLE
    assert russian["url"].endswith("/petitions/speak-out?lang=ru")
    # A language the petition is not published in gives the original.
    assert client.get("/api/petitions/speak-out?lang=de").get_json()["title"] == plain["title"]
    listing = client.get("/api/petitions?lang=ru").get_json()["petitions"]
    assert [p["title"] for p in listing] == [RUSSIAN_TITLE]


def test_a_missing_language_falls_back_to_the_original_with_a_note(client, bilingual):
    page = client.get("/petitions/speak-out?lang=de").get_data(as_text=True)
    assert '<html lang="de" dir="ltr">' in page
    assert '<h1 lang="en" dir="ltr">IOC: speak out against the law</h1>' in page
    assert 'class="note"' in page
    # The reader may switch to a version the petition has.
    assert 'href="/petitions/speak-out?lang=ru"' in page


def test_a_reader_who_names_no_language_reads_the_petitions_own(app, client, make_petition):
    pid = make_petition(title="Original title")
    with app.app_context():
        petition = db.session.get(Petition, pid)
        petition.language = "ru"
        db.session.commit()
    page = client.get("/petitions/speak-out", headers={"Accept-Language": "xx"})
    assert '<html lang="ru" dir="ltr">' in page.get_data(as_text=True)
    # A browser asking for a language we serve is still answered in it.
    page = client.get("/petitions/speak-out", headers={"Accept-Language": "fr"})
    assert '<html lang="fr" dir="ltr">' in page.get_data(as_text=True)


def test_the_cli_publishes_and_updates_a_version(app, bilingual, tmp_path):
    from petition.petitions.cli import petitions

    text = tmp_path / "fr.md"
    text.write_text("Nous demandons au **CIO** de parler.", encoding="utf-8")
    runner = CliRunner()
    with app.app_context():
        result = runner.invoke(
            petitions,
            ["translate", "speak-out", "fr", "--title", "CIO : parlez", "--text-file", str(text)],
        )
        assert result.exit_code == 0, result.output
        assert "published in fr (en, fr, ru)" in result.output
        result = runner.invoke(petitions, ["translate", "speak-out", "fr", "--title", "CIO !"])
        assert "updated in fr" in result.output
        row = db.session.execute(
            select(PetitionTranslation).where(PetitionTranslation.language == "fr")
        ).scalar_one()
        assert (row.title, row.text) == ("CIO !", "Nous demandons au **CIO** de parler.")
        for args, says in (
            (["xx", "--title", "T"], "not a language this site serves"),
            (["en", "--title", "T"], "the petition's own language"),
            (["fr", "--title", "  "], "needs a title"),
        ):
            result = runner.invoke(petitions, ["translate", "speak-out", *args])
            assert result.exit_code == 1 and says in result.output, result.output
        result = runner.invoke(petitions, ["translate", "nope", "fr", "--title", "T"])
        assert "no petition with the slug 'nope'" in result.output


def test_staff_write_a_version_beside_the_original(app, client, staff, bilingual):
    page = client.get("/staff/petitions/speak-out/languages/ar")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "We call on **the IOC**." in html  # the original, shown as written
    # The version's fields are written right to left, the original's shown left to right.
    assert re.search(r'<input dir="rtl" id="title" lang="ar"', html)
    assert re.search(r'<textarea readonly rows="14" lang="en" dir="ltr"', html)

    refused = staff_post(client, "/staff/petitions/speak-out/languages/ar", title="")
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.get(Petition, bilingual).translation("ar") is None

    done = staff_post(
        client,
        "/staff/petitions/speak-out/languages/ar",
        title="اللجنة الأولمبية: ارفعي صوتك",
        text="ندعو **اللجنة** إلى الكلام.",
        hashtag="#SpeakOut",
    )
    assert done.status_code == 303
    page = client.get("/petitions/speak-out?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "اللجنة الأولمبية: ارفعي صوتك" in page
    with app.app_context():
        actions = db.session.execute(select(AuditLog.action)).scalars().all()
        assert "petition.translate" in actions

    assert staff_post(client, "/staff/petitions/speak-out/languages/ar/remove").status_code == 303
    page = client.get("/petitions/speak-out?lang=ar").get_data(as_text=True)
    assert "اللجنة الأولمبية: ارفعي صوتك" not in page
    # The original's own language and a language the site does not serve have no version page.
    assert client.get("/staff/petitions/speak-out/languages/en").status_code == 404
    assert client.get("/staff/petitions/speak-out/languages/xx").status_code == 404


def test_the_original_language_cannot_take_a_versions_language(client, staff, bilingual):
    form_page = client.get("/staff/petitions/speak-out/edit").get_data(as_text=True)
    assert 'name="language"' in form_page
    refused = staff_post(
        client,
        "/staff/petitions/speak-out/edit",
        title="IOC: speak out against the law",
        target="The IOC",
        milestones="100: A hundred",
        language="ru",
    )
    assert refused.status_code == 400
    assert "has a version in this language" in refused.get_data(as_text=True)
