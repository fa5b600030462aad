"""Markup and formula payloads in every field a supporter or staff member controls: escaped on
every page, well-formed in the SVG badge, literal in the JSON and the mail, neutralised in the
CSV, printed literally in the PDF, inert in the widget in a real browser.

The forms refuse some payloads outright (markup and controls in a name, controls in a title);
there the re-rendered form must still be safe. Rows inserted straight into the database carry
every payload in every field, as data from an older version or another import path might.
"""

import csv
import email
import html
import io
import json
import re
import subprocess
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from markupsafe import escape
from sqlalchemy import select

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.mail import outbox as mail
from petition.mail.models import OutboxMessage
from petition.petitions.models import Petition, Signature
from petition.staff import auth
from tests.helpers import STAFF_PASSWORD as PASSWORD
from tests.helpers import csrf_token, link, normal
from tests.helpers import staff_login as login
from tests.services import require_tool

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</title><svg onload=alert(1)>",
    "{{7*7}}",
    "${7*7}",
    "javascript:alert(1)",
    '=HYPERLINK("http://x","y")',
    "+SUM(1,1)",
    "-1+1",
    "@SUM(1)",
    "\t=1",
    "\r=1",
    "\u202eevil",
]
IDS = [f"p{i}" for i in range(len(PAYLOADS))]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SLUG = "p"


class Tags(HTMLParser):
    """Every tag and attribute of a page, as a browser's tokenizer would see them."""

    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_safe(page, shown=None, where=""):
    """No markup from data on the page: only our own scripts, no event handlers; `shown` (the
    text as stored) appears escaped."""
    for tag, attrs in Tags(page).tags:
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"{where}: <{tag} {handlers}> on the page"
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/") or attrs.get("src") == (
                "/embed/widget.js"
            ), f"{where}: a script that is not ours: {attrs}"
        assert tag not in ("svg", "img") or attrs.get("src") != "x", where
    assert "<script>alert" not in page and "<img src=x" not in page, where
    assert "<svg onload" not in page, where
    if shown is not None:
        assert str(escape(shown)) in page, f"{where}: {shown!r} not shown escaped"


def one_line(payload):
    """A title, target or label as the forms store it, or None where they refuse it."""
    if any(ord(ch) < 32 or ch == "\u202e" for ch in payload):
        return None
    return payload.strip()


def multi_line(payload):
    """A text or cover letter as the form stores them, or None where it refuses."""
    if "\u202e" in payload:
        return None
    return payload.replace("\r\n", "\n").replace("\r", "\n")


def staff_client(app, client, role="admin"):
    with app.app_context():
        auth.create_staff(f"{role}@example.org", PASSWORD, role)
        db.session.commit()
    assert login(client, f"{role}@example.org").status_code == 303
    return client


def post(client, path, form_path=None, **data):
    token = csrf_token(client, form_path or path)
    return client.post(path, data={**data, "csrf_token": token})


def mails(app):
    with app.app_context():
        return db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()


# --- fields staff control ---------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_staff_fields_are_escaped_everywhere(app, client, payload):
    staff_client(app, client)
    every_field = {
        "slug": SLUG,
        "title": payload,
        "target": payload,
        "text": payload,
        "cover_letter": payload,
        "milestones": f"100: {payload}",
        "offline_count": "0",
        "hashtag": payload,
    }
    # No payload is a hashtag: the form comes back, every value escaped in it.
    refused = post(client, "/staff/petitions/new", **every_field)
    assert refused.status_code == 400
    assert_safe(refused.get_data(as_text=True), shown=payload.strip(), where="refused form")

    line = one_line(payload)
    title = line if line else "Safe title"
    label = line if line else "A hundred"
    text = multi_line(payload) or "Safe text"
    created = post(
        client,
        "/staff/petitions/new",
        **{
            **every_field,
            "title": title,
            "target": title,
            "text": text,
            "cover_letter": text,
            "milestones": f"100: {label}",
            "hashtag": "#Tag",
        },
    )
    assert created.status_code == 303, created.get_data(as_text=True)
    assert (
        post(client, f"/staff/petitions/{SLUG}/open", f"/staff/petitions/{SLUG}").status_code == 303
    )

    supporter = app.test_client()
    signed = post(
        supporter,
        f"/petitions/{SLUG}/sign",
        f"/petitions/{SLUG}",
        name="Ana Souza",
        email="ana@example.org",
        country="BR",
    )
    assert signed.status_code == 303
    (confirmation,) = mails(app)
    # A text mail: the title as it is, never HTML-escaped; the subject one line.
    assert (
        title in confirmation.body
        and str(escape(title)) not in confirmation.body
        or (title == str(escape(title)))
    )
    assert "\r" not in confirmation.subject and "\n" not in confirmation.subject

    public = {
        "index": (supporter, "/"),
        "petition": (supporter, f"/petitions/{SLUG}"),
        "signed": (supporter, f"/petitions/{SLUG}/signed"),
        "confirm": (supporter, link(confirmation.body, "confirm")),
        "withdraw": (supporter, link(confirmation.body, "withdraw")),
        "staff list": (client, "/staff/"),
        "dashboard": (client, f"/staff/petitions/{SLUG}"),
        "edit": (client, f"/staff/petitions/{SLUG}/edit"),
        "signatures": (client, f"/staff/petitions/{SLUG}/signatures"),
        "deliveries": (client, f"/staff/petitions/{SLUG}/deliveries"),
        "import": (client, f"/staff/petitions/{SLUG}/import"),
        "audit": (client, "/staff/audit"),
    }
    for where, (who, path) in public.items():
        response = who.get(path)
        assert response.status_code == 200, where
        assert_safe(response.get_data(as_text=True), shown=title, where=where)
    # Markdown text and the cover letter, and labels where they show.
    petition_page = supporter.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert str(escape(label)) in petition_page
    assert_safe(supporter.get(f"/petitions/{SLUG}").get_data(as_text=True))
    edit = client.get(f"/staff/petitions/{SLUG}/edit").get_data(as_text=True)
    assert str(escape(text.strip())) in edit, "text and cover letter in the edit form"

    # The iframe page carries the title in <title> only, escaped.
    frame = supporter.get(f"/embed/{SLUG}")
    assert frame.status_code == 200
    assert f"<title>{escape(title)}</title>" in frame.get_data(as_text=True)
    assert_safe(frame.get_data(as_text=True), shown=title, where="embed")

    # The JSON API returns the literal strings.
    api = supporter.get(f"/api/petitions/{SLUG}").get_json()
    assert api["title"] == title and api["target"] == title
    assert api["milestones"][0]["label"] == label

    # The badge is well-formed XML whose text is the title.
    badge = supporter.get(f"/petitions/{SLUG}/badge.svg")
    assert badge.status_code == 200
    svg = ElementTree.fromstring(badge.data)
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[0] == title
    assert svg.get("aria-label").startswith(title + ":")

    # A moderation reason is staff input too: shown escaped in the list and the audit log.
    with app.app_context():
        signature_id = db.session.execute(select(Signature.id)).scalar_one()
    moderated = post(
        client,
        f"/staff/petitions/{SLUG}/signatures/{signature_id}/invalidate",
        f"/staff/petitions/{SLUG}/signatures",
        reason=payload,
    )
    assert moderated.status_code == 303
    reason = " ".join(payload.split())
    with app.app_context():
        assert db.session.get(Signature, signature_id).moderation_reason == reason
    for where, path in (
        ("signatures", f"/staff/petitions/{SLUG}/signatures?state=invalidated"),
        ("audit", "/staff/audit"),
    ):
        page = client.get(path).get_data(as_text=True)
        assert_safe(page, shown=reason, where=where)


def test_a_title_with_line_breaks_adds_no_mail_header(app, make_petition, sign, outbox):
    # The staff form refuses line breaks in a title; one stored by other means stays harmless.
    make_petition(slug="speak-out", title="Hi\r\nBcc: evil@example.org\nX-Injected: 1")
    assert sign(name="Ana\u00a0Souza").status_code == 303
    (row,) = mails(app)
    assert "\r" not in row.subject and "\n" not in row.subject
    message = email.message_from_bytes(mail.build_message(row, "petition@localhost").as_bytes())
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert message["To"] == "ana@example.org"
    assert "Bcc: evil@example.org" in message["Subject"]


# --- fields supporters control ----------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_supporter_fields_are_escaped_or_refused(app, client, make_petition, payload):
    make_petition(slug=SLUG, title="Speak out")
    landing = client.get(f"/petitions/{SLUG}?source={payload}")
    assert landing.status_code == 200
    assert_safe(landing.get_data(as_text=True), where="petition page with ?source=")
    response = post(
        client,
        f"/petitions/{SLUG}/sign",
        f"/petitions/{SLUG}",
        name=payload,
        email="ana@example.org",
        country="BR",
        city=payload,
        postcode=payload[:20],
        source=payload,
    )
    page = response.get_data(as_text=True)
    if response.status_code == 400:
        # Refused, and the input comes back escaped for the person to correct.
        assert_safe(page, shown=payload.strip(), where="refused sign form")
        assert "&lt;" in page or "control" in page
        return
    assert response.status_code == 303
    (confirmation,) = mails(app)
    assert payload not in confirmation.subject
    for where, path in (
        ("signed", f"/petitions/{SLUG}/signed"),
        ("confirm", link(confirmation.body, "confirm")),
    ):
        shown = client.get(path).get_data(as_text=True)
        assert_safe(shown, where=where)
    confirm_page = client.get(link(confirmation.body, "confirm")).get_data(as_text=True)
    assert str(escape(payload.strip())) in confirm_page, "the name, literally"
    assert "Signing as 49" not in confirm_page
    with app.app_context():
        stored = db.session.execute(select(Signature)).scalar_one()
        assert stored.name == payload.strip() and stored.city == payload.strip()


# --- stored rows: staff pages, CSV, PDF -------------------------------------------------------


@pytest.fixture
def stored(app, make_petition):
    """One confirmed signature per payload, in every field, straight into the database."""
    from petition.petitions import counting

    petition_id = make_petition(slug=SLUG, milestones=((5, "Five"),))
    now = utcnow()
    with app.app_context():
        for i, payload in enumerate(PAYLOADS):
            address = f"signer{i}@example.org"
            db.session.add(
                Signature(
                    petition_id=petition_id,
                    name=payload,
                    email=address,
                    canonical_email=address,
                    country="FR",
                    city=payload,
                    postcode=payload[:20],
                    source=payload,
                    state="confirmed",
                    created_at=now,
                    confirmed_at=now,
                    mail_count=1,
                    mail_window_start=now,
                )
            )
        db.session.flush()
        counting.recount(db.session.get(Petition, petition_id))
        db.session.commit()
    return petition_id


def test_stored_payloads_are_escaped_on_staff_pages(app, client, stored):
    staff_client(app, client, "campaigner")
    listing = client.get(f"/staff/petitions/{SLUG}/signatures?per_page=50")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    for payload in PAYLOADS:
        assert_safe(page, shown=payload, where="signatures")
    dashboard = client.get(f"/staff/petitions/{SLUG}").get_data(as_text=True)
    assert_safe(dashboard, where="dashboard")
    # The top sources, each exactly as stored once the page's escaping is undone.
    table = re.search(r'<table class="sources">(.*?)</table>', dashboard, re.S).group(1)
    sources = [html.unescape(cell) for cell in re.findall(r"<tr><td>(.*?)</td>", table, re.S)]
    assert sources and all(source in PAYLOADS for source in sources), sources


def test_csv_export_neutralises_formulas_and_keeps_the_rest(app, client, stored):
    staff_client(app, client, "campaigner")
    export = client.get(f"/staff/petitions/{SLUG}/signatures.csv")
    assert export.status_code == 200
    text = export.get_data(as_text=True).removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(PAYLOADS)
    by_email = {row["email"]: row for row in rows}
    for i, payload in enumerate(PAYLOADS):
        row = by_email[f"signer{i}@example.org"]
        for column, value in (("name", payload), ("city", payload), ("postcode", payload[:20])):
            if value.lstrip().startswith(FORMULA_STARTS) or value.startswith(FORMULA_STARTS):
                # Shown as text by every spreadsheet: a leading apostrophe, the value intact.
                assert row[column] == "'" + value, (column, value)
            else:
                assert row[column] == value, (column, value)
        assert not row["source"].startswith(FORMULA_STARTS)


def test_pdf_prints_every_payload_literally(app, stored, tmp_path):
    require_tool("pdftotext", "poppler-utils")
    out = tmp_path / "bundle.pdf"
    result = app.test_cli_runner().invoke(args=["delivery", "pdf", SLUG, "--out", str(out)])
    assert result.exit_code == 0, result.output
    extracted = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    printed = normal(extracted)
    for payload in PAYLOADS:
        if "\u202e" in payload:
            # The override is honoured, as a browser does: printed right to left. Names with
            # one can no longer be signed or imported (forms.BIDI_CONTROLS).
            assert normal(payload)[::-1] in printed
            continue
        assert normal(payload) in printed, f"{payload!r} not printed literally"


# --- the widget in a real browser --------------------------------------------------------------

XSS_TITLE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>&amp; "q"'
PARTNER = """<!doctype html><html><head><meta charset="utf-8"><title>Partner</title></head>
<body><div id="w" data-petition="speak-out"></div>
<script src="http://app.test/embed/widget.js"></script></body></html>"""


@pytest.mark.browser
def test_widget_and_pages_show_a_markup_title_as_text_in_chromium(app, browser, make_petition):
    make_petition(title=XSS_TITLE)
    client = app.test_client()

    def serve(route):
        """Answer the browser's requests to app.test from the app itself."""
        request = route.request
        path = request.url.removeprefix("http://app.test")
        response = client.open(path, method=request.method, headers=request.headers)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        body = response.get_data()
        response.close()  # static files are streamed from an open file
        route.fulfill(status=response.status_code, headers=headers, body=body)

    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route("http://app.test/**", serve)
    page.route("http://partner.test/", lambda r: r.fulfill(content_type="text/html", body=PARTNER))
    try:
        page.goto("http://partner.test/")
        title = page.locator("#w .t")
        title.wait_for()
        page.wait_for_function(
            "() => document.querySelector('#w').shadowRoot.querySelector('.t').textContent !== ''"
        )
        assert title.text_content() == XSS_TITLE
        assert page.evaluate("typeof window.__xss") == "undefined"

        page.goto("http://app.test/embed/speak-out")
        page.locator(".t").wait_for()
        page.wait_for_function(
            "() => document.querySelector('[data-petition]').shadowRoot"
            ".querySelector('.t').textContent !== ''"
        )
        assert page.title() == XSS_TITLE
        assert page.locator(".t").text_content() == XSS_TITLE
        assert page.evaluate("typeof window.__xss") == "undefined"

        page.goto("http://app.test/petitions/speak-out")
        assert page.locator("h1").text_content() == XSS_TITLE
        assert page.evaluate("typeof window.__xss") == "undefined"
    finally:
        context.close()
    assert errors == []


def test_json_keeps_payloads_literal(client, make_petition):
    make_petition(title=PAYLOADS[0], target=PAYLOADS[1], milestones=((10, PAYLOADS[2]),))
    body = client.get("/api/petitions/speak-out")
    data = json.loads(body.data)
    assert data["title"] == PAYLOADS[0] and data["target"] == PAYLOADS[1]
    assert data["milestones"][0]["label"] == PAYLOADS[2]
    listing = client.get("/api/petitions").get_json()
    assert any(p["title"] == PAYLOADS[0] for p in listing["petitions"])
