"""Choosing the reader's language: ?lang= (remembered), the cookie, Accept-Language; catalogs
compiled when the app starts; <html lang dir>; the switcher; caches kept apart per language."""

import os
import re

from petition.core import i18n


def title(response):
    return re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S).group(1)


def test_lang_parameter_is_remembered_and_beats_the_browser(client):
    assert title(client.get("/")) == "Petitions"
    response = client.get("/?lang=es")
    assert title(response) == "Peticiones"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=es;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # Remembered, and it wins over the browser's wish.
    assert title(client.get("/", headers={"Accept-Language": "en-GB,en"})) == "Peticiones"
    assert "Set-Cookie" not in client.get("/").headers
    assert title(client.get("/?lang=en")) == "Petitions"
    assert title(client.get("/")) == "Petitions"


def test_accept_language_when_nothing_was_chosen(client):
    assert title(client.get("/", headers={"Accept-Language": "es-AR,es;q=0.9"})) == "Peticiones"
    assert title(client.get("/", headers={"Accept-Language": "ja"})) == "Petitions"


def test_an_unknown_language_is_ignored(client):
    response = client.get("/?lang=xx", headers={"Accept-Language": "es"})
    assert title(response) == "Peticiones" and "Set-Cookie" not in response.headers
    client.set_cookie("lang", "<script>")
    assert title(client.get("/")) == "Petitions"


def test_html_lang_dir_and_the_switcher(client, make_petition):
    make_petition(slug="speak-out")
    html = client.get("/petitions/speak-out?lang=es&source=blog").get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in html
    # The same page in every other language, its query kept; the current one not a link.
    assert (
        'href="/petitions/speak-out?source=blog&amp;lang=en" lang="en" hreflang="en">English</a>'
        in html
    )
    assert '<strong lang="es" aria-current="true">Español</strong>' in html


def test_catalogs_are_compiled_into_the_instance_at_start(app, tmp_path):
    folder = app.config["BABEL_TRANSLATION_DIRECTORIES"]
    assert folder == os.path.join(app.instance_path, "translations")
    mo = os.path.join(folder, "es", "LC_MESSAGES", "messages.mo")
    assert os.path.getsize(mo) > 10_000
    # Nothing newer in the source: nothing rewritten; a newer .po is compiled again.
    before = os.stat(mo).st_mtime_ns
    i18n.compile_catalogs(app)
    assert os.stat(mo).st_mtime_ns == before
    po = os.path.join(i18n.source_dir(app), "es", "LC_MESSAGES", "messages.po")
    os.utime(mo, ns=(before, os.stat(po).st_mtime_ns - 10**9))
    i18n.compile_catalogs(app)
    assert os.stat(mo).st_mtime_ns > os.stat(po).st_mtime_ns - 10**9


def test_a_shared_cache_keeps_one_copy_per_language(app, client):
    import datetime as dt

    from petition.core.extensions import db
    from petition.events import operations as events

    with app.app_context():
        events.create_day("speak", "Speak Out", dt.date(2027, 9, 3), state="open")
        db.session.commit()
    response = client.get("/days/speak")
    assert "public" in response.headers["Cache-Control"]
    assert {"Accept-Language", "Cookie"} <= set(response.vary)
