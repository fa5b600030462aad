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
