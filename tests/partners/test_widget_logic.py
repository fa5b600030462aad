"""The widget's own rules, with the network answered by the test (no server needed)."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

WIDGET = Path(__file__).resolve().parents[2] / "petition" / "static" / "embed" / "widget.js"
PAGE = """<!doctype html><html><body>
<div data-petition="p" data-poll-seconds="1"></div>
<script src="http://app.test/embed/widget.js"></script></body></html>"""


def test_an_older_snapshot_never_takes_the_count_back(browser):
    answers = [
        {"signature_count": 9, "goal": 100, "updated_at": "2026-01-01T10:00:00Z"},  # older
        {"signature_count": 8, "goal": 100, "updated_at": "2026-01-01T10:00:05Z"},  # older
        {"signature_count": 9, "goal": 100, "updated_at": "2026-01-01T10:00:09Z"},  # newer
    ]
    detail = {
        "slug": "p",
        "title": "P",
        "url": "http://app.test/petitions/p",
        "state": "open",
        "signature_count": 10,
        "goal": 100,
        "milestones": [],
        "updated_at": "2026-01-01T10:00:05.5Z",
    }

    def api(route):
        if route.request.url.endswith("/count"):
            body = answers.pop(0) if len(answers) > 1 else answers[0]
        else:
            body = detail
        route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps(body),
            headers={"Access-Control-Allow-Origin": "*"},
        )

    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(
        "http://partner.test/",
        lambda r: r.fulfill(status=200, content_type="text/html", body=PAGE),
    )
    page.route(
        "http://app.test/embed/widget.js",
        lambda r: r.fulfill(status=200, content_type="text/javascript", body=WIDGET.read_text()),
    )
    page.route("http://app.test/api/**", api)
    is_count = lambda request: request.url.endswith("/count")  # noqa: E731
    with page.expect_request(is_count, timeout=10_000):
        page.goto("http://partner.test/")
    count = page.locator("div[data-petition] >> [data-signature-count]")
    # The widget asks again only once it has handled the first answer (9, older); the
    # second (8) is older too, so whichever has arrived, 10 stays.
    with page.expect_request(is_count, timeout=10_000):
        pass
    assert count.get_attribute("data-signature-count") == "10"
    # The third answer is 9 from a newer snapshot (a withdrawal): now it shows.
    page.wait_for_function(
        "() => document.querySelector('div[data-petition]').shadowRoot"
        ".querySelector('[data-signature-count]').getAttribute('data-signature-count')"
        " === '9'",
        timeout=10_000,
    )
    assert not answers[1:]  # every count answer was used
    assert errors == []
    page.close()


# --- languages ------------------------------------------------------------------------------

LOCALES = WIDGET.parent / "locales"
DETAIL = {
    "slug": "p",
    "title": "P",
    "url": "http://app.test/petitions/p",
    "state": "open",
    "signature_count": 1234,
    "goal": 2000,
    "milestones": [{"count": 2000, "label": "Two thousand"}],
    "updated_at": "2026-01-01T10:00:00Z",
}
SHADOW = "document.querySelector('div[data-petition]').shadowRoot"


def fulfil_json(route, body, status=200):
    route.fulfill(
        status=status,
        content_type="application/json",
        body=body if isinstance(body, str) else json.dumps(body),
        headers={"Access-Control-Allow-Origin": "*"},
    )


def locale_file(route):
    name = route.request.url.rsplit("/", 1)[1]
    fulfil_json(route, (LOCALES / name).read_text(encoding="utf-8"))


def partner_page(opener, body, html_attrs="", api=None, locale=locale_file):
    """A page on partner.test (opened by a browser or a context) with body and the widget from
    app.test; the API answered by api (default: DETAIL), the words by locale (the files)."""
    page = opener.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    html = (
        f"<!doctype html><html {html_attrs}><body>{body}"
        '<script src="http://app.test/embed/widget.js"></script>'
    )
    page.route(
        "http://partner.test/",
        lambda r: r.fulfill(status=200, content_type="text/html", body=html),
    )
    page.route(
        "http://app.test/embed/widget.js",
        lambda r: r.fulfill(status=200, content_type="text/javascript", body=WIDGET.read_text()),
    )
    page.route("http://app.test/api/**", api or (lambda route: fulfil_json(route, DETAIL)))
    page.route("http://app.test/embed/locales/*", locale)
    return page


def shadow_text(page, selector):
    return page.evaluate(f"s => {SHADOW}.querySelector(s)?.textContent ?? null", selector)


def wait_shown(page):
    page.wait_for_function(f"() => {SHADOW}.querySelector('.g')?.textContent", timeout=10_000)


def intl_number(page, locale, n):
    return page.evaluate("([l, n]) => new Intl.NumberFormat(l).format(n)", [locale, n])


def test_every_locale_has_its_languages_plural_forms(browser):
    """Each plural in each file has exactly the forms Intl.PluralRules knows for its language
    (ru: one few many other; ar: zero one two few many other; ja: a plain string)."""
    page = browser.new_page()
    words = {path.stem: json.loads(path.read_text("utf-8")) for path in LOCALES.glob("*.json")}
    categories = page.evaluate(
        "codes => Object.fromEntries(codes.map(c => "
        "[c, new Intl.PluralRules(c).resolvedOptions().pluralCategories.sort()]))",
        [*words, "en"],
    )
    assert categories["ru"] == ["few", "many", "one", "other"]
    assert categories["ar"] == ["few", "many", "one", "other", "two", "zero"]
    for code, entries in words.items():
        for key, value in entries.items():
            if isinstance(value, dict):
                assert sorted(value) == categories[code], f"{code}.json {key}"
        # A language whose nouns change with the number has the count as a plural.
        if code in ("ar", "cs", "de", "es", "fr", "he", "pl", "pt", "ro", "ru", "uk"):
            assert isinstance(entries["sig"], dict), code
    page.close()


def test_the_words_come_alongside_the_first_request_not_after_it(browser):
    """The locale file is held until the API request has been made: a widget that waited for
    its words before asking for the petition would never ask, and the test would time out."""
    held = []
    page = partner_page(
        browser,
        '<div data-petition="p" data-lang="ru"></div>',
        locale=lambda route: held.append(route),
    )
    with page.expect_request(lambda r: "/api/petitions/p" in r.url, timeout=10_000) as asked:
        page.goto("http://partner.test/")
    assert asked.value.url == "http://app.test/api/petitions/p?lang=ru"
    for _ in range(200):  # at most 10 s
        if held:
            break
        page.wait_for_timeout(50)
    assert [r.request.url for r in held] == ["http://app.test/embed/locales/ru.json"]
    # Until the words arrive the card says nothing in English, not even "Loading".
    assert shadow_text(page, ".m") == ""
    assert shadow_text(page, ".n") == ""
    locale_file(held[0])
    wait_shown(page)
    assert shadow_text(page, ".l") == f"{intl_number(page, 'ru', 1234)} подписи"
    assert shadow_text(page, ".g").startswith("Ещё")
    assert page.errors == []
    page.close()


def test_english_when_the_words_cannot_be_had(browser):
    for answer in (
        lambda route: route.fulfill(status=500, body="oops"),
        lambda route: fulfil_json(route, {"error": {"code": "not_found"}}, status=404),
        lambda route: route.abort(),
        lambda route: fulfil_json(route, "not json"),
    ):
        page = partner_page(browser, '<div data-petition="p" data-lang="fr"></div>', locale=answer)
        page.goto("http://partner.test/")
        wait_shown(page)
        # English words; French numbers still: the language was chosen, only its words failed.
        assert (
            shadow_text(page, ".g")
            == f"{intl_number(page, 'fr', 766)} more to reach “Two thousand”"
        )
        assert shadow_text(page, "a") == "Sign the petition"
        assert page.errors == []
        page.close()


def card_of(page):
    return page.evaluate(
        f"() => {{ const c = {SHADOW}.querySelector('.c'), a = c.querySelector('a');"
        " return [c.lang, c.dir, a.textContent, a.href]; }"
    )


def recorder(asked):
    """An API that notes the URLs it is asked for."""

    def api(route):
        asked.append(route.request.url)
        fulfil_json(route, DETAIL)

    return api


def test_choosing_the_language(browser):
    """data-lang, else <html lang>, else the browser's; a region or script to its language."""
    cases = [
        ('data-lang="pt-BR"', "", "pt", "Assine a petição"),
        ('data-lang="zh-Hans-CN"', "", "zh", "签署请愿"),
        ('data-lang="zh-CN"', "", "zh", "签署请愿"),
        ('data-lang="zh-TW"', "", "en", "Sign the petition"),
        ('data-lang="HE"', "", "he", "חתמו על העצומה"),
        ('data-lang="xx"', 'lang="ru"', "en", "Sign the petition"),
        ('data-lang=""', 'lang="es-MX"', "es", "Firma la petición"),
        ("", 'lang="fa-IR" dir="rtl"', "fa", "دادخواست را امضا کنید"),
        ("", "", "de", "Petition unterschreiben"),  # the browser's, below
    ]
    context = browser.new_context(locale="de-DE")
    for div, html, code, sign in cases:
        asked = []
        page = partner_page(
            context, f'<div data-petition="p" {div}></div>', html, api=recorder(asked)
        )
        page.goto("http://partner.test/")
        wait_shown(page)
        lang, direction, text, href = card_of(page)
        assert (lang, text) == (code, sign), (div, html)
        assert direction == ("rtl" if code in ("he", "fa") else "ltr"), (div, html)
        assert asked[0] == f"http://app.test/api/petitions/p?lang={code}"
        assert href.endswith(f"lang={code}")
        assert page.errors == []
        page.close()
    context.close()
