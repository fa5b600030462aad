"""The embed as partner sites load it: the widget script, and the widget as an iframe page."""

import json
import re

from petition.partners.views import embed
from tests.live import ROOT

WIDGET = ROOT / "petition" / "static" / "embed" / "widget.js"
# Two widgets in one script (a petition's count and a day of action's events), unminified;
# about 5 KB once gzip'd by a proxy. A partner page pays this once, then from its cache.
SIZE_LIMIT = 16 * 1024
FRAME_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors *; base-uri 'none'"
)


def test_widget_script_is_small_cacheable_conditional_and_cross_origin(client):
    response = client.get("/embed/widget.js", headers={"Origin": "https://blog.example.ie"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.data == WIDGET.read_bytes()
    assert len(response.data) < SIZE_LIMIT, "the widget is meant to stay small and unminified"
    assert response.headers["Cache-Control"] == (
        "public, max-age=300, stale-while-revalidate=86400"
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in response.headers

    etag = response.headers["ETag"]
    again = client.get("/embed/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert client.get("/embed/widget.js", headers={"If-None-Match": '"other"'}).status_code == 200


def test_widget_script_builds_its_dom_without_html_parsing():
    source = WIDGET.read_text(encoding="utf-8")
    assert 'attachShadow({ mode: "open" })' in source
    assert "adoptedStyleSheets" in source and "replaceSync" in source
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert unsafe not in source, f"the widget must not use {unsafe}"


def test_iframe_page_may_be_framed_by_anyone(app, client, make_petition):
    make_petition(slug="speak-out", title="Speak <out>")
    response = client.get("/embed/speak-out")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == FRAME_CSP
    assert "X-Frame-Options" not in response.headers
    config = app.config
    assert response.headers["Cache-Control"] == (
        f"public, max-age={config['API_MAX_AGE']}, "
        f"stale-while-revalidate={config['API_STALE_SECONDS']}"
    )
    assert "Set-Cookie" not in response.headers

    html = response.get_data(as_text=True)
    assert '<div data-petition="speak-out" data-theme="light"></div>' in html
    assert '<script src="/embed/widget.js" defer></script>' in html
    assert "<title>Speak &lt;out&gt;</title>" in html
    assert "<style" not in html and " style=" not in html, "the frame CSP has no unsafe-inline"
    assert re.search(r"<script>", html) is None, "no inline script either"

    etag = response.headers["ETag"]
    assert client.get("/embed/speak-out", headers={"If-None-Match": etag}).status_code == 304


def test_iframe_page_theme_and_poll_interval(client, make_petition):
    make_petition()
    dark = client.get("/embed/speak-out?theme=dark&poll=30").get_data(as_text=True)
    assert '<div data-petition="speak-out" data-theme="dark" data-poll-seconds="30">' in dark
    odd = client.get('/embed/speak-out?theme="><script>&poll=-1').get_data(as_text=True)
    assert '<div data-petition="speak-out" data-theme="light"></div>' in odd
    assert "<script>" not in odd
    assert "data-poll-seconds" not in client.get("/embed/speak-out?poll=x").get_data(as_text=True)


def test_every_other_page_still_refuses_framing(client, make_petition):
    make_petition()
    page = client.get("/petitions/speak-out")
    assert page.status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    script = client.get("/embed/widget.js")
    assert "frame-ancestors *" not in script.headers["Content-Security-Policy"]


def test_unknown_and_draft_petitions_are_not_found(client, make_petition):
    make_petition(slug="not-yet", state="draft")
    for slug in ("no-such-petition", "not-yet"):
        response = client.get(f"/embed/{slug}")
        assert response.status_code == 404
        # The frame still shows the widget, which tells the reader the petition is not there.
        assert f'data-petition="{slug}"' in response.get_data(as_text=True)
        assert "frame-ancestors *" in response.headers["Content-Security-Policy"]


# --- the widget's languages ------------------------------------------------------------------

LOCALES_DIR = WIDGET.parent / "locales"
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def english():
    """The English words inside widget.js (written as JSON, so this reads them as they are)."""
    found = re.search(
        r"\n  const EN = (\{\n.*?\n  \});\n", WIDGET.read_text(encoding="utf-8"), re.S
    )
    assert found, "widget.js keeps its English words in `const EN = {...};`"
    return json.loads(found.group(1))


def forms(value):
    """The strings of one entry: itself, or a plural's forms."""
    return [value] if isinstance(value, str) else list(value.values())


def placeholders(value):
    return {frozenset(PLACEHOLDER.findall(form)) for form in forms(value)}


def test_the_widget_the_route_and_the_files_know_the_same_languages():
    source = WIDGET.read_text(encoding="utf-8")
    codes = re.search(r'const CODES = "([a-z ]+)"\.split\(" "\);', source)
    assert codes, "widget.js lists its languages in CODES"
    files = sorted(path.stem for path in LOCALES_DIR.glob("*.json"))
    assert codes.group(1).split() == list(embed.LOCALES) == files
    assert len(files) + 1 >= 20, "English and at least nineteen more"
    for required in ("es", "fr", "pt", "de", "ru", "ar"):
        assert required in files


def test_every_locale_has_exactly_the_english_keys_and_placeholders():
    en = english()
    assert placeholders(en["more"]) == {frozenset({"n", "label"})}
    assert placeholders(en["day"]) == {frozenset({"events", "cities", "countries"})}
    for key, value in en.items():
        assert len(placeholders(value)) == 1, f"the English forms of {key} differ"
        if not isinstance(value, str):
            assert set(value) == {"one", "other"}, key
    for path in sorted(LOCALES_DIR.glob("*.json")):
        words = json.loads(path.read_text(encoding="utf-8"))
        assert list(words) == list(en), f"{path.name}: keys (in English's order)"
        for key, value in words.items():
            assert isinstance(value, str) or (
                isinstance(value, dict) and value and "other" in value
            ), f"{path.name} {key}: a string, or plural forms with 'other'"
            assert all(isinstance(form, str) and form.strip() for form in forms(value))
            assert placeholders(value) == placeholders(en[key]), f"{path.name} {key}"
        # Some words are the same as English (French "signatures", "Online"); most are not.
        english_left = [key for key in en if set(forms(words[key])) & set(forms(en[key]))]
        assert len(english_left) <= 3, f"{path.name} is still English in {english_left}"


def test_locale_files_are_served_cacheable_conditional_and_cross_origin(client):
    for code in embed.LOCALES:
        response = client.get(
            f"/embed/locales/{code}.json", headers={"Origin": "https://blog.example.ie"}
        )
        assert response.status_code == 200, code
        assert response.mimetype == "application/json"
        assert response.data == (LOCALES_DIR / f"{code}.json").read_bytes()
        assert response.get_json()["sign"]
        assert response.headers["Cache-Control"] == (
            "public, max-age=300, stale-while-revalidate=86400"
        )
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Set-Cookie" not in response.headers
        etag = response.headers["ETag"]
        again = client.get(f"/embed/locales/{code}.json", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.data == b""
    # A content hash: each language its own tag, and the script's differs from all of them.
    tags = {client.get(f"/embed/locales/{code}.json").headers["ETag"] for code in embed.LOCALES}
    assert len(tags) == len(embed.LOCALES)
    assert client.get("/embed/widget.js").headers["ETag"] not in tags


def test_unknown_locales_and_paths_are_json_404s(client):
    for path in (
        "/embed/locales/xx.json",
        "/embed/locales/en.json",  # English is in the script itself
        "/embed/locales/RU.json",
        "/embed/locales/ru",
        "/embed/locales/ru.json.bak",
        "/embed/locales/ru.js",
        "/embed/locales/..%2Fwidget.js",
        "/embed/locales/..%2F..%2Fwidget.js",
        "/embed/locales/../embed/widget.js.json",
        "/embed/locales/%2E%2E/%2E%2E/config.py",
        "/embed/locales/..%2Fru.json",
        "/embed/locales/sub/ru.json",
    ):
        response = client.get(path, headers={"Origin": "https://blog.example.ie"})
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found", path
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    # A NUL is refused before any view (refuse_nul), as everywhere else.
    response = client.get("/embed/locales/ru.json%00")
    assert response.status_code == 404
    assert "подпис" not in response.get_data(as_text=True)


def test_widget_language_matches_as_the_widget_does():
    cases = {
        "ru": "ru",
        "pt-BR": "pt",
        "pt_PT": "pt",
        "de-DE": "de",
        "zh-Hans-CN": "zh",
        "zh-CN": "zh",
        "zh-TW": "en",
        "zh-Hant": "en",
        "AR": "ar",
        "en-GB": "en",
        "xx": "en",
        "": "en",
        None: "en",
        "../etc": "en",
    }
    for tag, code in cases.items():
        assert embed.widget_language(tag) == code, tag


def test_iframe_page_in_a_language(client, make_petition):
    make_petition()
    html = client.get("/embed/speak-out?lang=ru&poll=30").get_data(as_text=True)
    assert '<html lang="ru">' in html
    assert '<div data-petition="speak-out" data-theme="light" data-lang="ru" ' in html
    assert 'data-poll-seconds="30"' in html
    assert '<html lang="ar" dir="rtl">' in client.get("/embed/speak-out?lang=ar").get_data(
        as_text=True
    )
    brazil = client.get("/embed/speak-out?lang=pt-BR").get_data(as_text=True)
    assert '<html lang="pt">' in brazil and 'data-lang="pt"' in brazil
    odd = client.get('/embed/speak-out?lang="><script>').get_data(as_text=True)
    assert '<html lang="en">' in odd and 'data-lang="en"' in odd and "<script>" not in odd
    # Without ?lang the widget follows the reader: the page claims no language.
    plain = client.get("/embed/speak-out").get_data(as_text=True)
    assert "<html>" in plain and "data-lang" not in plain


def test_day_iframe_page_in_a_language(client):
    html = client.get("/embed/days/no-such-day?lang=he&limit=3").get_data(as_text=True)
    assert '<html lang="he" dir="rtl">' in html
    assert '<div data-day="no-such-day" data-theme="light" data-lang="he" data-limit="3">' in html
