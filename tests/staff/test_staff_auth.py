import pytest
from sqlalchemy import select

from petition.core.extensions import db
from petition.staff.models import AuditLog, Staff
from tests.helpers import STAFF_PASSWORD as PASSWORD
from tests.helpers import csrf_token
from tests.helpers import staff_login as login


@pytest.fixture
def make_staff(app):
    def make(email="campaigner@example.org", role="campaigner", password=PASSWORD):
        result = app.test_cli_runner().invoke(
            args=["staff", "create", email, "--role", role, "--password-stdin"],
            input=password + "\n",
        )
        assert result.exit_code == 0, result.output
        return email

    return make


def test_staff_create_stores_a_slow_hash_and_audits(app, make_staff):
    make_staff("Lead@Example.org", role="admin")
    with app.app_context():
        staff = db.session.execute(select(Staff)).scalar_one()
        assert staff.email == "lead@example.org"
        assert staff.password_hash.startswith("scrypt:")
        assert PASSWORD not in staff.password_hash
        entry = db.session.execute(select(AuditLog)).scalar_one()
        assert entry.action == "staff.create"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["x@example.org", "--role", "admin"], "short\n", "at least 12"),
        (["x@example.org", "--role", "boss"], PASSWORD + "\n", "Invalid value"),
        (["not-an-email", "--role", "admin"], PASSWORD + "\n", "valid email"),
    ],
)
def test_staff_create_refuses_bad_input(app, args, stdin, message):
    result = app.test_cli_runner().invoke(
        args=["staff", "create", *args, "--password-stdin"], input=stdin
    )
    assert result.exit_code != 0
    assert message in result.output


def test_staff_pages_need_a_login(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


def test_login_then_logout(client, make_staff):
    email = make_staff()
    assert login(client, email, "wrong password!!").status_code == 400
    response = login(client, email)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    page = client.get("/staff/")
    assert page.status_code == 200 and email in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    token = csrf_token(client, "/staff/")
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/staff/").status_code == 302


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil", "javascript:alert(1)", "staff"],
)
def test_next_only_leads_to_our_own_pages(client, make_staff, target):
    email = make_staff()
    response = login(client, email, next_url=target)
    assert response.headers["Location"] == "/staff/"


def test_next_to_our_own_page_is_followed(client, make_staff):
    email = make_staff()
    assert login(client, email, next_url="/staff/?tab=1").headers["Location"] == "/staff/?tab=1"


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "LOGIN_LIMIT_PER_ACCOUNT": "3 per 10 minutes",
            "LOGIN_LIMIT_PER_ADDRESS": "100 per 10 minutes",
        }
    ],
)
def test_login_is_throttled_per_account(client, make_staff):
    email = make_staff()
    statuses = [login(client, email, "wrong password!!").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert login(client, email).status_code == 429
    # Another account from the same address is not locked out by it.
    other = make_staff("other@example.org")
    assert login(client, other).status_code == 303


def test_inactive_accounts_cannot_log_in(app, client, make_staff):
    email = make_staff()
    with app.app_context():
        db.session.execute(select(Staff)).scalar_one().active = False
        db.session.commit()
    assert login(client, email).status_code == 400
