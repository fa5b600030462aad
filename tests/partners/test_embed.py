"""The embed as partner sites load it: the widget script, and the widget as an iframe page."""

import re

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
