"""Property tests: whatever arrives in a form field, a query parameter, a path segment, a header
or a raw body, the answer is a sane status (never a 500, never a 200 where a 400 is due).

Hypothesis draws the inputs (profile in tests/conftest.py); each test runs many examples against
one app, so examples share the database: the properties hold whatever earlier examples stored.
"""

import csv
import io
import unicodedata
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from petition.core.db import MAX_ID
from petition.core.extensions import db
from petition.core.forms import FORM_TYPES
from petition.staff import auth
from tests.helpers import STAFF_PASSWORD as PASSWORD
from tests.helpers import csrf_token
from tests.helpers import staff_login as login

SLUG = "speak-out"
MAX_BODY = 64 * 1024

# Inputs people and bots really send, that random text rarely hits on its own.
NASTY = [
    "",
    " ",
    "\x00",
    "Ana\x00Souza",
    "\u202eevil",
    "\u200fAna",
    "\u0301",  # a combining mark with nothing to combine with
    "\u0301\u0301\u0301Ana",
    "\ufeff",
    "\ufffd",
    "\uffff",
    "\U0010ffff",
    "e\u0301",  # not NFC
    "\u2028line\u2029",
    "\r\n",
    "\t",
    "\x1b[31m",
    "%00",
    "%FF",
    "../../etc/passwd",
    "..",
    ".",
    "/",
    "//evil.example",
    "\\\\evil.example",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    "${7*7}",
    "' OR 1=1 --",
    "%_",
    '=HYPERLINK("http://x","y")',
    "9" * 40,
    "-1",
    "0",
    "1e309",
    "NaN",
    "9999-12-31",
    "0001-01-01",
    "2025-02-30",
    "x" * 5000,
    "😀" * 300,
    "ꙮ" * 100,
]
# Every code point but lone surrogates (which no UTF-8 request can carry): controls, NUL,
# private use, unassigned, combining marks and bidi controls included.
ANY_CHAR = st.characters(exclude_categories=("Cs",))
text = st.one_of(
    st.text(ANY_CHAR, max_size=60),
    st.sampled_from(NASTY),
    st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.text(ANY_CHAR, max_size=20)),
    st.text(ANY_CHAR, min_size=300, max_size=2000),
)
# A header value as a server receives it: bytes read as Latin-1, without line breaks (which no
# HTTP server passes on).
header = (
    st.binary(max_size=200)
    .map(lambda b: b.decode("latin-1"))
    .filter(lambda v: "\r" not in v and "\n" not in v)
)


def path_segment(value):
    return quote(value, safe="")


# WSGI servers decode %2F in the path, so a "/" can never be part of one segment.
segment_text = text.filter(lambda v: v and "/" not in v)


def has_nul(params):
    return any("\x00" in k + v for k, v in params.items())


def is_control(value):
    return any(
        unicodedata.category(ch) in ("Cc", "Co", "Cn") or ch in "\u202a\u202b\u202c\u202d\u202e"
        for ch in value
    )


@pytest.fixture
def app_config():
    # Log in as often as hypothesis likes; the login limits have their own tests.
    return {
        "LOGIN_LIMIT_PER_ADDRESS": "100000 per minute",
        "LOGIN_LIMIT_PER_ACCOUNT": "100000 per minute",
    }


@pytest.fixture
def petition(make_petition):
    make_petition(
        milestones=((10, "Ten"), (100, "A hundred")),
        cover_letter="Dear IOC,",
    )
    return SLUG


def staff_client(app, role="campaigner"):
    client = app.test_client()
    email = f"{role}@example.org"
    with app.app_context():
        auth.create_staff(email, PASSWORD, role)
        db.session.commit()
    assert login(client, email).status_code == 303
    return client


@pytest.fixture
def campaigner(app, petition, make_signature):
    """Logged in, on a petition with signatures of every state, several addresses and sources."""
    from petition.petitions.models import Petition

    with app.app_context():
        petition_id = db.session.execute(db.select(Petition.id)).scalar_one()
    for i, (state, ip) in enumerate(
        [
            ("confirmed", "203.0.113.7"),
            ("pending", "2001:db8::1"),
            ("confirmed", "::ffff:198.51.100.4"),
            ("withdrawn", None),
            ("fraudulent", "fe80::1%eth0"),
        ]
    ):
        make_signature(
            petition_id, email=f"s{i}@example{i % 2}.org", state=state, ip=ip, source=f"src{i}"
        )
    return staff_client(app)


@pytest.fixture
def admin(app, petition):
    return staff_client(app, "admin")


# --- the sign form ---------------------------------------------------------------------------

GOOD = {
    "name": "Ana Souza",
    "email": "ana@example.org",
    "country": "BR",
    "city": "Recife",
    "postcode": "50000-000",
}
SIGN_FIELDS = [*GOOD, "updates", "source", "website", "t", "csrf_token"]


@given(
    fields=st.dictionaries(st.sampled_from(SIGN_FIELDS), text, min_size=1, max_size=4),
    missing=st.sets(st.sampled_from(SIGN_FIELDS), max_size=2),
)
@example(fields={"name": "x" * 70_000}, missing=set())
@example(fields={"t": "x" * 199}, missing=set())
@example(fields={"website": "http://spam.example", "t": "garbage"}, missing=set())
@example(fields={"email": "ana@xn--80ak6aa92e.com"}, missing=set())
@example(fields={"email": "ana@exa mple.org"}, missing=set())
@example(fields={"country": "\x00"}, missing={"csrf_token"})
def test_sign_form_any_field(app, client, petition, fields, missing):
    token = csrf_token(client, f"/petitions/{SLUG}")
    data = {**GOOD, "csrf_token": token, **fields}
    for name in missing:
        data.pop(name, None)
    response = client.post(f"/petitions/{SLUG}/sign", data=data)
    size = len(urlencode(data).encode())
    if size > MAX_BODY:
        assert response.status_code == 413
        return
    assert response.status_code in (303, 400), response.status_code
    if response.status_code == 303:
        assert response.headers["Location"] == f"/petitions/{SLUG}/signed"
    # What the form must refuse, it refuses: no CSRF token, no name, markup or controls in a
    # name, a country not on the list.
    refused = (
        data.get("csrf_token") != token
        or not (data.get("name") or "").strip()
        or not (data.get("email") or "").strip()
        or "<" in data.get("name", "")
        or is_control(data.get("name", ""))
        or is_control(data.get("city", ""))
        or data.get("country") not in ("BR",)
        and len(data.get("country") or "") != 2
    )
    if refused:
        assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body and "<img src=x" not in body


@given(
    body=st.binary(max_size=3000),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "multipart/form-data",
            "multipart/form-data; boundary=xyz",
            "text/plain",
            "application/json",
            "application/octet-stream",
            "",
        ]
    ),
)
@example(
    body=b"name=%FF%FE&email=a%40b.org&country=BR", content_type="application/x-www-form-urlencoded"
)
@example(
    body=b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\n\xff\r\n--xyz--\r\n',
    content_type="multipart/form-data; boundary=xyz",
)
@example(body=b'{"name": "Ana"}', content_type="application/json")
@example(body=b"=&&=&%%%&name", content_type="application/x-www-form-urlencoded")
def test_sign_raw_bodies(app, client, petition, body, content_type):
    token = csrf_token(client, f"/petitions/{SLUG}")
    # A valid form first, so the raw bytes reach the parser and the validators after a token.
    prefix = urlencode({**GOOD, "csrf_token": token}).encode() + b"&"
    for raw in (body, prefix + body):
        response = client.post(f"/petitions/{SLUG}/sign", data=raw, content_type=content_type)
        if not content_type.startswith(FORM_TYPES) and (content_type or raw):
            # Not a form: refused before anything reads it (a JSON number once raised there).
            assert response.status_code == 415, (raw, content_type, response.status_code)
            continue
        assert response.status_code in (303, 400), (raw, content_type, response.status_code)
        if response.status_code == 303:
            assert raw.startswith(prefix) and content_type.startswith(
                "application/x-www-form-urlencoded"
            )


# Path parameters that reach every form's view (the rows behind them need not exist).
PATH_VALUES = {
    "slug": SLUG,
    "token": "t" * 43,
    "staff_id": 2,
    "signature_id": 1,
    "entry_id": 1,
    "event_id": 1,
    "photo_id": 1,
    "host_id": 1,
    "endorsement_id": 1,
    "name": "n" * 24 + ".jpg",
    "language": "ru",
}


def form_addresses(app):
    """Every address that takes a POST, public and staff, with its parameters filled in."""
    urls = app.url_map.bind("petition.test")
    return sorted(
        urls.build(rule.endpoint, {name: PATH_VALUES[name] for name in rule.arguments})
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods
    )


@given(
    body=st.binary(min_size=1, max_size=200),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/xml",
            "text/xml",
            "text/plain",
            "text/html",
            "application/octet-stream",
            "application/x-www-form-urlencodedx",
            "",
        ]
    ),
)
@example(body=b'{"name": 123}', content_type="application/json")
@example(body=b'{"email": 5}', content_type="application/json")
@example(body=b'{"updates": true}', content_type="application/json")
@example(body=b"[1, 2]", content_type="application/json")
@example(
    body=b'{"email": "a\\u0000@example.org", "password": "x"}', content_type="application/json"
)
@example(body=b"<?xml version='1.0'?><form/>", content_type="application/xml")
def test_every_form_address_refuses_bodies_that_are_not_forms(app, admin, body, content_type):
    addresses = form_addresses(app)
    assert len(addresses) >= 20  # public and staff forms alike
    for client in (admin, app.test_client()):
        for address in addresses:
            response = client.post(address, data=body, content_type=content_type)
            assert response.status_code == 415, (address, content_type, response.status_code)


def test_huge_and_odd_requests_to_the_sign_form(app, client, petition):
    token = csrf_token(client, f"/petitions/{SLUG}")
    huge = b"csrf_token=" + token.encode() + b"&name=" + b"a" * (MAX_BODY * 4)
    form = "application/x-www-form-urlencoded"
    assert client.post(f"/petitions/{SLUG}/sign", data=huge, content_type=form).status_code == 413
    many = "&".join(f"f{i}=1" for i in range(5000)) + f"&csrf_token={token}"
    assert client.post(f"/petitions/{SLUG}/sign", data=many, content_type=form).status_code == 400
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(f"/petitions/{SLUG}/sign").status_code == 405


# --- public pages: slugs, tokens, query parameters, headers ---------------------------------


@given(slug=segment_text)
@example(slug=SLUG)
@example(slug="SPEAK-OUT")
@example(slug="speak-out\x00")
def test_any_slug_on_every_public_address(app, client, petition, slug):
    segment = path_segment(slug)
    exists = slug == SLUG
    for path in (
        f"/petitions/{segment}",
        f"/petitions/{segment}/signed",
        f"/api/petitions/{segment}",
        f"/api/petitions/{segment}/count",
        f"/embed/{segment}",
        f"/petitions/{segment}/badge.svg",
    ):
        response = client.get(path)
        assert response.status_code in ((200,) if exists else (404, 308)), (path, response.status)
        if path.startswith("/api/") and response.status_code == 404:
            error = response.get_json()["error"]
            assert error["code"] == "not_found" and isinstance(error["message"], str)
    response = client.post(f"/petitions/{segment}/sign", data=GOOD)
    assert response.status_code in (400, 404, 308)


@given(token=segment_text)
@example(token="A" * 43)
@example(token="%")
def test_any_link_token(app, client, petition, token):
    csrf = csrf_token(client, f"/petitions/{SLUG}")
    segment = path_segment(token)
    for kind in ("confirm", "withdraw"):
        assert client.get(f"/{kind}/{segment}").status_code in (404, 308)
        assert client.post(f"/{kind}/{segment}", data={"csrf_token": csrf}).status_code in (
            404,
            308,
        )
        assert client.post(f"/{kind}/{segment}").status_code in (400, 404, 308)


@given(
    params=st.dictionaries(
        st.sampled_from(["source", "utm_source", "theme", "poll", "lang", "page", "callback"]),
        text,
        max_size=4,
    ),
    etag=header,
    language=header,
)
@example(params={"poll": "99999999999999999999999"}, etag="*", language="es")
@example(params={"poll": "-1", "theme": "dark"}, etag='W/"x"', language="*;q=NaN")
@example(params={"source": "a" * 5000}, etag="", language="zz-" + "x" * 150)
def test_query_parameters_and_headers_on_public_pages(
    app, client, petition, params, etag, language
):
    query = "?" + urlencode(params) if params else ""
    headers = {"Accept-Language": language}
    if etag:
        headers["If-None-Match"] = etag
    for path in (
        "/",
        f"/petitions/{SLUG}",
        "/api/petitions",
        f"/api/petitions/{SLUG}",
        f"/api/petitions/{SLUG}/count",
        f"/embed/{SLUG}",
        f"/petitions/{SLUG}/badge.svg",
        "/embed/widget.js",
    ):
        response = client.get(path + query, headers=headers)
        # 304 only for a conditional request that names the current ETag (or any, with *).
        allowed = (200, 304) if etag else (200,)
        if has_nul(params):
            allowed = (400,)  # no database could look for it
        assert response.status_code in allowed, (path, response.status)
        if response.status_code == 304:
            assert etag.strip() == "*" or response.headers.get("ETag", "") in etag
    # A matching ETag does give a 304.
    first = client.get(f"/api/petitions/{SLUG}/count")
    again = client.get(
        f"/api/petitions/{SLUG}/count", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


# --- staff: login -----------------------------------------------------------------------------


@given(email=text, password=text, next_url=text)
@example(email="campaigner@example.org", password=PASSWORD, next_url="//evil.example/")
@example(email="campaigner@example.org", password=PASSWORD, next_url="/\\evil.example")
@example(email="campaigner@example.org", password=PASSWORD, next_url="/staff/\x00")
@example(email="campaigner@example.org", password=PASSWORD, next_url="javascript:alert(1)")
@example(email="CAMPAIGNER@example.org ", password=PASSWORD + "\x00", next_url="")
def test_login_with_any_input(app, campaigner, email, password, next_url):
    client = app.test_client()
    token = csrf_token(client, "/staff/login")
    response = client.post(
        "/staff/login?" + urlencode({"next": next_url}),
        data={"csrf_token": token, "email": email, "password": password},
    )
    assert response.status_code in (303, 400), response.status_code
    if response.status_code == 303:
        # PBKDF2 and scrypt pad an HMAC key with zero bytes: trailing NULs are the same key.
        assert password.rstrip("\x00") == PASSWORD
        # Wherever `next` pointed, the redirect stays on this site.
        location = urlsplit(response.headers["Location"])
        assert not location.scheme and not location.netloc
        assert response.headers["Location"].startswith("/")
        assert not response.headers["Location"].startswith("//")


# --- staff: petition create and edit ----------------------------------------------------------

PETITION_FIELDS = [
    "slug",
    "title",
    "target",
    "text",
    "cover_letter",
    "milestones",
    "offline_count",
    "closes_at",
    "hashtag",
]
GOOD_PETITION = {
    "slug": "new-one",
    "title": "A new one",
    "target": "The council",
    "text": "Please act.",
    "cover_letter": "Dear council,",
    "milestones": "100: A hundred\n1000",
    "offline_count": "0",
    "closes_at": "",
    "hashtag": "#NewOne",
}
DATES = st.one_of(
    text,
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
    st.sampled_from(["9999-12-31T23:59", "0001-01-01T00:00", "2999-01-01T00:00:59"]),
)
COUNTS = st.one_of(text, st.integers().map(str), st.sampled_from(["2147483648", "-0", "1_000"]))
MILESTONES = st.one_of(
    text,
    st.lists(
        st.tuples(st.one_of(st.integers(-10, 10**12).map(str), text), text).map(
            lambda p: f"{p[0]}: {p[1]}"
        ),
        max_size=5,
    ).map("\n".join),
)


@st.composite
def petition_form(draw):
    chosen = draw(st.sets(st.sampled_from(PETITION_FIELDS), min_size=1, max_size=4))
    fields = {}
    for name in chosen:
        if name == "closes_at":
            fields[name] = draw(DATES)
        elif name == "offline_count":
            fields[name] = draw(COUNTS)
        elif name == "milestones":
            fields[name] = draw(MILESTONES)
        else:
            fields[name] = draw(text)
    return fields


@given(fields=petition_form())
@example(fields={"closes_at": "9999-12-31T23:59"})
@example(fields={"closes_at": "0001-01-01T00:00"})
@example(fields={"offline_count": "99999999999999999999999"})
@example(fields={"milestones": "99999999999999999999999: big"})
@example(fields={"milestones": "2147483647: max\n2147483648: over"})
@example(fields={"slug": "a" * 100, "hashtag": "#" + "a" * 99})
@example(fields={"text": "\x00", "cover_letter": "\x0b"})
def test_petition_create_and_edit_with_any_input(app, campaigner, fields):
    data = {**GOOD_PETITION, **fields}
    response = campaigner.post(
        "/staff/petitions/new",
        data={**data, "csrf_token": csrf_token(campaigner, "/staff/petitions/new")},
    )
    assert response.status_code in (303, 400), (data, response.status_code)
    if is_control(data["title"]) or not data["title"].strip():
        assert response.status_code == 400
    edit = {k: v for k, v in data.items() if k != "slug"}
    response = campaigner.post(
        f"/staff/petitions/{SLUG}/edit",
        data={**edit, "csrf_token": csrf_token(campaigner, f"/staff/petitions/{SLUG}/edit")},
    )
    assert response.status_code in (303, 400), (edit, response.status_code)
    # Whatever was saved, every page that shows the petition still renders.
    for path in ("/staff/", f"/staff/petitions/{SLUG}", f"/staff/petitions/{SLUG}/edit"):
        assert campaigner.get(path).status_code == 200, path
    for path in (f"/petitions/{SLUG}", f"/api/petitions/{SLUG}", f"/petitions/{SLUG}/badge.svg"):
        assert campaigner.get(path).status_code == 200, path


# --- staff: signature list, export, moderation, import, delivery -----------------------------

SEARCH_PARAMS = [
    "q",
    "country",
    "state",
    "source",
    "since",
    "until",
    "per_page",
    "before",
    "after",
    "name",
    "domain",
    "ip",
]
SEARCH_VALUES = st.one_of(
    text,
    st.integers().map(str),
    st.dates().map(str),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
    st.ip_addresses().map(str),
    st.builds(lambda a, p: f"{a}/{p}", st.ip_addresses(), st.integers(-1, 200)),
    st.sampled_from(
        [
            "9999-12-31",
            "9999-12-31 23:59",
            "0001-01-01",
            "0001-01-01T00:00",
            "2025-02-30",
            "2025-01-31 24:00",
            "confirmed",
            "held",
            "FR",
            "1e3",
            "-1",
            "200",
            "201",
            "203.0.113.0/24",
            "::ffff:203.0.113.7/120",
            "::ffff:203.0.113.7/95",
            "fe80::1%eth0",
            "1.2.3.4/33",
            "*.example.org",
            "@googlemail.com",
            "xn--",
            "a*b*",
            "*",
            "//%_",
        ]
    ),
)


@given(params=st.dictionaries(st.sampled_from(SEARCH_PARAMS), SEARCH_VALUES, max_size=5))
@example(params={"until": "9999-12-31"})
@example(params={"since": "0001-01-01", "until": "0001-01-01"})
@example(params={"before": "99999999999999999999999"})
@example(params={"after": "-99999999999999999999999"})
@example(params={"per_page": "99999999999999999999999"})
@example(params={"q": "%_\\"})
def test_signature_list_and_export_with_any_filter(app, campaigner, params):
    base = f"/staff/petitions/{SLUG}/signatures"
    expected = 400 if has_nul(params) else 200
    response = campaigner.get(base + "?" + urlencode(params))
    assert response.status_code == expected, (params, response.status_code)
    export = campaigner.get(base + ".csv?" + urlencode(params))
    assert export.status_code == expected, (params, export.status_code)
    if expected == 400:
        return
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "name"


@given(
    params=st.dictionaries(st.sampled_from(SEARCH_PARAMS), SEARCH_VALUES, max_size=4),
    action=st.one_of(st.sampled_from(["invalidate", "restore"]), text),
    reason=text,
    expected=st.one_of(st.integers().map(str), text),
)
@example(params={"ip": "203.0.113.0/24"}, action="invalidate", reason="spam", expected="1")
@example(params={"until": "9999-12-31"}, action="restore", reason="", expected="")
@example(params={"domain": "example.org"}, action="invalidate", reason="", expected="x")
def test_bulk_moderation_with_any_filter(app, campaigner, params, action, reason, expected):
    from petition.jobs import runner as jobs
    from petition.jobs.models import Job

    token = csrf_token(campaigner, f"/staff/petitions/{SLUG}/signatures")
    response = campaigner.post(
        f"/staff/petitions/{SLUG}/signatures/bulk",
        data={
            **params,
            "action": action,
            "reason": reason,
            "expected": expected,
            "csrf_token": token,
        },
    )
    nul = has_nul(params) or "\x00" in action + reason + expected
    assert response.status_code == (400 if nul else 303), response.status_code
    if response.status_code == 303:
        assert urlsplit(response.headers["Location"]).path.startswith(f"/staff/petitions/{SLUG}/")
    # Whatever job the filters started runs to its end.
    with app.app_context():
        for _ in range(10):
            if not jobs.run_one(app):
                break
        states = db.session.execute(db.select(Job.state)).scalars().all()
        assert "failed" not in states


@given(reason=text, signature_id=st.integers(min_value=0, max_value=2**70), nxt=text)
@example(reason="x" * 5000, signature_id=1, nxt="//evil.example")
@example(reason="", signature_id=2**63, nxt="")
@example(reason="spam", signature_id=2**31, nxt="")
@example(reason="spam\x00", signature_id=1, nxt="")
def test_moderation_with_any_reason_and_id(app, campaigner, reason, signature_id, nxt):
    token = csrf_token(campaigner, f"/staff/petitions/{SLUG}/signatures")
    base = f"/staff/petitions/{SLUG}/signatures/{signature_id}"
    for action in ("invalidate", "restore"):
        response = campaigner.post(
            f"{base}/{action}", data={"csrf_token": token, "reason": reason, "next": nxt}
        )
        if "\x00" in reason + nxt:
            assert response.status_code == 400  # no database could store it
            continue
        if signature_id > MAX_ID:
            assert response.status_code == 404  # no row can have it
            continue
        assert response.status_code == 303, (action, response.status_code)
        location = urlsplit(response.headers["Location"])
        assert not location.netloc and response.headers["Location"].startswith("/")


@given(
    data=st.one_of(
        st.binary(max_size=2000),
        text.map(lambda t: ("name,email,country,city,postcode,created_at\n" + t).encode()),
        st.lists(
            st.tuples(text, text, text, text, text, text).map(
                lambda r: ",".join('"' + c.replace('"', '""') + '"' for c in r)
            ),
            max_size=5,
        ).map(
            lambda rows: (
                "name,email,country,city,postcode,created_at\n" + "\n".join(rows)
            ).encode()
        ),
    )
)
@example(data=b"")
@example(data=b"\xff\xfe\x00n\x00a\x00m\x00e")
@example(data=b"name,email,country\nAna,ana@example.org,BR\n" + b"\x00" * 100)
@example(data=b"name,email,country,created_at\nAna,ana@example.org,BR,9999-12-31T23:59:59+14:00\n")
def test_import_with_any_bytes(app, campaigner, data):
    token = csrf_token(campaigner, f"/staff/petitions/{SLUG}/import")
    response = campaigner.post(
        f"/staff/petitions/{SLUG}/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "people.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 400), response.status_code


@given(scope=text, run=text)
@example(scope="", run="9223372036854775808")  # beyond any row id: once a 500
def test_delivery_and_resume_forms_with_any_input(app, campaigner, scope, run):
    path = f"/staff/petitions/{SLUG}/deliveries"
    response = campaigner.post(
        path, data={"csrf_token": csrf_token(campaigner, path), "scope": scope}
    )
    assert response.status_code == (303 if scope in ("all", "since_last") else 400)
    importing = f"/staff/petitions/{SLUG}/import"
    response = campaigner.post(
        importing, data={"csrf_token": csrf_token(campaigner, importing), "run": run}
    )
    assert response.status_code == 400


@given(
    params=st.dictionaries(
        st.sampled_from(["petition", "staff", "page"]),
        st.one_of(text, st.integers().map(str)),
        max_size=3,
    )
)
@example(params={"page": "99999999999999999999"})
@example(params={"page": "9223372036854775807"})
@example(params={"page": "-5", "petition": "99999999999999999999"})
def test_audit_log_with_any_filter(app, admin, params):
    response = admin.get("/staff/audit?" + urlencode(params))
    expected = 400 if has_nul(params) else 200
    assert response.status_code == expected, (params, response.status_code)


@given(slug=segment_text, job=st.integers(min_value=0, max_value=2**70))
@example(slug=SLUG, job=2**31)
def test_any_slug_and_id_in_staff_addresses(app, campaigner, slug, job):
    segment = path_segment(slug)
    exists = slug == SLUG
    for path in (
        f"/staff/petitions/{segment}",
        f"/staff/petitions/{segment}/edit",
        f"/staff/petitions/{segment}/signatures",
        f"/staff/petitions/{segment}/signatures.csv",
        f"/staff/petitions/{segment}/import",
        f"/staff/petitions/{segment}/deliveries",
    ):
        assert campaigner.get(path).status_code in ((200,) if exists else (404, 308)), path
    assert campaigner.get(f"/staff/jobs/{job}.json").status_code == 404
    assert campaigner.get(f"/staff/deliveries/{job}/download").status_code == 404
