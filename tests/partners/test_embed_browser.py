"""The embed on a partner's page in a real browser: script and iframe, live count, no errors.

The app runs in gunicorn (tests.live); the partner's page comes from a second HTTP server on
another loopback address where the system has one (127.0.0.2), so the page, the script and the
iframe are cross-origin as they are in the wild, and the partner's hostname differs from ours.
"""

import contextlib
import functools
import http.cookiejar
import http.server
import re
import socket
import sqlite3
import threading
import time
import urllib.parse
import urllib.request

import pytest

from tests import services
from tests.live import ROOT, free_port, live_server, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.live]

ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT_MS = 10_000
POLL_SECONDS = 1
# The contract: a confirmation shows in the public count within 5 seconds; the widget adds at
# most one poll interval on top.
FRESH_WITHIN = 5 + POLL_SECONDS

SPEAK = "speak-out"
SPEAK_TITLE = "Speak out for the athletes"
WATER = "clean-water"
WATER_TITLE = "Clean water in every school"
TREES = "trees"
TREES_TITLE = "A tree for every street"
MISSING = "no-such-petition"

# A partner page whose CSS would wreck any widget it could reach: tiny rem, serif, uppercase,
# red text everywhere. The widget's shadow root must not care.
PARTNER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Partner blog</title>
<link rel="icon" href="data:,">
<style>
  html {{ font-size: 10px; }}
  body {{ margin: 2rem; font: 2rem/1.3 Georgia, serif; color: #063; background: #f4f1ea;
         letter-spacing: .08em; }}
  p, strong, span, a, div {{ color: red !important; text-transform: uppercase; }}
  .row {{ display: flex; flex-wrap: wrap; gap: 2rem; align-items: flex-start; }}
  .row > * {{ width: 380px; }}
  iframe {{ border: 0; height: 240px; }}
</style>
<script src="{app}/embed/widget.js" async></script>
</head>
<body>
<h1>Partner blog</h1>
<p>Our readers back these petitions.</p>
<div class="row">
  <div id="light" data-petition="{speak}" data-poll-seconds="{poll}"></div>
  <div id="dark" data-petition="{speak}" data-theme="dark" data-source="newsletter"
       data-poll-seconds="{poll}"></div>
  <div id="water" data-petition="{water}" data-poll-seconds="{poll}"></div>
  <iframe src="{app}/embed/{speak}?theme=dark&amp;poll={poll}" title="{speak_title}"></iframe>
</div>
</body>
</html>
"""

# The widget in other languages: the page's own (<html lang>), the div's (data-lang) over an
# English page, and the browser's when the page says nothing.
RUSSIAN_PAGE = """<!doctype html>
<html lang="ru">
<head><meta charset="utf-8"><title>Блог партнёра</title><link rel="icon" href="data:,">
<style>
  body {{ margin: 16px; font: 16px/1.4 Georgia, serif; background: #f4f1ea; }}
  .row {{ display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }}
  .row > div {{ width: 380px; max-width: 100%; }}
</style>
<script src="{app}/embed/widget.js" async></script></head>
<body><h1>Мы поддерживаем эти петиции</h1>
<div class="row">
  <div id="trees" data-petition="{trees}"></div>
  <div id="water" data-petition="{water}" data-theme="dark"></div>
</div>
</body>
</html>
"""

LANGUAGES_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Partner in many languages</title><link rel="icon" href="data:,">
<style>
  body {{ margin: 16px; font: 16px/1.4 Georgia, serif; background: #f4f1ea; }}
  .row {{ display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }}
  .row > div {{ width: 380px; max-width: 100%; }}
</style>
<script src="{app}/embed/widget.js" async></script></head>
<body><h1>Our readers, in their languages</h1>
<div class="row">
  <div id="ar" data-petition="{trees}" data-lang="ar"></div>
  <div id="ar-dark" data-petition="{water}" data-lang="ar" data-theme="dark"></div>
  <div id="de" data-petition="{water}" data-lang="de-DE"></div>
  <div id="xx" data-petition="{trees}" data-lang="xx"></div>
</div>
</body>
</html>
"""

NO_LANGUAGE_PAGE = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Partner</title><link rel="icon" href="data:,">
<script src="{app}/embed/widget.js" async></script></head>
<body><div id="water" data-petition="{water}"></div></body>
</html>
"""

MISSING_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Partner with a typo</title><link rel="icon" href="data:,">
<script src="{app}/embed/widget.js" async></script></head>
<body><div data-petition="{missing}" data-poll-seconds="1"></div></body>
</html>
"""


def loopback_host():
    """A second loopback address if the system answers on it, else the usual one."""
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
        return "127.0.0.2"
    except OSError:
        return "127.0.0.1"


def set_offline_count(server, slug, count):
    database = server.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE petitions SET offline_count = ? WHERE slug = ?", (count, slug))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    services.require_chromium()
    folder = tmp_path_factory.mktemp("embed-live")
    env = {
        # Fresh data for each poll, so the test sees a confirmation as soon as the contract allows.
        "FLASK_API_MAX_AGE": "0",
        "FLASK_API_STALE_SECONDS": "0",
        "FLASK_COUNT_CACHE_SECONDS": "1",
    }
    with live_server(f"sqlite:///{folder}/petition.db", folder, env=env) as server:
        server.flask(
            "petitions", "create", SPEAK,
            "--title", SPEAK_TITLE,
            "--target", "The IOC",
            "--milestone", "1000:First thousand",
            "--milestone", "2000:Deliver to the IOC",
            "--open",
        )  # fmt: skip
        server.flask(
            "petitions", "create", WATER,
            "--title", WATER_TITLE,
            "--target", "The ministry",
            "--milestone", "500:Five hundred",
            "--open",
        )  # fmt: skip
        # Nobody signs this one: its count stays put for the tests in other languages.
        server.flask(
            "petitions", "create", TREES,
            "--title", TREES_TITLE,
            "--target", "The council",
            "--milestone", "1000:A thousand trees",
            "--milestone", "2000:Two thousand trees",
            "--open",
        )  # fmt: skip
        set_offline_count(server, SPEAK, 1234)
        set_offline_count(server, WATER, 12345)
        set_offline_count(server, TREES, 1234)
        yield server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def partner(server, tmp_path_factory):
    """The partner's own site: static pages that embed the widget, on another origin."""
    folder = tmp_path_factory.mktemp("partner")
    fields = {
        "app": server.url,
        "speak": SPEAK,
        "speak_title": SPEAK_TITLE,
        "water": WATER,
        "trees": TREES,
        "missing": MISSING,
        "poll": POLL_SECONDS,
    }
    pages = {
        "partner.html": PARTNER_PAGE,
        "missing.html": MISSING_PAGE,
        "russian.html": RUSSIAN_PAGE,
        "languages.html": LANGUAGES_PAGE,
        "no-language.html": NO_LANGUAGE_PAGE,
    }
    for name, page in pages.items():
        (folder / name).write_text(page.format(**fields), encoding="utf-8")
    with static_site(folder) as url:
        yield url


@contextlib.contextmanager
def static_site(folder):
    """A partner's site: the folder's files over HTTP on another loopback address; its URL."""
    host = loopback_host()
    handler = functools.partial(QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer((host, free_port_on(host)), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def free_port_on(host):
    if host == "127.0.0.1":
        return free_port()
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Tab:
    """A page in a fresh context that records errors and the requests it makes to the app."""

    def __init__(self, browser, app_url, locale="en-US"):
        self.app_url = app_url
        self.context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors = []
        self.requests = []  # (frame: "page" or "iframe", path) of every request to the app
        self.urls = []  # and their full URLs
        self.in_flight = {}
        self.most_in_flight = {}
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("console", self.on_console)
        self.page.on("request", self.on_request)
        self.page.on("requestfinished", self.on_done)
        self.page.on("requestfailed", self.on_done)

    def on_console(self, message):
        if message.type == "error":
            self.errors.append(f"console error at {message.location}: {message.text}")

    def key(self, request):
        if not request.url.startswith(self.app_url + "/"):
            return None
        frame = "page" if request.frame.parent_frame is None else "iframe"
        return frame, urllib.parse.urlsplit(request.url).path

    def on_request(self, request):
        key = self.key(request)
        if key is None:
            return
        self.requests.append(key)
        self.urls.append(request.url)
        petition = slug_of(key[1])
        if petition:
            slot = (key[0], petition)
            self.in_flight[slot] = self.in_flight.get(slot, 0) + 1
            self.most_in_flight[slot] = max(self.most_in_flight.get(slot, 0), self.in_flight[slot])

    def on_done(self, request):
        key = self.key(request)
        petition = key and slug_of(key[1])
        if petition:
            self.in_flight[key[0], petition] -= 1

    def wait_for(self, check, timeout, what):
        """wait_until, letting Playwright deliver events meanwhile (its sync API only does
        that inside its own calls, not during time.sleep)."""
        return wait_until(
            lambda: self.page.wait_for_timeout(50) or check(), timeout, interval=0, what=what
        )

    def paths(self, frame):
        return [path for f, path in self.requests if f == frame]

    def widget(self, selector, frame=None):
        """The shadow root's content of a widget (Playwright's CSS pierces open shadow roots)."""
        scope = self.page.frame_locator(frame) if frame else self.page
        return scope.locator(selector)


def slug_of(path):
    found = re.fullmatch(r"/api/petitions/([^/]+)(?:/count)?", path)
    return found and found.group(1)


@pytest.fixture
def tab(browser, server):
    tab = Tab(browser, server.url)
    yield tab
    tab.context.close()


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)


def sign_link(locator):
    """A sign link's address and its query, which may come in any order."""
    href = locator.get_attribute("href")
    parts = urllib.parse.urlsplit(href)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", dict(urllib.parse.parse_qsl(parts.query))


def count_of(locator):
    value = locator.locator("[data-signature-count]").get_attribute("data-signature-count")
    return int(value)


# --- signing through HTTP, as a supporter elsewhere would ------------------------------------


def form_token(opener, url):
    with opener.open(url, timeout=10) as response:
        html = response.read().decode()
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def post(opener, url, fields):
    data = urllib.parse.urlencode(fields).encode()
    with opener.open(url, data=data, timeout=10) as response:
        assert response.status == 200, f"{url}: {response.status}"
        return response.read().decode()


def confirm_link(server, email):
    for mail in reversed(server.mails()):
        if mail["To"] == email:
            body = mail.get_body(preferencelist=("plain",)).get_content()
            found = re.search(r"https?://\S+/confirm/[A-Za-z0-9_-]+", body)
            assert found, f"no confirm link in:\n{body}"
            return found.group(0)
    return None


def sign_and_confirm(server, slug, email):
    """Sign and confirm over plain HTTP with a cookie jar; return when the POST confirmed."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    petition_url = f"{server.url}/petitions/{slug}"
    fields = {
        "name": "Partner Reader",
        "email": email,
        "country": "IE",
        "csrf_token": form_token(opener, petition_url),
    }
    post(opener, f"{petition_url}/sign", fields)  # 303 to the "check your inbox" page
    link = wait_until(lambda: confirm_link(server, email), timeout=15, what=f"the mail to {email}")
    html = post(opener, link, {"csrf_token": form_token(opener, link)})
    assert "Thank you" in html


# --- the tests -------------------------------------------------------------------------------


def test_partner_page_shows_the_live_count_in_script_and_iframe(server, partner, tab):
    from playwright.sync_api import expect

    page = tab.page
    page.goto(f"{partner}/partner.html")
    light = tab.widget("#light")
    dark = tab.widget("#dark")
    water = tab.widget("#water")
    framed = tab.widget("[data-petition]", frame="iframe")
    for widget, count in ((light, 1234), (dark, 1234), (water, 12345), (framed, 1234)):
        expect(widget.locator("[data-signature-count]")).to_have_attribute(
            "data-signature-count", str(count)
        )

    expect(light.locator(".t")).to_have_text(SPEAK_TITLE)
    expect(light.locator(".n")).to_have_text("1,234")
    expect(light.locator(".g")).to_have_text("766 more to reach “Deliver to the IOC”")
    expect(water.locator(".n")).to_have_text("12,345")
    expect(water.locator(".g")).to_have_text("Next goal: 20,000 signatures")
    bar = light.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuemin", "0")
    expect(bar).to_have_attribute("aria-valuemax", "2000")
    expect(bar).to_have_attribute("aria-valuenow", "1234")
    expect(bar).to_have_attribute("aria-label", "Progress toward 2,000 signatures")
    assert light.locator(".f").evaluate("e => e.style.width") == "61.7%"

    # Each widget lives in an open shadow root, untouched by the partner's CSS.
    assert page.evaluate("document.getElementById('light').shadowRoot !== null")
    style = light.locator(".n").evaluate(
        "e => { const s = getComputedStyle(e); return [s.color, s.fontSize, s.textTransform]; }"
    )
    assert style == ["rgb(29, 29, 31)", "31.5px", "none"]
    dark_bg = dark.locator(".c").evaluate("e => getComputedStyle(e).backgroundColor")
    assert dark_bg == "rgb(30, 28, 34)"

    # The sign links: to the petition, tagged with where the reader came from.
    petition_url = f"{server.url}/petitions/{SPEAK}"
    host = urllib.parse.urlsplit(partner).hostname
    link = light.get_by_role("link", name="Sign the petition")
    assert sign_link(link) == (petition_url, {"source": host, "lang": "en"})
    assert link.get_attribute("target") is None, "on the partner page the link stays in the tab"
    assert sign_link(dark.get_by_role("link")) == (
        petition_url,
        {"source": "newsletter", "lang": "en"},
    )
    framed_link = framed.get_by_role("link", name="Sign the petition")
    # In the iframe the partner is the page around it, not our own host.
    expect(framed_link).to_have_attribute("href", re.compile(r"source="))
    assert sign_link(framed_link) == (petition_url, {"source": host, "lang": "en"})
    expect(framed_link).to_have_attribute("target", "_blank")
    expect(framed_link).to_have_attribute("rel", "noopener")

    # The initial load: one script, one detail request per distinct petition, however many
    # widgets show it; the iframe is its own page and loads its own.
    loaded = [p for p in tab.paths("page") if not p.endswith("/count")]
    assert sorted(loaded) == sorted(
        ["/embed/widget.js", f"/api/petitions/{SPEAK}", f"/api/petitions/{WATER}"]
    )
    framed_loaded = [p for p in tab.paths("iframe") if not p.endswith("/count")]
    assert sorted(framed_loaded) == sorted(
        [f"/embed/{SPEAK}", "/embed/widget.js", f"/api/petitions/{SPEAK}"]
    )
    screenshot(page, "partner-page-before.png")

    # A supporter elsewhere signs and confirms; the widgets catch up without a reload.
    sign_and_confirm(server, SPEAK, "partner.reader@example.org")
    confirmed = time.monotonic()

    def caught_up():
        return all(count_of(w) == 1235 for w in (light, dark, framed))

    wait_until(caught_up, timeout=FRESH_WITHIN, interval=0.1, what="the widgets to show 1235")
    took = time.monotonic() - confirmed
    assert took < FRESH_WITHIN
    expect(light.locator(".n")).to_have_text("1,235")
    expect(light.locator(".g")).to_have_text("765 more to reach “Deliver to the IOC”")
    expect(light.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "1235")
    expect(light.locator("[aria-live=polite]")).to_have_text("1,235 signatures")
    expect(framed.locator(".n")).to_have_text("1,235")
    assert count_of(water) == 12345
    page.wait_for_timeout(700)  # let the bar's transition finish before the picture
    screenshot(page, "partner-page.png")

    # Polling: never two requests at once for one petition in one page, and only counts.
    assert tab.most_in_flight and max(tab.most_in_flight.values()) == 1, tab.most_in_flight
    assert set(tab.paths("page")) - set(loaded) == {
        f"/api/petitions/{SPEAK}/count",
        f"/api/petitions/{WATER}/count",
    }
    assert tab.errors == []


def test_count_in_the_readers_locale(browser, server, partner):
    # The page says no language: the widget speaks the browser's.
    tab = Tab(browser, server.url, locale="de-DE")
    try:
        tab.page.goto(f"{partner}/no-language.html")
        from playwright.sync_api import expect

        water = tab.widget("#water")
        expect(water.locator(".n")).to_have_text("12.345")
        expect(water.locator(".g")).to_have_text("Nächstes Ziel: 20.000 Unterschriften")
        expect(water.locator(".c")).to_have_attribute("lang", "de")
        assert tab.errors == []
    finally:
        tab.context.close()
    # On an English page the same reader gets English, numbers included.
    tab = Tab(browser, server.url, locale="de-DE")
    try:
        tab.page.goto(f"{partner}/partner.html")
        from playwright.sync_api import expect

        water = tab.widget("#water")
        expect(water.locator(".n")).to_have_text("12,345")
        expect(water.locator(".g")).to_have_text("Next goal: 20,000 signatures")
        assert "/embed/locales/de.json" not in tab.paths("page")
        assert tab.errors == []
    finally:
        tab.context.close()


def test_polls_slow_down_while_the_tab_is_hidden(server, partner, tab):
    from playwright.sync_api import expect

    page = tab.page
    page.goto(f"{partner}/partner.html")
    expect(tab.widget("#water").locator(".n")).to_have_text("12,345")
    counts = f"/api/petitions/{WATER}/count"

    def polls():
        return tab.paths("page").count(counts)

    tab.wait_for(lambda: polls() >= 2, timeout=5, what="the widget to poll")
    page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", {value: true, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    hidden_at = polls()
    page.wait_for_timeout(3 * POLL_SECONDS * 1000)
    # At most the one already under way; the next waits six intervals.
    assert polls() <= hidden_at + 1, "a hidden tab polls six times less often"
    before = polls()
    page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", {value: false, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    tab.wait_for(lambda: polls() > before, timeout=2, what="a poll on becoming visible")
    assert tab.errors == []


def test_unknown_petition_shows_a_neutral_note(server, partner, tab):
    from playwright.sync_api import expect

    page = tab.page
    page.goto(f"{partner}/missing.html")
    expect(tab.widget("[data-petition]").locator(".m")).to_have_text(
        "This petition is not available."
    )
    page.wait_for_timeout(2500)  # longer than two poll intervals
    assert tab.paths("page") == ["/embed/widget.js", f"/api/petitions/{MISSING}"]
    screenshot(page, "partner-missing.png")
    # Chromium logs the 404 response itself; nothing else may reach the console.
    assert [e for e in tab.errors if "status of 404" not in e] == []
    assert len(tab.errors) <= 1


def test_iframe_page_alone_obeys_its_csp(server, tab):
    from playwright.sync_api import expect

    page = tab.page
    page.goto(f"{server.url}/embed/{SPEAK}")
    expect(page.locator(".n")).to_have_text(re.compile(r"^1,23\d$"))
    background = page.locator(".c").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(255, 255, 255)", "styles apply under style-src 'self'"
    screenshot(page, "embed-frame.png")
    assert tab.errors == [], "a CSP violation would show as a console error"


# --- other languages ---------------------------------------------------------------------------


def intl_number(page, locale, n):
    """n as the browser's own Intl formats it in locale (what the widget must show)."""
    return page.evaluate("([locale, n]) => new Intl.NumberFormat(locale).format(n)", [locale, n])


def bar_edges(widget):
    """The left and right edges of the progress bar and of its fill, in CSS pixels."""
    return widget.locator(".f").evaluate(
        """f => {
            const fill = f.getBoundingClientRect(), bar = f.parentElement.getBoundingClientRect();
            return {fill: [fill.left, fill.right], bar: [bar.left, bar.right]};
        }"""
    )


def filled(tab, widget, share):
    """The edges once the fill has grown (it transitions) to share of the bar."""

    def done():
        edges = bar_edges(widget)
        width = edges["fill"][1] - edges["fill"][0]
        full = edges["bar"][1] - edges["bar"][0]
        return edges if full > 0 and abs(width - share * full) < 1 else None

    return tab.wait_for(done, timeout=5, what="the progress bar to fill")


def screenshots(page, name):
    """The page at desktop and at phone width, for a person to look at."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 800})
        screenshot(page, f"widget-{name}-{width}.png")


def test_a_russian_page_gets_russian_words_plurals_and_numbers(server, partner, tab):
    from playwright.sync_api import expect

    page = tab.page
    page.goto(f"{partner}/russian.html")
    trees = tab.widget("#trees")
    water = tab.widget("#water")
    expect(trees.locator("[data-signature-count]")).to_have_attribute(
        "data-signature-count", "1234"
    )

    def ru(n):
        return intl_number(page, "ru", n)

    assert re.fullmatch("1[\u00a0\u202f]234", ru(1234)), "thousands apart by a no-break space"
    expect(trees.locator(".n")).to_have_text(ru(1234))
    # 1 234 is "few" in Russian, 766 and 12 345 "many": each gets its own form.
    expect(trees.locator(".l")).to_have_text(f"{ru(1234)} подписи")
    expect(trees.locator(".g")).to_have_text(f"Ещё {ru(766)} подписей до цели «Two thousand trees»")
    expect(trees.get_by_role("progressbar")).to_have_attribute(
        "aria-label", f"Сбор подписей, цель — {ru(2000)} подписей"
    )
    expect(water.locator(".l")).to_have_text(f"{ru(12345)} подписей")
    expect(water.locator(".g")).to_have_text(f"Следующая цель — {ru(20000)} подписей")
    card = trees.locator(".c")
    expect(card).to_have_attribute("lang", "ru")
    expect(card).to_have_attribute("dir", "ltr")

    # The sign link and the API calls carry the language; one file of words for all widgets.
    host = urllib.parse.urlsplit(partner).hostname
    assert sign_link(trees.get_by_role("link", name="Подписать петицию")) == (
        f"{server.url}/petitions/{TREES}",
        {"source": host, "lang": "ru"},
    )
    details = [
        u for u in tab.urls if "/api/" in u and not urllib.parse.urlsplit(u).path.endswith("/count")
    ]
    assert sorted(details) == sorted(
        [
            f"{server.url}/api/petitions/{TREES}?lang=ru",
            f"{server.url}/api/petitions/{WATER}?lang=ru",
        ]
    )
    assert tab.paths("page").count("/embed/locales/ru.json") == 1
    filled(tab, trees, 1234 / 2000)
    screenshots(page, "ru")
    assert tab.errors == []


def test_the_divs_language_arabic_right_to_left_german_and_an_unknown_one(server, partner, tab):
    from playwright.sync_api import expect

    page = tab.page
    page.goto(f"{partner}/languages.html")
    arabic = tab.widget("#ar")
    expect(arabic.locator("[data-signature-count]")).to_have_attribute(
        "data-signature-count", "1234"
    )

    def ar(n):
        return intl_number(page, "ar", n)

    # Whatever digits the browser's Intl gives Arabic, the widget gives the same.
    expect(arabic.locator(".n")).to_have_text(ar(1234))
    expect(arabic.locator(".l")).to_have_text(f"{ar(1234)} توقيعًا")
    expect(arabic.locator(".g")).to_have_text(
        f"يتبقى {ar(766)} توقيعًا للوصول إلى «Two thousand trees»"
    )
    expect(arabic.get_by_role("link")).to_have_text("وقّع العريضة")
    expect(tab.widget("#ar-dark").locator(".l")).to_have_text(f"{ar(12345)} توقيعًا")
    card = arabic.locator(".c")
    expect(card).to_have_attribute("dir", "rtl")
    expect(card).to_have_attribute("lang", "ar")
    assert card.evaluate("e => getComputedStyle(e).direction") == "rtl"
    # Right to left, the bar fills from the right: its fill is flush with the bar's right edge.
    edges = filled(tab, arabic, 1234 / 2000)
    assert abs(edges["fill"][1] - edges["bar"][1]) < 0.5, edges
    assert edges["fill"][0] > edges["bar"][0] + 50, edges

    # data-lang="de-DE" is German.
    german = tab.widget("#de")
    expect(german.locator(".n")).to_have_text("12.345")
    expect(german.locator(".g")).to_have_text("Nächstes Ziel: 20.000 Unterschriften")
    expect(german.get_by_role("link")).to_have_text("Petition unterschreiben")

    # A language the widget has no words for is English, left to right, filling from the left.
    unknown = tab.widget("#xx")
    expect(unknown.locator(".n")).to_have_text("1,234")
    expect(unknown.locator(".g")).to_have_text("766 more to reach “Two thousand trees”")
    expect(unknown.locator(".c")).to_have_attribute("lang", "en")
    expect(unknown.locator(".c")).to_have_attribute("dir", "ltr")
    host = urllib.parse.urlsplit(partner).hostname
    assert sign_link(unknown.get_by_role("link", name="Sign the petition")) == (
        f"{server.url}/petitions/{TREES}",
        {"source": host, "lang": "en"},
    )
    edges = filled(tab, unknown, 1234 / 2000)
    assert abs(edges["fill"][0] - edges["bar"][0]) < 0.5, edges

    # One file per language asked for, none for English.
    locales = sorted(p for p in tab.paths("page") if p.startswith("/embed/locales/"))
    assert locales == ["/embed/locales/ar.json", "/embed/locales/de.json"]
    screenshots(page, "ar")
    assert tab.errors == []


def test_the_arabic_iframe_page_gets_its_words_under_its_csp(server, tab):
    from playwright.sync_api import expect

    page = tab.page
    page.goto(f"{server.url}/embed/{TREES}?lang=ar")
    expect(page.locator(".l")).to_have_text(f"{intl_number(page, 'ar', 1234)} توقيعًا")
    expect(page.locator(".c")).to_have_attribute("dir", "rtl")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert tab.errors == [], "the words come from our own origin, which the CSP allows"
