"""A day of action on a partner's page in a real browser: the script fills <div data-day> with
the headline and the next events (each at its own local time), and the iframe page does too."""

import datetime as dt
import json
import urllib.request

import pytest

from tests import services
from tests.live import ROOT, live_server
from tests.partners.test_embed_browser import static_site

pytestmark = [pytest.mark.browser, pytest.mark.live]

ARTIFACTS = ROOT / "test-artifacts"
DAY = "global-speak-out"
TIMEOUT_MS = 10_000

PARTNER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partner</title><link rel="icon" href="data:,">
<style>body {{ font: 2rem Georgia, serif; }} li, a, strong {{ color: red !important; }}
iframe {{ border: 0; width: 420px; height: 420px; }}</style>
<script src="{app}/embed/widget.js" async></script></head>
<body><h1>We march too</h1>
<div id="day" data-day="{day}" data-limit="3"></div>
<div id="nope" data-day="no-such-day"></div>
<iframe src="{app}/embed/days/{day}?theme=dark&amp;limit=2" title="Speak Out"></iframe>
</body></html>
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    services.require_chromium()
    folder = tmp_path_factory.mktemp("embed-day")
    with live_server(f"sqlite:///{folder}/petition.db", folder) as server:
        server.flask("demo")
        yield server


@pytest.fixture(scope="module")
def partner(server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("partner-day")
    (folder / "index.html").write_text(
        PARTNER_PAGE.format(app=server.url, day=DAY), encoding="utf-8"
    )
    with static_site(folder) as url:
        yield url


def api(server):
    with urllib.request.urlopen(f"{server.url}/api/days/{DAY}", timeout=10) as response:
        return json.load(response)


def test_the_day_widget_and_its_iframe(server, partner, browser):
    data = api(server)
    assert data["event_count"] >= 19 and data["url"] == f"{server.url}/days/{DAY}"
    upcoming = sorted(data["events"], key=lambda e: dt.datetime.fromisoformat(e["starts_at"]))
    context = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The one 404 is the partner's typo, which the widget answers with a note; the browser
    # logs it as a console error, counted here through the responses instead.
    page.on(
        "console",
        lambda m: m.type == "error" and "status of 404" not in m.text and errors.append(m.text),
    )
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
    page.goto(partner + "/index.html")

    day = page.locator("#day")
    day.locator("[data-event-count]").wait_for()
    assert day.locator("[data-event-count]").get_attribute("data-event-count") == str(
        data["event_count"]
    )
    assert day.locator("[data-city-count]").get_attribute("data-city-count") == str(
        data["city_count"]
    )
    assert day.locator("[data-country-count]").get_attribute("data-country-count") == str(
        data["country_count"]
    )
    items = day.locator("li[data-event-id]")
    assert items.count() == 3
    for i, event in enumerate(upcoming[:3]):
        item = items.nth(i)
        assert item.get_attribute("data-event-id") == str(event["id"])
        link = item.locator("a")
        if event["details_to_come"]:
            assert "Details to come" in item.inner_text()
        assert link.inner_text() == event["title"]
        assert link.get_attribute("href") == event["url"]
    # The time is the event's own: the first event's local hour as the API gives it.
    first = upcoming[0]
    if not first["details_to_come"]:
        local = dt.datetime.fromisoformat(first["starts_at"])
        hour = local.strftime("%-I:%M")
        assert hour in items.nth(0).inner_text()
    more = day.locator("a", has_text="host an event")
    assert more.get_attribute("href") == data["url"]
    # The partner's red serif does not reach inside.
    color = items.nth(0).locator("a").evaluate("e => getComputedStyle(e).color")
    assert color != "rgb(255, 0, 0)"
    page.locator("#nope").get_by_text("This day of action is not available.").wait_for()

    frame = page.frame_locator("iframe")
    frame.locator("li[data-event-id]").first.wait_for()
    assert frame.locator("li[data-event-id]").count() == 2
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "embed-day.png", full_page=True)
    assert errors == []
    assert failed == [f"{server.url}/api/days/no-such-day?lang=en"]
    context.close()


def test_the_day_iframe_page_alone(server):
    with urllib.request.urlopen(f"{server.url}/embed/days/{DAY}", timeout=10) as response:
        assert response.status == 200
        assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
        assert response.headers.get("X-Frame-Options") is None
        assert f'data-day="{DAY}"' in response.read().decode()
    try:
        urllib.request.urlopen(f"{server.url}/embed/days/nope", timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
    else:
        pytest.fail("an unknown day's frame is not a 404")


def test_the_day_page_offers_the_embed_code(server):
    with urllib.request.urlopen(f"{server.url}/days/{DAY}", timeout=10) as response:
        html = response.read().decode()
    assert f"&lt;div data-day=&#34;{DAY}&#34;&gt;&lt;/div&gt;" in html
    assert f"{server.url}/embed/days/{DAY}" in html


LANGUAGES_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Партнёр</title><link rel="icon" href="data:,">
<style>body {{ margin: 16px; font: 16px Georgia, serif; background: #f4f1ea; }}
.row {{ display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }}
.row > div {{ width: 400px; max-width: 100%; }}</style>
<script src="{app}/embed/widget.js" async></script></head>
<body><h1>Мы тоже выходим</h1>
<div class="row">
<div id="ru" data-day="{day}" data-limit="3"></div>
<div id="ar" data-day="{day}" data-limit="3" data-lang="ar"></div>
</div>
</body></html>
"""
DATE_OPTIONS = """{weekday: "short", month: "short", day: "numeric", hour: "numeric",
    minute: "2-digit", timeZone: e.timezone, timeZoneName: "short"}"""


@pytest.fixture(scope="module")
def languages_partner(server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("partner-day-languages")
    (folder / "index.html").write_text(
        LANGUAGES_PAGE.format(app=server.url, day=DAY), encoding="utf-8"
    )
    with static_site(folder) as url:
        yield url


def headline(page, code, data):
    """The day's headline in a language, from its file and the browser's plural rules."""
    words = json.loads((ROOT / f"petition/static/embed/locales/{code}.json").read_text("utf-8"))

    def part(key, n):
        value = words[key]
        if isinstance(value, dict):
            value = value[page.evaluate("([c, n]) => new Intl.PluralRules(c).select(n)", [code, n])]
        number = page.evaluate("([c, n]) => new Intl.NumberFormat(c).format(n)", [code, n])
        return value.replace("{n}", number)

    return (
        words["day"]
        .replace("{events}", part("events", data["event_count"]))
        .replace("{cities}", part("cities", data["city_count"]))
        .replace("{countries}", part("countries", data["country_count"]))
    )


def test_the_day_widget_in_russian_and_arabic(server, languages_partner, browser):
    data = api(server)
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    asked = []
    page.on("request", lambda r: r.url.startswith(server.url) and asked.append(r.url))
    page.goto(languages_partner + "/index.html")

    russian = page.locator("#ru")
    arabic = page.locator("#ar")
    for card in (russian, arabic):
        card.locator("li[data-event-id]").first.wait_for()
        assert card.locator("[data-event-count]").get_attribute("data-event-count") == str(
            data["event_count"]
        )
    assert russian.locator(".h").inner_text() == headline(page, "ru", data)
    assert arabic.locator(".h").inner_text() == headline(page, "ar", data)
    assert russian.locator(".c").get_attribute("lang") == "ru"
    assert arabic.locator(".c").get_attribute("dir") == "rtl"
    assert (
        russian.locator("a", has_text="Найти акцию или провести свою").get_attribute("href")
        == data["url"]
    )
    assert arabic.locator("a", has_text="ابحث عن فعالية أو نظّم واحدة").count() == 1

    # Times and countries in the card's language: the browser's own Intl, asked the same way.
    shown = russian.locator("li[data-event-id]")
    for i in range(shown.count()):
        item = shown.nth(i)
        event = next(
            e for e in data["events"] if str(e["id"]) == item.get_attribute("data-event-id")
        )
        line = item.locator(".w").inner_text()
        if event["mode"] == "online":
            assert line.startswith("Онлайн")
        elif event["country"]:
            country = page.evaluate(
                "c => new Intl.DisplayNames(['ru'], {type: 'region'}).of(c)", event["country"]
            )
            assert country in line
        if event["details_to_come"]:
            assert line.endswith("Подробности позже")
        else:
            when = page.evaluate(
                f"e => new Intl.DateTimeFormat('ru', {DATE_OPTIONS}).format(new Date(e.starts_at))",
                event,
            )
            assert line.endswith(when)

    day_calls = sorted(u for u in asked if "/api/days/" in u)
    assert day_calls == [
        f"{server.url}/api/days/{DAY}?lang=ar",
        f"{server.url}/api/days/{DAY}?lang=ru",
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=ARTIFACTS / f"widget-day-{width}.png", full_page=True)
    assert errors == []
    context.close()
