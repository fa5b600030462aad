"""The security headers on every kind of page, over HTTP and over HTTPS.

A new kind of page is one line in KINDS: how to fetch it, its status, and what it is.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.helpers import csrf_token, link

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app_config():
    # HSTS on, as in production, to check it is sent over HTTPS only; tight limits, to reach 429.
    return {"HSTS": True, "CONFIRM_LIMIT": "6 per minute", "API_LIMIT": "8 per minute"}


class Site:
    """A petition with one pending signature and its links; a staff member on request."""

    def __init__(self, app, client, outbox, base):
        self.app, self.client, self.outbox, self.base = app, client, outbox, base
        self.signed = 0

    def get(self, path, **kwargs):
        return self.client.get(path, base_url=self.base, **kwargs)

    def post(self, path, data, form_page=None):
        # Over HTTPS Flask-WTF checks the Referer, as a browser on our page would send it.
        page = form_page or path
        data = {"csrf_token": csrf_token(self.client, page), **data}
        headers = {"Referer": f"{self.base}{page}"}
        return self.client.post(path, data=data, headers=headers, base_url=self.base)

    def sign(self, **fields):
        self.signed += 1
        data = {"name": "Ana", "email": f"ana{self.signed}@example.org", "country": "BR"}
        return self.post("/petitions/speak-out/sign", {**data, **fields}, "/petitions/speak-out")

    def mail_link(self, kind):
        if not self.outbox():
            assert self.sign().status_code == 303
        return link(self.outbox()[0]["body"], kind)

    def until(self, path, status, limit=20):
        """Request path until it answers status (a limit reached); bounded."""
        for _ in range(limit):
            response = self.get(path)
            if response.status_code == status:
                return response
        raise AssertionError(f"{path} never answered {status}")

    def staff(self):
        if not getattr(self, "logged_in", False):
            result = self.app.test_cli_runner().invoke(
                args=["staff", "create", "lead@example.org", "--role", "admin", "--password-stdin"],
                input=PASSWORD + "\n",
            )
            assert result.exit_code == 0, result.output
            data = {"email": "lead@example.org", "password": PASSWORD}
            assert self.post("/staff/login", data).status_code == 303
            self.logged_in = True
        return self


def api_304(site):
    etag = site.get("/api/petitions/speak-out").headers["ETag"]
    return site.get("/api/petitions/speak-out", headers={"If-None-Match": etag})


@dataclass
class Kind:
    name: str
    fetch: Callable[[Site], object]
    status: int
    html: bool = False
    framable: bool = False
    no_store: bool = False


KINDS = [
    Kind("index", lambda s: s.get("/"), 200, html=True, no_store=True),
    Kind("petition", lambda s: s.get("/petitions/speak-out"), 200, html=True, no_store=True),
    Kind("sign", lambda s: s.sign(), 303, no_store=True),
    Kind("sign invalid", lambda s: s.sign(name=""), 400, html=True, no_store=True),
    Kind(
        "sign without csrf",
        lambda s: s.client.post("/petitions/speak-out/sign", base_url=s.base),
        400,
        html=True,
    ),
    Kind(
        "sign too large",
        lambda s: s.client.post(
            "/petitions/speak-out/sign", data={"name": "x" * 100_000}, base_url=s.base
        ),
        413,
        html=True,
    ),
    Kind("signed", lambda s: s.get("/petitions/speak-out/signed"), 200, html=True, no_store=True),
    Kind("confirm", lambda s: s.get(s.mail_link("confirm")), 200, html=True, no_store=True),
    Kind(
        "confirm post",
        lambda s: s.post(s.mail_link("confirm"), {}, "/petitions/speak-out"),
        200,
        html=True,
        no_store=True,
    ),
    Kind("withdraw", lambda s: s.get(s.mail_link("withdraw")), 200, html=True, no_store=True),
    Kind("link invalid", lambda s: s.get("/confirm/nope"), 404, html=True, no_store=True),
    Kind("not found", lambda s: s.get("/no/such/page"), 404, html=True),
    Kind("rate limited", lambda s: s.until("/confirm/x", 429), 429, html=True, no_store=True),
    Kind("api", lambda s: s.get("/api/petitions/speak-out"), 200),
    Kind("api list", lambda s: s.get("/api/petitions"), 200),
    Kind("api count", lambda s: s.get("/api/petitions/speak-out/count"), 200),
    Kind("api 304", api_304, 304),
    Kind("api 404", lambda s: s.get("/api/petitions/nope"), 404),
    Kind("api 405", lambda s: s.client.post("/api/petitions", base_url=s.base), 405),
    Kind("api 429", lambda s: s.until("/api/petitions", 429), 429, no_store=True),
    Kind("badge", lambda s: s.get("/petitions/speak-out/badge.svg"), 200),
    Kind("embed frame", lambda s: s.get("/embed/speak-out"), 200, html=True, framable=True),
    Kind("embed frame 404", lambda s: s.get("/embed/nope"), 404, html=True, framable=True),
    Kind("widget.js", lambda s: s.get("/embed/widget.js"), 200),
    Kind("static css", lambda s: s.get("/static/style.css"), 200),
    Kind("static js", lambda s: s.get("/static/site.js"), 200),
    Kind("staff login", lambda s: s.get("/staff/login"), 200, html=True, no_store=True),
    Kind("staff redirect", lambda s: s.get("/staff/"), 302, no_store=True),
    Kind("staff home", lambda s: s.staff().get("/staff/"), 200, html=True, no_store=True),
    Kind(
        "staff csv",
        lambda s: s.staff().get("/staff/petitions/speak-out/signatures.csv"),
        200,
        no_store=True,
    ),
]


def directives(csp):
    return {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_security_headers(app, client, make_petition, outbox, kind, scheme):
    make_petition()
    site = Site(app, client, outbox, f"{scheme}://localhost")
    response = kind.fetch(site)
    # Read it whole (the CSV export streams) so the response is finished before we look.
    body = response.get_data(as_text=True)
    response.close()
    assert response.status_code == kind.status, body[:500]
    headers = response.headers

    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csp = directives(headers["Content-Security-Policy"])
    if kind.framable:
        assert "X-Frame-Options" not in headers
        assert csp["frame-ancestors"] == ["*"]
    else:
        assert headers["X-Frame-Options"] == "DENY"
        assert csp["frame-ancestors"] == ["'none'"]
    if kind.html:
        assert response.mimetype == "text/html"
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
        assert "'unsafe-eval'" not in headers["Content-Security-Policy"]
        assert csp["script-src"] == ["'self'"] and csp["base-uri"] == ["'none'"]
        # Nothing inline that the policy would block: no style attributes or inline scripts.
        assert not re.search(r"\sstyle=[\"']", body)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
    if kind.no_store:
        assert "no-store" in headers["Cache-Control"]
    if scheme == "https":
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    else:
        assert "Strict-Transport-Security" not in headers


@pytest.mark.parametrize("app_config", [{"HSTS": False}])
def test_no_hsts_when_turned_off_even_over_https(client, make_petition):
    make_petition()
    response = client.get("/petitions/speak-out", base_url="https://localhost")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
