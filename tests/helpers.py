"""Helpers the test modules share: forms with their CSRF token, staff logins, mail links."""

import re
import unicodedata
from email import message_from_string


def test_config(database_url, tmp_path, **overrides):
    """The config every test app starts from, with the test's own keys on top."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-only-secret-key-0123456789abcdef",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "JOBS_IN_PROCESS": False,
        "MAIL_BACKEND": "file",
        "MAIL_FILE_DIR": str(tmp_path / "outbox"),
        "PUBLIC_URL": "http://petition.test",
        # Tests read counts right after writing them; the cache has tests of its own.
        "CACHE_TYPE": "NullCache",
        # Tests post the sign form at once and sign many times from 127.0.0.1: these signing
        # defences are tested in test_abuse.py, which sets them itself.
        "SIGN_MIN_SECONDS": 0,
        "SIGN_BURST_COUNT": 0,
        "SIGN_SUSTAINED_COUNT": 0,
    }
    config.update(overrides)
    return config


test_config.__test__ = False  # a helper, though pytest would take its name for a test


def csrf_token(client, path):
    response = client.get(path)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def token_of(body, kind):
    """The bare token of the confirm or withdraw link in a mail body."""
    return link(body, kind).split("?")[0].rsplit("/", 1)[1]


def staff_post(client, path, **data):
    """POST a staff form with the CSRF token of the logged-in session (unless given)."""
    data.setdefault("csrf_token", csrf_token(client, "/staff/"))
    return client.post(path, data=data)


STAFF_PASSWORD = "correct horse battery staple"


ADMIN = "admin@example.org"


CAMPAIGNER = "campaigner@example.org"


def staff_login(client, email, password=STAFF_PASSWORD, next_url=None):
    """Log in through the login form, as a person does."""
    path = "/staff/login" + (f"?next={next_url}" if next_url else "")
    return client.post(
        path,
        data={
            "csrf_token": csrf_token(client, "/staff/login"),
            "email": email,
            "password": password,
        },
    )


def link(body, kind):
    """The path (and query: the mail's ?lang=) of the confirm or withdraw link in a mail body."""
    found = re.search(rf"https?://[^/\s]+(/{kind}/[A-Za-z0-9_-]+(?:\?[^\s]*)?)", body)
    assert found, f"no {kind} link in:\n{body}"
    return found.group(1)


def parse_eml(raw):
    return message_from_string(raw)


# Text extracted from a PDF is compared without the bidi marks the tools may add.
BIDI_CONTROLS = dict.fromkeys(
    [*range(0x200E, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)


def normal(text):
    """Text as compared: NFKC, no bidi controls, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(BIDI_CONTROLS)
    return " ".join(text.split())
