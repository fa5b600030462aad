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
        set_offline_count(server, SPEAK, 1234)
        set_offline_count(server, WATER, 12345)
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
        "missing": MISSING,
        "poll": POLL_SECONDS,
    }
    (folder / "partner.html").write_text(PARTNER_PAGE.format(**fields), encoding="utf-8")
    (folder / "missing.html").write_text(MISSING_PAGE.format(**fields), encoding="utf-8")
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
    expect(link).to_have_attribute("href", f"{petition_url}?source={host}")
    assert link.get_attribute("target") is None, "on the partner page the link stays in the tab"
    expect(dark.get_by_role("link")).to_have_attribute("href", f"{petition_url}?source=newsletter")
    framed_link = framed.get_by_role("link", name="Sign the petition")
    # In the iframe the partner is the page around it, not our own host.
    expect(framed_link).to_have_attribute("href", f"{petition_url}?source={host}")
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
    tab = Tab(browser, server.url, locale="de-DE")
    try:
        tab.page.goto(f"{partner}/partner.html")
        from playwright.sync_api import expect

        water = tab.widget("#water")
        expect(water.locator(".n")).to_have_text("12.345")
        expect(water.locator(".g")).to_have_text("Next goal: 20.000 signatures")
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
